"""The fast path and Great Expectations agree, rule by rule, on the same records."""
from __future__ import annotations

import datetime as dt
from collections import defaultdict

import numpy as np
import pyarrow as pa
import pytest

from jinbao.declarations import get_feed
from jinbao.generator import generate
from jinbao.mappings.tables import feed_mapping
from jinbao.quality.cross import NotBefore
from jinbao.quality.verdict import Gate, judge
from jinbao.schemas.dictionary import partner_schema
from jinbao.settings import load_settings
from jinbao.staged.reader import open_csv

ge_check = pytest.importorskip("jinbao.quality.ge_check")
DAY = dt.date(2026, 11, 22)


def _gate(feed: str) -> Gate:
    spec = get_feed(feed) if feed == "police.death" else None
    rules = spec.quality.rules if spec else (
        NotBefore("AAC060", "AAC006", "DEATH_BEFORE_BIRTH"),)
    return Gate(feed_mapping(feed, DAY), partner_schema(feed), DAY, rules)


def _compare(batch: pa.RecordBatch, lines: np.ndarray, gate: Gate):
    fast = defaultdict(set)
    for r in judge(batch, lines, gate).rejected.to_pylist():
        fast[(r["reason_code"], r["field"])].add(r["line_no"])
    _, ge = ge_check.run(ge_check.ge_frame(batch, lines, gate), gate)
    keys = set(fast) | set(ge)
    assert {k: sorted(fast.get(k, ())) for k in keys} == {k: sorted(ge.get(k, ())) for k in keys}
    return fast


def test_agreement_on_a_generated_police_day(tmp_path, monkeypatch):
    monkeypatch.setenv("JINBAO_HOME", str(tmp_path))
    cfg = load_settings()
    info = generate(cfg, DAY, people=60_000, defect_share=0.3)["feeds"]["police.death"]
    gate = _gate("police.death")
    stream = open_csv(cfg.inbound("police") / info["file"], "GB18030", gate.schema.names, ["GMSFHM"])
    (batch, lines), = list(stream.blocks())
    fast = _compare(batch, lines, gate)
    assert len({reason for reason, _ in fast}) >= 8          # the day exercises most rules


def test_agreement_on_health_records_with_every_rule():
    from tests.quality.test_verdict import _row, HOSPITAL
    rows = [_row(), _row(BIRTH_DATE="1945-03-13"), _row(SEX="F"), _row(ORG_USCC=HOSPITAL[:-1] + "0"),
            _row(DEATH_DATE="1944-01-01"), _row(DEATH_DATE="2026-12-01"), _row(NAME="王伟2"),
            _row(NAME="ÍõÎ°"), _row(DEATH_PLACE="310119"), _row(SEX="X", ORG_USCC=""),
            _row(ID_NO="11010519450312001"), _row(ID_NO="110105194503120010"), _row(DEATH_DATE="2026-02-30"),
            _row(ID_NO="990105194503120014"), _row(BIRTH_DATE="1945/03/12")]
    cols = {k: pa.array([r[k] for r in rows], pa.string()) for k in rows[0]}
    _compare(pa.record_batch(cols), np.arange(2, len(rows) + 2), _gate("health.death_certificate"))


def test_ge_metric_errors_are_never_silent():
    assert ge_check._raised({"raised_exception": False}) is None
    assert ge_check._raised({"metric-id": {"raised_exception": True, "exception_message": "boom"}}) == "boom"


def test_data_docs_for_a_published_batch(sqlite_home):
    from jinbao.cli import main
    from tests.deliveries import death_row, write_delivery
    write_delivery(sqlite_home.inbound("police"), "police.death", [death_row(i) for i in range(6)]
                   + [death_row(9, XB="5")])
    assert main(["run", "police.death"]) == 0
    assert main(["quality", "docs", "police.death"]) == 0
    folder = sqlite_home.reports / "quality" / "police.death"
    index = next(folder.rglob("index.html"))
    assert "expect_column_values_to_pass_citizen_id_stage" in (folder / "suite.json").read_text()
    pages = " ".join(p.read_text(errors="replace") for p in folder.rglob("*.html"))
    assert index.exists() and "batch1" in pages


def test_uscc_expectation_agrees_with_the_fast_path_on_structure():
    from jinbao.formats.uscc import valid, with_check_char
    from jinbao.quality.ge_expectations import uscc_ok
    codes = with_check_char(pa.array(["Y1110000MA0000001", "91A10000MA0000001", "01110000MA0000001",
                                      "91350100M00010043"])).to_pylist() + ["91350100M000100Y44", "x"]
    codes = [c or "0" * 18 for c in codes]
    assert [uscc_ok(c) for c in codes] == valid(pa.array(codes)).tolist()


def _hostile_hrss():
    """Every hrss feed with the lines its gate must reject (from line 4 on; lines 2 and 3 are good)."""
    from tests.deliveries import contribution_row, enrollment_row, pension_row

    def wrong_check(value: str) -> str:
        return value[:-1] + ("0" if value[-1] != "0" else "1")

    roll = [pension_row(1), pension_row(1, FFNY="2026-10"), pension_row(3, AAC002=wrong_check(pension_row(3)["AAC002"])),
            pension_row(5, AAA002="1"), pension_row(4, AAA002="5"), pension_row(6, AAC006="1945-01-01"),
            pension_row(7, AAC006="1945-02-30"), pension_row(8, AAC003="ÍõÎ°"), pension_row(9, AAC003=""),
            pension_row(10, AAB301="990101"), pension_row(11, FFNY="2026-13"), pension_row(12, FFNY="2026-12"),
            pension_row(13, FFNY="202611"), pension_row(14, FFJE="12.345"), pension_row(15, FFJE="-5.00"),
            pension_row(16, FFNY="2027-01", FFJE="x")]
    enrolled = [enrollment_row(1), enrollment_row(11), enrollment_row(2, AAC002=wrong_check(enrollment_row(2)["AAC002"])),
                enrollment_row(3, CBND="26"), enrollment_row(4, DW_XZQH="990101"), enrollment_row(5, GRJFJE="4OO"),
                enrollment_row(6, JFRQ="2026-02-30"), enrollment_row(7, JFRQ="2026-12-01"),
                enrollment_row(8, DWMC=""), enrollment_row(9, DWBH="x" * 51), enrollment_row(10, AAC003="王伟2")]
    paid = [contribution_row(1), contribution_row(1, month="202610"), contribution_row(2, AAB998=wrong_check(contribution_row(2)["AAB998"])),
            contribution_row(3, month="202613"), contribution_row(4, month="202612"),
            contribution_row(5, month="2026-11"), contribution_row(6, JFBZ="2"), contribution_row(7, JFBZ=""),
            contribution_row(8, AAC002="11010519451")]
    return {"hrss.pension_roll": roll, "hrss.resident_enrollment": enrolled, "hrss.contribution": paid}


@pytest.mark.parametrize("feed", ["hrss.pension_roll", "hrss.resident_enrollment", "hrss.contribution"])
def test_agreement_on_the_bureaus_feeds(feed):
    rows = _hostile_hrss()[feed]
    cols = {k: pa.array([r[k] for r in rows], pa.string()) for k in rows[0]}
    fast = _compare(pa.record_batch(cols), np.arange(2, len(rows) + 2), _gate(feed))
    assert {line for lines in fast.values() for line in lines} == set(range(4, len(rows) + 2))   # all but 2, 3


@pytest.mark.parametrize("with_czbz", [True, False])
def test_agreement_on_a_death_feed_with_and_without_czbz(with_czbz):
    from tests.deliveries import death_row
    rows = [death_row(i, CZBZ=v) for i, v in enumerate(["1", "2", "", "3", "x"])]
    cols = {k: pa.array([r[k] for r in rows], pa.string()) for k in rows[0] if with_czbz or k != "CZBZ"}
    december = dt.date(2026, 12, 1)                     # CZBZ is mapped from the agreement's 2026-12-01 on
    gate = Gate(feed_mapping("police.death", december), partner_schema("police.death"), december,
                _gate("police.death").rules)
    fast = _compare(pa.record_batch(cols), np.arange(2, len(rows) + 2), gate)
    assert fast == ({("UNMAPPED_CODE", "CZBZ"): {5, 6}} if with_czbz else {})


def test_agreement_on_a_division_taken_as_its_successor():
    """Within the grace period 江北区 500105 is 两江新区 500157 on both paths; a code never known fails on both."""
    from tests.quality.test_verdict import _row
    day = dt.date(2026, 11, 2)                         # 500105 abolished 2025-11-07, taken until 2026-11-06
    rows = [_row(DEATH_DATE="2026-10-01", DEATH_PLACE=p) for p in ("310115", "500105", "500157", "990101")]
    cols = {k: pa.array([r[k] for r in rows], pa.string()) for k in rows[0]}
    gate = Gate(feed_mapping("health.death_certificate", day), partner_schema("health.death_certificate"), day,
                (NotBefore("AAC060", "AAC006", "DEATH_BEFORE_BIRTH"),))
    fast = _compare(pa.record_batch(cols), np.arange(2, len(rows) + 2), gate)
    assert dict(fast) == {("DIVISION_UNKNOWN", "DEATH_PLACE"): {5}}
    verdict = judge(pa.record_batch(cols), np.arange(2, len(rows) + 2), gate)
    assert verdict.accepted.column("death_place").to_pylist() == ["310115", "500157", "500157"]
    assert verdict.warnings.column("reason_code").to_pylist() == ["DIVISION_TRANSLATED"]
