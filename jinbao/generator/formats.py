"""Render numpy values the way each partner writes them.

Partners disagree on date layout (police and finance `YYYYMMDD`, civil affairs
and health `YYYY-MM-DD`); keeping the layouts in one place means a defect
like "30 February" is written in the same layout as the good dates around it,
so it fails as DATE_INVALID and not as a format error.
"""
from __future__ import annotations

import numpy as np

#: Partner date layouts by name, as the feed modules declare them; the bureau's months
#: (hrss: payment month YYYY-MM, contribution month YYYYMM) have no day.
COMPACT = "%Y%m%d"
ISO = "%Y-%m-%d"
MONTH_ISO = "%Y-%m"
MONTH_COMPACT = "%Y%m"
MONTHS = (MONTH_ISO, MONTH_COMPACT)


def dates(days: np.ndarray, layout: str) -> np.ndarray:
    """datetime64 values as partner strings (object array, ready for Arrow); a month layout
    writes the month the day falls in."""
    iso = days.astype("datetime64[M]" if layout in MONTHS else "datetime64[D]").astype(str)
    if layout in (COMPACT, MONTH_COMPACT) and iso.size:         # numpy cannot size an empty replace
        iso = np.char.replace(iso, "-", "")
    return iso.astype(object)


def impossible_date(good: np.ndarray, layout: str) -> np.ndarray:
    """30 February of the same year as the good date (a month: the 13th month): right layout,
    no such day."""
    years = np.strings.slice(np.asarray(good, dtype=str), 0, 4)
    tail = {COMPACT: "0230", ISO: "-02-30", MONTH_COMPACT: "13", MONTH_ISO: "-13"}[layout]
    return np.char.add(years, tail).astype(object)


def money(amounts: np.ndarray) -> np.ndarray:
    """Yuan with exactly two decimals, as every partner's amount fields are agreed."""
    return np.char.mod("%.2f", np.round(amounts, 2)).astype(object)


def take(values, idx: np.ndarray) -> np.ndarray:
    """Object array of the chosen rows (Arrow or numpy input)."""
    if hasattr(values, "to_numpy"):
        values = values.to_numpy(zero_copy_only=False)
    return np.asarray(values)[idx].astype(object)
