"""Receipts (回执) the hub sends back to a partner for every delivery.

The JSON summary is for machines, the CSV of rejected records for the people
who fix them and, when there are any, a CSV of warnings about records the hub
took all the same (a division code abolished before the business date, taken as
its successor during the grace period: mappings/successions.py).  The CSVs are
written in the encoding of the delivery they answer (the one its manifest
declared, else the feed's) so they open in the partner's tools.
Personal values never appear: a value shaped like a citizen ID is masked in every
column (jinbao.privacy), and the summary's message is cut to what the partner may
read (no hub paths, even with spaces in them, no hub commands).  The hub keeps a
readable copy per batch under JINBAO_HOME/receipts, whatever the transport does to
the copy it sends (an enveloped transport seals it).
"""
from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from jinbao.connectors.base import Transport, delivery_base
from jinbao.connectors.names import safe_fragment
from jinbao.files import atomic_write
from jinbao.ledger import STRAY
from jinbao.privacy import mask_table, partner_text
from jinbao.quality.reasons import BATCH_REASONS, HUB_ONLY_DETAIL
from jinbao.staged.layout import WARNED
from jinbao.staged.parquet import read_staged

RECEIPT_COLUMNS = ["line_no", "masked_id", "field", "value", "reason_code", "message"]
#: Rejections written to the receipt's CSV per step: memory depends on this, not on the delivery.
RECEIPT_CHUNK = 65_536


def summary_of(row: dict, created_at: str, hub_paths=()) -> dict:
    """The receipt's JSON summary from the batch's ledger row (`hub_paths`: the hub's folders, never shown)."""
    return {
        "feed": row["feed"], "file": row["file_name"], "batch_id": row["id"], "sha256": row["sha256"],
        "sequence": row["sequence"], "business_date": row["business_date"].isoformat(),
        "status": row["status"], "received": row["received"], "accepted": row["accepted"],
        "rejected": row["rejected"], "published": row["published"],
        "mapping_version": row["mapping_version"], "reason_code": row["reason_code"],
        "message": partner_text(batch_message(row), hub_paths), "created_at": created_at,
    }


def batch_message(row: dict) -> str | None:
    """Bilingual text of a batch-level reason, with the details the ledger holds."""
    if row["reason_code"] in BATCH_REASONS:
        zh, en = BATCH_REASONS[row["reason_code"]]
        detail = row["message"] if row["reason_code"] not in HUB_ONLY_DETAIL else None
        return f"{zh} / {en}" + (f": {detail}" if detail else "")
    return row["message"]


def write_receipt(folder: Path, summary: dict, rejected: pa.Table | pq.ParquetFile | None, encoding: str,
                  name: str | None = None, warnings: pa.Table | pq.ParquetFile | None = None) -> list[Path]:
    """`<name>.receipt.json` and, when records were judged, `<name>.receipt.csv` in `folder`
    (`name` defaults to the delivery's base name).  `rejected` as a table or as the staged Parquet
    file, which is read and written chunk by chunk (a large delivery's rejections never in memory at once).
    `warnings` (the same columns), when given: `<name>.receipt.warnings.csv`, counted in the summary."""
    folder.mkdir(parents=True, exist_ok=True)
    base = name or delivery_base(summary["file"])
    out = []
    if rejected is not None:
        csv_path = folder / f"{base}.receipt.csv"
        _write_csv(csv_path, rejected, encoding)
        summary = {**summary, "rejections_file": csv_path.name}
        out.append(csv_path)
    if warnings is not None:
        csv_path = folder / f"{base}.receipt.warnings.csv"
        _write_csv(csv_path, warnings, encoding)
        count = warnings.metadata.num_rows if isinstance(warnings, pq.ParquetFile) else warnings.num_rows
        summary = {**summary, "warnings": count, "warnings_file": csv_path.name}
        out.append(csv_path)
    json_path = folder / f"{base}.receipt.json"
    json_path.write_text(json.dumps(summary, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    return [json_path, *out]


def _write_csv(path: Path, rejected: pa.Table | pq.ParquetFile, encoding: str) -> None:
    if isinstance(rejected, pq.ParquetFile):
        empty = rejected.schema_arrow.empty_table()
        blocks = (pa.Table.from_batches([b]) for b in rejected.iter_batches(batch_size=RECEIPT_CHUNK))
    else:
        empty, blocks = rejected.schema.empty_table(), [rejected]
    with atomic_write(path, fsync=False) as tmp, open(tmp, "wb") as f:
        first = True
        for block in blocks:
            if block.num_rows or first:
                buf = pa.BufferOutputStream()
                pcsv.write_csv(mask_table(block.select(RECEIPT_COLUMNS)), buf,
                               write_options=pcsv.WriteOptions(quoting_style="needed", include_header=first))
                f.write(buf.getvalue().to_pybytes().decode("utf-8").encode(encoding, errors="replace"))
                first = False
        if first:                          # a file of no row group at all: the header alone
            buf = pa.BufferOutputStream()
            pcsv.write_csv(empty.select(RECEIPT_COLUMNS), buf, write_options=pcsv.WriteOptions(quoting_style="needed"))
            f.write(buf.getvalue().to_pybytes())


def receipt_name(row: dict, first_of_its_base: bool) -> str:
    """The receipt's base name, unique to the batch and short whatever the delivery was called.

    A delivery's is its base name `<feed>_<YYYYMMDD>_<seq>`, plus the batch id when an earlier batch
    had the same base (a resend, the same delivery plain and sealed), so a receipt never replaces
    another batch's.  A stray's (set aside unread, connectors/names.py) is `stray.<batch id>` and a
    fragment of its shown name in ASCII: never a delivery's base, at most about 80 characters, no
    ID (the shown name is masked)."""
    if row["sha256"] == STRAY:
        frag = safe_fragment(row["file_name"])
        return f"stray.{row['id']}" + (f".{frag}" if frag else "")
    base = delivery_base(row["file_name"])
    return base if first_of_its_base else f"{base}.{row['id']}"


def send_receipt(transport: Transport, folder: Path, row: dict, rejected_path: Path | None, encoding: str,
                 created_at: str, name: str | None = None, hub_paths=()) -> list[Path]:
    """Write the receipt for the batch `row` into `folder` and send it to the partner; returns the local copies.

    The copies are written before anything is sent: when the transport cannot deliver them (no
    certificate to seal them to, exchange_zone.errors.CannotSeal) the hub still holds the receipt."""
    rejected = read_staged(rejected_path) if rejected_path and rejected_path.exists() else None
    warned = rejected_path.with_name(WARNED) if rejected_path else None
    warnings = read_staged(warned) if warned is not None and warned.exists() else None
    paths = write_receipt(folder, summary_of(row, created_at, hub_paths), rejected, encoding, name, warnings)
    for path in paths:
        transport.send(path, row["feed"], row["sequence"], encoding if path.suffix == ".csv" else "UTF-8")
    return paths
