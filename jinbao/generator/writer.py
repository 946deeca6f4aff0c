"""Write deliveries exactly as partners do: header row, `\\n` endings, their encoding."""
from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pcsv

from jinbao.files import atomic_write
from jinbao.generator.story import day_number


def delivery_name(feed: str, on: dt.date) -> str:
    """Sequence = days since 2020-01-01 (story.EPOCH), so each feed's sequence grows with the date."""
    return f"{feed}_{on:%Y%m%d}_{day_number(on):06d}.csv"


def write_csv(path: Path, columns: list[str], cols: dict, encoding: str) -> None:
    table = pa.table({c: pa.array(cols[c], pa.string()) for c in columns})
    buf = pa.BufferOutputStream()
    try:   # unquoted like the partners' exports; quote everything only if a value needs it
        pcsv.write_csv(table, buf, write_options=pcsv.WriteOptions(include_header=False, quoting_style="none"))
    except pa.ArrowInvalid:
        buf = pa.BufferOutputStream()
        pcsv.write_csv(table, buf, write_options=pcsv.WriteOptions(include_header=False, quoting_style="needed"))
    body = buf.getvalue()
    if encoding.upper().replace("-", "") != "UTF8":            # Arrow writes UTF-8: transcode the rest
        body = body.to_pybytes().decode("utf-8").encode(encoding)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path, fsync=False) as tmp, open(tmp, "wb") as fh:   # partners upload under a temporary name
        fh.write((",".join(columns) + "\n").encode(encoding))
        fh.write(body)


def write_truth(path: Path, rows: list[tuple[int, str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["line", "field", "reason_code"])
        w.writerows((row + 2, field, reason) for row, field, reason in rows)
