"""finance.subsidy_payment: contribution subsidies that arrived, sent day by day.

前个人后财政: the insured person pays first and the subsidy follows, so this
feed only names people of working age.  GB18030, dates YYYYMMDD, amounts in
yuan with two decimals; the only feed with AMOUNT_INVALID defects.

A subsidy (person, level) arrives once in a story: the story's subsidies are
spread over its days in advance (story.schedule), among working-age people
who live through the story, and each day's delivery confirms that day's share.
"""
from __future__ import annotations

import numpy as np

from jinbao.generator import story
from jinbao.generator.delivery import Delivery, Kind
from jinbao.generator.formats import COMPACT, dates, money, take
from jinbao.generator.world import World

FEED, PARTNER, ENCODING = "finance.subsidy_payment", "finance", "GB18030"
COLUMNS = ["SFZH", "XZQH", "BTJB", "BTND", "BTJE", "DZRQ"]
KINDS = [Kind("SFZH", "ID_CHECKSUM"), Kind("BTJB", "UNMAPPED_CODE", "4"), Kind("DZRQ", "DATE_INVALID", COMPACT),
         Kind("BTJE", "REQUIRED"), Kind("DZRQ", "DATE_IN_FUTURE", COMPACT), Kind("XZQH", "DIVISION_UNKNOWN"),
         Kind("BTJE", "AMOUNT_INVALID")]
#: Province, city and county shares of a subsidy, and typical yearly amounts per level.
LEVELS = np.array(["1", "2", "3"])
AMOUNT_RANGE = {"1": (100, 600), "2": (50, 400), "3": (30, 300)}
NUMBER = 6          # the feed's number in FEEDS: its story-planning stream


def size(people: int) -> int:
    return max(50, people // 100)


def build(rng: np.random.Generator, w: World, n: int) -> Delivery:
    age = (w.story_first - w.birth).astype(int) / 365.25
    working = np.flatnonzero((age >= 18) & (age < 60) & ~w.calendar.dies(len(w.ids)))
    pairs = (working[:, None] * len(LEVELS) + np.arange(len(LEVELS))).ravel()    # (person, level)
    planned, day = story.schedule(w.planning(NUMBER), pairs, n, w.story_days)
    mine = np.sort(planned[day == (w.today - w.story_first).astype(int)])
    p = mine // len(LEVELS)
    m = len(p)
    level = LEVELS[mine % len(LEVELS)]
    lo = np.select([level == k for k in AMOUNT_RANGE], [v[0] for v in AMOUNT_RANGE.values()])
    hi = np.select([level == k for k in AMOUNT_RANGE], [v[1] for v in AMOUNT_RANGE.values()])
    year = (w.today - 31).astype("datetime64[Y]").astype(int) + 1970     # the year of last month
    cols = {"SFZH": take(w.ids, p), "XZQH": take(w.county, p), "BTJB": level.astype(object),
            "BTND": np.full(m, str(year), dtype=object), "BTJE": money(lo + rng.random(m) * (hi - lo)),
            "DZRQ": dates(w.today - rng.integers(0, 30, m), COMPACT)}
    return Delivery(FEED, PARTNER, ENCODING, COLUMNS, cols, KINDS, eligible=np.ones(m, dtype=bool),
                    male=w.male[p], birth=w.birth[p], person=p)
