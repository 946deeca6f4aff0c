"""GB 11643 arithmetic against python-stdnum as an outside oracle (test-only dependency).

stdnum's whole `cn.ric.is_valid` is not used: it also demands that the address
code existed in the birth year, which rejects real people whose ID was issued
long after birth (docs/reference-data.md).  Only its check digit and birth
date functions serve as the oracle.
"""
import datetime as dt

import numpy as np
import pyarrow as pa
from hypothesis import given, settings, strategies as st
from stdnum.cn import ric

from jinbao.formats import citizen_id
from jinbao.mappings.translator import parse_dates
from jinbao.privacy import mask_ids

DIGITS = st.text(alphabet="0123456789", min_size=17, max_size=17)
BIRTHS = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2025, 12, 31))


@settings(max_examples=300, deadline=None)  # no timing: CI machines may be loaded
@given(st.lists(DIGITS, min_size=1, max_size=40))
def test_check_digit_matches_stdnum(prefixes):
    ids = citizen_id.with_check_char(pa.array(prefixes)).to_pylist()
    assert ids == [p + ric.calc_check_digit(p + "?") for p in prefixes]
    assert citizen_id.valid_checksum(pa.array(ids)).all()


@settings(max_examples=300, deadline=None)  # no timing: CI machines may be loaded
@given(st.lists(st.tuples(DIGITS, st.sampled_from("0123456789Xx")), min_size=1, max_size=40))
def test_validity_matches_stdnum_check_digit(pairs):
    ids = [p + c for p, c in pairs]
    expected = [c == ric.calc_check_digit(p + "?") for p, c in pairs]   # lowercase x is not accepted
    assert citizen_id.valid_checksum(pa.array(ids)).tolist() == expected


@settings(max_examples=200, deadline=None)  # no timing: CI machines may be loaded
@given(st.lists(st.tuples(BIRTHS, st.integers(0, 999)), min_size=1, max_size=40))
def test_birth_date_and_gender_match_stdnum(people):
    first17 = [f"110105{b:%Y%m%d}{s:03d}" for b, s in people]
    ids = citizen_id.with_check_char(pa.array(first17))
    births, invalid = parse_dates(citizen_id.birth_date_string(ids), "%Y%m%d")
    assert births.to_pylist() == [ric.get_birth_date(i) for i in ids.to_pylist()]
    assert citizen_id.gender_from_id(ids).to_pylist() == ["1" if s % 2 else "2" for _, s in people]


def test_fifteen_digit_upgrade():
    ids, upgraded = citizen_id.upgrade_15(pa.array(["110105491231002", "11010519491231002X", "12345"]))
    assert ids.to_pylist()[0] == "11010519491231002" + ric.calc_check_digit("11010519491231002?")
    assert upgraded.tolist() == [True, False, False]


def test_mask_keeps_only_region_and_last_four():
    assert mask_ids(pa.array(["11010519491231002X", "123"])).to_pylist() == ["110105********002X", "***"]


@settings(max_examples=200, deadline=None)  # no timing: CI machines may be loaded
@given(st.lists(st.tuples(BIRTHS, st.integers(0, 999)), min_size=1, max_size=40))
def test_inspect_matches_stdnum(people):
    ids = citizen_id.with_check_char(pa.array([f"110105{b:%Y%m%d}{s:03d}" for b, s in people]))
    facts = citizen_id.inspect(ids)
    assert facts.checksum.all() and (facts.address == 110105).all()
    assert [d.astype("datetime64[D]").item() for d in facts.birth] == [ric.get_birth_date(i) for i in ids.to_pylist()]
    assert facts.male.tolist() == [s % 2 == 1 for _, s in people]


def test_inspect_rejects_impossible_birth_dates_and_bad_shapes():
    ids = ["110105" + d + "0011" for d in ("20230230", "19991301", "19990100", "20240229")]
    ids = citizen_id.with_check_char(pa.array([i[:17] for i in ids])).to_pylist() + ["11010519491231002x", None]
    facts = citizen_id.inspect(pa.array(ids))
    assert np.isnat(facts.birth[:3]).all() and not np.isnat(facts.birth[3])
    assert facts.well_formed.tolist() == [True] * 4 + [False, False]
    assert facts.present.tolist() == [True] * 5 + [False]
