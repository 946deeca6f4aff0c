"""Receipts (回执) the hub sends back to a partner for every delivery.

The JSON summary is for machines, the CSV of rejected records for the people
who fix them; the CSV is written in the partner's own encoding so it opens in
their tools.  Personal values (IDs, names) never appear: IDs are masked.
"""
from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pcsv

RECEIPT_COLUMNS = ["line_no", "masked_id", "field", "value", "reason_code", "message"]


def receipt_base(file_name: str) -> str:
    """police.death_20261122_000001.csv[.p7m] -> police.death_20261122_000001"""
    return file_name.split(".csv")[0]


def write_receipt(folder: Path, summary: dict, rejected: pa.Table | None, encoding: str) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    base = receipt_base(summary["file"])
    out = []
    if rejected is not None:
        csv_path = folder / f"{base}.receipt.csv"
        buf = pa.BufferOutputStream()
        pcsv.write_csv(rejected.select(RECEIPT_COLUMNS), buf,
                       write_options=pcsv.WriteOptions(quoting_style="needed"))
        text = buf.getvalue().to_pybytes().decode("utf-8")
        csv_path.write_bytes(text.encode(encoding, errors="replace"))
        summary = {**summary, "rejections_file": csv_path.name}
        out.append(csv_path)
    json_path = folder / f"{base}.receipt.json"
    json_path.write_text(json.dumps(summary, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    return [json_path, *out]
