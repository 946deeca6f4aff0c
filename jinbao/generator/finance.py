"""finance.subsidy_payment: contribution subsidies that arrived, monthly on the calendar, daily with
every feed.

前个人后财政: the insured person pays first and the subsidy follows, so this
feed only names people of working age.  GB18030, dates YYYYMMDD, amounts in
yuan with two decimals; the only feed with AMOUNT_INVALID defects.

A delivery pays the lines of the enrolments the hub first accepted on the days
it covers (build; the month on the calendar, the day itself with every feed, so
that any one generated day exercises the match against the lines, whatever day
a run starts from): once per person, level and year, as the hub holds them, so
a resident who enrols again is not paid again.  Beside the exact payments of
all three levels, a delivery plants the mistakes finance makes (PLANTS): a
county share short by ten yuan, a county share sent to the division of the
school or community the person enrolled through (the attribution error the
agreement forbids), a payment for someone who never enrolled, and the previous
delivery's exact payment sent again.  Which of them the hub must refuse, and
why, depends on what the hub holds; jinbao/generator/subsidy_truth.py works
that out for a run of days.
"""
from __future__ import annotations

from decimal import Decimal

import numpy as np

from jinbao.generator import civil_affairs, hrss
from jinbao.generator.delivery import Delivery, Kind
from jinbao.generator.formats import COMPACT, dates, take
from jinbao.generator.world import World
from jinbao.subsidies import standards

FEED, PARTNER, ENCODING = "finance.subsidy_payment", "finance", "GB18030"
COLUMNS = ["SFZH", "XZQH", "BTJB", "BTND", "BTJE", "DZRQ"]
KINDS = [Kind("SFZH", "ID_CHECKSUM"), Kind("BTJB", "UNMAPPED_CODE", "4"), Kind("DZRQ", "DATE_INVALID", COMPACT),
         Kind("BTJE", "REQUIRED"), Kind("DZRQ", "DATE_IN_FUTURE", COMPACT), Kind("XZQH", "DIVISION_UNKNOWN"),
         Kind("BTJE", "AMOUNT_INVALID")]
#: Province, city and county (or district) shares.
LEVELS = np.array(["1", "2", "3"])
NUMBER = 6          # the feed's number in FEEDS: its story-planning stream
#: What a row of the delivery is meant to be (`Delivery.extra["plant"]`, one per row).
EXACT, SHORT, MISDIRECTED, NO_LINE, DUPLICATE = "exact", "short", "misdirected", "no_line", "duplicate"
PLANTS = (SHORT, MISDIRECTED, NO_LINE, DUPLICATE)
#: Share of the day's payees whose county share is short, resent the next day, ...; at least one each
#: from PLANT_FROM payees on, none below: a handful of payments with four planted mistakes would be
#: refused beyond the feed's max_reject_share and held, which is no day finance has.
PLANT_SHARE = 0.03
PLANT_FROM = 15
SHORT_BY = 10        # yuan


def size(people: int) -> int:
    return max(50, people // 100)


def payees(w: World, enrolled: np.ndarray | None) -> np.ndarray:
    """Of the people whose enrolment the hub accepts on w's day, those finance pays: ordinary
    residents (no assistance case in force on 1 January, so the line's category is 00 whatever
    civil affairs sent) in no planted register case, ascending."""
    people = np.empty(0, dtype=np.int64) if enrolled is None else np.asarray(enrolled, dtype=np.int64)
    return np.sort(people[~civil_affairs.in_force_on_jan1(w, people) & ~w.reserved[people]])


def _owing(county: np.ndarray, level: np.ndarray) -> np.ndarray:
    """The division owing a level's share: the county's province (1), city (2) or the county (3)."""
    county = county.astype(str)
    return np.select([level == "1", level == "2"], [np.char.add(np.strings.slice(county, 0, 2), "0000"),
                                                    np.char.add(np.strings.slice(county, 0, 4), "00")],
                     county).astype(object)


def _pick(rng: np.random.Generator, pool: np.ndarray, share: float = PLANT_SHARE) -> np.ndarray:
    k = min(len(pool), max(1, int(round(share * len(pool))))) if len(pool) else 0
    return np.sort(rng.choice(pool, k, replace=False)) if k else pool[:0]


def build(rng: np.random.Generator, w: World, n: int, enrolled: np.ndarray | None = None,
          yesterday: np.ndarray | None = None) -> Delivery:
    """Exact payments of every level's line of the delivery's payees (`payees(enrolled)`), owed by
    their household county (the population's, which is the police's and the ID's), with the plants
    on top: short and misdirected county shares among them, payments for employed people (who
    never enrol), the previous delivery's payees' county shares again (`yesterday`: its payees).
    The hub judges this feed after the day's enrolments (its declaration's `after`)."""
    year = w.on.year
    table = standards.load().to_pandas()
    due = {(c, lv): str(a) for y, c, lv, a in zip(table["subsidy_year"], table["category"], table["subsidy_level"],
                                                   table["amount"]) if y == str(year)}
    people = payees(w, enrolled) if due else np.empty(0, dtype=np.int64)
    away = people[hrss.unit_division(w, people) != w.county[people].astype(str)]
    misdirected = _pick(rng, away, 0.5)
    short = _pick(rng, np.setdiff1d(people, away))
    work = hrss.employment(w)
    age = (w.today - w.birth).astype(int) / hrss.YEAR
    strangers = np.flatnonzero(work.employed & (age >= 18) & (age < 60) & ~w.dead & ~w.reserved)
    no_line = _pick(rng, strangers, PLANT_SHARE * max(1, len(people)) / max(1, len(strangers)))
    again = _pick(rng, np.setdiff1d(np.asarray(yesterday if yesterday is not None and due else [], dtype=np.int64),
                                    people))      # a line paid once in this delivery is paid nowhere else in it
    if len(people) < PLANT_FROM:
        misdirected, short, no_line, again = (x[:0] for x in (misdirected, short, no_line, again))

    p = np.concatenate([np.repeat(people, len(LEVELS)), no_line, again])
    level = np.concatenate([np.tile(LEVELS, len(people)), np.full(len(no_line) + len(again), "3")])
    plant = np.concatenate([np.full(len(people) * len(LEVELS), EXACT, dtype=object),
                            np.full(len(no_line), NO_LINE, dtype=object), np.full(len(again), DUPLICATE, dtype=object)])
    county = take(w.county, p)
    owing = _owing(county, level)
    amount = np.array([due.get((standards.ORDINARY, lv), "0.00") for lv in level], dtype=object)
    county_row = (level == "3") & (plant == EXACT)
    hit = county_row & np.isin(p, short)
    amount[hit] = [str(Decimal(a) - SHORT_BY) for a in amount[hit]]      # a handful of rows a day
    plant[hit] = SHORT
    hit = county_row & np.isin(p, misdirected)
    owing[hit] = hrss.unit_division(w, p[hit])
    plant[hit] = MISDIRECTED
    order = np.argsort(p, kind="stable")
    p, level, owing, amount, plant = p[order], level[order], owing[order], amount[order], plant[order]
    m = len(p)
    cols = {"SFZH": take(w.ids, p), "XZQH": owing, "BTJB": level.astype(object),
            "BTND": np.full(m, str(year), dtype=object), "BTJE": amount,
            "DZRQ": dates(w.today - rng.integers(0, 3, m), COMPACT)}
    return Delivery(FEED, PARTNER, ENCODING, COLUMNS, cols, KINDS, eligible=plant == EXACT,
                    male=w.male[p], birth=w.birth[p], person=p, extra={"plant": plant})
