"""Run a feed's rules as a Great Expectations suite (for the quality pages, the agreement test and benchmarks).

The hub's verdicts come from the vectorised fast path (quality/verdict.py);
GE is the readable, independent second opinion.  GE is imported here only,
never at DAG parse time.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from jinbao.mappings.successions import succeed
from jinbao.mappings.translator import normalise, translate
from jinbao.quality.columns import GENDER, ID, ID_BIRTH, ID_GENDER, STATED_GENDER, ge_column
from jinbao.quality.failures import Failures
from jinbao.quality.suites import Spec, suite_specs
from jinbao.quality.verdict import Gate


def ge_frame(batch: pa.RecordBatch, lines: np.ndarray, gate: Gate) -> pd.DataFrame:
    """Partner columns as sent (trimmed), translated hub columns, and ID facts derived in plain Python."""
    from jinbao.quality.ge_expectations import id_birth, id_stage  # GE start-up is slow: ge_expectations imports GE

    frame = {name: normalise(batch.column(name)).to_pandas() for name in batch.schema.names}
    for name in gate.schema.names:       # an optional column the partner left out: every value absent
        if name not in frame:
            frame[name] = pd.Series([None] * batch.num_rows, dtype=object)
    hub = translate(batch, gate.mapping, Failures(batch.num_rows))
    # abolished divisions as the fast path sees them (successor within grace, none once rejected)
    hub = succeed(hub, batch, gate.mapping, gate.business_date, Failures(batch.num_rows), Failures(batch.num_rows))
    for name in hub.column_names:
        col = hub.column(name)
        values = col.to_pandas()
        if pa.types.is_date32(col.type):
            values = pd.to_datetime(values)                   # GE compares dates as Timestamps
        frame[ge_column(name)] = values
    if ge_column(ID) in frame:
        ids = frame[ge_column(ID)]
        ok = ids.map(lambda v: isinstance(v, str) and id_stage(v, gate.latest) == "ok")
        frame[ID_GENDER] = ids.where(ok).map(lambda v: ("1" if int(v[16]) % 2 else "2")
                                                   if isinstance(v, str) else None)
        frame[ID_BIRTH] = pd.to_datetime(ids.where(ok).map(lambda v: id_birth(v) if isinstance(v, str) else None))
    if ge_column(GENDER) in frame:
        stated = frame[ge_column(GENDER)]
        frame[STATED_GENDER] = stated.where(stated.isin(["1", "2"]))
    frame["line_no"] = lines
    df = pd.DataFrame(frame)
    text = [c for c in df.columns if c != "line_no" and not pd.api.types.is_datetime64_any_dtype(df[c])]
    df[text] = df[text].astype(object).where(df[text].notna(), None)
    return df


def _expectation(spec: Spec):
    # GE start-up is slow (ge_expectations imports GE): only when a suite is built
    import great_expectations as gx
    from jinbao.quality import ge_expectations

    name = "".join(w.capitalize() for w in spec.type.split("_"))
    cls = getattr(gx.expectations, name, None) or getattr(ge_expectations, name)
    return cls(**spec.kwargs, meta={"reason": spec.reason, "field": spec.field})


def build_suite(context, specs: list[Spec], name: str):
    import great_expectations as gx  # GE start-up is slow: only when a suite is built
    suite = context.suites.add(gx.ExpectationSuite(name=name))
    for spec in specs:
        suite.add_expectation(_expectation(spec))
    return suite


def run(frame: pd.DataFrame, gate: Gate, result_format: str = "COMPLETE", context=None, name: str = "jinbao"):
    """Validate the frame; return (GE result, {(reason, field): set(line numbers)})."""
    return run_specs(frame, suite_specs(gate), result_format, context, name)


def run_specs(frame: pd.DataFrame, specs: list[Spec], result_format: str = "COMPLETE", context=None,
              name: str = "jinbao"):
    """`run` for any specs: lets a single rule's GE form be tested on a hand-made frame."""
    import great_expectations as gx  # GE start-up is slow: only when a suite is run

    if context is None:
        from great_expectations.data_context.types.base import ProgressBarsConfig  # GE, as above
        context = gx.get_context(mode="ephemeral")
        context.variables.progress_bars = ProgressBarsConfig(globally=False)    # no tqdm bars on stderr
    batch_def = context.data_sources.add_pandas(f"{name}_src").add_dataframe_asset(f"{name}_asset") \
        .add_batch_definition_whole_dataframe(f"{name}_batch")
    suite = build_suite(context, specs, f"{name}_suite")
    vd = context.validation_definitions.add(gx.ValidationDefinition(name=f"{name}_vd", data=batch_def, suite=suite))
    fmt = {"result_format": result_format}
    if result_format == "COMPLETE":
        fmt["unexpected_index_column_names"] = ["line_no"]
    result = vd.run(batch_parameters={"dataframe": frame}, result_format=fmt)
    lines: dict[tuple[str, str], set[int]] = {}
    for r in result.results:
        failed = _raised(r.exception_info)
        if failed:
            raise RuntimeError(f"GE could not evaluate {r.expectation_config.type} "
                               f"({r.expectation_config.meta}): {failed}")
        key = (r.expectation_config.meta["reason"], r.expectation_config.meta["field"])
        got = lines.setdefault(key, set())
        for idx in (r.result or {}).get("unexpected_index_list") or []:
            got.add(int(idx["line_no"]))
    return result, lines


def _raised(info) -> str | None:
    """GE reports metric errors either at the top level or keyed by metric id; never let one pass silently."""
    if not isinstance(info, dict):
        return None
    if info.get("raised_exception"):
        return info.get("exception_message") or "exception"
    for value in info.values():
        if isinstance(value, dict) and value.get("raised_exception"):
            return value.get("exception_message") or "exception"
    return None
