"""A run's note and a batch's links, from real batches in the ledger (`jinbao run` on real deliveries)."""
from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import sqlalchemy as sa

from jinbao import ledger, run_notes
from jinbao.audit.report import run
from jinbao.cli import main
from jinbao.report_links import batch_links
from jinbao.run_notes import NOTE_MAX, NOTHING, report_note, run_note
from jinbao.store.database import connect
from tests.deliveries import death_row, write_delivery

FEED = "police.death"


def _rows(cfg) -> list[dict]:
    with connect(cfg.store_url).connect() as conn:
        return sorted(ledger.listing(conn, FEED), key=lambda r: r["id"])


def test_a_published_delivery_names_its_file_counts_and_receipt(sqlite_home):
    rows = [death_row(i) for i in range(20)]
    rows[3]["XB"] = "5"                                     # one record rejected
    write_delivery(sqlite_home.inbound("police"), FEED, rows)
    assert main(["run", FEED]) == 0
    [row] = _rows(sqlite_home)
    note = run_note(sqlite_home, [row])
    assert note.startswith(f"**{FEED}\\_20261122\\_000001.csv** (batch 1) · published")
    assert "20 received, 19 accepted, 1 rejected, 19 published" in note
    receipt = f"/jinbao/receipts/{FEED}/1/{FEED}_20261122_000001.receipt.json"
    assert batch_links(sqlite_home, row) == {"receipt": receipt}      # no quality page written yet: no link
    assert f"[receipt]({receipt})" in note and "quality page" not in note
    assert "hub failure" not in note and NOTHING not in note

    assert main(["quality", "docs", FEED, "--batch", "1"]) == 0
    links = batch_links(sqlite_home, row)
    assert links["quality page"] == f"/jinbao/reports/quality/{FEED}/1/index.html"
    assert f"[quality page]({links['quality page']})" in run_note(sqlite_home, [row])


def test_a_held_batch_says_what_to_do_next(sqlite_home):
    rows = [death_row(i) for i in range(10)]
    for r in rows[:4]:
        r["ZXYY"] = "7"                                      # 40 % rejected: above the 20 % threshold
    write_delivery(sqlite_home.inbound("police"), FEED, rows)
    main(["run", FEED])
    [row] = _rows(sqlite_home)
    assert row["status"] == "held"
    note = run_note(sqlite_home, [row], ["review"])     # a red review is the batch's own, not the hub's
    assert "held for review: 4 of 10 records (40.0%) rejected" in note
    assert "answer the run's Required Action (`review`: release, refuse or re-judge)" in note
    assert "10 received, 6 accepted, 4 rejected, 0 published" in note
    assert "hub failure" not in note


def test_a_refused_delivery_gives_the_reason(sqlite_home):
    write_delivery(sqlite_home.inbound("police"), FEED, [death_row(i) for i in range(5)], seq=7)
    assert main(["run", FEED]) == 0
    write_delivery(sqlite_home.inbound("police"), FEED, [death_row(i) for i in range(10, 15)], seq=5)
    main(["run", FEED])
    refused = _rows(sqlite_home)[-1]
    note = run_note(sqlite_home, [refused], ["review"])
    assert f"**{FEED}\\_20261122\\_000005.csv** (batch 2) · refused: SEQUENCE\\_REPLAYED: sequence 5 is not " \
           "greater than the last accepted 7 (the partner has its receipt)" in note
    assert "[receipt](/jinbao/receipts/" in note and "hub failure" not in note


def test_a_run_that_took_nothing_and_a_hub_failure_are_told_apart(sqlite_home):
    assert run_note(sqlite_home, []) == NOTHING
    failed = run_note(sqlite_home, [], ["receive"])
    assert failed.startswith("**hub failure** at receive") and NOTHING not in failed
    assert "clear the task" in failed


def test_a_late_delivery_is_the_partners_and_a_watch_that_failed_otherwise_is_the_hubs(sqlite_home):
    late = run_note(sqlite_home, [], ["expected_delivery"], "police.death", ["2026-11-22"])
    assert late.startswith("**late**: police.death for business date 2026-11-22") and "hub failure" not in late
    assert late.endswith(NOTHING)
    down = run_note(sqlite_home, [], ["expected_delivery"], "police.death")
    assert down.startswith("**hub failure** at expected_delivery") and "late" not in down


def test_a_long_note_stays_within_airflows_limit(sqlite_home):
    for seq in range(1, 16):
        write_delivery(sqlite_home.inbound("police"), FEED, [death_row(seq * 10 + i) for i in range(2)], seq=seq)
    assert main(["run", FEED]) == 0
    rows = _rows(sqlite_home)
    note = run_note(sqlite_home, rows)
    assert len(rows) == 15 and len(note) <= NOTE_MAX
    assert note.splitlines()[0].startswith(f"**{FEED}\\_20261122\\_000001.csv**")
    assert note.endswith("more (jinbao batches list)")


def test_a_stored_message_cannot_make_a_link_or_markup(sqlite_home):
    write_delivery(sqlite_home.inbound("police"), FEED, [death_row(1)])
    assert main(["run", FEED]) == 0
    with connect(sqlite_home.store_url).begin() as conn:
        conn.execute(sa.text("update batch set status='refused', reason_code='X', "
                             "message='[click](http://evil.example) <b>\x07'"))
    [row] = _rows(sqlite_home)
    note = run_note(sqlite_home, [row])
    assert "\\[click\\](http://evil.example) \\<b\\>␇" in note


def test_the_auditors_run_links_its_report_and_nothing_that_is_gone(sqlite_home):
    written = run(sqlite_home, dt.date(2026, 10, 1))
    files = {name: str(path) for name, path in written.files.items()}
    note = report_note(sqlite_home, files)
    assert note.startswith("death mismatch report 2026-10 ([every file](/jinbao/reports/deaths/2026-10/)): "
                           "[page](/jinbao/reports/deaths/2026-10/deaths-2026-10.html) · "
                           "[workbook](/jinbao/reports/deaths/2026-10/deaths-2026-10.xlsx) · [")
    shown = note.count("](/jinbao/reports/deaths/2026-10/deaths-2026-10")
    assert 2 < shown <= len(files) and len(note) <= NOTE_MAX                  # the CSVs as far as room allows
    written.files["page"].unlink()
    assert "[page]" not in report_note(sqlite_home, files)


def test_the_note_reads_the_watch_by_the_names_the_dag_gives_it():
    """dags/expected.py keeps its own copies (parsing must not load the ledger): they must stay equal."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "dags"))
    import expected  # the DAG folder's module: importable only once the folder is on the path
    assert (expected.TASK_ID, expected.LATE_KEY) == (run_notes.WATCH, run_notes.LATE_KEY)
