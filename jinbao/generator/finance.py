"""finance.subsidy_payment: contribution subsidies that arrived, sent day by day.

前个人后财政: the insured person pays first and the subsidy follows, so this
feed only names people of working age.  GB18030, dates YYYYMMDD, amounts in
yuan with two decimals; the only feed with AMOUNT_INVALID defects.

A subsidy is paid on the day its enrolment reaches the hub (build): the
generator compresses finance's months into a day so that any one generated day
exercises the match against the lines, whatever day a run starts from.
"""
from __future__ import annotations

import numpy as np

from jinbao.generator.delivery import Delivery, Kind
from jinbao.generator.formats import COMPACT, dates, take
from jinbao.generator.world import World

FEED, PARTNER, ENCODING = "finance.subsidy_payment", "finance", "GB18030"
COLUMNS = ["SFZH", "XZQH", "BTJB", "BTND", "BTJE", "DZRQ"]
KINDS = [Kind("SFZH", "ID_CHECKSUM"), Kind("BTJB", "UNMAPPED_CODE", "4"), Kind("DZRQ", "DATE_INVALID", COMPACT),
         Kind("BTJE", "REQUIRED"), Kind("DZRQ", "DATE_IN_FUTURE", COMPACT), Kind("XZQH", "DIVISION_UNKNOWN"),
         Kind("BTJE", "AMOUNT_INVALID")]
#: The levels paid: only the county's (3).  The gate's division rule takes county-level codes only, so a
#: province's or city's payment (XZQH 130000, 130100) cannot pass it yet (docs/subsidies.md).
LEVELS = np.array(["3"])
NUMBER = 6          # the feed's number in FEEDS: its story-planning stream


def size(people: int) -> int:
    return max(50, people // 100)


def build(rng: np.random.Generator, w: World, n: int, enrolled: np.ndarray | None = None) -> Delivery:
    """Exact payments of the county lines of the day's enrolments (jinbao.subsidies): the people whose
    enrolment record the hub accepts today (`enrolled`), ordinary residents (no assistance case in force
    on 1 January, so the line's category is 00 whatever civil affairs sent), owed by their household
    county (the population's, which is the police's and the ID's).  The hub judges this feed after the
    day's enrolments (its declaration's `after`), so every payment finds its line."""
    from jinbao.generator import civil_affairs
    from jinbao.subsidies import standards

    year = w.on.year
    table = standards.load().to_pandas()
    due = table[(table["subsidy_year"] == str(year)) & (table["category"] == standards.ORDINARY)]
    people = np.empty(0, dtype=np.int64) if enrolled is None else np.asarray(enrolled, dtype=np.int64)
    case = civil_affairs.cases(w)
    jan1 = np.datetime64(f"{year}-01-01")
    in_force = (case["start"][people] <= jan1) & (np.isnat(case["end"][people]) | (case["end"][people] >= jan1))
    people = np.sort(people[~in_force & ~w.reserved[people]]) if len(due) else people[:0]
    p = np.repeat(people, len(LEVELS))
    level = np.tile(LEVELS, len(people))
    m = len(p)
    amount = {lv: str(a) for lv, a in zip(due["subsidy_level"], due["amount"])}
    cols = {"SFZH": take(w.ids, p), "XZQH": take(w.county, p), "BTJB": level.astype(object),
            "BTND": np.full(m, str(year), dtype=object),
            "BTJE": np.array([amount.get(lv, "0.00") for lv in level], dtype=object),
            "DZRQ": dates(w.today - rng.integers(0, 3, m), COMPACT)}
    return Delivery(FEED, PARTNER, ENCODING, COLUMNS, cols, KINDS, eligible=np.ones(m, dtype=bool),
                    male=w.male[p], birth=w.birth[p], person=p)
