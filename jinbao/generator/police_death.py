"""police.death as the police send it: GB/T 2261.1 gender, YYYYMMDD dates, GB18030,
and a few first-generation 15-digit IDs that the hub must upgrade.

Every death of the day is here (police deregistration is the source the
bureau relies on), including the planted late-reported deaths, whose records
are kept free of defects so the only thing wrong with them is the pension.
The day's police records of the planted register cases (register_cases.py) go
between them: deaths, corrections, emigrations (ZXYY 2), duplicate registrations
(3), other deregistrations (9) and, from 2026-12-01, withdrawals (CZBZ 2).
From 2026-12-01 the file carries the last column CZBZ (`1` on every other row).
"""
from __future__ import annotations

import numpy as np

from jinbao.generator import audit_cases
from jinbao.generator import register_cases as rc
from jinbao.generator.delivery import Delivery, Kind
from jinbao.generator.formats import COMPACT, dates, take
from jinbao.generator.world import World

FEED, PARTNER, ENCODING = "police.death", "police", "GB18030"
COLUMNS = ["GMSFHM", "XM", "XB", "SWRQ", "ZXRQ", "ZXYY", "HJDZ_XZQH"]
KINDS = [Kind("GMSFHM", "ID_CHECKSUM"), Kind("XB", "UNMAPPED_CODE", "5"), Kind("ZXYY", "UNMAPPED_CODE", "7"),
         Kind("SWRQ", "DATE_INVALID", COMPACT), Kind("XB", "ID_GENDER_MISMATCH", ("1", "2")),
         Kind("XM", "BAD_ENCODING"), Kind("XM", "REQUIRED"), Kind("SWRQ", "DEATH_BEFORE_BIRTH", COMPACT),
         Kind("SWRQ", "DATE_IN_FUTURE", COMPACT), Kind("HJDZ_XZQH", "DIVISION_UNKNOWN")]


def police_gender(rng: np.random.Generator, male: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """GB/T 2261.1 codes, with the rare 0 (unknown) / 9 (unspecified) police really send."""
    xb = np.where(male, "1", "2").astype(object)
    odd = rng.random(len(male)) < 0.005
    xb[odd] = np.where(rng.random(int(odd.sum())) < 0.5, "0", "9")
    return xb, odd


def first_generation(ids: np.ndarray, which: np.ndarray) -> np.ndarray:
    """15-digit form of the chosen IDs: drop the century '19' and the check character."""
    out = ids.copy()
    s = ids[which].astype(str)
    out[which] = np.char.add(np.strings.slice(s, 0, 6), np.strings.slice(s, 8, 17)).astype(object)
    return out


def columns(on) -> list[str]:
    """The file's columns on business date `on`: CZBZ last from 2026-12-01."""
    return COLUMNS + ["CZBZ"] if rc.czbz(on) else list(COLUMNS)


def build(rng: np.random.Generator, w: World) -> Delivery:
    dead, case = w.deaths, audit_cases.records_on(w, rc.POLICE)
    sent, key = audit_cases.identities(w, case)         # a typo'd or invented ID for some audit cases
    n0 = len(dead.person)
    p = np.concatenate([dead.person, case.person])
    n = len(p)
    mine = np.arange(n) >= n0                       # a planted register case's record
    planted = np.r_[dead.planted, np.zeros(len(case.person), dtype=bool)]
    birth = w.birth[p]
    xb, odd = police_gender(rng, w.male[p])
    xb[mine] = np.where(w.male[p[mine]], "1", "2")
    odd &= ~mine
    # 2 % of the rows that may carry a first-generation ID (a share, not a coin per row: a day of
    # 200 deaths always has some)
    may = np.flatnonzero((~planted) & (~mine) & (birth >= np.datetime64("1900-01-01"))
                         & (birth < np.datetime64("2000-01-01")))
    short = np.zeros(n, dtype=bool)
    short[rng.choice(may, int(round(0.02 * len(may))), replace=False)] = True
    date = np.concatenate([dead.date, case.date])
    dereg = np.concatenate([np.minimum(dead.date + rng.integers(1, 10, n0), w.today), case.second])
    reason = np.concatenate([np.full(n0, "1", dtype=object), case.reason])
    ids = np.concatenate([take(w.ids, dead.person), sent])
    cols = {"GMSFHM": first_generation(ids, short), "XM": take(w.names, p), "XB": xb,
            "SWRQ": dates(date, COMPACT), "ZXRQ": dates(dereg, COMPACT), "ZXYY": reason,
            "HJDZ_XZQH": take(w.county, p)}
    if rc.czbz(w.on):
        cols["CZBZ"] = np.concatenate([np.full(n0, rc.REGISTERS, dtype=object), case.action])
    plain = np.char.find(cols["XM"].astype(str), "·") < 0         # minority names keep their ·
    d = Delivery(FEED, PARTNER, ENCODING, columns(w.on), cols, KINDS,
                 eligible=(~planted) & (~mine) & (~short) & (~odd) & plain,
                 male=w.male[p], birth=birth, person=np.concatenate([dead.person, key]))
    return audit_cases.builder_defects(rc.shuffle(d, np.concatenate([dead.order, case.order])), w, rc.POLICE)
