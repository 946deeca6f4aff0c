"""One partner delivery before it is written: columns in the partner's names and codes.

Each feed module returns a Delivery; the defect planter and the writer work
on any Delivery, so adding a feed means describing its columns and which
defects can plausibly occur in it, nothing more.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Kind:
    """A defect that can occur in a feed: which partner column, which reason, and how.

    `arg` depends on the reason: the bad code for UNMAPPED_CODE, the date
    layout for date reasons, the partner's (male, female) codes for
    ID_GENDER_MISMATCH, the file encoding for BAD_ENCODING.
    """
    field: str
    reason: str
    arg: object = None


@dataclass
class Delivery:
    feed: str
    partner: str
    encoding: str
    columns: list[str]
    cols: dict[str, np.ndarray]          # object arrays of str, one per column
    kinds: list[Kind]
    #: Rows a defect may be planted in: 18-digit IDs, ordinary gender codes,
    #: plain names, not a planted paid-after-death case, so each planted
    #: defect is the record's only failure.
    eligible: np.ndarray
    male: np.ndarray | None = None       # from the ID (needed by ID_GENDER_MISMATCH)
    birth: np.ndarray | None = None      # datetime64[D] (needed by DEATH_BEFORE_BIRTH)
    person: np.ndarray | None = None     # population rows, for tests and truth
    extra: dict = field(default_factory=dict)

    @property
    def records(self) -> int:
        return len(self.cols[self.columns[0]])
