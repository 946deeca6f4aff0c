"""exchange_zone/receipts.py: the JSON summary and the partner-encoded CSV of rejections, personal values masked."""
from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from jinbao import ledger
from jinbao.connectors.local import LocalTransport
from jinbao.declarations import get_feed
from jinbao.exchange_zone.receipts import RECEIPT_COLUMNS, batch_message, send_receipt, summary_of, write_receipt
from jinbao.ledger import Refusal, Status
from jinbao.quality.judging import REJECTED, gate_for, judge_delivery
from jinbao.store.database import upgrade
from tests.deliveries import death_row, write_delivery

FEED = "police.death"
DAY = dt.date(2026, 11, 22)
BASE = "police.death_20261122_000001"
CREATED = "2026-11-22T03:00:00+00:00"
SUMMARY_KEYS = {"feed", "file", "batch_id", "sha256", "sequence", "business_date", "status", "received", "accepted",
                "rejected", "published", "mapping_version", "reason_code", "message", "created_at"}


@pytest.fixture
def db(tmp_path):
    return upgrade(f"sqlite:///{tmp_path / 'store.db'}")


@pytest.fixture
def zone(tmp_path):
    return LocalTransport(tmp_path / "exchange_zone" / "police")


def _bad_id(i: int) -> str:
    good = death_row(i)["GMSFHM"]
    return good[:-1] + ("0" if good[-1] != "0" else "1")             # wrong check character


@pytest.fixture
def judged(tmp_path):
    """A real judged delivery: 6 good records, a bad ID (line 3), a bad code (line 5), a short line (line 10)."""
    rows = [death_row(i) for i in range(6)]
    rows.insert(1, death_row(10, GMSFHM=_bad_id(10)))
    rows.insert(3, death_row(11, XB="5"))
    path = write_delivery(tmp_path / "staging", FEED, rows)
    with open(path, "ab") as fh:
        fh.write("11010519500101001X,王五\n".encode("gb18030"))
    judged = judge_delivery(path, "GB18030", gate_for(get_feed(FEED), DAY), tmp_path / "staging", 1)
    assert (judged.received, judged.rejected) == (9, 3)
    return tmp_path / "staging" / REJECTED, rows


def _row(db, status=Status.PUBLISHED, refusal=None, **counts) -> dict:
    with db.begin() as conn:
        batch_id = ledger.insert(conn, status=status, refusal=refusal, feed=FEED, file_name=f"{BASE}.csv",
                                 sha256="ab" * 32, sequence=1, business_date=DAY, encoding="GB18030",
                                 mapping_version="police.death@2024.1", **counts)
        return ledger.get(conn, batch_id)


def test_summary_of_a_ledger_row(db):
    row = _row(db, received=9, accepted=6, rejected=3, published=6)
    s = summary_of(row, CREATED)
    assert set(s) == SUMMARY_KEYS
    assert s == {"feed": FEED, "file": f"{BASE}.csv", "batch_id": row["id"], "sha256": "ab" * 32, "sequence": 1,
                 "business_date": "2026-11-22", "status": "published", "received": 9, "accepted": 6, "rejected": 3,
                 "published": 6, "mapping_version": "police.death@2024.1", "reason_code": None, "message": None,
                 "created_at": CREATED}


@pytest.mark.parametrize("code, detail, expected", [
    ("DUPLICATE_FILE", "same sha256 as batch 1", "重复报送：与已接收文件内容相同 / duplicate: same content as an "
                                                  "accepted delivery: same sha256 as batch 1"),
    ("HELD", "3 of 10 records (30.0%) rejected", "拒绝比例超过阈值，整批暂停发布 / rejected share above the "
                                                   "threshold: batch held: 3 of 10 records (30.0%) rejected"),
    ("BAD_SIGNATURE", "", "清单签名验证失败 / the manifest signature does not verify"),
])
def test_batch_reasons_are_bilingual_with_their_details(db, code, detail, expected):
    row = _row(db, status=Status.REFUSED, refusal=Refusal(code, detail))
    assert batch_message(row) == expected and summary_of(row, CREATED)["reason_code"] == code


def test_a_message_without_a_batch_reason_is_passed_on(db):
    row = _row(db, status=Status.RECEIVED, message="resumed after a restart")
    assert batch_message(row) == "resumed after a restart"


def test_receipt_of_a_published_batch(db, zone, tmp_path, judged):
    rejected_path, rows = judged
    row = _row(db, received=9, accepted=6, rejected=3, published=6)
    folder = tmp_path / "receipts" / FEED / str(row["id"])
    paths = send_receipt(zone, folder, row, rejected_path, "GB18030", CREATED)
    assert [p.name for p in paths] == [f"{BASE}.receipt.json", f"{BASE}.receipt.csv"]
    assert all(p.parent == folder for p in paths)
    # what the partner got is the hub's copy, byte for byte
    assert sorted(p.name for p in zone.outbound.iterdir()) == sorted(p.name for p in paths)
    assert all((zone.outbound / p.name).read_bytes() == p.read_bytes() for p in paths)

    summary = json.loads(paths[0].read_text(encoding="utf-8"))
    assert summary == {**summary_of(row, CREATED), "rejections_file": f"{BASE}.receipt.csv"}

    raw = paths[1].read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")                                            # the partner's encoding, not ours
    records = list(csv.DictReader(io.StringIO(raw.decode("gb18030"))))
    assert list(records[0]) == RECEIPT_COLUMNS
    got = {(int(r["line_no"]), r["field"], r["reason_code"]) for r in records}
    assert got == {(3, "GMSFHM", "ID_CHECKSUM"), (5, "XB", "UNMAPPED_CODE"), (10, "*", "FIELD_COUNT")}
    by_line = {int(r["line_no"]): r for r in records}
    bad_id = rows[1]["GMSFHM"]
    assert by_line[3]["masked_id"] == bad_id[:6] + "********" + bad_id[-4:] and by_line[3]["value"] == ""
    assert by_line[5]["value"] == "5" and "*" in by_line[5]["masked_id"]
    assert "代码值无对照" in by_line[5]["message"] and "no mapping" in by_line[5]["message"]
    for r in rows:                                                     # no full ID and no name, anywhere
        assert r["GMSFHM"] not in raw.decode("gb18030") and r["XM"] not in raw.decode("gb18030")


def test_receipt_csv_in_utf8_for_a_utf8_partner(tmp_path, judged):
    rejected_path, _ = judged
    summary = {"file": f"{BASE}.csv", "status": "published"}
    json_path, csv_path = write_receipt(tmp_path / "out", summary, pq.read_table(rejected_path), "UTF-8")
    text = csv_path.read_bytes().decode("utf-8")
    assert "身份号码校验位错误" in text
    assert json.loads(json_path.read_text())["rejections_file"] == csv_path.name


def test_receipt_of_a_refused_delivery_has_no_rejections_file(db, zone, tmp_path):
    row = _row(db, status=Status.REFUSED, refusal=Refusal("SEQUENCE_REPLAYED", "sequence 1 is not greater than 3"))
    paths = send_receipt(zone, tmp_path / "r", row, None, "GB18030", CREATED)
    assert [p.name for p in paths] == [f"{BASE}.receipt.json"]
    summary = json.loads(paths[0].read_text(encoding="utf-8"))
    assert "rejections_file" not in summary and summary["status"] == "refused"
    assert summary["reason_code"] == "SEQUENCE_REPLAYED"
    assert summary["message"].startswith("批次序号未递增 / ") and summary["message"].endswith("not greater than 3")
    assert [p.name for p in zone.outbound.iterdir()] == [f"{BASE}.receipt.json"]


def test_receipt_names_follow_the_delivery_including_sealed_ones(tmp_path):
    paths = write_receipt(tmp_path, {"file": "health.death_certificate_20261122_000042.csv.p7m"}, None, "UTF-8")
    assert [p.name for p in paths] == ["health.death_certificate_20261122_000042.receipt.json"]


def test_missing_rejections_file_sends_the_summary_only(db, zone, tmp_path):
    row = _row(db, status=Status.HELD, refusal=Refusal("HELD", "x"))
    paths = send_receipt(zone, tmp_path / "r", row, tmp_path / "nowhere" / REJECTED, "GB18030", CREATED)
    assert [p.name for p in paths] == [f"{BASE}.receipt.json"]


def test_csv_from_the_staged_file_in_chunks_equals_the_whole_table(tmp_path, monkeypatch):
    """A large delivery's rejections are written chunk by chunk: the same bytes, one header."""
    from jinbao.exchange_zone import receipts

    rows = 1000
    table = pa.table({"line_no": pa.array(range(2, rows + 2), pa.int64()),
                      "masked_id": pa.array(["110105********002X"] * rows),
                      "field": pa.array(["XM"] * rows), "value": pa.array(["张,三" if i % 7 else "李\"四" for i in range(rows)]),
                      "reason_code": pa.array(["REQUIRED"] * rows), "message": pa.array(["姓名为空 / XM is empty"] * rows)})
    path = tmp_path / "rejected.parquet"
    pq.write_table(table, path, row_group_size=97)
    whole, = [p for p in write_receipt(tmp_path / "a", {"file": "x_20261122_000001.csv"}, table, "GB18030")
              if p.suffix == ".csv"]
    monkeypatch.setattr(receipts, "RECEIPT_CHUNK", 10)
    chunked, = [p for p in write_receipt(tmp_path / "b", {"file": "x_20261122_000001.csv"}, pq.ParquetFile(path),
                                         "GB18030") if p.suffix == ".csv"]
    assert chunked.read_bytes() == whole.read_bytes() and whole.read_bytes().count(b"line_no") == 1
    pq.write_table(table.slice(0, 0), tmp_path / "none.parquet")
    empty, = [p for p in write_receipt(tmp_path / "c", {"file": "x_20261122_000001.csv"},
                                       pq.ParquetFile(tmp_path / "none.parquet"), "GB18030") if p.suffix == ".csv"]
    assert empty.read_bytes() == chunked.read_bytes().split(b"\n")[0] + b"\n"
