"""Fuzzing jinbao/staged/reader.py: every line after the header comes back once, as a record or as
malformed, or the whole file is refused (BadInput); never an exception of another kind, never a hang."""
from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import event, example, given, strategies as st

from jinbao.staged.reader import line_limit, open_csv
from jinbao.staged.refused import BadInput
from tests.fuzz.shapes import (ENCODINGS, LINE_ENDS, SIZES, VALUE, Delivery, deliveries, lines_after_header,
                               no_hang, physical_lines, reader_sizes, swallows_last_line_end)

#: Python's csv module refuses a field longer than this (csv.field_size_limit()).
CSV_FIELD_LIMIT = 131_072


NAME = st.text("ABCXYZ_09张王甲", min_size=1, max_size=5)


@st.composite
def reader_cases(draw):
    names = draw(st.lists(NAME, min_size=1, max_size=6, unique=True))
    expected = [n for n in names if draw(st.booleans())] + draw(st.lists(NAME.filter(lambda n: n not in names),
                                                                         max_size=2))
    required = [n for n in expected if n in names and draw(st.booleans())]
    header_ok = True
    if draw(st.integers(0, 9)) == 9:        # an agreed column missing from the header: always refused
        required = [*required, draw(NAME.filter(lambda n: n not in names))]
        header_ok = False
    record = st.fixed_dictionaries({n: VALUE for n in names}).map(lambda row: (row, None))
    return draw(deliveries(names, record, header_ok)), expected, required


def read_all(d: Delivery, expected, required, sizes=(None, None), widths=None):
    """(stream, [(line, values)]) or None when the file is refused; checks every line is accounted for,
    and that exactly the lines longer than the limit `widths` give are LINE_TOO_LONG."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "police.death_20261122_000001.csv"
        path.write_bytes(d.data)
        with no_hang(), reader_sizes(*sizes, len(d.data)):
            try:
                stream = open_csv(path, d.encoding, list(expected), list(required), widths)
            except BadInput as exc:
                assert not d.header_ok or len(physical_lines(d.data)[0]) > line_limit(expected, widths), \
                    f"a good header refused: {exc}"
                return None
            rows = []
            for block, lines in stream.blocks():
                assert block.num_rows == len(lines)
                assert set(block.schema.names) <= set(stream.columns)
                rows += zip((int(n) for n in lines), block.to_pylist())
    n = lines_after_header(d.data)
    records = [line for line, _ in rows]
    malformed = [m[0] for m in stream.malformed]
    assert len(records) + len(malformed) == n
    assert sorted(records + malformed) == list(range(2, n + 2)), "a line lost, invented or counted twice"
    if d.header_ok:
        assert stream.columns == d.columns
    sizes = {n + 2: len(line) for n, line in enumerate(physical_lines(d.data)[1:])}
    too_long = {line for line, size in sizes.items() if size > stream.line_limit}
    assert stream.line_limit == line_limit(stream.columns, widths)
    assert {line for line, reason, _ in stream.malformed if reason == "LINE_TOO_LONG"} == too_long
    if d.known and len(stream.columns) == len(d.columns):
        got = dict(rows)
        reasons = {(line, reason) for line, reason, _ in stream.malformed}
        for line, (written, _) in d.records.items():
            if line in too_long:
                continue
            assert line in got, f"line {line} was written as a record"
            assert got[line] == {c: written[stream.columns.index(c)] for c in got[line]}
        for line, reason in d.malformed.items():
            assert (line, "LINE_TOO_LONG" if line in too_long else reason) in reasons
        for line in d.blank_inside():
            assert (line, "FIELD_COUNT") in reasons
    return stream, rows


@given(reader_cases(), SIZES, SIZES)
def test_every_line_is_a_record_or_malformed(case, read_chunk, block_size):
    d, expected, required = case
    read_all(d, expected, required, (read_chunk, block_size))


@given(reader_cases(), st.data(), SIZES, SIZES)
def test_lines_longer_than_any_record(case, data, read_chunk, block_size):
    """With the columns' widths known, a line longer than any record can be is LINE_TOO_LONG on its own
    line, whatever it holds, and every other line is read as without them (line_limit kept small here:
    the lines' lengths fall on both sides of it, and read chunks and blocks end inside long lines)."""
    d, expected, required = case
    names = sorted(set(d.columns) | set(expected))
    widths = data.draw(st.dictionaries(st.sampled_from(names), st.integers(0, 3)) if names else st.just({}))
    stream = read_all(d, expected, required, (read_chunk, block_size), widths)
    if stream is not None:
        event(f"lines too long: {sum(m[1] == 'LINE_TOO_LONG' for m in stream[0].malformed) > 0}")


@given(st.sampled_from(ENCODINGS), st.booleans(), st.sampled_from(LINE_ENDS), st.binary(max_size=600), SIZES, SIZES)
def test_random_bytes(encoding, with_header, end, data, read_chunk, block_size):
    """Random bytes, after a good header or alone: refused, or every physical line accounted for."""
    if with_header:
        data = b"ID,NAME,CODE" + end + data
    d = Delivery(data, encoding, ["ID", "NAME", "CODE"], header_ok=False, known=False)
    read_all(d, ["ID", "NAME", "CODE"], ["ID"], (read_chunk, block_size))


@example(data=b"ID,NAME,CODE\n\x80\x30", sizes=(None, 1))                 # found by test_random_bytes
@example(data=b"ID,NAME,CODE\n1,2,3\x81\x30\n", sizes=(None, None))       # was: refused, header 'lacks' ID
@example(data=b"ID,NAME,CODE\n1,2,3\x81\x30", sizes=(None, None))         # no newline at the end: the same
@example(data=b"ID,NAME,CODE\n1,2,3\n4,5,6\x81\x30\n", sizes=(None, 16))  # was: blocks of 16 bytes, line 3 lost
@given(data=st.builds(lambda body, tail, end: b"ID,NAME,CODE\n" + body + tail + end,
                      st.sampled_from([b"", b"1,2,3\n", b"1,2,3\n4,5,6\n"]), st.sampled_from([b"7,8,\x81\x30"]),
                      st.sampled_from([b"\n", b"\r", b""])),
       sizes=st.tuples(SIZES, SIZES))
def test_gb18030_cut_short_at_the_end(data, sizes):
    """A GB18030 file ending in an unfinished four-byte sequence keeps every line.  CPython's final decode
    takes the line end with it, which once made the reader drop its last block: a small file was refused
    HEADER_MISMATCH, a big one silently lost up to 8 MiB of lines."""
    assert swallows_last_line_end(data, "GB18030")
    read_all(Delivery(data, "GB18030", ["ID", "NAME", "CODE"], header_ok=True), ["ID", "NAME", "CODE"], ["ID"],
             sizes)


@example(name_length=CSV_FIELD_LIMIT + 1, required=True)
@example(name_length=CSV_FIELD_LIMIT + 1, required=False)
@given(name_length=st.integers(CSV_FIELD_LIMIT + 1, 3 * CSV_FIELD_LIMIT), required=st.booleans())
def test_a_header_name_over_128_kib(name_length, required):
    """A header name longer than the csv module's field limit is refused, not an escaping csv.Error."""
    data = b"ID," + b"L" * name_length + b"\n1,2\n"
    d = Delivery(data, "UTF-8", ["ID", "L" * name_length], header_ok=False)
    read_all(d, ["ID"], ["ID"] if required else [])


@example(data=b"")
@example(data=b"\n")
@given(data=st.sampled_from([b"", b"\n", b" \r\n1,2\n", b"\xef\xbb\xbf\n"]))
def test_blank_header_nothing_required(data):
    """A blank header is refused when no column is required too (was IndexError)."""
    read_all(Delivery(data, "UTF-8", [], header_ok=False, known=False), ["ID"], [])
