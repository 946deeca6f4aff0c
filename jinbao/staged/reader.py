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

A line longer than any record can be (`line_limit`: derived from the widest
value of every column, which the caller knows from the partner schema and the
hub dictionary) is never held whole: it is rejected as LINE_TOO_LONG on its
own line, read to its end a chunk at a time and counted, so memory stays
bounded by the block size whatever one line holds.  A first line (the header)
longer than that refuses the delivery (HEADER_MISMATCH) after reading no more
of it than the limit.
"""
from __future__ import annotations

import codecs
import csv
import io
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Mapping

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from jinbao.staged.refused import BadInput

#: Bytes read at a time; memory stays flat whatever the file size.
READ_CHUNK = 4 << 20
#: Bytes of whole lines per block of records handed to the quality gate.
BLOCK_SIZE = 8 << 20
#: The longest line kept at all, in bytes as sent: the limit when the caller gives no column widths,
#: and the ceiling of every derived limit, so one line never costs more memory than a block.
MAX_LINE = 8 << 20
#: Worst-case bytes of one character in GB18030 and in UTF-8 (both at most four).
BYTES_PER_CHAR = 4
#: Characters allowed for a column whose widest value the caller does not give (an extra column no
#: agreement describes, or a field nothing bounds): a documented default, not derived.
UNLISTED_FIELD_CHARS = 1000
#: Room beyond the widest record: padding the gate trims, a partner's generous quoting.
LINE_MARGIN = 2
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
    #: the longest line, in bytes as sent (without its line end), that is read as a record
    line_limit: int = MAX_LINE
    _text: Iterator[tuple[bytes, list[tuple[int, int]]]] = None
    _include: list[str] = field(default_factory=list)
    _next_line: int = 2
    _pending_blank: list[int] = field(default_factory=list)
    _raw: object = None

    def close(self) -> None:
        """Close the file before its end was read (it closes itself at the end)."""
        if self._raw is not None:
            self._raw.close()

    def __enter__(self) -> "CsvStream":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def blocks(self) -> Iterator[tuple[pa.RecordBatch, np.ndarray]]:
        """Yield (block of records, their physical line numbers); line 1 is the header."""
        for chunk, too_long in self._text:
            block = self._parse(chunk, too_long)
            if block is not None:
                yield block

    def _parse(self, chunk: bytes, too_long: list[tuple[int, int]]) -> tuple[pa.RecordBatch, np.ndarray] | None:
        """`chunk`: UTF-8 whole lines; `too_long`: (place among this piece's lines, bytes) of the lines
        left out of it for their length."""
        data = np.frombuffer(chunk, dtype=np.uint8)
        ends = np.flatnonzero(data == 10)                       # every line ends with \n here
        starts = np.concatenate(([0], ends[:-1] + 1))
        n = len(ends)
        numbers = np.arange(self._next_line, self._next_line + n + len(too_long), dtype=np.int64)
        self._next_line += n + len(too_long)
        blank = (ends - starts) == 0
        if too_long:
            left_out = np.zeros(len(numbers), dtype=bool)
            left_out[[at for at, _ in too_long]] = True
            for at, size in too_long:
                self.malformed.append((int(numbers[at]), "LINE_TOO_LONG",
                                       f"{size:,} bytes, longer than any record of this delivery can be "
                                       f"({self.line_limit:,} bytes)"))
            blank_all = np.zeros(len(numbers), dtype=bool)
            blank_all[~left_out] = blank
            self._account_blanks(numbers, blank_all)
            lines = numbers[~left_out]
        else:
            self._account_blanks(numbers, blank)
            lines = numbers
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


def line_limit(columns: list[str], widths: Mapping[str, int | None] | None) -> int:
    """The longest line, in bytes as sent, that a record with these columns can take.

    `widths`: the widest value of a column in characters (after the gate's trimming), for the
    columns the caller knows; None for no knowledge at all (then MAX_LINE).  Each field may take
    BYTES_PER_CHAR bytes a character, every character a doubled quote and the two quotes around
    them; the columns are separated by commas; LINE_MARGIN on top of the whole.  Never above
    MAX_LINE."""
    if widths is None:
        return MAX_LINE
    chars = [UNLISTED_FIELD_CHARS if widths.get(c) is None else widths[c] for c in columns]
    fields = sum(2 * BYTES_PER_CHAR * n + 2 for n in chars)
    return min(MAX_LINE, LINE_MARGIN * (fields + max(len(columns) - 1, 0)))


def _first_end(buf: bytes, start: int = 0, stop: int | None = None) -> int:
    """Where the first line end (LF or CR) in buf[start:stop] is, or -1."""
    stop = len(buf) if stop is None else stop
    nl, cr = buf.find(b"\n", start, stop), buf.find(b"\r", start, stop)
    return nl if cr < 0 else cr if nl < 0 else min(nl, cr)


def _skip_line(raw, buf: bytes) -> tuple[int, bytes]:
    """Read past the line that starts `buf` without keeping it, a chunk at a time: (its length in
    bytes without the line end, the bytes after its line end)."""
    size = 0
    while buf:
        end = _first_end(buf)
        if end < 0:
            size += len(buf)
            buf = raw.read(READ_CHUNK)
            continue
        size += end
        rest = buf[end:]
        if rest == b"\r":
            rest += raw.read(READ_CHUNK)         # its LF may be in the next read
        return size, rest[2:] if rest.startswith(b"\r\n") else rest[1:]
    return size, b""                             # the file ended inside the line (never after _ending_in_newline)


def _without_long_lines(piece: bytes, limit: int) -> tuple[bytes, list[tuple[int, int]]]:
    """`piece` (whole lines, every end an LF) without its lines longer than `limit` bytes, and
    (place among the piece's lines, bytes) of each line left out."""
    if len(piece) <= limit + 1:
        return piece, []
    data = np.frombuffer(piece, dtype=np.uint8)
    ends = np.flatnonzero(data == 10)
    sizes = np.diff(ends, prepend=-1) - 1
    long = np.flatnonzero(sizes > limit)
    if not len(long):
        return piece, []
    kept, start = [], 0
    for i in long:
        kept.append(piece[start:ends[i] - sizes[i]])
        start = ends[i] + 1
    kept.append(piece[start:])
    return b"".join(kept), [(int(i), int(sizes[i])) for i in long]


def _decoded_lines(raw, encoding: str, limit: int = MAX_LINE,
                   carry: bytes = b"") -> Iterator[tuple[bytes, list[tuple[int, int]]]]:
    """(UTF-8 bytes of whole lines, each ending in \\n, about BLOCK_SIZE at a time; lines left out).

    The raw bytes are cut at line ends *before* decoding: no byte of a GB18030 or
    UTF-8 multi-byte character is ever CR or LF, so every piece decodes on its own.
    A damaged last character must not take the line end with it (CPython's final
    GB18030 decode turns b"\\x81\\x30\\n" into one U+FFFD), so when a piece comes out
    with fewer line ends than it went in, it is decoded line by line.  CR LF and a
    lone CR both end a line, as partners' tools write them.

    A line longer than `limit` bytes is left out of the text and reported as (its place among the
    piece's lines, its length); one with no line end within `limit` bytes is read past a chunk at a
    time, never held, and comes as a piece of its own (b"", [(0, length)])."""
    eof = False
    while True:
        if len(carry) > limit and _first_end(carry, 0, limit + 1) < 0:
            size, carry = _skip_line(raw, carry)
            yield b"", [(0, size)]
            continue
        if len(carry) >= BLOCK_SIZE or (eof and carry):
            cut = _line_boundary(carry, BLOCK_SIZE, eof)
            if cut is not None:
                piece, carry = carry[:cut], carry[cut:]
                if b"\r" in piece:
                    piece = piece.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
                piece, too_long = _without_long_lines(piece, limit)
                yield (_decode(piece, encoding) if piece else b""), too_long
                continue
        if eof:
            return
        chunk = raw.read(READ_CHUNK)
        eof = not chunk
        carry += chunk


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

    def close(self) -> None:
        self.raw.close()


def _first_line(raw, limit: int) -> tuple[bytes, bytes] | None:
    """(the first line without its end, the bytes after it); None when it is longer than `limit`
    bytes, having read no more than `limit` and a chunk of it."""
    buf = b""
    while True:
        end = _first_end(buf)
        if 0 <= end <= limit and (buf[end:end + 1] == b"\n" or end + 1 < len(buf)):
            return buf[:end], buf[end + (2 if buf[end:end + 2] == b"\r\n" else 1):]
        if end > limit or (end < 0 and len(buf) > limit):
            return None
        chunk = raw.read(READ_CHUNK)
        if not chunk:
            return (buf[:end] if end >= 0 else buf), b""
        buf += chunk


def open_csv(path: Path, encoding: str, expected: list[str], required: list[str],
             widths: Mapping[str, int | None] | None = None,
             unagreed: Callable[[list[str]], str] | None = None) -> CsvStream:
    """Open a delivery, check its header against the partner schema, and stream it.

    Raises BadInput(HEADER_MISMATCH) naming the missing column when an agreed
    required column is absent, or a column is named twice.  Columns not in
    `expected` are ignored (never published); with `unagreed`, they refuse the
    delivery instead (BadInput COLUMN_NOT_AGREED, the first named as its field,
    `unagreed(columns)` the detail).  `widths`: the widest value of each agreed column
    in characters (quality/judging.py gives them from the gate), which bounds the
    lines: see `line_limit`.  The header itself may be as long as a record of the
    expected columns.
    """
    path = Path(path)
    encoding = codecs.lookup(encoding).name
    raw = _ending_in_newline(open(path, "rb"))
    head_limit = line_limit(expected, widths)
    try:
        first = _first_line(raw, head_limit)
    except BaseException:
        raw.close()
        raise
    if first is None:
        raw.close()
        raise BadInput("HEADER_MISMATCH", f"the first line, the header, is longer than any header of this feed can "
                       f"be ({head_limit:,} bytes)", file=path.name, line=1)
    head, rest = first
    header_line = _decode(head + b"\n", encoding).partition(b"\n")[0].decode("utf-8").lstrip("\ufeff")
    # csv handles a quoted header ("GMSFHM",...) as some exporters write it.
    try:
        header = [h.strip() for h in next(csv.reader([header_line]))] if header_line.strip() else []
    except csv.Error as exc:
        raw.close()
        raise BadInput("HEADER_MISMATCH", f"the header line cannot be read: {exc}", file=path.name, line=1) from exc
    missing = [c for c in required if c not in header]
    twice = sorted(h for h, n in Counter(header).items() if n > 1)
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
    limit = line_limit(header, widths)
    return CsvStream(path=path, columns=header, line_limit=limit, _text=_decoded_lines(raw, encoding, limit, rest),
                     _include=[c for c in header if c in expected], _raw=raw)
