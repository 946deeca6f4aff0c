"""Random partner deliveries for the fuzz tests, and the independent oracle they are held to.

The oracle (`physical_lines`, `lines_after_header`) counts lines with a plain loop over the
bytes as written, knowing nothing of the reader: a line ends at LF, CR LF or a lone CR, the
last line may lack its newline, and blank lines at the very end of the file are not lines.

`deliveries` writes CSV files byte by byte (header, records, wrong field counts, quotes out
of place, blank lines, random junk, broken multi-byte sequences, BOMs, every line end, very
long fields) and remembers, for the lines whose fate is certain by construction, what the
reader must make of them.  Lines whose fate is not certain (junk, damaged bytes) are still
held to the count: each must come back as a record or a rejection, exactly once.
"""
from __future__ import annotations

import codecs
import signal
from contextlib import contextmanager
from dataclasses import dataclass, field
from unittest import mock

from hypothesis import strategies as st

from jinbao.staged import reader

ENCODINGS = ("UTF-8", "GB18030")
LINE_ENDS = (b"\n", b"\r\n", b"\r")
#: Byte sequences that are not (whole) characters in one or both encodings.
BROKEN = (b"\x80", b"\x81", b"\x81\x30", b"\x81\x30\x81", b"\xff", b"\xfe\xfe", b"\xe4", b"\xe4\xb8", b"\xc3",
          b"\xf0\x9f\x98", b"\xed\xa0\x80", b"\xc0\xaf", b"\x00", b"\xef\xbb\xbf", b"\x84\x31\x95\x33")
#: The BOM of the *other* encoding: garbles the first header name.
WRONG_BOM = {"UTF-8": "\ufeff".encode("gb18030"), "GB18030": b"\xef\xbb\xbf"}
LONG = (4096, 8192, 65_536, 131_072, 131_073, 300_000)
SPECIAL = ',"\t \x00\x1a\ufeff\ufffd\u2028\u0085\u3000张欧甲€𠀀１'
#: A character of a field value (never a line end: those make a line junk, see RAW_CHAR).
CHAR = st.one_of(st.sampled_from(SPECIAL), st.characters(exclude_categories=("Cs",), exclude_characters="\r\n"))
RAW_CHAR = st.one_of(st.sampled_from(SPECIAL + "\r\n"), st.characters(exclude_categories=("Cs",)))
PLAIN_CHAR = CHAR.filter(lambda c: c not in ',"')


@st.composite
def values(draw, chars=CHAR, max_size=10, long_chars='a张," ') -> str:
    """A field value (characters from `chars`); now and then a very long one (one of `long_chars` repeated)."""
    if draw(st.integers(0, 40)) == 40:
        return draw(st.sampled_from(long_chars)) * draw(st.sampled_from(LONG))
    return draw(st.text(chars, max_size=max_size))


VALUE = values()
PLAIN = values(PLAIN_CHAR, 8, "a张 ")
#: A field that no RFC 4180 reading can accept: a lone quote, or text after a closing quote.
BAD_QUOTE_FIELD = st.one_of(st.builds(lambda a, b: a + '"' + b, PLAIN, PLAIN),
                            st.builds(lambda a, b: '"' + a + '"' + b, PLAIN, PLAIN.filter(bool)))


# ---------------------------------------------------------------------------------------- oracle

def physical_lines(data: bytes) -> list[bytes]:
    """The lines of `data` without their ends: LF, CR LF and a lone CR each end one line."""
    lines, current, i = [], bytearray(), 0
    while i < len(data):
        byte = data[i]
        if byte == 0x0A or byte == 0x0D:
            lines.append(bytes(current))
            current = bytearray()
            if byte == 0x0D and i + 1 < len(data) and data[i + 1] == 0x0A:
                i += 1
        else:
            current.append(byte)
        i += 1
    if current:
        lines.append(bytes(current))        # a last line without its newline
    return lines


def lines_after_header(data: bytes) -> int:
    """How many lines follow the header; blank lines at the very end of the file do not count."""
    lines = physical_lines(data)[1:]
    while lines and lines[-1] == b"":
        lines.pop()
    return len(lines)


def swallows_last_line_end(data: bytes, encoding: str) -> bool:
    """Whether CPython's GB18030 decoder, told the input is final, turns an unfinished four-byte
    sequence *and the line end after it* (b"\\x81\\x30\\n" at the very end) into one U+FFFD, counting the
    newline the reader adds to a last line without one.  Such files once lost every line after the
    reader's last full block (found here, fixed in a07d57a); test_gb18030_cut_short_at_the_end keeps them."""
    if codecs.lookup(encoding).name != "gb18030" or not data:
        return False
    tail = data if data.endswith((b"\n", b"\r")) else data + b"\n"
    return not tail.decode("gb18030", "replace").endswith(("\n", "\r"))


# ---------------------------------------------------------------------------------------- files

@dataclass
class Delivery:
    data: bytes
    encoding: str
    columns: list[str]                      # the header as written
    header_ok: bool                         # a header the reader must accept (as `columns`)
    known: bool = True                      # False: the header is junk, only the count can be checked
    records: dict[int, tuple[list[str], object]] = field(default_factory=dict)   # line -> (values, tag)
    malformed: dict[int, str] = field(default_factory=dict)                     # line -> reason code
    blank: list[int] = field(default_factory=list)      # lines written empty (malformed unless trailing)

    def blank_inside(self) -> list[int]:
        last = lines_after_header(self.data) + 1
        return [n for n in self.blank if n <= last]


class _Bytes:
    """The file being written, counting line ends as it goes (a CR then an LF is one end)."""

    def __init__(self):
        self.parts: list[bytes] = []
        self.ends = 0
        self.last = b""

    def add(self, b: bytes) -> None:
        if not b:
            return
        n = b.count(b"\n") + b.count(b"\r") - b.count(b"\r\n")
        if self.last == b"\r" and b[:1] == b"\n":
            n -= 1
        self.ends += n
        self.parts.append(b)
        self.last = b[-1:]

    def bytes(self) -> bytes:
        return b"".join(self.parts)


def _field(draw, value: str) -> str:
    if any(c in value for c in ',"') or draw(st.booleans()):
        return '"' + value.replace('"', '""') + '"'
    return value


def _header_name(draw, name: str) -> str:
    pad = draw(st.sampled_from(["", " ", "\t"]))
    return f'"{pad}{name}{pad}"' if draw(st.booleans()) else f"{pad}{name}{pad}"


@st.composite
def deliveries(draw, columns: list[str], record, header_ok: bool = True, max_lines: int = 25) -> Delivery:
    """A CSV delivery with header `columns`; `record` draws (values by column, tag) for a record line."""
    enc = draw(st.sampled_from(ENCODINGS))
    messy = draw(st.booleans())
    columns = list(columns)
    known = True
    bom = draw(st.sampled_from([b"", "\ufeff".encode(enc), WRONG_BOM[enc]]))
    if bom == WRONG_BOM[enc]:
        header_ok = False
    mutation = draw(st.sampled_from([None] * 5 + ["junk", "long", "twice"])) if messy else None
    if mutation == "long":          # an extra column with a very long name (records get "" in it)
        columns.insert(draw(st.integers(0, len(columns))), "L" * draw(st.sampled_from(LONG)))
        header_ok = False           # a refusal is allowed, an exception is not
    elif mutation == "twice":
        columns.insert(draw(st.integers(0, len(columns))), draw(st.sampled_from(columns)))
        header_ok = False
    head = bom + ",".join(_header_name(draw, c) for c in columns).encode(enc)
    if mutation == "junk":
        head, header_ok, known = draw(st.binary(max_size=40)), False, False

    out = _Bytes()
    out.add(head)
    n_lines = draw(st.integers(0, max_lines))
    out.add(draw(st.sampled_from(LINE_ENDS if n_lines else LINE_ENDS + (b"",))))
    d = Delivery(b"", enc, columns, header_ok, known)
    kinds = ["record"] * 6 + ["wrong_count", "bad_quote", "blank"] + (["junk", "text"] if messy else [])
    for i in range(n_lines):
        kind = draw(st.sampled_from(kinds))
        end = draw(st.sampled_from(LINE_ENDS + ((b"",) if i == n_lines - 1 else ())))
        fate = None
        if kind == "record":
            row, tag = draw(record)
            written = [row.get(c, "") for c in columns]
            raw = ",".join(_field(draw, v) for v in written).encode(enc)
            fate = ("record", (written, tag))
        elif kind == "wrong_count":
            n = draw(st.integers(1, len(columns) + 3).filter(lambda k: k != len(columns)))
            raw = ",".join(_field(draw, draw(VALUE)) for _ in range(n)).encode(enc)
            fate = ("malformed", "FIELD_COUNT")
        elif kind == "bad_quote":
            fields = [draw(PLAIN) for _ in range(draw(st.integers(1, len(columns) + 1)))]
            fields[draw(st.integers(0, len(fields) - 1))] = draw(BAD_QUOTE_FIELD)
            raw = ",".join(fields).encode(enc)
            fate = ("malformed", "QUOTE_INVALID")
        elif kind == "blank":
            raw = b""
        elif kind == "junk":
            raw = draw(st.binary(max_size=40))
        else:
            raw = draw(st.text(RAW_CHAR, max_size=40)).encode(enc)
        if raw and fate and messy and draw(st.integers(0, 4)) == 4:       # damaged bytes: fate unknown
            at = draw(st.integers(0, len(raw)))
            raw, fate = raw[:at] + draw(st.sampled_from(BROKEN)) + raw[at:], None
        line = out.ends + 1
        if not raw:
            if kind in ("record", "wrong_count", "blank") and end and not (out.last == b"\r" and end[:1] == b"\n"):
                d.blank.append(line)            # (an empty line after a CR and before an LF is no line)
        elif fate and fate[0] == "record":
            d.records[line] = fate[1]
        elif fate:
            d.malformed[line] = fate[1]
        out.add(raw)
        out.add(end)
    if out.last in (b"\n", b"\r"):
        for end in draw(st.lists(st.sampled_from(LINE_ENDS), max_size=3)):     # blank lines at the end
            out.add(end)
    d.data = out.bytes()
    return d


# ---------------------------------------------------------------------------------------- running

class Hang(Exception):
    """An example that took longer than any input may."""


@contextmanager
def no_hang(seconds: float = 120):
    def on_alarm(signum, frame):
        raise Hang(f"no answer within {seconds} s")
    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


#: Read and block sizes for the reader (None: the real ones), so that small inputs cross
#: read-chunk and block boundaries as big files do.
SIZES = st.one_of(st.none(), st.integers(1, 300))


@contextmanager
def reader_sizes(read_chunk: int | None, block_size: int | None, data_len: int):
    if read_chunk is None and block_size is None:
        yield
        return
    # A tiny read size on a long line is quadratic in the reader's carry buffer; keep it in proportion.
    chunk = max(read_chunk or reader.READ_CHUNK, data_len // 50)
    with mock.patch.object(reader, "READ_CHUNK", chunk), \
            mock.patch.object(reader, "BLOCK_SIZE", block_size or reader.BLOCK_SIZE):
        yield
