"""A big staged file rewritten in key order, in bounded memory, without the records whose key repeats.

Publishing into PostgreSQL and reconciling the register both want a delivery's records in key order:
the key indexes are then written page after page.  Up to a million records they sort in memory; a
10M-record delivery used to be sorted twice by the store (the publish merge and the register's offers,
each spilling gigabytes to temporary files).  The judge step's duplicate-key pass has to group the
whole file by key anyway, so beyond that size it does it by sorting, once, here:

1. a sample of the first key column fixes the boundaries of key ranges of about `per_part` records;
2. one pass sends every record to its range's spill file (Arrow IPC, LZ4);
3. each range in turn is read, sorted (the keys, then the line), its repeated keys taken out, and
   appended to the new file, which says in its schema metadata which keys it is sorted by.

Memory is one range plus one block, whatever the delivery.  Ranges are found with numpy's
`searchsorted` over the key bytes (zero-copy when every key has the same length, as IDs and codes do);
Arrow orders strings by their bytes too, so ranges and sorted runs agree.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from jinbao.files import atomic_write
from jinbao.staged.parquet import read_staged

#: Schema metadata of a staged file in key order: the key columns, comma-separated.
KEY_ORDER = b"jinbao.key_order"
#: Records read per block.
BLOCK = 262_144
#: Sampled keys per range when fixing the boundaries.
SAMPLES_PER_PART = 64


def key_order(path: Path) -> list[str]:
    """The keys a staged file is sorted by (each once), or [] when it is in line order."""
    meta = pq.read_schema(path).metadata or {}
    return meta[KEY_ORDER].decode().split(",") if KEY_ORDER in meta else []


def _as_bytes(values: pa.Array) -> np.ndarray:
    """String keys as numpy bytes for searchsorted: the Arrow buffer itself when all have one length."""
    if len(values) and values.null_count == 0 and pa.types.is_string(values.type):
        offsets = np.frombuffer(values.buffers()[1], dtype=np.int32)[values.offset:values.offset + len(values) + 1]
        width = int(offsets[1] - offsets[0])
        if width > 0 and bool(np.all(np.diff(offsets) == width)):
            return np.frombuffer(values.buffers()[2], dtype=f"S{width}", count=len(values), offset=int(offsets[0]))
    return np.array([b"" if v is None else str(v).encode() for v in values.to_pylist()], dtype=object).astype(bytes)


def _bounds(source: pq.ParquetFile, key: str, parts: int) -> np.ndarray:
    """parts - 1 increasing key values cutting a sample of the keys into equal ranges."""
    step = max(1, source.metadata.num_rows // (parts * SAMPLES_PER_PART))
    picked = []
    for block in source.iter_batches(batch_size=BLOCK, columns=[key]):
        col = block.column(0)
        picked.append(col.take(pa.array(np.arange(0, len(col), step))))
    sample = pa.concat_arrays(picked).drop_null()
    sample = _as_bytes(sample.take(pc.sort_indices(sample)))
    if len(sample) == 0:
        return sample[:0]
    return np.unique(sample[[len(sample) * i // parts for i in range(1, parts)]])


def same_key_as_next(data: pa.Table, keys: list[str]) -> np.ndarray:
    """In a table sorted by `keys`: for each row but the last, whether the next row has the same key
    (a missing key is nobody's)."""
    same = np.ones(max(data.num_rows - 1, 0), dtype=bool)
    for key in keys:
        col = data.column(key).combine_chunks()
        same &= pc.fill_null(pc.equal(col.slice(1), col.slice(0, len(col) - 1)), False).to_numpy(zero_copy_only=False)
    return same


def last_of_each_key(data: pa.Table, keys: list[str]) -> pa.Table:
    """In a table sorted by `keys` (lines ascending within a key): each key's last row."""
    if data.num_rows < 2:
        return data
    return data.filter(pa.array(np.append(~same_key_as_next(data, keys), True)))


def _repeated(data: pa.Table, keys: list[str]) -> np.ndarray:
    """In a table sorted by `keys`: True for every row whose key another row has too."""
    same = same_key_as_next(data, keys)
    out = np.zeros(data.num_rows, dtype=bool)
    out[1:] |= same
    out[:-1] |= same
    return out


def sort_by_key(path: Path, keys: list[str], per_part: int) -> pa.Table:
    """Rewrite the staged file at `path` in key order without the records whose key repeats; returns
    those records' keys and line numbers (what the duplicate-key rejections need)."""
    source = read_staged(path)
    parts = max(1, -(-source.metadata.num_rows // per_part))
    bounds = _bounds(source, keys[0], parts)
    schema = source.schema_arrow
    held = []
    options = pa.ipc.IpcWriteOptions(compression="lz4")
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".key-order-") as tmp:
        spills = [Path(tmp) / f"{i}.arrow" for i in range(len(bounds) + 1)]
        writers = [pa.ipc.new_stream(p, schema, options=options) for p in spills]
        try:
            for block in source.iter_batches(batch_size=BLOCK):
                where = np.searchsorted(bounds, _as_bytes(block.column(keys[0])), side="right")
                order = np.argsort(where, kind="stable")
                block, ends = block.take(pa.array(order)), np.cumsum(np.bincount(where, minlength=len(spills)))
                for i, writer in enumerate(writers):
                    start = int(ends[i - 1]) if i else 0
                    if ends[i] > start:
                        writer.write_batch(block.slice(start, int(ends[i]) - start))
        finally:
            for writer in writers:
                writer.close()
        meta = dict(schema.metadata or {})
        if pa.types.is_string(schema.field(keys[0]).type):    # ranges cut by bytes order text as Arrow sorts it
            meta[KEY_ORDER] = ",".join(keys).encode()
        with atomic_write(path, fsync=False) as out_path, \
                pq.ParquetWriter(out_path, schema.with_metadata(meta) if meta else schema.remove_metadata()) as out:
            for spill in spills:
                with pa.ipc.open_stream(spill) as reader:
                    data = reader.read_all()
                spill.unlink()
                if data.num_rows == 0:
                    continue
                data = data.take(pc.sort_indices(data, [(k, "ascending") for k in [*keys, "line_no"]]))
                repeated = _repeated(data, keys)
                if repeated.any():
                    held.append(data.filter(pa.array(repeated)).select([*keys, "line_no"]))
                    data = data.filter(pa.array(~repeated))
                out.write_table(data.replace_schema_metadata(meta or None))
    if held:
        return pa.concat_tables(held)
    return pa.table({name: pa.array([], schema.field(name).type) for name in [*keys, "line_no"]})
