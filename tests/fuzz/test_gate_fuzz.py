"""Fuzzing quality/judging.judge_delivery with the police.death gate: every line after the header ends
in accepted.parquet or rejected.parquet, exactly once, or the delivery is refused (DeliveryRefused);
never an exception of another kind, never a hang."""
from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import pyarrow.parquet as pq
from hypothesis import example, given, strategies as st

from jinbao.declarations import get_feed
from jinbao.quality.judging import column_widths, gate_for, judge_delivery, open_delivery_csv
from jinbao.staged.reader import line_limit
from jinbao.staged.refused import DeliveryRefused
from tests.deliveries import POLICE_DEATH, death_row
from tests.fuzz.shapes import (SIZES, VALUE, Delivery, deliveries, lines_after_header, no_hang, physical_lines,
                               reader_sizes)

GATE = gate_for(get_feed("police.death"), dt.date(2026, 11, 22))
KEYS = ("aac002",)                                # what quality.judge_step.record_keys gives for death_record
REQUIRED = [c.name for c in GATE.schema.columns if c.required]
#: Values near the rules' edges, per column, beside random text.
NEAR = {
    "GMSFHM": ["", "123", "X" * 18, "１１０１０５１９４００１０１００１Ｘ", "11010519400101001", "110105400101001",
               "999999194001010011", " 110105194001010019 "],
    "XM": ["", "张三3", "A" * 200, "王\x00", "张\ufffd", "O'Brien", "欧阳" * 30],
    "XB": ["", "0", "9", "１", " 1", "男", "X"],
    "SWRQ": ["", "20261301", "2026-11-01", "00000000", "99991231", "２０２６１１０１", "20261122", "20261123",
             "19000101", "2026110"],
    "ZXRQ": ["", "20260229", "20261131", "abc"],
    "ZXYY": ["", "0", "9", "99", "１"],
    "HJDZ_XZQH": ["", "000000", "110000", "999999", "11010", "1101055"],
}


@st.composite
def death_records(draw):
    """(values, tag): a police death row, with a few of its fields replaced now and then; tag ("valid", i)
    when nothing was replaced (the gate must accept it unless its person appears twice)."""
    i = draw(st.integers(0, 999))
    row, mutated = death_row(i), False
    for col in POLICE_DEATH:
        if draw(st.integers(0, 11)) == 11:
            row[col] = draw(st.one_of(st.sampled_from(NEAR[col]), VALUE))
            mutated = True
    if draw(st.integers(0, 7)) == 7:
        row["BZ"] = draw(VALUE)                   # a value for an extra column, if the header has one
    return row, (None if mutated else ("valid", i)), i


@st.composite
def gate_cases(draw):
    columns = draw(st.permutations(POLICE_DEATH))
    header_ok = True
    if draw(st.booleans()):
        columns = [c for c in columns if c != "ZXRQ"]                 # not required (test_without_the_optional_column)
    if draw(st.integers(0, 3)) == 3:           # a column the agreement does not have: refused (agreements §5)
        columns.insert(draw(st.integers(0, len(columns))), draw(st.sampled_from(["BZ", "备注"])))
        header_ok = False
    if draw(st.integers(0, 11)) == 11:
        columns.remove(draw(st.sampled_from(REQUIRED)))
        header_ok = False
    people: list[int] = []
    record = death_records().map(lambda r: (people.append(r[2]), (r[0], r[1]))[1])
    d = draw(deliveries(columns, record, header_ok, max_lines=40))
    return d, people


@given(gate_cases(), st.sampled_from([1, 2]), SIZES, SIZES)
def test_every_line_is_accepted_or_rejected(case, workers, read_chunk, block_size):
    d, people = case
    judge_and_check(d, people, workers, (read_chunk, block_size))


def judge_and_check(d, people, workers=1, sizes=(None, None)):
    with tempfile.TemporaryDirectory() as tmp:
        staging = Path(tmp)
        path = staging / "police.death_20261122_000001.csv"
        path.write_bytes(d.data)
        with no_hang(), reader_sizes(*sizes, len(d.data)):
            try:
                judged = judge_delivery(path, d.encoding, GATE, staging, workers, KEYS)
            except DeliveryRefused as exc:
                assert not d.header_ok, f"a good header refused: {exc}"
                return
            with open_delivery_csv(path, d.encoding, GATE) as stream:
                limit = stream.line_limit                                           # the header as read
        accepted = pq.read_table(staging / "accepted.parquet", columns=["line_no"])["line_no"].to_pylist()
        rejections = pq.read_table(staging / "rejected.parquet", columns=["line_no", "reason_code"]).to_pylist()
    rejected = {r["line_no"] for r in rejections}
    n = lines_after_header(d.data)
    assert judged.received == n
    assert len(accepted) == len(set(accepted)), "a line accepted twice"
    assert not set(accepted) & rejected, "a line both accepted and rejected"
    assert sorted([*accepted, *rejected]) == list(range(2, n + 2)), "a line lost or invented"
    assert (judged.accepted, judged.rejected) == (len(accepted), len(rejected))
    # A line longer than any record of this header can be is LINE_TOO_LONG, whatever else it holds.
    reasons = {(r["line_no"], r["reason_code"]) for r in rejections}
    too_long = {i + 2 for i, line in enumerate(physical_lines(d.data)[1:]) if len(line) > limit}
    assert {line for line, reason in reasons if reason == "LINE_TOO_LONG"} == too_long
    if d.header_ok:
        assert limit == line_limit(d.columns, column_widths(GATE))
    if d.known:
        for line, reason in d.malformed.items():
            assert (line, "LINE_TOO_LONG" if line in too_long else reason) in reasons
        for line in d.blank_inside():
            assert (line, "FIELD_COUNT") in reasons
        if d.header_ok:
            for line, (_, tag) in d.records.items():
                if tag is not None and people.count(tag[1]) == 1 and line not in too_long:
                    assert line in accepted, f"line {line}: a valid death row, its person once, not accepted"


@example(rows=[0], encoding="GB18030")
@given(rows=st.lists(st.integers(0, 999), min_size=1, max_size=5, unique=True),
       encoding=st.sampled_from(["GB18030", "UTF-8"]))
def test_without_the_optional_column(rows, encoding):
    """A header without the optional ZXRQ: valid rows are accepted (was ArrowNotImplementedError: the absent
    date column came through as string nulls into a date comparison)."""
    columns = [c for c in POLICE_DEATH if c != "ZXRQ"]
    text = ",".join(columns) + "\n" + "".join(",".join(death_row(i)[c] for c in columns) + "\n" for i in rows)
    d = Delivery(text.encode(encoding), encoding, columns, header_ok=True,
                 records={n + 2: ([death_row(i)[c] for c in columns], ("valid", i)) for n, i in enumerate(rows)})
    judge_and_check(d, rows)


def test_a_long_line_under_a_header_read_with_a_garbled_name():
    """Found by fuzzing: a UTF-8 file opening with GB18030's BOM garbles the first header name, which is then
    an extra column (not refused), and the limit follows from the header as read; the long line with a
    stray quote after it is LINE_TOO_LONG, not QUOTE_INVALID."""
    columns = ["BZ", *POLICE_DEATH]
    head = "\ufeff".encode("gb18030") + ",".join(columns).encode()
    bad = '"é"' + "张" * 100_000 + "," + ",".join(death_row(1)[c] for c in POLICE_DEATH)
    text = head + b"\n" + ("," + ",".join(death_row(0)[c] for c in POLICE_DEATH) + "\n" + bad + "\n").encode()
    d = Delivery(text, "UTF-8", columns, header_ok=False, malformed={3: "QUOTE_INVALID"})
    judge_and_check(d, [0])
