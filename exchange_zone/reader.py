"""Streams a partner CSV as blocks of Arrow records (strings), with line numbers.

Partners send GB18030 or UTF-8.  pyarrow's own transcoder stops at the first
invalid byte, which would refuse a whole delivery for one mangled name, so the
bytes are transcoded here with `errors="replace"`: the damaged field then
carries U+FFFD and fails BAD_ENCODING on its own record.  Every value is read
as a string: types are the quality gate's business, so that a bad date is a
rejected record with a reason, not an unreadable file.

Rows with the wrong number of fields are not dropped silently: they come back
as `malformed` (line, detail) and quality/judging.py rejects them as FIELD_COUNT.
"""
from __future__ import annotations

import codecs
import csv
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from jinbao.exchange_zone.errors import BadInput

#: Bytes read and transcoded at a time; memory stays flat whatever the file size.
READ_CHUNK = 4 << 20
#: Bytes per block of records handed to the quality gate.
BLOCK_SIZE = 8 << 20


class _Transcoder(io.RawIOBase):
    """A read-only byte stream yielding UTF-8 from a file in another encoding."""

    def __init__(self, raw, encoding: str):
        self._raw = raw
        self._decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
        self._buf = b""
        self._eof = False

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        while len(self._buf) < len(b) and not self._eof:
            chunk = self._raw.read(READ_CHUNK)
            self._eof = not chunk
            self._buf += self._decoder.decode(chunk, final=self._eof).encode("utf-8")
        n = min(len(b), len(self._buf))
        b[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        return n


@dataclass
class CsvStream:
    """An open delivery: header, record blocks with their line numbers, malformed rows."""

    path: Path
    columns: list[str]
    malformed: list[tuple[int, str]] = field(default_factory=list)
    _reader: object = None
    _skipped: list[int] = field(default_factory=list)
    _next_line: int = 2

    def blocks(self) -> Iterator[tuple[pa.RecordBatch, np.ndarray]]:
        """Yield (block of records, their line numbers); line 1 is the header."""
        for block in self._reader:
            if block.num_rows == 0:
                continue
            lines = self._lines(block.num_rows)
            # A blank line parses as a row of empty strings: not a record, so dropped.
            blank = np.ones(block.num_rows, dtype=bool)
            for col in block.columns:
                blank &= (pc.binary_length(col).to_numpy(zero_copy_only=False) == 0)
            if blank.any():
                keep = pa.array(~blank)
                block, lines = block.filter(keep), lines[~blank]
            if block.num_rows:
                yield block, lines

    def _lines(self, k: int) -> np.ndarray:
        # Rows pyarrow skipped (malformed or blank) are known by the time the
        # block holding them is yielded; they are removed from the count.
        skipped = np.array([s for s in self._skipped if s >= self._next_line], dtype=np.int64)
        candidates = np.arange(self._next_line, self._next_line + k + len(skipped), dtype=np.int64)
        lines = candidates[~np.isin(candidates, skipped)][:k]
        self._next_line = int(lines[-1]) + 1
        return lines


def open_csv(path: Path, encoding: str, expected: list[str], required: list[str]) -> CsvStream:
    """Open a delivery, check its header against the partner schema, and stream it.

    Raises BadInput(HEADER_MISMATCH) naming the missing column when an agreed
    required column is absent; extra columns are ignored (never published).
    """
    path = Path(path)
    raw = open(path, "rb")
    enc = codecs.lookup(encoding).name
    stream = raw if enc == "utf-8" else io.BufferedReader(_Transcoder(raw, enc), buffer_size=READ_CHUNK)
    first = stream.peek(64 << 10)[: 64 << 10] if hasattr(stream, "peek") else b""
    header_line = first.split(b"\n", 1)[0].rstrip(b"\r").decode("utf-8", errors="replace").lstrip("\ufeff")
    # csv handles a quoted header ("GMSFHM",...) as some exporters write it.
    header = [h.strip() for h in next(csv.reader([header_line]))] if header_line else []
    missing = [c for c in required if c not in header]
    if not header or missing:
        raw.close()
        raise BadInput("HEADER_MISMATCH", f"header lacks agreed column(s) {missing or required}",
                       file=path.name, line=1, field=(missing or required)[0])

    cs = CsvStream(path=path, columns=header)

    def on_invalid(row) -> str:
        line = row.number if row.number is not None else -1
        cs._skipped.append(line)
        if row.text.strip():
            cs.malformed.append((line, f"expected {row.expected_columns} fields, got {row.actual_columns}"))
        return "skip"

    cols = [c for c in header if c in expected]
    try:
        cs._reader = pcsv.open_csv(
            stream,
            read_options=pcsv.ReadOptions(block_size=BLOCK_SIZE, use_threads=False, encoding="utf8"),
            parse_options=pcsv.ParseOptions(newlines_in_values=False, ignore_empty_lines=False,
                                             invalid_row_handler=on_invalid),
            convert_options=pcsv.ConvertOptions(
                column_types={c: pa.string() for c in header}, include_columns=cols,
                strings_can_be_null=False, quoted_strings_can_be_null=False),
        )
    except pa.ArrowInvalid as exc:
        raw.close()
        raise BadInput("UNREADABLE", str(exc), file=path.name) from exc
    return cs
