"""Plant exactly one known defect in a chosen share of a delivery's records.

Each kind makes exactly one rule fail, so the truth file can say which reason
the hub must give; the pipeline tests and the demo compare against it.  The
defect goes on the partner's own column, in the partner's own codes and date
layout, because that is what a receipt must name.
"""
from __future__ import annotations

import datetime as dt

import numpy as np

from jinbao.generator import credit_codes as uscc
from jinbao.generator.delivery import Delivery, Kind
from jinbao.generator.formats import dates, impossible_date


def mojibake(names: np.ndarray, encoding: str) -> np.ndarray:
    """What a wrong decoding upstream leaves in a name.

    GB18030 files: the name's UTF-8 bytes read as GB18030 (张三 -> 寮犱笁);
    UTF-8 files: the GB18030 bytes read as Latin-1 (张三 -> ÕÅÈý).  Only the
    few defective rows pass through here, so a comprehension is fine.
    """
    if encoding.upper() == "GB18030":
        return np.array([n.encode("utf-8").decode("gb18030", errors="replace") for n in names], dtype=object)
    return np.array([n.encode("gb18030").decode("latin-1") for n in names], dtype=object)


def _wrong_id_check(ids: np.ndarray) -> np.ndarray:
    last = np.strings.slice(ids.astype(str), 17, 18)
    return np.char.add(np.strings.slice(ids.astype(str), 0, 17), np.where(last == "0", "1", "0")).astype(object)


def _apply(rng: np.random.Generator, d: Delivery, kind: Kind, r: np.ndarray, on: dt.date) -> np.ndarray:
    cur = d.cols[kind.field][r]
    n = len(r)
    match kind.reason:
        case "ID_CHECKSUM":
            return _wrong_id_check(cur)
        case "UNMAPPED_CODE":
            return np.full(n, kind.arg, dtype=object)
        case "DATE_INVALID":
            return impossible_date(cur, kind.arg)
        case "ID_GENDER_MISMATCH":
            male_code, female_code = kind.arg
            return np.where(d.male[r], female_code, male_code).astype(object)
        case "BAD_ENCODING":
            return mojibake(cur, d.encoding)
        case "REQUIRED":
            return np.full(n, "", dtype=object)
        case "DEATH_BEFORE_BIRTH":
            return dates(d.birth[r] - rng.integers(30, 400, n), kind.arg)
        case "DATE_IN_FUTURE":
            return dates(np.datetime64(on) + rng.integers(1, 30, n), kind.arg)
        case "MONTH_IN_FUTURE":
            return dates((np.datetime64(on, "M") + rng.integers(1, 4, n)).astype("datetime64[D]"), kind.arg)
        case "ID_BIRTHDATE_MISMATCH":       # a real date, 1-400 days off the one inside the ID
            shift = rng.integers(1, 401, n) * np.where(rng.random(n) < 0.5, -1, 1)
            return dates(d.birth[r] + shift, kind.arg)
        case "FORMAT_INVALID":
            return np.full(n, kind.arg, dtype=object)
        case "DIVISION_UNKNOWN":
            return np.full(n, "990101", dtype=object)
        case "USCC_CHECKSUM":
            return uscc.wrong_check(cur)
        case "AMOUNT_INVALID":
            return np.where(rng.random(n) < 0.5, "-5.00", "12.345").astype(object)
    raise ValueError(f"unknown defect kind {kind.reason}")


def plant(rng: np.random.Generator, d: Delivery, share: float, on: dt.date) -> list[tuple[int, str, str]]:
    """Mutates `d.cols`; returns sorted (row, partner field, reason code), row 0-based, with the
    defects a builder planted itself (`d.extra["defects"]`: the audit cases' typo'd IDs, rejected
    certificates and roll rows, audit_cases.py), which count towards the share."""
    candidates = np.flatnonzero(d.eligible)
    extra = d.extra.get("defects", [])
    k = max(0, min(len(candidates), int(round(share * d.records)) - len(extra)))
    rows = np.sort(rng.choice(candidates, k, replace=False))
    which = rng.integers(0, len(d.kinds), k)
    truth = []
    for j, kind in enumerate(d.kinds):
        r = rows[which == j]
        if len(r):
            d.cols[kind.field][r] = _apply(rng, d, kind, r, on)
            truth += [(int(i), kind.field, kind.reason) for i in r]
    return sorted(truth + extra)
