"""Custom Great Expectations for the rules GE has no built-in for.

They are written independently of the fast path (plain Python per value, the
way a data engineer would write them), so the agreement test between the fast
path and GE compares two implementations, not one with itself.  What is data
rather than arithmetic (the ID pattern, the county list) is shared with the
fast path, so the two cannot disagree on a definition.  Each one
passes values an earlier rule already rejects (a malformed ID is ID_FORMAT,
not also ID_CHECKSUM), mirroring the fast path's one-reason-per-mistake rule.

Import only where GE runs (tasks, tests, bench), never at DAG parse time.
"""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from great_expectations.execution_engine import PandasExecutionEngine
from great_expectations.expectations.expectation import ColumnMapExpectation
from great_expectations.expectations.metrics import ColumnMapMetricProvider, column_condition_partial

from jinbao.mappings.reference import ever_county_codes
from jinbao.quality.rules import ID_PATTERN

ID_RE = re.compile(ID_PATTERN)
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]


def gb11643_ok(value: str) -> bool:
    total = sum(int(c) * pow(2, 17 - i, 11) for i, c in enumerate(value[:17]))
    return "10X98765432"[total % 11] == value[17]


def id_birth(value: str) -> dt.date | None:
    try:
        return dt.datetime.strptime(value[6:14], "%Y%m%d").date()
    except ValueError:
        return None


def id_stage(value: str, on: dt.date) -> str:
    """How far a citizen ID gets: format, checksum, birth, address, ok."""
    if not ID_RE.match(value):
        return "format"
    if not gb11643_ok(value):
        return "checksum"
    birth = id_birth(value)
    if birth is None or birth > on:
        return "birth"
    if value[:6] not in ever_county_codes():
        return "address"
    return "ok"


def uscc_ok(value: str) -> bool:
    if len(value) != 18 or any(c not in USCC_ALPHABET for c in value):
        return False
    if value[0] not in "123456789ANY" or not value[2:8].isdigit():   # authority, division digits
        return False
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(value[:17], USCC_WEIGHTS))
    return USCC_ALPHABET[(31 - total % 31) % 31] == value[17]


def _on(on) -> dt.date:
    return on if isinstance(on, dt.date) else dt.date.fromisoformat(str(on))


class _IdStageMetric(ColumnMapMetricProvider):
    condition_value_keys = ("stage", "on")

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column, stage, on, **kwargs):
        day = _on(on)
        order = ["format", "checksum", "birth", "address", "ok"]
        # A value fails this expectation only when it stops exactly at `stage`.
        return column.map(lambda v: id_stage(v, day) != stage or order.index(stage) == 4)


class ColumnValuesCitizenIdStage(_IdStageMetric):
    condition_metric_name = "column_values.jinbao_citizen_id_stage"


class ExpectColumnValuesToPassCitizenIdStage(ColumnMapExpectation):
    """GB 11643: the ID does not stop at `stage` (checksum, birth or address)."""

    stage: str
    on: str
    map_metric = "column_values.jinbao_citizen_id_stage"
    success_keys = ("stage", "on", "mostly")


class ColumnValuesUscc(ColumnMapMetricProvider):
    condition_metric_name = "column_values.jinbao_gb32100"

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column, **kwargs):
        return column.map(uscc_ok)


class ExpectColumnValuesToBeValidUscc(ColumnMapExpectation):
    """GB 32100: 18 characters of the code alphabet with the right check character."""

    map_metric = "column_values.jinbao_gb32100"
    success_keys = ("mostly",)


def number_between(value: str, lowest, highest, well_formed: str) -> bool:
    """A declared range (quality/value_rules.py) on a number written as text: a malformed value is another
    rule's failure (FORMAT_INVALID, AMOUNT_INVALID) and passes here."""
    if not re.fullmatch(well_formed.strip("^$"), value):
        return True
    number = Decimal(value)
    return (lowest is None or number >= Decimal(str(lowest))) and (highest is None or number <= Decimal(str(highest)))


class ColumnValuesNumberBetween(ColumnMapMetricProvider):
    condition_metric_name = "column_values.jinbao_number_between"
    condition_value_keys = ("lowest", "highest", "well_formed")

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column, lowest, highest, well_formed, **kwargs):
        return column.map(lambda v: number_between(v, lowest, highest, well_formed))


class ExpectColumnValuesToBeNumberBetween(ColumnMapExpectation):
    """A number written as text lies between `lowest` and `highest` (either may be None), inclusive."""

    lowest: float | None = None
    highest: float | None = None
    well_formed: str
    map_metric = "column_values.jinbao_number_between"
    success_keys = ("lowest", "highest", "well_formed", "mostly")
