"""The police.death feed end to end through the CLI path, on SQLite and PostgreSQL."""
from __future__ import annotations

import json
import shutil

import sqlalchemy as sa

from jinbao.cli import main
from jinbao.store.database import connect as engine
from tests.deliveries import death_row, write_delivery

FEED = "police.death"


def _rows(cfg, sql: str):
    with engine(cfg.store_url).connect() as conn:
        return [dict(r) for r in conn.execute(sa.text(sql)).mappings()]


def _inbound(cfg):
    return cfg.inbound("police")


def test_bad_record_rejected_good_ones_published(home):
    rows = [death_row(i) for i in range(20)]
    bad = death_row(20)
    bad["GMSFHM"] = bad["GMSFHM"][:-1] + ("0" if bad["GMSFHM"][-1] != "0" else "1")  # wrong check digit
    rows.insert(5, bad)                                                           # line 7
    rows.insert(9, death_row(21, XB="5"))                                         # line 11
    rows.insert(12, death_row(22, SWRQ="20230230"))                               # line 14
    write_delivery(_inbound(home), FEED, rows)

    assert main(["run", FEED]) == 0

    batch = _rows(home, "select * from batch")[0]
    assert (batch["status"], batch["received"], batch["accepted"], batch["rejected"]) == ("published", 23, 20, 3)
    assert batch["published"] == 20
    assert batch["mapping_version"].startswith("police.death@2024.1")
    deaths = _rows(home, "select aac002, source_feed, aac060, batch_id, line_no from death_record")
    assert len(deaths) == 20 and {d["source_feed"] for d in deaths} == {FEED}
    assert bad["GMSFHM"] not in {d["aac002"] for d in deaths}
    rej = _rows(home, "select line_no, field, reason_code, value, masked_id from rejection order by line_no")
    assert [(r["line_no"], r["field"], r["reason_code"]) for r in rej] == [
        (7, "GMSFHM", "ID_CHECKSUM"), (11, "XB", "UNMAPPED_CODE"), (14, "SWRQ", "DATE_INVALID")]
    assert rej[0]["value"] is None and "*" in rej[0]["masked_id"]          # personal value never echoed
    assert rej[1]["value"] == "5"

    receipt = json.loads((home.outbound("police") / "police.death_20261122_000001.receipt.json").read_text())
    assert receipt["received"] == 23 and receipt["rejected"] == 3 and receipt["status"] == "published"
    csv_text = (home.outbound("police") / "police.death_20261122_000001.receipt.csv").read_bytes().decode("gb18030")
    assert "ID_CHECKSUM" in csv_text and bad["GMSFHM"] not in csv_text
    assert (_inbound(home) / "processed" / "1" / "police.death_20261122_000001.csv").exists()
    assert not (_inbound(home) / "police.death_20261122_000001.csv").exists()


def test_rerun_publishes_nothing_twice(home):
    write_delivery(_inbound(home), FEED, [death_row(i) for i in range(10)])
    assert main(["run", FEED]) == 0
    before = _rows(home, "select aac002, updated_at from death_record order by aac002")
    assert main(["run", FEED]) == 0                       # nothing waiting
    # The partner re-sends the identical file under the same name: acknowledged with a receipt saying it
    # was already taken, nothing republished, no file or receipt of the first batch replaced.
    first_receipt = (home.outbound("police") / "police.death_20261122_000001.receipt.json").read_bytes()
    shutil.copy(_inbound(home) / "processed" / "1" / "police.death_20261122_000001.csv", _inbound(home))
    assert main(["run", FEED]) == 2
    assert _rows(home, "select aac002, updated_at from death_record order by aac002") == before
    assert _rows(home, "select id, status, reason_code from batch") == [
        {"id": 1, "status": "published", "reason_code": None}, {"id": 2, "status": "refused",
                                                                "reason_code": "ALREADY_TAKEN"}]
    assert not (_inbound(home) / "police.death_20261122_000001.csv").exists()
    assert (_inbound(home) / "processed" / "2" / "police.death_20261122_000001.csv").exists()
    assert (home.outbound("police") / "police.death_20261122_000001.receipt.json").read_bytes() == first_receipt
    resend = json.loads((home.outbound("police") / "police.death_20261122_000001.2.receipt.json").read_text())
    assert resend["reason_code"] == "ALREADY_TAKEN" and resend["status"] == "refused"
    # ... and under a new name: refused as a duplicate, with a receipt, nothing published.
    shutil.copy(_inbound(home) / "processed" / "1" / "police.death_20261122_000001.csv",
                _inbound(home) / "police.death_20261122_000002.csv")
    assert main(["run", FEED]) == 2
    refused = _rows(home, "select status, reason_code from batch where sequence = 2")
    assert refused == [{"status": "refused", "reason_code": "DUPLICATE_FILE"}]
    assert _rows(home, "select aac002, updated_at from death_record order by aac002") == before
    assert (home.outbound("police") / "police.death_20261122_000002.receipt.json").exists()
    assert list((home.quarantine / FEED).glob("*police.death_20261122_000002*"))


def test_replayed_sequence_refused(home):
    write_delivery(_inbound(home), FEED, [death_row(i) for i in range(5)], seq=7)
    assert main(["run", FEED]) == 0
    write_delivery(_inbound(home), FEED, [death_row(i) for i in range(5, 9)], date="20261123", seq=7)
    assert main(["run", FEED]) == 2
    assert _rows(home, "select reason_code from batch where status = 'refused'") == [
        {"reason_code": "SEQUENCE_REPLAYED"}]
    assert len(_rows(home, "select aac002 from death_record")) == 5


def test_quiet_days_header_only_deliveries_are_each_taken(home):
    """Agreements §5: nothing to report still means a header-only file, the same bytes every quiet day."""
    write_delivery(_inbound(home), FEED, [], date="20261121", seq=1)
    write_delivery(_inbound(home), FEED, [], date="20261122", seq=2)
    assert main(["run", FEED]) == 0
    assert _rows(home, "select status, reason_code from batch order by id") == [
        {"status": "published", "reason_code": None}] * 2
    # a file with records sent again under a new name is still a duplicate
    write_delivery(_inbound(home), FEED, [death_row(1)], date="20261123", seq=3)
    assert main(["run", FEED]) == 0
    write_delivery(_inbound(home), FEED, [death_row(1)], date="20261123", seq=4)
    assert main(["run", FEED]) == 2
    assert _rows(home, "select reason_code from batch where status = 'refused'") == [
        {"reason_code": "DUPLICATE_FILE"}]


def test_received_equals_accepted_plus_rejected(home):
    for seq, n_bad in ((1, 0), (2, 1), (3, 2)):
        rows = [death_row(seq * 100 + i) for i in range(12)]
        for j in range(n_bad):
            rows[j]["XM"] = "张三3"          # digit in a name
        write_delivery(_inbound(home), FEED, rows, seq=seq)
    # A malformed line (wrong number of fields) is received and rejected, never lost.
    path = write_delivery(_inbound(home), FEED, [death_row(900 + i) for i in range(5)], seq=4)
    with open(path, "ab") as fh:
        fh.write("11010519500101001X,王五\n".encode("gb18030"))
    assert main(["run", FEED]) == 0
    batches = _rows(home, "select * from batch order by sequence")
    assert [b["rejected"] for b in batches] == [0, 1, 2, 1]
    for b in batches:
        assert b["received"] == b["accepted"] + b["rejected"]
        assert b["published"] == b["accepted"]
        n_rej = _rows(home, f"select count(distinct line_no) as n from rejection where batch_id = {b['id']}")[0]["n"]
        assert n_rej == b["rejected"]
    field_count = _rows(home, "select line_no, reason_code from rejection where field = '*'")
    assert field_count == [{"line_no": 7, "reason_code": "FIELD_COUNT"}]


def test_held_batch_publishes_nothing_until_released(home, caplog):
    rows = [death_row(i) for i in range(10)]
    for r in rows[:3]:
        r["ZXYY"] = "7"                       # 30 % rejected > 20 % threshold
    write_delivery(_inbound(home), FEED, rows)
    assert main(["run", FEED]) == 2
    batch = _rows(home, "select * from batch")[0]
    assert batch["status"] == "held" and "3 of 10 records (30.0%) rejected" in batch["message"]
    # the operator is told how to release; the partner's receipt holds no hub command or path
    assert f"jinbao batches release {batch['id']}" in caplog.text
    assert _rows(home, "select * from death_record") == []
    receipt_text = (home.outbound("police") / "police.death_20261122_000001.receipt.json").read_text()
    receipt = json.loads(receipt_text)
    assert receipt["status"] == "held" and receipt["reason_code"] == "HELD"
    assert "jinbao" not in receipt_text and str(home.home) not in receipt_text
    assert (_inbound(home) / "police.death_20261122_000001.csv").exists()   # not acknowledged yet

    assert main(["batches", "release", str(batch["id"])]) == 0
    assert len(_rows(home, "select * from death_record")) == 7
    assert _rows(home, "select status from batch") == [{"status": "published"}]
    assert (_inbound(home) / "processed" / "1" / "police.death_20261122_000001.csv").exists()
    receipt = json.loads((home.outbound("police") / "police.death_20261122_000001.receipt.json").read_text())
    assert receipt["status"] == "published" and receipt["published"] == 7   # the partner hears of the release


def test_crash_before_publish_resumes_without_duplicates(home, monkeypatch):
    write_delivery(_inbound(home), FEED, [death_row(i) for i in range(8)])
    import jinbao.store.publish as eng

    def boom(*a, **k):   # what psycopg raises through SQLAlchemy when the server goes away: transient
        import sqlalchemy.exc
        raise sqlalchemy.exc.OperationalError("INSERT INTO death_record ...", {}, Exception("server closed the "
                                              "connection unexpectedly"))
    original = eng.prepared    # inside the publish transaction, before each chunk is written, on every backend
    monkeypatch.setattr(eng, "prepared", boom)
    assert main(["run", FEED]) == 1
    assert _rows(home, "select status from batch") == [{"status": "judged"}]
    assert _rows(home, "select * from death_record") == []
    assert (_inbound(home) / "police.death_20261122_000001.csv").exists()
    monkeypatch.setattr(eng, "prepared", original)
    assert main(["run", FEED]) == 0
    assert len(_rows(home, "select * from death_record")) == 8
    assert len(_rows(home, "select * from batch")) == 1


def test_missing_column_is_refused_naming_file_line_and_field(home):
    write_delivery(_inbound(home), FEED, [death_row(1)], columns=["GMSFHM", "XM", "XB", "ZXRQ", "ZXYY",
                                                                  "HJDZ_XZQH"])
    assert main(["run", FEED]) == 2
    batch = _rows(home, "select status, reason_code, message from batch")[0]
    assert batch["status"] == "refused" and batch["reason_code"] == "HEADER_MISMATCH"
    assert "police.death_20261122_000001.csv, line 1, field SWRQ" in batch["message"]
