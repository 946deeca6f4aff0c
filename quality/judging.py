"""Judging a whole delivery: stream it through the gate into accepted and rejected Parquet.

To *judge* is to decide every record's fate; this module does it for a
delivery file as the engine's judge step needs it, `verdict.judge` does it
for one block of records.  The file is streamed block by block (memory
depends on the block size and thread count, never on the file), and the two
Parquet files appear under their final names only when complete, so a crash
leaves either nothing or a whole result.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from jinbao.files import atomic_write
from jinbao.mappings.tables import agreed_from, feed_mapping, pinned
from jinbao.privacy import mask_column, mask_ids
from jinbao.quality.parallel import judge_stream
from jinbao.quality.reasons import message as reason_message
from jinbao.quality.rules import CONTROL_PATTERN, widest
from jinbao.quality.verdict import REJECTION_SCHEMA, Gate
from jinbao.schemas.dictionary import hub_dictionary, partner_schema
from jinbao.schemas.store_tables import rejection
from jinbao.staged.key_order import sort_by_key
from jinbao.staged.layout import ACCEPTED, HELD_BACK, REJECTED, WARNED  # noqa: F401 - named here for the gate's users
from jinbao.staged.parquet import read_staged
from jinbao.staged.reader import open_csv



@dataclass(frozen=True)
class Judged:
    received: int
    rejected: int
    #: partner column -> records holding a value in it (Verdict.present over the delivery)
    present: dict[str, int] = field(default_factory=dict)

    @property
    def accepted(self) -> int:
        return self.received - self.rejected


def gate_for(spec, business_date: dt.date, staging: Path | None = None, not_after: dt.date | None = None) -> Gate:
    """The gate of a declared feed: the mapping pinned in the batch's staging folder when it was
    received, else the version in force on the business date.  `not_after`: the latest business date
    the hub's clock allowed when the delivery came in (no date in it may be later, whatever its name says)."""
    mapping = (pinned(staging) if staging is not None else None) or feed_mapping(spec.mapping, business_date)
    return Gate(mapping=mapping, schema=partner_schema(spec.schema), business_date=business_date,
                rules=spec.quality.rules, not_after=not_after)


def column_widths(gate: Gate) -> dict[str, int | None]:
    """The widest value of each column of the partner schema that the gate can accept, in characters
    (`rules.widest`: the hub dictionary, the store's columns, the mapping's code tables and date
    layouts); None for a column the mapping in force does not translate.  The reader derives from
    them the longest line a record can take (jinbao/staged/reader.py `line_limit`)."""
    dictionary = hub_dictionary()
    rules = {r.partner: r for r in gate.mapping.fields}
    out: dict[str, int | None] = {}
    for col in gate.schema.columns:
        rule = rules.get(col.name)
        out[col.name] = None if rule is None else widest(
            dictionary[rule.hub], gate.mapping.code_tables[rule.codes].forward if rule.codes else None,
            rule.date_format)
    return out


def open_delivery_csv(path: Path, encoding: str, gate: Gate):
    """The delivery as a stream of (block, line numbers), its header checked against the agreement in force
    on the business date (the mapping's version): the partner schema's required columns must be there, and
    no column that version does not have may be (agreements §5: refused COLUMN_NOT_AGREED, naming it); its
    lines held to the longest record the gate could accept."""
    return open_csv(path, encoding, list(gate.mapping.columns), [c.name for c in gate.schema.columns if c.required],
                    column_widths(gate), unagreed=lambda columns: not_agreed(gate, columns))


#: At most this many columns, each cut to this many characters, are named in a refusal: a hostile header
#: of thousands of long names still gives a receipt of bounded size.
NAMED_COLUMNS, COLUMN_CHARS = 20, 40


def not_agreed(gate: Gate, columns: list[str]) -> str:
    """Why `columns` may not be in the delivery, in the partner's terms: the business date, each column
    with the day a later version of the agreement adds it (when one does), and the columns agreed."""
    day = gate.business_date
    named = []
    for column in columns[:NAMED_COLUMNS]:
        shown = column if len(column) <= COLUMN_CHARS else column[:COLUMN_CHARS] + "…"
        shown = shown or "(a column without a name: a comma at the end of the header?)"
        later = agreed_from(gate.mapping.feed, column, day)
        named.append(f"{shown} (agreed from {later.isoformat()})" if later else shown)
    more = f" and {len(columns) - NAMED_COLUMNS} more" if len(columns) > NAMED_COLUMNS else ""
    return (f"not in the agreement in force on the business date {day.isoformat()}: {', '.join(named)}{more}; "
            f"agreed columns: {', '.join(gate.mapping.columns)}")


def judge_delivery(path: Path, encoding: str, gate: Gate, staging: Path, workers: int,
                   keys: tuple[str, ...] = (), on_block=None) -> Judged:
    """Write `staging/accepted.parquet` and `staging/rejected.parquet`; return the counts.

    `keys`: the store columns that identify a record (hub fields, any case); records whose
    key appears more than once in the delivery are all rejected (DUPLICATE_KEY),
    since nothing says which of them the partner meant.  `on_block(records)` is called as
    blocks are judged (a progress bar).
    """
    stream = open_delivery_csv(path, encoding, gate)
    acc_writer = rej_writer = held_writer = warn_writer = None
    received = rejected = 0
    present: Counter = Counter()
    (staging / HELD_BACK).unlink(missing_ok=True)
    (staging / WARNED).unlink(missing_ok=True)
    # Renamed in place when all are complete, accepted first (the `with` leaves them last to first);
    # held back and warnings only if there are any.  A crash re-judges the delivery: no fsync.
    with atomic_write(staging / WARNED, fsync=False) as warn_tmp, \
            atomic_write(staging / HELD_BACK, fsync=False) as held_tmp, \
            atomic_write(staging / REJECTED, fsync=False) as rej_tmp, \
            atomic_write(staging / ACCEPTED, fsync=False) as acc_tmp:
        try:
            rej_writer = pq.ParquetWriter(rej_tmp, REJECTION_SCHEMA)
            for block, verdict in judge_stream(stream.blocks(), gate, workers):
                received += block.num_rows
                rejected += verdict.rejected_records
                present.update(verdict.present)
                if on_block is not None:
                    on_block(block.num_rows)
                if acc_writer is None:
                    acc_writer = pq.ParquetWriter(acc_tmp, verdict.accepted.schema)
                acc_writer.write_table(verdict.accepted)
                rej_writer.write_table(storable(verdict.rejected))
                if verdict.held_back is not None:
                    if held_writer is None:
                        held_writer = pq.ParquetWriter(held_tmp, verdict.accepted.schema)
                    held_writer.write_table(verdict.held_back.cast(verdict.accepted.schema))
                if verdict.warnings is not None:
                    if warn_writer is None:
                        warn_writer = pq.ParquetWriter(warn_tmp, REJECTION_SCHEMA)
                    warn_writer.write_table(storable(verdict.warnings))
            if stream.malformed:
                rej_writer.write_table(storable(malformed_rejections(stream.malformed)))
                received += len(stream.malformed)
                rejected += len(stream.malformed)
        finally:
            for w in (acc_writer, rej_writer, held_writer, warn_writer):
                if w is not None:
                    w.close()
        if acc_writer is None:  # no well-formed record at all
            pq.write_table(pa.table({"line_no": pa.array([], pa.int64())}), acc_tmp)
        if keys and acc_writer is not None:
            by_lower = {n.lower(): n for n in pq.read_schema(acc_tmp).names}
            hub_keys = [by_lower[k.lower()] for k in keys]
            partner = {f.hub: f.partner for f in gate.mapping.fields}
            rejected += _reject_duplicate_keys(acc_tmp, rej_tmp, hub_keys,
                                               "+".join(partner.get(k, k) for k in hub_keys),
                                               held_tmp if held_writer is not None else None, staging / HELD_BACK)
    return Judged(received, rejected, dict(present))


#: Records counted at once for duplicate keys: beyond it the delivery is sorted by key on disk
#: (jinbao/staged/key_order.py), KEYS_PER_PARTITION records to a range, so the pass's memory is a
#: range's, whatever the delivery's size, and the accepted file comes out in key order for the store.
KEYS_IN_MEMORY = 1_000_000
KEYS_PER_PARTITION = 250_000


def _duplicated(accepted: Path, keys: list[str]) -> tuple[pa.Table, bool]:
    """The keys and line numbers of every accepted record whose key is not unique, and whether the
    file was rewritten (in key order) without them already."""
    if read_staged(accepted).metadata.num_rows > KEYS_IN_MEMORY:
        return sort_by_key(accepted, keys, min(KEYS_PER_PARTITION, KEYS_IN_MEMORY)), True
    ids = pq.read_table(accepted, columns=[*keys, "line_no"])
    counts = ids.group_by(keys).aggregate([("line_no", "count")])
    dups = counts.filter(pc.greater(counts["line_no_count"], 1))
    return (ids.join(dups.select(keys), keys, join_type="inner") if dups.num_rows else ids.slice(0, 0)), False


def _reject_duplicate_keys(accepted: Path, rejected: Path, keys: list[str], field: str,
                           held_back: Path | None = None, new_held_back: Path | None = None) -> int:
    """Move every accepted record whose key is not unique to the rejections; returns how many.

    The records themselves join the held-back ones (`held_back`, the judge's file being written, or
    `new_held_back` when it wrote none), so a feed that keeps its rejected records as evidence keeps
    these too: two death records of one person in a delivery are still a death reported.  Beyond
    KEYS_IN_MEMORY the key-order pass has already dropped them from the accepted file, and only the
    rejections remain."""
    held, without = _duplicated(accepted, keys)
    if held.num_rows == 0:                             # the usual case: one counting pass, nothing else
        return 0
    groups = held.group_by(keys).aggregate([("line_no", "list")])["line_no_list"].to_pylist()  # few, not the file
    lines, others = [], []
    for group in groups:
        for line in group:
            lines.append(line)
            others.append("also on line(s) " + ", ".join(str(o) for o in sorted(group) if o != line))
    dup_lines = pa.array(lines, pa.int64())
    masked = pa.nulls(len(lines), pa.string())
    if "AAC002" in keys:
        where = pc.index_in(dup_lines, value_set=held["line_no"].combine_chunks())
        masked = mask_ids(pc.take(held["AAC002"].combine_chunks(), where))
    extra = pa.table({
        "line_no": dup_lines, "masked_id": masked, "field": pa.array([field] * len(lines), pa.string()),
        "value": pa.array(others, pa.string()), "reason_code": pa.array(["DUPLICATE_KEY"] * len(lines), pa.string()),
        "message": pa.array([reason_message("DUPLICATE_KEY", field, o) for o in others], pa.string()),
    }, schema=REJECTION_SCHEMA)
    _rewrite(rejected, lambda t: t, append=storable(extra))
    if not without:
        dropped: list[pa.Table] = []

        def keep(t: pa.Table) -> pa.Table:
            dup = pc.is_in(t["line_no"], value_set=dup_lines)
            dropped.append(t.filter(dup))
            return t.filter(pc.invert(dup))

        _rewrite(accepted, keep)
        records = pa.concat_tables(dropped) if dropped else None
        if records is not None and records.num_rows:
            if held_back is not None and held_back.is_file():
                _rewrite(held_back, lambda t: t, append=records.cast(read_staged(held_back).schema_arrow))
            elif new_held_back is not None:
                pq.write_table(records, new_held_back)
    return len(lines)


def _rewrite(path: Path, keep, append: pa.Table | None = None) -> None:
    """Stream `path` through `keep` (a table filter) into a new file, optionally appending rows."""
    src = read_staged(path)
    with atomic_write(path, fsync=False) as tmp, pq.ParquetWriter(tmp, src.schema_arrow) as out:
        for block in src.iter_batches(batch_size=65_536):
            out.write_table(keep(pa.Table.from_batches([block])))
        if append is not None:
            out.write_table(append)


def top_reasons(staging: Path, n: int = 5) -> list[tuple[str, str, int]]:
    """The most frequent (reason, field, failures) of a judged delivery, for the operator's log."""
    table = pq.read_table(staging / REJECTED, columns=["reason_code", "field"])
    if table.num_rows == 0:
        return []
    counts = table.group_by(["reason_code", "field"]).aggregate([("reason_code", "count")])
    rows = sorted(zip(counts["reason_code"].to_pylist(), counts["field"].to_pylist(),
                      counts["reason_code_count"].to_pylist()), key=lambda r: (-r[2], r[0], r[1]))
    return rows[:n]


def storable(rejected: pa.Table) -> pa.Table:
    """Rejections as the store's `rejection` table and a receipt can hold them: text echoing what
    was sent loses its control characters, has every value shaped like a citizen ID masked
    (jinbao.privacy, whichever column the partner typed it into) and is cut to the column's width,
    whatever the partner sent.  Every rejection passes here before it is staged, so the receipt, the
    hub's copies, quarantine, the store and `jinbao mappings coverage` never see an unmasked ID."""
    cols = {}
    for name in rejected.column_names:
        col = rejected[name]
        if pa.types.is_string(col.type):
            col = mask_column(pc.replace_substring_regex(col, CONTROL_PATTERN, "\ufffd"))
            width = getattr(rejection.c[name].type, "length", None) if name in rejection.c else None
            if width:       # masked again: a cut may leave an ID-shaped run at the end of longer digits
                col = mask_column(pc.utf8_slice_codeunits(col, 0, width))
        cols[name] = col
    return pa.table(cols, schema=rejected.schema)


def malformed_rejections(rows: list[tuple[int, str, str]]) -> pa.Table:
    """Rejections for lines the reader could not split into the header's fields: (line, reason, detail)."""
    rows = sorted(rows)
    return pa.table({
        "line_no": pa.array([r[0] for r in rows], pa.int64()),
        "masked_id": pa.nulls(len(rows), pa.string()),
        "field": pa.array(["*"] * len(rows), pa.string()),
        "value": pa.array([r[2] for r in rows], pa.string()),
        "reason_code": pa.array([r[1] for r in rows], pa.string()),
        "message": pa.array([reason_message(r[1], "*", r[2]) for r in rows], pa.string()),
    }, schema=REJECTION_SCHEMA)
