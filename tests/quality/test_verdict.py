"""Record verdicts on a health.death_certificate batch: every failed field, one reason each."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa

from jinbao.formats.uscc import with_check_char as uscc
from jinbao.mappings.tables import feed_mapping
from jinbao.quality.cross import NotBefore
from jinbao.quality.verdict import Gate, judge
from jinbao.schemas.dictionary import partner_schema
from tests.deliveries import citizen_id

DAY = dt.date(2026, 11, 22)
HOSPITAL = uscc(pa.array(["12110000400000123"])).to_pylist()[0]


def _gate() -> Gate:
    return Gate(feed_mapping("health.death_certificate", DAY), partner_schema("health.death_certificate"), DAY,
                (NotBefore("AAC060", "AAC006", "DEATH_BEFORE_BIRTH"),))


def _row(**over) -> dict:
    row = {"ID_NO": citizen_id(1, male=True, birth="19450312"), "NAME": "王伟", "SEX": "M",
           "BIRTH_DATE": "1945-03-12", "DEATH_DATE": "2026-11-20", "DEATH_PLACE": "310115", "ORG_USCC": HOSPITAL}
    row.update(over)
    return row


def _judge(rows):
    cols = {k: pa.array([r[k] for r in rows], pa.string()) for k in rows[0]}
    return judge(pa.record_batch(cols), np.arange(2, len(rows) + 2), _gate())


def test_each_defect_gives_its_reason_and_good_rows_pass():
    rows = [
        _row(),                                                     # 2 good
        _row(BIRTH_DATE="1945-03-13"),                              # 3 ID_BIRTHDATE_MISMATCH
        _row(SEX="F"),                                              # 4 ID_GENDER_MISMATCH
        _row(ORG_USCC=HOSPITAL[:-1] + ("0" if HOSPITAL[-1] != "0" else "1")),   # 5 USCC_CHECKSUM
        _row(DEATH_DATE="1944-01-01"),                              # 6 DEATH_BEFORE_BIRTH
        _row(DEATH_DATE="2026-12-01"),                              # 7 DATE_IN_FUTURE
        _row(NAME="王伟2"),                                          # 8 NAME_INVALID
        _row(NAME="ÍõÎ°"),                                           # 9 BAD_ENCODING
        _row(DEATH_PLACE="310119"),                                 # 10 DIVISION_UNKNOWN (南汇, merged 2009)
        _row(SEX="X", ORG_USCC=""),                                 # 11 two failures on one record
    ]
    v = _judge(rows)
    got = sorted((r["line_no"], r["field"], r["reason_code"]) for r in v.rejected.to_pylist())
    assert got == [(3, "BIRTH_DATE", "ID_BIRTHDATE_MISMATCH"), (4, "SEX", "ID_GENDER_MISMATCH"),
                   (5, "ORG_USCC", "USCC_CHECKSUM"), (6, "DEATH_DATE", "DEATH_BEFORE_BIRTH"),
                   (7, "DEATH_DATE", "DATE_IN_FUTURE"), (8, "NAME", "NAME_INVALID"),
                   (9, "NAME", "BAD_ENCODING"), (10, "DEATH_PLACE", "DIVISION_UNKNOWN"),
                   (11, "ORG_USCC", "REQUIRED"), (11, "SEX", "UNMAPPED_CODE")]
    assert v.rejected_records == 9 and v.accepted.num_rows == 1
    assert v.accepted.column("line_no").to_pylist() == [2]
    assert all("/" in m for m in v.rejected.column("message").to_pylist())          # Chinese / English
    the_id = rows[0]["ID_NO"]
    assert set(v.rejected.column("masked_id").to_pylist()) == {the_id[:6] + "*" * 8 + the_id[-4:]}


def test_parallel_judging_keeps_order_and_verdicts():
    from jinbao.quality.parallel import judge_stream
    rows = [_row(), _row(SEX="F"), _row(NAME="王伟2"), _row(DEATH_PLACE="310119")] * 50
    cols = {k: pa.array([r[k] for r in rows], pa.string()) for k in rows[0]}
    whole = pa.record_batch(cols)
    chunks = [(whole.slice(i, 7), np.arange(2 + i, 2 + i + min(7, len(rows) - i))) for i in range(0, len(rows), 7)]
    one = [v.rejected.to_pylist() for _, v in judge_stream(iter(chunks), _gate(), workers=1)]
    three = [(b.num_rows, v.rejected.to_pylist()) for b, v in judge_stream(iter(chunks), _gate(), workers=3)]
    assert [r for _, r in three] == one and [n for n, _ in three] == [b.num_rows for b, _ in chunks]
