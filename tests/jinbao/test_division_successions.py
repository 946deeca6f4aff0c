"""Divisions that change, end to end: police.death deliveries through `jinbao run`, on each store.

Chongqing abolished 江北区 500105 (into 两江新区 500157) and 渝北区 500112 (split between 两江新区 and
北碚区 500109) on 2025-11-07; the grace period is 12 months (mappings/reference/divisions.yaml), so a
delivery of 2026-11-02 still has 500105 taken as 500157 with a warning, one of 2026-11-22 not.
"""
from __future__ import annotations

import csv
import io
import json

import pyarrow as pa
import sqlalchemy as sa

from jinbao.cli import main
from jinbao.formats.citizen_id import with_check_char
from jinbao.store.database import connect as engine
from tests.deliveries import death_row, write_delivery

FEED = "police.death"
#: A woman registered in 渝北区 when her ID was issued (an even 17th digit: row 5 of death_row is female);
#: its address code stays valid for life.
YUBEI_ID = with_check_char(pa.array(["500112" + "19560304" + "124"])).to_pylist()[0]


def _rows(cfg, sql: str):
    with engine(cfg.store_url).connect() as conn:
        return [dict(r) for r in conn.execute(sa.text(sql)).mappings()]


def _deliver(home, date: str, seq: int, divisions: dict[int, str], yubei_id_at: int | None = None) -> None:
    rows = [death_row(i, SWRQ="20251001", ZXRQ="20251020") for i in range(20)]
    for i, code in divisions.items():
        rows[i]["HJDZ_XZQH"] = code
    if yubei_id_at is not None:
        rows[yubei_id_at]["GMSFHM"] = YUBEI_ID
    write_delivery(home.inbound("police"), FEED, rows, date=date, seq=seq)


def _receipt(home, base: str, suffix: str) -> list[dict]:
    text = (home.outbound("police") / f"{base}.receipt.{suffix}").read_bytes().decode("gb18030")
    return list(csv.DictReader(io.StringIO(text)))


def test_within_grace_translated_with_a_warning_split_rejected_id_prefix_valid(home):
    _deliver(home, "20261102", 1, {2: "500105", 3: "500112", 4: "500157"}, yubei_id_at=5)
    assert main(["run", FEED]) == 0

    batch = _rows(home, "select * from batch")[0]
    assert (batch["status"], batch["received"], batch["accepted"], batch["rejected"]) == ("published", 20, 19, 1)
    by_line = {d["line_no"]: d for d in _rows(home, "select aac002, aab301, line_no from death_record")}
    assert by_line[4]["aab301"] == "500157"          # 500105 sent, its successor stored
    assert by_line[6]["aab301"] == "500157" and 5 not in by_line
    assert by_line[7]["aac002"] == YUBEI_ID           # the ID's 500112 prefix is no reason to reject
    register = {r["aac002"]: r["aab301"] for r in _rows(home, "select aac002, aab301 from register")}
    assert register[by_line[4]["aac002"]] == "500157"  # the register holds the successor too
    assert len(register) == 19                         # the split record's person is not guessed into it

    base = "police.death_20261102_000001"
    summary = json.loads((home.outbound("police") / f"{base}.receipt.json").read_text())
    assert summary["rejected"] == 1 and summary["warnings"] == 1
    assert summary["warnings_file"] == f"{base}.receipt.warnings.csv"
    [warning] = _receipt(home, base, "warnings.csv")
    assert (warning["line_no"], warning["field"], warning["value"], warning["reason_code"]) == \
        ("4", "HJDZ_XZQH", "500105", "DIVISION_TRANSLATED")
    assert "500157 两江新区" in warning["message"] and "2025-11-07" in warning["message"]
    assert "/" + str(home.home).strip("/") not in warning["message"]              # no hub path
    [split] = _receipt(home, base, "csv")
    assert (split["line_no"], split["field"], split["value"], split["reason_code"]) == \
        ("5", "HJDZ_XZQH", "500112", "DIVISION_SPLIT")
    assert "500109 北碚区" in split["message"] and "500157 两江新区" in split["message"]
    rejections = _rows(home, "select line_no, reason_code from rejection")
    assert [(r["line_no"], r["reason_code"]) for r in rejections] == [(5, "DIVISION_SPLIT")]


def test_after_grace_rejected_naming_the_successor(home):
    _deliver(home, "20261122", 1, {2: "500105"})
    assert main(["run", FEED]) == 0
    base = "police.death_20261122_000001"
    [rejected] = _receipt(home, base, "csv")
    assert (rejected["line_no"], rejected["value"], rejected["reason_code"]) == ("4", "500105", "DIVISION_ABOLISHED")
    assert "successor 500157 两江新区 (since 2025-11-07)" in rejected["message"]
    summary = json.loads((home.outbound("police") / f"{base}.receipt.json").read_text())
    assert "warnings" not in summary and not (home.outbound("police") / f"{base}.receipt.warnings.csv").exists()


def test_before_the_change_the_old_code_is_valid(home):
    _deliver(home, "20251106", 1, {2: "500112", 3: "500105"})
    assert main(["run", FEED]) == 0
    batch = _rows(home, "select * from batch")[0]
    assert (batch["status"], batch["rejected"]) == ("published", 0)
    stored = {d["line_no"]: d["aab301"] for d in _rows(home, "select aab301, line_no from death_record")}
    assert (stored[4], stored[5]) == ("500112", "500105")
