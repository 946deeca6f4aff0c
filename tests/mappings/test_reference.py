"""Reference code lists: the shipped CSVs, their provenance, and the vectorised division lookups.

The division lookup decides DIVISION_UNKNOWN and ID_ADDRESS_UNKNOWN for every
record of every feed, so it is checked against a plain row-by-row reading of
the CSV (the oracle), on both of its code paths (one date for the whole column,
a date per row), and on the real history cases the policy was written for.
"""
from __future__ import annotations

import csv
import datetime as dt
import importlib.util
import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings, strategies as st

from jinbao.mappings import reference
from jinbao.mappings.reference import (current_counties, division_ever_existed, division_valid, ethnicity_codes,
                                       ever_county_codes, gender_codes, live_county_codes)

REF = Path(reference.__file__).resolve().parent / "reference"
ROWS = list(csv.DictReader(open(REF / "gbt2260.csv", encoding="utf-8")))
#: The list the lookups judge by: the CSV made exact to the day by the announced changes
#: (tests/mappings/test_division_changes.py holds that step to the announcements).
IN_FORCE = [{k: "" if v is None else str(v) for k, v in r.items()} for r in reference.divisions().to_pylist()]
COUNTY = [r for r in IN_FORCE if r["level"] == "county" and r["name"] != "市辖区"]   # xxxx01 placeholders excluded
COUNTY_CODES = sorted({r["code"] for r in COUNTY})


def _oracle(code: str | None, on: dt.date | None) -> bool:
    if code is None or on is None:
        return False
    return any(r["code"] == code and dt.date.fromisoformat(r["valid_from"]) <= on
               and (not r["valid_to"] or on <= dt.date.fromisoformat(r["valid_to"])) for r in COUNTY)


def _both_paths(codes: list, on: dt.date) -> list[bool]:
    """division_valid with one date and with the same date repeated as a column must agree."""
    arr = pa.array(codes, pa.string())
    scalar = division_valid(arr, on).tolist()
    column = division_valid(arr, pa.array([on] * len(codes), pa.date32())).tolist()
    assert scalar == column, (codes, on)
    return scalar


# --- the CSV files -----------------------------------------------------------------------------

def test_gbt2260_csv_shape():
    assert list(ROWS[0]) == ["code", "name", "level", "valid_from", "valid_to"]
    assert {r["level"] for r in ROWS} == {"province", "prefecture", "county"}
    for r in ROWS:
        assert len(r["code"]) == 6 and r["code"].isdigit() and r["name"]
        start = dt.date.fromisoformat(r["valid_from"])
        assert start.month == 1 and start.day == 1                  # the source has years only
        if r["valid_to"]:
            end = dt.date.fromisoformat(r["valid_to"])
            assert (end.month, end.day) == (12, 31) and start <= end
        expected = "province" if r["code"].endswith("0000") else "prefecture" if r["code"].endswith("00") \
            else "county"
        assert r["level"] == expected
    assert len({(r["code"], r["valid_from"]) for r in ROWS}) == len(ROWS)
    assert len(COUNTY) > 6000 and sum(not r["valid_to"] for r in COUNTY) > 2800
    assert any(r["valid_to"] for r in COUNTY)                        # abolished codes are kept


def test_gbt2260_csv_is_what_the_build_script_makes_from_stdnum():
    """Provenance: the committed CSV is exactly the build script's output for the installed python-stdnum."""
    import stdnum

    spec = importlib.util.spec_from_file_location("build_gbt2260", REF / "build_gbt2260.py")
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    rows = sorted(set(build.parse(Path(os.path.dirname(stdnum.__file__)) / "cn" / "loc.dat")))
    assert [tuple(r.values()) for r in ROWS] == rows


def test_gbt3304_ethnicities():
    rows = list(csv.DictReader(open(REF / "gbt3304.csv", encoding="utf-8")))
    assert [r["code"] for r in rows] == [f"{i:02d}" for i in range(1, 57)]
    assert len({r["name"] for r in rows}) == 56 and all(r["name"].endswith("族") for r in rows)
    assert rows[0]["name"] == "汉族" and rows[0]["roman"] == "Han"
    assert all(r["roman"] and r["roman"].isascii() for r in rows)
    assert ethnicity_codes() == {f"{i:02d}" for i in range(1, 57)}


def test_gbt2261_1_genders():
    rows = list(csv.DictReader(open(REF / "gbt2261_1.csv", encoding="utf-8")))
    assert {r["code"]: r["name"] for r in rows} == {"0": "未知的性别", "1": "男性", "2": "女性",
                                                    "9": "未说明的性别"}
    assert gender_codes() == {"0", "1", "2", "9"}


# --- division_valid: a code in force on a date ---------------------------------------------------

@pytest.mark.parametrize("code,on,expected", [
    ("110105", dt.date(2026, 11, 22), True),     # 朝阳区, in force since the first edition
    ("110103", dt.date(2009, 6, 1), True),       # 崇文区 until its merger into 东城区 (2010)
    ("110103", dt.date(2011, 1, 1), False),
    ("310119", dt.date(2005, 3, 1), True),       # 南汇区 2001-2009, then part of 浦东新区
    ("310119", dt.date(2000, 12, 31), False),
    ("310119", dt.date(2015, 1, 1), False),
    ("310115", dt.date(2026, 11, 22), True),     # 浦东新区
    ("310115", dt.date(1949, 10, 1), False),     # did not exist then
    ("419001", dt.date(1988, 5, 1), True),       # 济源市: 1986-1989 and again since 1997 ...
    ("419001", dt.date(1993, 5, 1), False),      # ... not in between
    ("419001", dt.date(2000, 5, 1), True),
    ("532901", dt.date(1982, 6, 1), True),       # source "[1983-1982]" 下关市, read as 1982-1983
    ("532901", dt.date(1981, 6, 1), False),
    ("440305", dt.date(1985, 1, 1), True),       # reused code: 南头区办事处, then 南山区
    ("440305", dt.date(2026, 1, 1), True),
    ("310000", dt.date(2026, 1, 1), False),      # province, not county level
    ("310100", dt.date(2026, 1, 1), False),      # prefecture level
    ("990101", dt.date(2026, 1, 1), False),      # no such code
    ("11010", dt.date(2026, 1, 1), False),       # wrong width
    ("1101051", dt.date(2026, 1, 1), False),
    ("11O105", dt.date(2026, 1, 1), False),      # letter O, not zero
    ("", dt.date(2026, 1, 1), False),
    (None, dt.date(2026, 1, 1), False),
])
def test_known_history(code, on, expected):
    assert _both_paths([code], on) == [expected] == [_oracle(code, on)]


def test_null_dates_and_chunked_inputs():
    codes = pa.chunked_array([["110105", "310119"], [None, "310119"]], pa.string())
    days = pa.chunked_array([[dt.date(2026, 1, 1), None], [dt.date(2026, 1, 1), dt.date(2005, 1, 1)]],
                            pa.date32())
    got = division_valid(codes, days)
    assert isinstance(got, np.ndarray) and got.dtype == bool
    assert got.tolist() == [True, False, False, True]
    assert division_valid(codes, dt.date(2005, 1, 1)).tolist() == [True, True, False, True]
    assert division_valid(pa.array([], pa.string()), dt.date(2026, 1, 1)).tolist() == []


JUNK = st.one_of(st.none(), st.sampled_from(["990101", "000000", "110000", "310100", "abcdef", "", "12345"]),
                 st.text(alphabet="0123456789", min_size=6, max_size=6))
CODES = st.lists(st.one_of(st.sampled_from(COUNTY_CODES), JUNK), min_size=1, max_size=40)
DATES = st.dates(min_value=dt.date(1975, 1, 1), max_value=dt.date(2030, 12, 31))


@settings(max_examples=200, deadline=None)  # no timing: CI machines may be loaded
@given(CODES, DATES)
def test_one_date_matches_the_oracle(codes, on):
    assert _both_paths(codes, on) == [_oracle(c, on) for c in codes]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.one_of(st.sampled_from(COUNTY_CODES), JUNK), st.one_of(st.none(), DATES)),
                min_size=1, max_size=40))
def test_date_per_row_matches_the_oracle(pairs):
    codes = pa.array([c for c, _ in pairs], pa.string())
    days = pa.array([d for _, d in pairs], pa.date32())
    assert division_valid(codes, days).tolist() == [_oracle(c, d) for c, d in pairs]


# --- division_ever_existed: the policy for the address code inside a citizen ID -------------------

def test_ever_existed_is_any_interval():
    codes = pa.array(["310115", "310119", "110103", "419001", "990101", "310000", "31011", None], pa.string())
    assert division_ever_existed(codes).tolist() == [True, True, True, True, False, False, False, False]
    sample = pa.array(COUNTY_CODES, pa.string())
    assert division_ever_existed(sample).all()


def test_pudong_resident_born_1949_is_accepted_although_stdnum_rejects_him():
    """The policy in docs/reference-data.md: IDs carry the code at issue, not at birth."""
    from stdnum.cn import ric

    from jinbao.formats.citizen_id import with_check_char

    first17 = "31011519491001001"
    full = with_check_char(pa.array([first17])).to_pylist()[0]
    assert ric.calc_check_digit(full) == full[-1]          # stdnum wants the 18 digits (ignores the last)
    assert not ric.is_valid(full)                        # stdnum: Pudong did not exist in 1949
    assert division_ever_existed(pa.array([full[:6]])).tolist() == [True]
    assert division_valid(pa.array([full[:6]]), dt.date(1949, 10, 1)).tolist() == [False]


# --- the code sets GE and the ID policy use: the same county filter as division_valid --------------

@pytest.mark.parametrize("on", [dt.date(1985, 1, 1), dt.date(2005, 3, 1), dt.date(2009, 12, 31), dt.date(2026, 11, 22)])
def test_live_county_codes_are_what_division_valid_accepts(on):
    live = live_county_codes(on)
    assert live == {c for c in COUNTY_CODES if _oracle(c, on)}
    assert division_valid(pa.array(COUNTY_CODES), on).tolist() == [c in live for c in COUNTY_CODES]


ANY_LEVEL = COUNTY + [r for r in IN_FORCE if r["level"] in ("province", "prefecture")]   # prefecture 市辖区 kept
ALL_CODES = sorted({r["code"] for r in IN_FORCE})


def _any_oracle(code: str, on: dt.date) -> bool:
    return any(r["code"] == code and dt.date.fromisoformat(r["valid_from"]) <= on
               and (not r["valid_to"] or on <= dt.date.fromisoformat(r["valid_to"])) for r in ANY_LEVEL)


@pytest.mark.parametrize("on", [dt.date(1989, 6, 1), dt.date(2009, 12, 31), dt.date(2026, 11, 22)])
def test_any_level_division_is_a_province_city_or_county_in_force(on):
    """The owing division's rule (hub type division_any): both code paths and the GE set against the CSV."""
    want = [_any_oracle(c, on) for c in ALL_CODES]
    arr = pa.array(ALL_CODES)
    assert division_valid(arr, on, reference.ANY).tolist() == want
    assert division_valid(arr, pa.array([on] * len(ALL_CODES), pa.date32()), reference.ANY).tolist() == want
    assert reference.live_division_codes(on) == {c for c, ok in zip(ALL_CODES, want) if ok}


def test_every_generated_county_owes_through_a_real_city_and_province():
    """A subsidy line's city (xxxx00) and province (xx0000) of every county people live in are codes in force."""
    codes = [c for c, _ in current_counties()]
    for owing in ({c[:4] + "00" for c in codes}, {c[:2] + "0000" for c in codes}):
        assert division_valid(pa.array(sorted(owing)), dt.date(2026, 11, 22), reference.ANY).all()
    assert division_valid(pa.array(["130000", "130100", "110100", "130101"]), dt.date(2026, 11, 22),
                          reference.ANY).tolist() == [True, True, True, False]
    assert not division_valid(pa.array(["130000", "130100"]), dt.date(2026, 11, 22)).any()   # not counties


def test_ever_county_codes():
    assert ever_county_codes() == set(COUNTY_CODES)
    assert division_ever_existed(pa.array(COUNTY_CODES)).all()


# --- current_counties: what the generator draws from -------------------------------------------

def test_current_counties():
    counties = current_counties()
    codes = [c for c, _ in counties]
    assert len(codes) == len(set(codes)) > 2800
    assert division_valid(pa.array(codes), dt.date(2026, 11, 22)).all()
    names = dict(counties)
    assert names["110105"] == "朝阳区" and names["310115"] == "浦东新区"
    assert "310119" not in names and "110103" not in names          # abolished
    assert not any(n in ("市辖区", "县") for n in names.values())   # placeholders, nobody lives there
