"""The hub's USCC check against python-stdnum (an outside oracle, test-only)."""
import pyarrow as pa
from hypothesis import given, settings, strategies as st
from stdnum.cn import uscc as oracle

from jinbao.quality.uscc import ALPHABET, valid, with_check_char

PREFIX = st.text(alphabet=ALPHABET, min_size=17, max_size=17)


@settings(max_examples=300, deadline=None)  # no timing: CI machines may be loaded
@given(st.lists(PREFIX, min_size=1, max_size=50))
def test_check_char_matches_stdnum(prefixes):
    codes = with_check_char(pa.array(prefixes)).to_pylist()
    assert codes == [p + oracle.calc_check_digit(p) for p in prefixes]
    assert valid(pa.array(codes)).all()


@settings(max_examples=300, deadline=None)  # no timing: CI machines may be loaded
@given(st.lists(st.text(alphabet=ALPHABET + "IOSVZa-", min_size=16, max_size=19), min_size=1, max_size=50))
def test_validity_matches_stdnum(codes):
    expected = []
    for c in codes:
        try:
            expected.append(len(c) == 18 and oracle.is_valid(c) and c == c.upper())
        except Exception:
            expected.append(False)
    assert valid(pa.array(codes)).tolist() == expected


def test_null_is_not_valid():
    assert valid(pa.array([None, "91350100M000100Y43"], pa.string())).tolist() == [False, True]
