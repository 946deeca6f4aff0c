"""The insured population and its pension roll: the bureau's own side of the story.

IDs are built the way GB 11643 defines them (county code, birth date, sequence
with gender parity, check character), so everything a partner later sends
about these people can be checked against them.
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from jinbao.formats.citizen_id import with_check_char
from jinbao.generator.names import draw_names

EPOCH = np.datetime64("1970-01-01", "D")


#: Fallback when the reference list is unavailable: real county codes in force.
FALLBACK_COUNTIES = [("110101", "东城区"), ("110105", "朝阳区"), ("310115", "浦东新区"), ("440106", "天河区"),
                     ("440305", "南山区"), ("330106", "西湖区"), ("510107", "武侯区"), ("420106", "武昌区")]


def counties() -> list[tuple[str, str]]:
    """(code, name) of county-level divisions valid today, from the GB/T 2260 reference data."""
    try:
        # optional: without the GB/T 2260 reference data the generator uses FALLBACK_COUNTIES
        from jinbao.mappings.reference import current_counties
    except ImportError:
        return FALLBACK_COUNTIES
    return current_counties() or FALLBACK_COUNTIES


def _digits(values: np.ndarray, width: int) -> np.ndarray:
    """Non-negative integers -> (n, width) ASCII digit bytes, most significant first."""
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return (48 + (values[:, None] // powers) % 10).astype(np.uint8)


def population(rng: np.random.Generator, n: int, known: list[tuple[str, str]] | None = None) -> pa.Table:
    codes = np.array([c for c, _ in (known or counties())], dtype="S6")
    m = int(n * 1.05) + 10                      # oversample, then drop colliding IDs
    first, last = np.datetime64("1935-01-01"), np.datetime64("2005-12-31")
    offset = rng.integers(0, (last - first).astype(int) + 1, m)
    male = rng.random(m) < 0.5
    seq = rng.integers(0, 500, m) * 2 + male.astype(int)        # 17th digit odd for men, even for women
    where = rng.integers(0, len(codes), m)
    # Uniqueness on an integer key (county, birth day, sequence) instead of on strings.
    _, firsts = np.unique((where.astype(np.int64) * 30_000 + offset) * 1000 + seq, return_index=True)
    keep = np.sort(firsts)[:n]
    male, offset, seq, where = male[keep], offset[keep], seq[keep], where[keep]
    birth = first + offset
    ymd = birth.astype("datetime64[Y]").astype(np.int64) + 1970
    ymd = ymd * 10_000 + (birth.astype("datetime64[M]").astype(np.int64) % 12 + 1) * 100 \
        + (birth - birth.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64) + 1
    mat = np.empty((n, 17), dtype=np.uint8)
    mat[:, :6] = codes.view(np.uint8).reshape(-1, 6)[where]
    mat[:, 6:14] = _digits(ymd, 8)
    mat[:, 14:] = _digits(seq, 3)
    ids = with_check_char(pa.array(mat.view("S17").ravel(), pa.binary()).cast(pa.string()))
    ethnic = np.where(rng.random(n) < 0.91, "01", np.char.zfill(rng.integers(2, 57, n).astype(str), 2))
    return pa.table({
        "aac002": ids,
        "aac003": pa.array(draw_names(rng, male), pa.string()),
        "aaa002": pa.array(np.where(male, "1", "2"), pa.string()),
        "aac006": pa.array(birth.astype("datetime64[D]"), pa.date32()),
        "aac005": pa.array(ethnic, pa.string()),
        "aab301": pc.cast(pa.array(codes[where], pa.binary()), pa.string()),
    })


def months_back(on: dt.date, k: int) -> np.ndarray:
    """First days of the k months up to and including on's month, oldest first."""
    this = np.datetime64(on.strftime("%Y-%m"), "M")
    return (this - np.arange(k)[::-1]).astype("datetime64[D]")


def pensions(rng: np.random.Generator, n: int) -> np.ndarray:
    """Each person's monthly pension once retired (1500-6000 yuan): drawn once per seed, so a
    pensioner is paid the same amount whatever day is generated."""
    return np.round(rng.uniform(1500, 6000, n), 2)


def pension_roll(people: pa.Table, on: dt.date, stop_after: np.ndarray, monthly: np.ndarray) -> pa.Table:
    """Monthly payments for the last 12 months to everyone aged 60+.

    `stop_after` holds, per person, the last month still paid (NaT = paid to
    this day); the bureau stops paying in the month of a reported death.
    """
    birth = people.column("aac006").to_numpy().astype("datetime64[D]")
    age_days = (np.datetime64(on) - birth).astype(int)
    retired = np.flatnonzero(age_days >= 60 * 365.25)
    months = months_back(on, 12)
    amount = monthly[retired]
    who = np.repeat(retired, len(months))
    month = np.tile(months, len(retired))
    last = stop_after[who]
    paid = np.isnat(last) | (month <= last)
    return pa.table({
        "aac002": pc.take(people.column("aac002"), pa.array(who[paid])),
        "month": pa.array(month[paid], pa.date32()),
        "amount": pa.array(np.repeat(amount, len(months))[paid], pa.float64()),
    })
