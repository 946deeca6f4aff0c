"""police.death as the police send it: GB/T 2261.1 gender, YYYYMMDD dates, GB18030,
and a few first-generation 15-digit IDs that the hub must upgrade.

Every death of the day is here (police deregistration is the source the
bureau relies on), including the planted late-reported deaths, whose records
are kept free of defects so the only thing wrong with them is the pension.
"""
from __future__ import annotations

import numpy as np

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


def build(rng: np.random.Generator, w: World) -> Delivery:
    dead = w.deaths
    p = dead.person
    n = len(p)
    birth = w.birth[p]
    xb, odd = police_gender(rng, w.male[p])
    short = (~dead.planted) & (birth >= np.datetime64("1900-01-01")) & (birth < np.datetime64("2000-01-01")) \
        & (rng.random(n) < 0.02)
    dereg = np.minimum(dead.date + rng.integers(1, 10, n), w.today)
    reason = np.full(n, "1", dtype=object)
    cols = {"GMSFHM": first_generation(take(w.ids, p), short), "XM": take(w.names, p), "XB": xb,
            "SWRQ": dates(dead.date, COMPACT), "ZXRQ": dates(dereg, COMPACT), "ZXYY": reason,
            "HJDZ_XZQH": take(w.county, p)}
    plain = np.char.find(cols["XM"].astype(str), "·") < 0         # minority names keep their ·
    return Delivery(FEED, PARTNER, ENCODING, COLUMNS, cols, KINDS,
                    eligible=(~dead.planted) & (~short) & (~odd) & plain,
                    male=w.male[p], birth=birth, person=p)
