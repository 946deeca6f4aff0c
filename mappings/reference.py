"""National reference code lists shipped as data (mappings/reference/*.csv).

Division codes change every year (counties merge, districts are renamed), so a
code is judged against the list as it stood on a date, not against today's
list: a 2009 record from 南汇区 (310119, merged into 浦东 in 2009) is valid.
The lookup is a sorted-array interval search, vectorised over whole columns.  The list's
intervals are in years (its source has no days); the announced changes of
gbt2260_changes.csv (mappings/division_changes.py) give the days where known.
"""
from __future__ import annotations

import datetime as dt
import functools
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from jinbao.formats.fixed_width import byte_matrix, digits_value
from jinbao.mappings.division_changes import refine
from jinbao.schemas.dictionary import HubField

HERE = Path(__file__).resolve().parent / "reference"
_FAR_FUTURE = np.iinfo(np.int32).max
#: Which codes a division rule takes: county-level only, or any level (province, city, county).
COUNTY, ANY = "county", "any"


def _read(name: str) -> pa.Table:
    return pcsv.read_csv(HERE / name, convert_options=pcsv.ConvertOptions(
        column_types={"code": pa.string(), "valid_from": pa.date32(), "valid_to": pa.date32()}))


@functools.lru_cache(maxsize=1)
def divisions() -> pa.Table:
    """GB/T 2260 codes with validity intervals (several rows when a code was reused), to the day where
    a change announcement says it (division_changes.refine)."""
    listed = _read("gbt2260.csv")
    return pa.Table.from_pandas(refine(listed.to_pandas()), schema=listed.schema, preserve_index=False)


@functools.lru_cache(maxsize=1)
def counties() -> pa.Table:
    """The county-level rows every division rule is judged against (one filter for every user).

    xxxx01 市辖区 is a statistical placeholder of a city's urban districts, not a
    county: nobody is registered there, so it is not a valid division code for a record.
    """
    d = divisions()
    return d.filter(pc.and_(pc.equal(d.column("level"), "county"), pc.not_equal(d.column("name"), "市辖区")))


@functools.lru_cache(maxsize=1)
def any_level() -> pa.Table:
    """The rows a division of any level is judged against: provinces (xx0000), prefecture-level
    cities (xxxx00) and the counties above.

    A subsidy is owed by a province, a city or a county (docs/subsidies.md), so finance names all
    three.  A prefecture-level 市辖区 (110100, 500100) stays: it is the city level of a municipality's
    districts, which is where a Beijing resident's city share is owed; the county-level placeholder
    (xxxx01) does not, as for counties.
    """
    d = divisions()
    return pa.concat_tables([d.filter(pc.is_in(d.column("level"), pa.array(["province", "prefecture"]))),
                             counties()])


@functools.lru_cache(maxsize=2)
def _intervals(levels: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(codes, start, end) sorted by code: `county` for counties(), `any` for any_level()."""
    t = counties() if levels == COUNTY else any_level()
    codes = t.column("code").cast(pa.int64()).to_numpy()
    start = t.column("valid_from").cast(pa.int32()).to_numpy()
    end = pc.fill_null(t.column("valid_to").cast(pa.int32()), _FAR_FUTURE).to_numpy()
    order = np.lexsort((start, codes))
    return codes[order], start[order], end[order]


def _live_codes(day: dt.date, levels: str = COUNTY) -> np.ndarray:
    codes, start, end = _intervals(levels)
    n = (day - dt.date(1970, 1, 1)).days
    return codes[(start <= n) & (n <= end)]


@functools.lru_cache(maxsize=32)
def live_county_codes(on: dt.date) -> frozenset[str]:
    """County codes in force on `on`, as the code strings a value set needs (the GE form of DIVISION_UNKNOWN)."""
    return frozenset(f"{c:06d}" for c in _live_codes(on).tolist())


@functools.lru_cache(maxsize=32)
def live_division_codes(on: dt.date) -> frozenset[str]:
    """Province, city and county codes in force on `on` (the GE form of an any-level division's rule)."""
    return frozenset(f"{c:06d}" for c in _live_codes(on, ANY).tolist())


@functools.lru_cache(maxsize=1)
def ever_county_codes() -> frozenset[str]:
    """County codes of any edition: the policy for the address inside a citizen ID (docs/reference-data.md)."""
    return frozenset(f"{c:06d}" for c in county_code_ints().tolist())


def _code_ints(codes: pa.Array) -> np.ndarray:
    six = pc.fill_null(pc.match_substring_regex(codes, r"^[0-9]{6}$"), False)
    ints = pc.cast(pc.if_else(six, codes, "-1"), pa.int64())
    return ints.to_numpy(zero_copy_only=False)


def _days(on, n: int) -> np.ndarray:
    if isinstance(on, dt.date):
        return np.full(n, (on - dt.date(1970, 1, 1)).days, dtype=np.int64)
    if isinstance(on, pa.ChunkedArray):
        on = on.combine_chunks()
    return pc.fill_null(on.cast(pa.int32()), -(10 ** 9)).to_numpy(zero_copy_only=False).astype(np.int64)


@functools.lru_cache(maxsize=32)
def _valid_on(day: dt.date, levels: str = COUNTY) -> np.ndarray:
    """A 1,000,000-entry table: True at every code of `levels` in force on `day` (one gather per lookup)."""
    table = np.zeros(1_000_000, dtype=bool)
    table[_live_codes(day, levels)] = True
    return table


def _six_digit_ints(codes: pa.Array) -> np.ndarray:
    mat, ok = byte_matrix(codes, 6)
    value, digits = digits_value(mat, ok, 0, 6)
    return np.where(digits, value, -1)


def division_valid(codes: pa.Array, on, levels: str = COUNTY) -> np.ndarray:
    """True where the code was a GB/T 2260 code on that date (date or date32 column): county-level
    (`levels="county"`, a person's or a place's division) or of any level (`"any"`: province, city
    or county, the division that owes a subsidy)."""
    if isinstance(codes, pa.ChunkedArray):
        codes = codes.combine_chunks()
    if isinstance(on, dt.date):                       # the usual case: the delivery's business date
        wanted = _six_digit_ints(codes)
        return np.where(wanted >= 0, _valid_on(on, levels)[np.maximum(wanted, 0)], False)
    ref_codes, ref_start, ref_end = _intervals(levels)
    wanted = _code_ints(codes)
    days = _days(on, len(wanted))
    lo = np.searchsorted(ref_codes, wanted, side="left")
    hi = np.searchsorted(ref_codes, wanted, side="right")
    ok = np.zeros(len(wanted), dtype=bool)
    for j in range(int((hi - lo).max(initial=0))):   # at most a handful of intervals per code
        idx = lo + j
        live = idx < hi
        safe = np.where(live, idx, 0)
        ok |= live & (ref_start[safe] <= days) & (days <= ref_end[safe])
    return ok


def county_code_ints() -> np.ndarray:
    """Every county-level code that ever existed, as sorted unique ints."""
    return np.unique(_intervals(COUNTY)[0])


def division_ever_existed(codes: pa.Array) -> np.ndarray:
    """True where the code was a county-level code at any time (the policy for ID address codes)."""
    if isinstance(codes, pa.ChunkedArray):
        codes = codes.combine_chunks()
    ref_codes = _intervals(COUNTY)[0]
    return np.isin(_code_ints(codes), ref_codes)


@functools.lru_cache(maxsize=1)
def current_counties() -> list[tuple[str, str]]:
    """(code, name) of county-level codes still in force at the list's last edition."""
    t = counties().filter(pc.is_null(counties().column("valid_to")))
    names = t.column("name").to_pylist()
    return [(c, n) for c, n in zip(t.column("code").to_pylist(), names)
            if n != "县" and not n.startswith("省直辖")]


@functools.lru_cache(maxsize=1)
def ethnicity_codes() -> frozenset[str]:
    return frozenset(_read("gbt3304.csv").column("code").to_pylist())


@functools.lru_cache(maxsize=1)
def gender_codes() -> frozenset[str]:
    return frozenset(_read("gbt2261_1.csv").column("code").to_pylist())


def allowed_codes(spec: HubField) -> frozenset[str] | None:
    """The dictionary's code set of a coded field (inline codes or a national list): the gate judges
    by it and `jinbao mappings check` holds code tables to it."""
    if spec.codes:
        return frozenset(spec.codes)
    if spec.reference == "gbt3304":
        return ethnicity_codes()
    return None
