"""Synthetic unified social credit codes (GB 32100) for employers and hospitals.

The central-bank and health feeds key employers and hospitals by USCC, so the
generator needs codes whose check character is right (and, for the planted
USCC_CHECKSUM defects, codes whose check character is wrong).  The validator
lives in jinbao.formats.uscc; this is deliberately a separate, tiny
implementation so a slip in one is caught by the other in the tests.
Everything works on an (n, 18) byte matrix: no per-code Python.
"""
from __future__ import annotations

import numpy as np

ALPHABET = np.frombuffer(b"0123456789ABCDEFGHJKLMNPQRTUWXY", dtype=np.uint8)
WEIGHTS = np.array([1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28], dtype=np.int64)
#: Registration authority + entity kind: 91 = market regulator / enterprise, 12 = public institution.
ENTERPRISE, PUBLIC_INSTITUTION = "91", "12"

_VALUE = np.full(256, -1, dtype=np.int64)
_VALUE[ALPHABET] = np.arange(len(ALPHABET))


def check_values(first17: np.ndarray) -> np.ndarray:
    """(n, 17) byte matrix -> alphabet index of the check character."""
    return (31 - (_VALUE[first17] @ WEIGHTS) % 31) % 31


def make(rng: np.random.Generator, kind: str, divisions: np.ndarray) -> np.ndarray:
    """One valid USCC per division code: kind (2) + division (6) + organisation code (9) + check."""
    n = len(divisions)
    mat = np.empty((n, 18), dtype=np.uint8)
    mat[:, :2] = np.frombuffer(kind.encode(), dtype=np.uint8)
    mat[:, 2:8] = np.asarray(divisions, dtype="S6").view(np.uint8).reshape(n, 6)
    mat[:, 8:17] = ALPHABET[rng.integers(0, 10, (n, 9))]   # organisation codes are mostly digits
    mat[:, 17] = ALPHABET[check_values(mat[:, :17])]
    return mat.view("S18").ravel().astype(str).astype(object)


def wrong_check(codes: np.ndarray) -> np.ndarray:
    """The same codes with a different (hence wrong) check character."""
    mat = np.asarray(codes, dtype="S18").view(np.uint8).reshape(len(codes), 18).copy()
    mat[:, 17] = np.where(mat[:, 17] == ord("0"), ord("1"), ord("0"))
    return mat.view("S18").ravel().astype(str).astype(object)
