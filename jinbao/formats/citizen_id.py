"""GB 11643 citizen ID arithmetic over whole Arrow columns.

The check digit (ISO 7064 MOD 11-2), the 17th-digit gender parity and the
embedded birth date are needed by the translator (15 -> 18 digit upgrade), the
quality gate and the synthetic data generator.  They all work on columns of
millions of IDs, so everything here is numpy over a fixed-width byte matrix;
there is no per-ID Python.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from jinbao.formats.fixed_width import byte_matrix, civil_dates

#: Weight of position i is 2**(17-i) mod 11 (GB 11643-1999, 6.2).
WEIGHTS = np.array([pow(2, 17 - i, 11) for i in range(17)], dtype=np.int64)
#: Remainder -> check character.
CHECK_CHARS = np.frombuffer(b"10X98765432", dtype=np.uint8)

def check_chars(first17: pa.Array) -> pa.Array:
    """Check character for each 17-digit prefix; null where the prefix is not 17 digits."""
    mat, ok = byte_matrix(first17, 17)
    digits = mat.astype(np.int64) - 48
    ok = ok & ((digits >= 0) & (digits <= 9)).all(axis=1)
    rem = (digits @ WEIGHTS) % 11
    chars = np.ascontiguousarray(CHECK_CHARS[rem])
    # Straight from the byte buffer: no Python object per ID.
    out = pa.FixedSizeBinaryArray.from_buffers(pa.binary(1), len(chars), [None, pa.py_buffer(chars.tobytes())])
    out = out.cast(pa.binary()).cast(pa.string())
    return pc.if_else(pa.array(ok), out, pa.nulls(len(out), pa.string()))


def valid_checksum(ids: pa.Array) -> np.ndarray:
    """True where the value is 18 chars, 17 digits and the right check character.

    A lowercase `x` is not accepted: the hub normalises to uppercase before
    judging, so a lowercase one here means normalisation was skipped.
    """
    mat, ok = byte_matrix(ids, 18)
    digits = mat[:, :17].astype(np.int64) - 48
    ok = ok & ((digits >= 0) & (digits <= 9)).all(axis=1)
    rem = (digits @ WEIGHTS) % 11
    return ok & (CHECK_CHARS[rem] == mat[:, 17])


def with_check_char(first17: pa.Array) -> pa.Array:
    """Append the check character to 17-digit prefixes (null stays null)."""
    return pc.binary_join_element_wise(first17, check_chars(first17), "")


def upgrade_15(ids: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """Upgrade first-generation 15-digit IDs to 18 digits (GB 11643 appendix).

    Insert century "19" after the 6-digit address code and compute the check
    character.  Returns the new column and a mask of values that were upgraded;
    other values pass through unchanged.
    """
    is15 = pc.fill_null(pc.equal(pc.binary_length(ids), 15), False)
    if pc.any(is15).as_py():   # the regex only runs when there are 15-character values at all
        is15 = pc.fill_null(pc.and_(is15, pc.match_substring_regex(ids, r"^[0-9]{15}$")), False)
    mask = is15.to_numpy(zero_copy_only=False)
    if not mask.any():
        return ids, mask
    # Only the (few) old IDs are computed; the separator "19" goes between the two parts.
    old = ids.filter(is15)
    first17 = pc.binary_join_element_wise(
        pc.utf8_slice_codeunits(old, 0, 6), pc.utf8_slice_codeunits(old, 6, 15), "19")
    return pc.replace_with_mask(ids, is15, with_check_char(first17)), mask


def birth_date_string(ids: pa.Array) -> pa.Array:
    """YYYYMMDD embedded at positions 7-14 of an 18-char ID."""
    return pc.utf8_slice_codeunits(ids, 6, 14)


def gender_from_id(ids: pa.Array) -> pa.Array:
    """Hub gender code from the 17th digit: odd '1' male, even '2' female; null if not a digit."""
    d17 = pc.utf8_slice_codeunits(ids, 16, 17)
    num = pc.cast(pc.if_else(pc.utf8_is_digit(d17), d17, None), pa.int8())
    odd = pc.equal(pc.bit_wise_and(num, 1), 1)
    return pc.if_else(odd, "1", "2")


@dataclass
class IdFacts:
    """Everything the gate needs from a column of IDs, from one pass over its bytes."""

    present: np.ndarray      # not null
    well_formed: np.ndarray  # 18 chars: 17 digits + digit or X
    checksum: np.ndarray     # well formed and the right check character
    birth: np.ndarray        # datetime64[D], NaT where the embedded date does not exist
    male: np.ndarray         # 17th digit odd
    address: np.ndarray      # int64 of the first six digits (-1 where not digits)


def inspect(ids: pa.Array) -> IdFacts:
    """Column-at-a-time integer arithmetic on the ID bytes (no n×17 int64 matrices)."""
    if isinstance(ids, pa.ChunkedArray):
        ids = ids.combine_chunks()
    mat, ok = byte_matrix(ids, 18)
    d = mat - np.uint8(48)                   # non-digits wrap to >= 208
    well = ok.copy()
    total = np.zeros(len(mat), dtype=np.int32)
    for i in range(17):
        col = d[:, i]
        well &= col <= 9
        total += col.astype(np.int32) * int(WEIGHTS[i])
    last = mat[:, 17]
    well &= (d[:, 17] <= 9) | (last == ord("X"))
    checksum = well & (CHECK_CHARS[total % 11] == last)

    def num(a: int, b: int) -> np.ndarray:
        out = np.zeros(len(mat), dtype=np.int32)
        for i in range(a, b):
            out *= 10
            out += d[:, i]                    # garbage for malformed IDs: masked by `well` below
        return out

    birth = civil_dates(num(6, 10), num(10, 12), num(12, 14), well)
    return IdFacts(present=ids.is_valid().to_numpy(zero_copy_only=False), well_formed=well, checksum=checksum,
                   birth=birth, male=(d[:, 16] % 2 == 1), address=np.where(well, num(0, 6), -1).astype(np.int64))
