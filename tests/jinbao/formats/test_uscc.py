"""The hub's USCC check against python-stdnum (an outside oracle, test-only)."""
import pyarrow as pa
from hypothesis import given, settings, strategies as st
from stdnum.cn import uscc as oracle

from jinbao.formats.uscc import ALPHABET, valid, with_check_char

PREFIX = st.builds(lambda a, b, c, d: a + b + c + d, st.sampled_from("123456789ANY"), st.sampled_from(ALPHABET),
                   st.text(alphabet="0123456789", min_size=6, max_size=6),
                   st.text(alphabet=ALPHABET, min_size=9, max_size=9))


@settings(max_examples=300, deadline=None)  # no timing: CI machines may be loaded
@given(st.lists(PREFIX, min_size=1, max_size=50))
def test_check_char_matches_stdnum(prefixes):
    codes = with_check_char(pa.array(prefixes)).to_pylist()
    assert codes == [p + oracle.calc_check_digit(p) for p in prefixes]
    assert valid(pa.array(codes)).all()


DIGIT_LED = st.builds(lambda a, b, c: a + b + c, st.text(alphabet="0123456789", min_size=8, max_size=8),
                      st.text(alphabet=ALPHABET, min_size=9, max_size=9), st.sampled_from(["", "0", "Y"]))


@settings(max_examples=300, deadline=None)  # no timing: CI machines may be loaded
@given(st.lists(st.one_of(DIGIT_LED, st.text(alphabet="0123456789" + ALPHABET[10:] + "IOSVZa-", min_size=16,
                                              max_size=19)), min_size=1, max_size=50))
def test_validity_matches_stdnum(codes):
    """Same verdict as stdnum, except that stdnum refuses authorities A, N and Y (see valid())."""
    expected = []
    for c in codes:
        try:
            expected.append(len(c) == 18 and c[0] != "0" and oracle.is_valid(c) and c == c.upper())
        except Exception:
            expected.append(False)
    assert valid(pa.array(codes)).tolist() == expected


def test_authorities_a_n_y_are_valid_structure_is_checked():
    prefixes = ["Y1110000MA0000001", "A1110000MA0000001", "N1110000MA0000001", "91A10000MA0000001",
                "01110000MA0000001"]
    codes = with_check_char(pa.array(prefixes))
    assert valid(codes).tolist() == [True, True, True, False, False]   # digits 3-8; authority 0 unknown


def test_null_is_not_valid():
    assert valid(pa.array([None, "91350100M000100Y43"], pa.string())).tolist() == [False, True]
