"""police.identity: the day's household-registration changes (address moves, corrections).

Same conventions as police.death (GB18030, YYYYMMDD, GB/T 2261.1 gender, some
15-digit IDs).  Only living people change registration, so the dead are left out.
The people of the planted register conflicts (register_cases.py) come on the day
their case plans, as the police hold them (the population's name and county).
No defect is planted in the record of someone whose death the story plans (the
auditors' answer key, audit_truth.py, then knows whom the police told the hub about
from the draw alone).
"""
from __future__ import annotations

import numpy as np

from jinbao.generator import register_cases as rc
from jinbao.generator.delivery import Delivery, Kind
from jinbao.generator.formats import COMPACT, dates, take
from jinbao.generator.police_death import first_generation, police_gender
from jinbao.generator.world import World

FEED, PARTNER, ENCODING = "police.identity", "police", "GB18030"
COLUMNS = ["GMSFHM", "XM", "XB", "CSRQ", "MZ", "HJDZ_XZQH", "BGRQ"]
KINDS = [Kind("GMSFHM", "ID_CHECKSUM"), Kind("XB", "UNMAPPED_CODE", "5"), Kind("MZ", "UNMAPPED_CODE", "60"),
         Kind("BGRQ", "DATE_INVALID", COMPACT), Kind("XB", "ID_GENDER_MISMATCH", ("1", "2")),
         Kind("XM", "BAD_ENCODING"), Kind("XM", "REQUIRED"), Kind("BGRQ", "DATE_IN_FUTURE", COMPACT),
         Kind("HJDZ_XZQH", "DIVISION_UNKNOWN")]


def size(people: int) -> int:
    return max(50, people // 100)


def draw(rng: np.random.Generator, w: World, n: int) -> np.ndarray:
    """The day's people drawn at random (the first use of the day's stream): alive, in no planted case."""
    alive = w.drawable()
    return rng.choice(alive, min(n, len(alive)), replace=False)


def build(rng: np.random.Generator, w: World, n: int) -> Delivery:
    drawn = draw(rng, w, n)
    planned = w.cases.appearing(rc.IDENTITY, w.on)
    p = np.concatenate([drawn, planned.person])
    order = np.argsort(p, kind="stable")
    p = p[order]
    m = len(p)
    mine = (np.arange(m) >= len(drawn))[order]
    birth = w.birth[p]
    xb, odd = police_gender(rng, w.male[p])
    xb[mine] = np.where(w.male[p[mine]], "1", "2")
    odd &= ~mine
    short = (birth >= np.datetime64("1900-01-01")) & (birth < np.datetime64("2000-01-01")) \
        & (rng.random(m) < 0.01) & ~mine
    cols = {"GMSFHM": first_generation(take(w.ids, p), short), "XM": take(w.names, p), "XB": xb,
            "CSRQ": dates(birth, COMPACT), "MZ": take(w.ethnic, p), "HJDZ_XZQH": take(w.county, p),
            "BGRQ": dates(w.today - rng.integers(0, 30, m), COMPACT)}
    plain = np.char.find(cols["XM"].astype(str), "·") < 0
    eligible = (~short) & (~odd) & plain & ~mine & ~w.calendar.dies(len(w.ids))[p]
    return Delivery(FEED, PARTNER, ENCODING, COLUMNS, cols, KINDS, eligible=eligible,
                    male=w.male[p], birth=birth, person=p)
