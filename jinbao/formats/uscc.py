"""GB 32100 unified social credit code (统一社会信用代码) check character, vectorised.

Every employer row of the central bank feed and every hospital of the health
feed carries one; a wrong check character is the commonest typing error, and
catching it keeps a bad employer key out of the arrears lists.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from jinbao.formats.fixed_width import byte_matrix

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = np.array([1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28], dtype=np.int64)
#: byte -> value in the alphabet, -1 for bytes outside it (I, O, S, V, Z, lowercase...).
_VALUE = np.full(256, -1, dtype=np.int64)
for _i, _c in enumerate(ALPHABET):
    _VALUE[ord(_c)] = _i


def _values(codes: pa.Array, width: int) -> tuple[np.ndarray, np.ndarray]:
    mat, ok = byte_matrix(codes, width)
    return _VALUE[mat], ok


def _check_values(values17: np.ndarray) -> np.ndarray:
    return (31 - (values17 @ WEIGHTS) % 31) % 31


#: Registration authorities (GB 32100 table 1): 1-9, A (军队编制), N (农业), Y (其他).
_AUTHORITIES = np.array([_VALUE[ord(c)] for c in "123456789ANY"])


def valid(codes: pa.Array) -> np.ndarray:
    """True where the code has GB 32100's structure and the right check character.

    Structure: a registration authority, a category, six digits of division
    code, then nine characters of the code alphabet.  python-stdnum demands the
    first eight to be digits, which refuses real codes of authorities A, N, Y.
    """
    vals, ok = _values(codes, 18)
    ok = ok & (vals >= 0).all(axis=1)
    ok = ok & np.isin(vals[:, 0], _AUTHORITIES) & (vals[:, 2:8] <= 9).all(axis=1)
    return ok & (_check_values(np.where(vals[:, :17] < 0, 0, vals[:, :17])) == vals[:, 17])


def with_check_char(first17: pa.Array) -> pa.Array:
    """Append the check character to 17-character prefixes (used by the generator)."""
    vals, ok = _values(first17, 17)
    ok = ok & (vals >= 0).all(axis=1)
    chars = np.frombuffer(ALPHABET.encode(), dtype=np.uint8)[_check_values(np.where(vals < 0, 0, vals))]
    check = pa.array(chars.view("S1").astype(object), pa.binary()).cast(pa.string())
    joined = pc.binary_join_element_wise(first17, check, "")
    return pc.if_else(pa.array(ok), joined, pa.scalar(None, pa.string()))
