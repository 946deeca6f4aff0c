"""Streams a partner CSV as blocks of Arrow records (strings), each with its physical line number.

The agreements say one record per line, so the file is cut into physical
lines first and every line is accounted for: it becomes a record, or it is
malformed (wrong number of fields, a double quote out of place, an empty
line inside the file) and comes back in `malformed` with its line number and
reason.  A stray quote therefore can never fold the following lines into one
field, and `received` is always the number of lines after the header
(blank lines at the very end of the file are not lines).

Partners send GB18030 or UTF-8; both are decoded here with
`errors="replace"`, so a damaged byte becomes U+FFFD and fails BAD_ENCODING
on its own record instead of making the whole file unreadable.  Every value
is read as a string: types are the quality gate's business, so that a bad
date is a rejected record with a reason, not an unreadable file.  Lines are
cut and checked with numpy over whole blocks and parsed by pyarrow; no
Python loop runs per line.
"""
from __future__ import annotations

import codecs
import csv
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from jinbao.exchange_zone.errors import BadInput

#: Bytes read at a time; memory stays flat whatever the file size.
READ_CHUNK = 4 << 20
#: Bytes of whole lines per block of records handed to the quality gate.
BLOCK_SIZE = 8 << 20
#: A line whose quotes are all in RFC 4180 places: every field unquoted without quotes, or quoted
#: whole with inner quotes doubled.  A line with a quote anywhere else is malformed.
_QUOTED_FIELD = r'"(?:[^"]|"")*"'
_RFC4180_LINE = rf'^(?:[^",\n]*|{_QUOTED_FIELD})(?:,(?:[^",\n]*|{_QUOTED_FIELD}))*\n?$'


@dataclass
class CsvStream:
    """An open delivery: header, record blocks with their line numbers, malformed lines."""

    path: Path
    columns: list[str]
    #: (line number, reason code, detail) of every line that is not a record
    malformed: list[tuple[int, str, str]] = field(default_factory=list)
    _text: Iterator[bytes] = None
    _include: list[str] = field(default_factory=list)
    _next_line: int = 2
    _pending_blank: list[int] = field(default_factory=list)

    def blocks(self) -> Iterator[tuple[pa.RecordBatch, np.ndarray]]:
        """Yield (block of records, their physical line numbers); line 1 is the header."""
        for chunk in self._text:
            block = self._parse(chunk)
            if block is not None:
                yield block

    def _parse(self, chunk: bytes) -> tuple[pa.RecordBatch, np.ndarray] | None:
        data = np.frombuffer(chunk, dtype=np.uint8)
        ends = np.flatnonzero(data == 10)                       # every line ends with \n here
        starts = np.concatenate(([0], ends[:-1] + 1))
        n = len(ends)
        lines = np.arange(self._next_line, self._next_line + n, dtype=np.int64)
        self._next_line += n
        blank = (ends - starts) == 0
        self._account_blanks(lines, blank)
        ok = ~blank
        quotes = np.flatnonzero(data == 34)
        if len(quotes):
            has_quote = np.zeros(n, dtype=bool)
            has_quote[np.searchsorted(ends, quotes)] = True
            candidates = np.flatnonzero(has_quote & ok)
            if len(candidates):
                text = pa.StringArray.from_buffers(
                    n, pa.py_buffer(np.concatenate((starts, [len(data)])).astype(np.int32)), pa.py_buffer(chunk))
                fine = pc.match_substring_regex(text.take(pa.array(candidates)), _RFC4180_LINE).to_numpy(
                    zero_copy_only=False)
                for i in candidates[~fine]:
                    self.malformed.append((int(lines[i]), "QUOTE_INVALID", "a double quote out of place"))
                ok[candidates[~fine]] = False
        if not ok.any():
            return None
        keep_bytes = np.repeat(ok, ends - starts + 1)
        kept = lines[ok]
        rejected_rows: list[int] = []

        def on_invalid(row) -> str:
            line = int(kept[row.number - 1])
            rejected_rows.append(row.number - 1)
            self.malformed.append((line, "FIELD_COUNT", f"expected {row.expected_columns} fields, "
                                                        f"got {row.actual_columns}"))
            return "skip"

        table = pcsv.read_csv(
            io.BytesIO(data[keep_bytes].tobytes() if not ok.all() else chunk),
            read_options=pcsv.ReadOptions(column_names=self.columns, use_threads=False,
                                          block_size=max(len(chunk), 1 << 20)),
            parse_options=pcsv.ParseOptions(newlines_in_values=False, ignore_empty_lines=False,
                                            invalid_row_handler=on_invalid),
            convert_options=pcsv.ConvertOptions(
                column_types={c: pa.string() for c in self.columns}, include_columns=self._include,
                strings_can_be_null=False, quoted_strings_can_be_null=False))
        if rejected_rows:
            kept = np.delete(kept, rejected_rows)
        if table.num_rows == 0:
            return None
        return table.combine_chunks().to_batches()[0], kept

    def _account_blanks(self, lines: np.ndarray, blank: np.ndarray) -> None:
        """Empty lines inside the file are malformed; a run of them at the very end is not a line."""
        if not blank.any():
            if len(lines):
                self._flush_blanks()
            return
        last_real = np.flatnonzero(~blank)
        if len(last_real):
            self._flush_blanks()
            inside = blank.copy()
            inside[last_real[-1] + 1:] = False
            self._pending_blank = list(lines[last_real[-1] + 1:][blank[last_real[-1] + 1:]])
            for line in lines[inside]:
                self.malformed.append((int(line), "FIELD_COUNT", "empty line"))
        else:
            self._pending_blank += list(lines[blank])

    def _flush_blanks(self) -> None:
        for line in self._pending_blank:
            self.malformed.append((int(line), "FIELD_COUNT", "empty line"))
        self._pending_blank = []


def _decoded_lines(raw, encoding: str) -> Iterator[bytes]:
    """UTF-8 bytes of whole lines (each ending in \\n), about BLOCK_SIZE at a time.

    The raw bytes are cut at line ends *before* decoding: no byte of a GB18030 or
    UTF-8 multi-byte character is ever CR or LF, so every piece decodes on its own.
    A damaged last character must not take the line end with it (CPython's final
    GB18030 decode turns b"\\x81\\x30\\n" into one U+FFFD), so when a piece comes out
    with fewer line ends than it went in, it is decoded line by line.  CR LF and a
    lone CR both end a line, as partners' tools write them."""
    carry = b""
    eof = False
    while not eof:
        chunk = raw.read(READ_CHUNK)
        eof = not chunk
        carry += chunk
        while len(carry) >= BLOCK_SIZE or (eof and carry):
            cut = _line_boundary(carry, BLOCK_SIZE, eof)
            if cut is None:
                break
            piece, carry = carry[:cut], carry[cut:]
            text = _decode(piece, encoding)
            yield text.replace(b"\r\n", b"\n").replace(b"\r", b"\n") if b"\r" in text else text


def _decode(piece: bytes, encoding: str) -> bytes:
    """UTF-8 of a piece of whole lines, every line end kept, damaged characters as U+FFFD."""
    if encoding == "utf-8":
        try:
            piece.decode("utf-8")
            return piece                                   # valid UTF-8: as it is
        except UnicodeDecodeError:
            pass
    text = piece.decode(encoding, errors="replace")
    if "\ufffd" not in text or \
            text.count("\n") + text.count("\r") == piece.count(b"\n") + piece.count(b"\r"):
        return text.encode("utf-8")          # (only a damaged character can swallow a line end)
    lines = piece.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
    return "\n".join(line.decode(encoding, errors="replace") for line in lines).encode("utf-8")


def _line_boundary(buf: bytes, size: int, eof: bool) -> int | None:
    """Where to cut `buf` after a whole line, near `size`; None when more bytes are needed."""
    if eof and len(buf) <= size:
        return len(buf) if buf.endswith((b"\n", b"\r")) else None
    end = max(buf.rfind(b"\n", 0, size), buf.rfind(b"\r", 0, size))
    if end < 0:
        nl, cr = buf.find(b"\n", size), buf.find(b"\r", size)
        end = min(p for p in (nl, cr) if p >= 0) if max(nl, cr) >= 0 else -1
    if end < 0:
        return None
    if buf[end:end + 1] == b"\r":
        if end + 1 == len(buf) and not eof:
            return None                   # its LF may be in the next read
        if buf[end + 1:end + 2] == b"\n":
            end += 1
    return end + 1


class _ending_in_newline:
    """A file that reads as if its last line ended with a newline (many exports omit it)."""

    def __init__(self, raw):
        self.raw, self.last, self.done = raw, b"", False

    def read(self, n: int) -> bytes:
        if self.done:
            return b""
        chunk = self.raw.read(n)
        if chunk:
            self.last = chunk[-1:]
            return chunk
        self.done = True
        self.raw.close()
        return b"\n" if self.last not in (b"", b"\n", b"\r") else b""


def _header(text: Iterator[bytes]) -> tuple[str, Iterator[bytes]]:
    """The first line, and the rest of the stream."""
    first = next(text, b"")
    head, _, rest = first.partition(b"\n")

    def rest_of() -> Iterator[bytes]:
        if rest:
            yield rest
        yield from text
    return head.decode("utf-8", errors="replace").lstrip("\ufeff"), rest_of()


def open_csv(path: Path, encoding: str, expected: list[str], required: list[str],
             unagreed: Callable[[list[str]], str] | None = None) -> CsvStream:
    """Open a delivery, check its header against the partner schema, and stream it.

    Raises BadInput(HEADER_MISMATCH) naming the missing column when an agreed
    required column is absent, or a column is named twice.  Columns not in
    `expected` are ignored (never published); with `unagreed`, they refuse the
    delivery instead (BadInput COLUMN_NOT_AGREED, the first named as its field,
    `unagreed(columns)` the detail).
    """
    path = Path(path)
    raw = open(path, "rb")
    text = _decoded_lines(_ending_in_newline(raw), codecs.lookup(encoding).name)
    header_line, rest = _header(text)
    # csv handles a quoted header ("GMSFHM",...) as some exporters write it.
    try:
        header = [h.strip() for h in next(csv.reader([header_line]))] if header_line.strip() else []
    except csv.Error as exc:
        raw.close()
        raise BadInput("HEADER_MISMATCH", f"the header line cannot be read: {exc}", file=path.name, line=1) from exc
    missing = [c for c in required if c not in header]
    twice = sorted({h for h in header if header.count(h) > 1})
    if not header:
        raw.close()
        raise BadInput("HEADER_MISMATCH", "the first line, the header, is empty", file=path.name, line=1,
                       field=required[0] if required else None)
    if missing:
        raw.close()
        raise BadInput("HEADER_MISMATCH", f"header lacks agreed column(s) {missing}",
                       file=path.name, line=1, field=missing[0])
    if twice:
        raw.close()
        raise BadInput("HEADER_MISMATCH", f"header names column(s) {', '.join(twice)} more than once",
                       file=path.name, line=1, field=twice[0])
    others = [h for h in header if h not in expected]
    if others and unagreed is not None:
        raw.close()
        raise BadInput("COLUMN_NOT_AGREED", unagreed(others), file=path.name, line=1, field=others[0][:40])
    return CsvStream(path=path, columns=header, _text=rest, _include=[c for c in header if c in expected])
