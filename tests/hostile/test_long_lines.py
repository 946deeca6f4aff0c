"""Issue 23, class 6: memory bounded by the block, not the line.

A line longer than any record of the delivery can be (jinbao/staged/reader.py `line_limit`, from the
widest value of every column: quality/rules.py `widest`) is rejected on its own line, LINE_TOO_LONG,
counted as a record and named in the receipt, while it is read past a chunk at a time; the lines
around it are judged and published as usual.  A first line that long refuses the delivery as
HEADER_MISMATCH after reading no more than the limit.  The peak RSS of the judge step is measured
here (bench/memory.py `PeakRss`); before this change a 100 MiB line grew it by 377-548 MB.  The delivery
with a long line among normal ones goes over the plain local folder (100 MiB) and, sealed, over the real
sshd (a few MiB: the SFTP case proves the path, the local one the memory bound).
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest

from bench.memory import PeakRss
from jinbao.cli import main
from jinbao.staged import reader
from jinbao.staged.reader import line_limit, open_csv
from jinbao.staged.refused import BadInput
from tests.deliveries import POLICE_DEATH, write_delivery
from tests.faults.conftest import FEED, people, rows_of
from tests.faults.invariants import assert_accounted, data_lines
from tests.hostile.sealed_zone import LOCAL_AND_SFTP, zone_for

MB = 1 << 20
#: The monstrous line: 100 MiB, GB18030 Chinese text, commas and quotes, an opening quote never closed.
MONSTER_MB = 100
#: The judge step's growth allowed while it reads that line: its blocks (8 MiB of lines, a few in
#: flight), the gate's tables and Arrow's pools, nothing in proportion to the line (which took
#: 377-548 MB in this test before: the line held as bytes, decoded, re-encoded and parsed at once).
JUDGE_GROWTH_MB = 150
#: The long line over SFTP: far longer than any record (a few KiB), small enough to seal and fetch fast.
SFTP_MONSTER_MB = 4


def _monster(fh, mb: int, start: bytes = b"") -> int:
    """Write a line of about `mb` MiB (without its end) to `fh`, a MiB at a time; returns its length."""
    pattern = '张三,"李四""王五,'.encode("gb18030")
    piece = pattern * (MB // len(pattern))
    fh.write(start)
    for _ in range(mb):
        fh.write(piece)
    return len(start) + mb * len(piece)


def _rows_text(rows) -> bytes:
    return "".join(",".join(r[c] for c in POLICE_DEATH) + "\n" for r in rows).encode("gb18030")


@pytest.fixture
def judge_memory(monkeypatch):
    """The peak RSS of every judge step the test runs, measured around quality.judging.judge_delivery."""
    from jinbao.quality import judging

    peaks: list[PeakRss] = []
    original = judging.judge_delivery

    def measured(*args, **kwargs):
        with PeakRss() as peak:
            try:
                return original(*args, **kwargs)
            finally:
                peaks.append(peak)
    monkeypatch.setattr(judging, "judge_delivery", measured)
    return peaks


@pytest.mark.parametrize("transport", LOCAL_AND_SFTP)
def test_a_monstrous_line_among_normal_ones_is_rejected_alone(home, judge_memory, transport, request, monkeypatch):
    """Line 22 of 41 is 100 MiB (4 MiB over SFTP): rejected LINE_TOO_LONG (the receipt names file, line and
    reason), counted as received and rejected; the 40 lines around it are published; the judge grows by far
    less than the line."""
    cfg = home
    zone = zone_for(transport, cfg, request, monkeypatch, "police")
    rows = people(40)
    # written in place in the local folder; over SFTP written beside, then sealed and uploaded
    path = write_delivery(cfg.home / "police-side" if zone.sealed else zone.inbound, FEED, rows[:20],
                          date="20261122", seq=1)
    with open(path, "ab") as fh:
        size = _monster(fh, SFTP_MONSTER_MB if zone.sealed else MONSTER_MB,
                        start=rows[20]["GMSFHM"].encode() + b',"')
        fh.write(b"\n" + _rows_text(rows[20:]))
    name = zone.put(path) if zone.sealed else path.name
    assert main(["run", FEED]) == 0
    (batch,) = assert_accounted(cfg, zone.inbound, sources=zone.sources)
    assert (zone.inbound / "processed" / str(batch["id"]) / name).is_file()      # fetched from the zone
    if zone.owner:                                                                  # the sshd's: not local
        assert not cfg.inbound("police").exists()
        assert any(p.name.endswith(".receipt.json.p7m") for p in zone.outbound.iterdir())
    assert (batch["status"], batch["received"], batch["accepted"], batch["rejected"], batch["published"]) == \
        ("published", 41, 40, 1, 40)
    assert rows_of(cfg, "select line_no, field, reason_code from rejection") == \
        [{"line_no": 22, "field": "*", "reason_code": "LINE_TOO_LONG"}]
    assert rows_of(cfg, "select count(*) as n from death_record")[0]["n"] == 40

    receipt = json.loads(next((cfg.receipts / FEED / "1").glob("*.receipt.json")).read_text(encoding="utf-8"))
    assert (receipt["file"], receipt["received"], receipt["rejected"]) == (name, 41, 1)
    lines = list(csv.DictReader(io.StringIO(
        (cfg.receipts / FEED / "1" / receipt["rejections_file"]).read_bytes().decode("gb18030"))))
    assert [(r["line_no"], r["reason_code"]) for r in lines] == [("22", "LINE_TOO_LONG")]
    assert f"{size:,} bytes" in lines[0]["message"] and "longer than any record" in lines[0]["message"]

    (judged,) = judge_memory
    assert judged.growth_mb < JUDGE_GROWTH_MB, \
        f"judging a {size // MB} MiB line grew RSS by {judged.growth_mb:.0f} MB (peak {judged.peak_mb:.0f} MB)"


def test_a_file_without_a_line_end_is_refused_reading_no_more_than_the_limit(home, judge_memory):
    """50 MB and not one line end: its first line, the header, is longer than any header can be, so the
    delivery is refused HEADER_MISMATCH naming line 1, with its receipt; the judge reads a few MiB of it."""
    cfg = home
    path = cfg.inbound("police") / f"{FEED}_20261122_000001.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        _monster(fh, MONSTER_MB, start=",".join(POLICE_DEATH).encode() + b",")
    assert main(["run", FEED]) == 2
    (batch,) = assert_accounted(cfg, cfg.inbound("police"))
    assert (batch["status"], batch["reason_code"]) == ("refused", "HEADER_MISMATCH")
    assert "line 1" in batch["message"] and "longer than any header" in batch["message"], batch["message"]
    receipt = json.loads(next((cfg.receipts / FEED / "1").glob("*.receipt.json")).read_text(encoding="utf-8"))
    assert receipt["reason_code"] == "HEADER_MISMATCH" and receipt["file"] == path.name
    (judged,) = judge_memory
    assert judged.growth_mb < JUDGE_GROWTH_MB / 2, f"grew RSS by {judged.growth_mb:.0f} MB"


# ----------------------------------------------------------------------------- the reader alone

COLUMNS = ["ID", "NAME", "CODE"]
WIDTHS = {"ID": 4, "NAME": 10, "CODE": 1}        # line_limit: 2 * (3 fields + 2 commas) = 2 * (34+82+10+2)


def _read(tmp_path, data: bytes, monkeypatch=None, read_chunk=None, block=None):
    if read_chunk:
        monkeypatch.setattr(reader, "READ_CHUNK", read_chunk)
    if block:
        monkeypatch.setattr(reader, "BLOCK_SIZE", block)
    path = tmp_path / "police.death_20261122_000001.csv"
    path.write_bytes(data)
    stream = open_csv(path, "UTF-8", COLUMNS, ["ID"], WIDTHS)
    records = {int(n): row for block_, lines in stream.blocks() for n, row in zip(lines, block_.to_pylist())}
    return stream, records, {m[0]: m[1] for m in stream.malformed}


def test_the_limit_follows_from_the_widths():
    limit = line_limit(COLUMNS, WIDTHS)
    assert limit == 2 * ((8 * 4 + 2) + (8 * 10 + 2) + (8 * 1 + 2) + 2) == 256
    assert line_limit(COLUMNS + ["EXTRA"], WIDTHS) == limit + 2 * (8 * reader.UNLISTED_FIELD_CHARS + 2 + 1)
    assert line_limit(COLUMNS, None) == reader.MAX_LINE
    assert line_limit(COLUMNS, {"ID": 10 ** 9}) == reader.MAX_LINE


def test_a_line_at_the_limit_is_a_record_one_byte_more_is_too_long(tmp_path):
    limit = line_limit(COLUMNS, WIDTHS)
    at = b"1,Z," + b"x" * (limit - 4)
    over = b"2,Z," + b"x" * (limit - 3)
    stream, records, bad = _read(tmp_path, b"ID,NAME,CODE\n" + at + b"\n" + over + b"\n3,A,1\n")
    assert set(records) == {2, 4} and records[2]["CODE"] == "x" * (limit - 4)
    assert bad == {3: "LINE_TOO_LONG"}
    assert stream.malformed[0][2] == f"{limit + 1:,} bytes, longer than any record of this delivery can be " \
                                     f"({limit:,} bytes)"


@pytest.mark.parametrize("shape", ["lf", "crlf", "cr", "crlf_across_reads", "at_the_end_without_end",
                                   "right_after_the_header", "two_in_a_row_and_blanks", "endless_quote"])
def test_long_lines_of_every_shape(tmp_path, monkeypatch, shape):
    """Long lines ended by LF, CR LF or CR, a CR LF split between two reads, a long last line without
    a line end, one right after the header, two in a row with a blank line between and blank lines at
    the end, and a field whose opening quote is never closed: each long line is LINE_TOO_LONG with its
    own number, the others are read as usual, whatever the read and block sizes."""
    big = b'9,"' + b"\xe5\xbc\xa0" * 3000                         # 9 KB: an opening quote never closed
    head, good = b"ID,NAME,CODE\n", b"1,A,1\n"
    data, long_lines, records = {
        "lf": (head + good + big + b"\n" + good, {3}, {2, 4}),
        "crlf": (head + good + big + b"\r\n" + good, {3}, {2, 4}),
        "cr": (head + good + big + b"\r" + good, {3}, {2, 4}),
        "crlf_across_reads": (head + good + big + b"\r\n" + good, {3}, {2, 4}),
        "at_the_end_without_end": (head + good + good + big, {4}, {2, 3}),
        "right_after_the_header": (head + big + b"\n" + good, {2}, {3}),
        "two_in_a_row_and_blanks": (head + big + b"\n\n" + big + b"\n" + good + b"\n\n", {2, 4}, {5}),
        "endless_quote": (head + good + b'1,"A,1\n' + good * 3 + big + b"\n", {7}, {2, 4, 5, 6}),
    }[shape]
    sizes = [(None, None), (7, 64), (64, 7), (1000, 5000)]
    if shape == "crlf_across_reads":
        cr_at = data.index(b"\r")
        sizes = [(cr_at + 1, None), (cr_at + 1, 1)]             # a read ends right after the CR
    for read_chunk, block in sizes:
        with monkeypatch.context() as m:
            stream, got, bad = _read(tmp_path, data, m, read_chunk, block)
        assert {n for n, why in bad.items() if why == "LINE_TOO_LONG"} == long_lines, (read_chunk, block)
        assert set(got) == records, (read_chunk, block)
        assert sorted([*got, *bad]) == list(range(2, data_lines(data) + 2))
        if shape == "endless_quote":
            assert bad[3] == "QUOTE_INVALID"                      # the short line with an unclosed quote
        if shape == "two_in_a_row_and_blanks":
            assert bad[3] == "FIELD_COUNT"                        # the blank line inside; not those at the end


def test_a_header_longer_than_any_header_is_refused(tmp_path):
    limit = line_limit(COLUMNS, WIDTHS)
    path = tmp_path / "police.death_20261122_000001.csv"
    path.write_bytes(b"ID,NAME,CODE," + b"X" * limit + b"\n1,A,1\n")
    with pytest.raises(BadInput) as exc:
        open_csv(path, "UTF-8", COLUMNS, ["ID"], WIDTHS)
    assert (exc.value.reason_code, exc.value.line) == ("HEADER_MISMATCH", 1)
    assert f"({limit:,} bytes)" in exc.value.detail
    path.write_bytes(b"ID,NAME,CODE," + b"X" * (limit - 13) + b"\n1,A,1\n")      # exactly the limit: a header
    assert open_csv(path, "UTF-8", COLUMNS, ["ID"], WIDTHS).columns[:3] == COLUMNS


# ----------------------------------------------------------------------------- the widths

def test_every_column_a_mapping_translates_has_a_width():
    """The limit is derived, not guessed: every partner column of every inbound mapping version is bounded
    by the hub dictionary, the store's columns, its code table or its date layout (only a column no
    mapping translates, or an extra one, falls back to reader.UNLISTED_FIELD_CHARS)."""
    from jinbao.declarations import load_feeds
    from jinbao.quality.judging import column_widths, gate_for
    from jinbao.settings import load_settings

    feeds = load_feeds(load_settings())
    checked = 0
    for spec in feeds.values():
        if spec.direction != "inbound" or not spec.schema:
            continue
        for day in (dt.date(2026, 11, 22), dt.date(2026, 12, 2)):
            gate = gate_for(spec, day)
            widths = column_widths(gate)
            mapped = {r.partner for r in gate.mapping.fields}
            assert all(widths[c] for c in mapped if c in widths), (spec.name, day, widths)
            assert line_limit(gate.schema.names, widths) < reader.MAX_LINE
            checked += 1
    assert checked >= 10


def test_fixed_widths_are_those_of_the_patterns():
    """rules.FIXED_WIDTH states what the rules' patterns allow at most."""
    import re._parser as sre

    from jinbao.quality import rules

    for type_, pattern in (("citizen_id", rules.ID_PATTERN), ("amount", rules.AMOUNT_PATTERN),
                           ("year", rules.YEAR_PATTERN), ("quarter", rules.QUARTER_PATTERN)):
        assert sre.parse(pattern).getwidth()[1] == rules.FIXED_WIDTH[type_], type_
    assert set(rules.TYPE_RULES) - set(rules.FIXED_WIDTH) == {"name", "text", "code", "date", "month", "int"}
