"""police.death as the police send it: GB/T 2261.1 gender, YYYYMMDD dates, GB18030,
and a few first-generation 15-digit IDs that the hub must upgrade."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa

from jinbao.generator.deaths import Deaths

FEED = "police.death"
COLUMNS = ["GMSFHM", "XM", "XB", "SWRQ", "ZXRQ", "ZXYY", "HJDZ_XZQH"]


def ymd(days: np.ndarray) -> np.ndarray:
    return np.char.replace(days.astype("datetime64[D]").astype(str), "-", "").astype(object)


def build(rng: np.random.Generator, people: pa.Table, deaths: Deaths, on: dt.date) -> tuple[dict, dict]:
    """Partner columns (object arrays of str) and per-row facts the defect planter needs."""
    p = deaths.person
    ids = people.column("aac002").to_numpy(zero_copy_only=False)[p].astype(object)
    names = people.column("aac003").to_numpy(zero_copy_only=False)[p].astype(object)
    gender = people.column("aaa002").to_numpy(zero_copy_only=False)[p]
    birth = people.column("aac006").to_numpy().astype("datetime64[D]")[p]
    n = len(p)
    xb = gender.astype(object)
    odd = rng.random(n) < 0.005
    xb[odd] = np.where(rng.random(int(odd.sum())) < 0.5, "0", "9")
    short = (~deaths.planted) & (birth < np.datetime64("2000-01-01")) & (rng.random(n) < 0.02)
    ids[short] = [i[:6] + i[8:17] for i in ids[short]]       # first-generation 15-digit IDs
    dereg = np.minimum(deaths.date + rng.integers(1, 10, n), np.datetime64(on))
    cols = {"GMSFHM": ids, "XM": names, "XB": xb, "SWRQ": ymd(deaths.date), "ZXRQ": ymd(dereg),
            "ZXYY": np.full(n, "1", dtype=object),
            "HJDZ_XZQH": people.column("aab301").to_numpy(zero_copy_only=False)[p].astype(object)}
    facts = {"birth": birth, "male": gender == "1", "eligible": (~deaths.planted) & (~short) & (~odd)}
    return cols, facts
