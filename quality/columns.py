"""A column as the rules see it: values for the fast path, a name in ge_check's frame for GE.

Rules take Columns rather than arrays so that one rule definition serves both
paths, and so that what several rules need (the present mask, the one pass
over the ID bytes) is computed once per batch.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from jinbao.schemas.dictionary import HubField

ID, BIRTH, GENDER = "AAC002", "AAC006", "AAA002"
#: Columns ge_check derives for GE, which has no ID arithmetic of its own.
ID_BIRTH, ID_GENDER, STATED_GENDER = "ge__id_birth", "ge__id_gender", "hub__AAA002_12"


def ge_column(code: str) -> str:
    return f"hub__{code}"


def as_mask(mask) -> np.ndarray:
    if isinstance(mask, np.ndarray):
        return mask
    return pc.fill_null(mask, False).to_numpy(zero_copy_only=False)


@dataclass
class Column:
    name: str
    spec: HubField | None = None
    on: dt.date | None = None
    values: pa.Array | None = None
    #: The latest date a "not in the future" value may hold (Gate.latest); None: `on`, the business date.
    latest: dt.date | None = None
    _memo: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def until(self) -> dt.date | None:
        """The last day that is not in the future for this delivery: the earlier of `on` and `latest`."""
        return min(self.on, self.latest) if self.latest and self.on else (self.on or self.latest)

    def once(self, fn: Callable[[Column], Any]) -> Any:
        """fn(self), computed on first use: the four ID rules share one pass over the bytes."""
        if fn not in self._memo:
            self._memo[fn] = fn(self)
        return self._memo[fn]

    @property
    def present(self) -> np.ndarray:
        return self.once(_present)


def _present(c: Column) -> np.ndarray:
    return as_mask(pc.is_valid(c.values))
