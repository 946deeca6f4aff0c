"""Plant exactly one known defect in a chosen share of a delivery's records.

Each kind makes exactly one rule fail, so the truth file can say which reason
the hub must give; the pipeline tests and the demo compare against it.
"""
from __future__ import annotations

import datetime as dt

import numpy as np

from jinbao.generator.police_death import ymd


def _flip_check(ids):
    return [i[:-1] + ("0" if i[-1] != "0" else "1") for i in ids]


def _mojibake(names, encoding: str):
    if encoding.upper() == "GB18030":   # UTF-8 bytes read as GB18030: 张三 -> 寮犱笁
        return [n.encode("utf-8").decode("gb18030", errors="replace") for n in names]
    return [n.encode("gb18030").decode("latin-1") for n in names]   # GBK read as Latin-1: ÕÅÈý


def plant_police_death(rng: np.random.Generator, cols: dict, facts: dict, share: float, on: dt.date,
                       encoding: str) -> list[tuple[int, str, str]]:
    """Mutates `cols`; returns (row, partner field, reason code) for every planted defect."""
    plain_name = np.char.find(cols["XM"].astype(str), "·") < 0      # minority names keep their ·
    candidates = np.flatnonzero(facts["eligible"] & plain_name)
    k = min(len(candidates), int(round(share * len(cols["GMSFHM"]))))
    rows = np.sort(rng.choice(candidates, k, replace=False))
    kinds = [("GMSFHM", "ID_CHECKSUM"), ("XB", "UNMAPPED_CODE"), ("ZXYY", "UNMAPPED_CODE"),
             ("SWRQ", "DATE_INVALID"), ("XB", "ID_GENDER_MISMATCH"), ("XM", "BAD_ENCODING"),
             ("XM", "REQUIRED"), ("SWRQ", "DEATH_BEFORE_BIRTH"), ("SWRQ", "DATE_IN_FUTURE"),
             ("HJDZ_XZQH", "DIVISION_UNKNOWN")]
    which = rng.integers(0, len(kinds), k)
    truth = []
    for j, (field, reason) in enumerate(kinds):
        r = rows[which == j]
        if not len(r):
            continue
        if reason == "ID_CHECKSUM":
            cols[field][r] = _flip_check(cols[field][r])
        elif reason == "UNMAPPED_CODE":
            cols[field][r] = "5" if field == "XB" else "7"
        elif reason == "DATE_INVALID":
            cols[field][r] = [s[:4] + "0230" for s in cols[field][r]]
        elif reason == "ID_GENDER_MISMATCH":
            cols[field][r] = np.where(facts["male"][r], "2", "1")
        elif reason == "BAD_ENCODING":
            cols[field][r] = _mojibake(cols[field][r], encoding)
        elif reason == "REQUIRED":
            cols[field][r] = ""
        elif reason == "DEATH_BEFORE_BIRTH":
            cols[field][r] = ymd(facts["birth"][r] - 400)
        elif reason == "DATE_IN_FUTURE":
            cols[field][r] = ymd(np.full(len(r), np.datetime64(on) + 5))
        elif reason == "DIVISION_UNKNOWN":
            cols[field][r] = "990101"
        truth += [(int(i), field, reason) for i in r]
    return sorted(truth)
