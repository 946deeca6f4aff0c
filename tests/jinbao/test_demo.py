"""`make demo` (dev/sftp_demo.py over `jinbao demo`): the hub's verdicts on a generated day equal the generator's truth."""
from __future__ import annotations

import csv
import os

import sqlalchemy as sa

from dev.sftp_demo import main as make_demo
from jinbao.generator import FEEDS, subsidy_truth
from jinbao.store.database import connect as engine


def _refused_payments(home) -> set[tuple]:
    field = {"SUBSIDY_WRONG_DIVISION": "XZQH", "SUBSIDY_WRONG_AMOUNT": "BTJE"}
    with open(home.generated / "truth" / subsidy_truth.FILES["receipts"], encoding="utf-8") as fh:
        return {(int(r["line_no"]), field.get(r["reason_code"], "SFZH+BTND+BTJB"), r["reason_code"])
                for r in csv.DictReader(fh)}


def test_demo_verdicts_match_the_planted_defects(home, capsys, monkeypatch):
    if os.environ.get("CI", "").lower() == "true":
        from dev import sshd_zone
        sshd_zone._ensure_sshd(install=True)     # the demo itself never installs packages
    assert make_demo(["--date", "2026-11-22", "--people", "20000"]) == 0
    out = capsys.readouterr().out
    assert "police.death" in out and "published" in out and "receipts" in out
    assert "transport    SFTP + CMS" in out or "no SFTP" in out
    if os.environ.get("CI", "").lower() == "true":
        assert "transport    SFTP + CMS" in out          # CI has sshd: the full path is exercised
    assert "JINBAO_TRANSPORT" not in os.environ          # the switch is passed as settings, never via os.environ
    truths = sorted((home.generated / "truth").glob("*.truth.csv"))
    assert len(truths) == len(FEEDS) == 10               # every agreed inbound feed, the bureau's own too
    with engine(home.store_url).connect() as conn:
        batches = conn.execute(sa.text("select id, feed, file_name, status, received, accepted, rejected, published "
                                       "from batch")).all()
        assert sorted(b.feed for b in batches) == sorted(t.name.rsplit("_", 2)[0] for t in truths)
        for b in batches:
            assert b.status == "published"
            assert b.received == b.accepted + b.rejected and b.published <= b.accepted
            truth_file = home.generated / "truth" / (b.file_name.split(".csv")[0] + ".truth.csv")
            truth = {(int(r["line"]), r["field"], r["reason_code"]) for r in csv.DictReader(open(truth_file))}
            if b.feed == "finance.subsidy_payment":         # what the subsidy check refuses: the subsidies' key
                truth |= _refused_payments(home)
            got = {tuple(r) for r in conn.execute(sa.text(
                f"select line_no, field, reason_code from rejection where batch_id = {b.id}"))}
            assert got == truth and len(truth) > 0, b.feed
        # The roll reaches the store through its delivery and the gate only: no row behind the gate's back.
        paid = conn.execute(sa.text("select source_feed, count(*), count(batch_id) from pension_payment "
                                    "group by source_feed")).all()
        roll = next(b for b in batches if b.feed == "hrss.pension_roll")
        assert [tuple(p) for p in paid] == [("hrss.pension_roll", roll.published, roll.published)]
        # after the inbound feeds, the outbound ones: each in the exchange log with its agreement
        logged = conn.execute(sa.text("select direction, feed, file_name, records, agreement from exchange_log "
                                      "order by seq")).all()
        assert sorted(r.file_name for r in logged if r.direction == "in") == sorted(b.file_name for b in batches)
        out_rows = [tuple(r) for r in logged if r.direction == "out"]
        assert [(r[1], r[2], r[4]) for r in out_rows] == [
            (feed, f"{feed}_20261122_000001.csv", feed)
            for feed in ("central_bank.contribution_status", "finance.subsidy_claim", "police.insured_status")]
        assert all(r[3] > 0 for r in out_rows)
    assert f"police.insured_status_20261122_000001.csv → police: {out_rows[2][3]} records" in out
    assert f"finance.subsidy_claim_20261122_000001.csv → finance: {out_rows[1][3]} records" in out
    assert "exchange log " in out and "intact" in out
    # A second demo starts from a fresh home (and its embedded store): same figures again.
    monkeypatch.delenv("JINBAO_STORE_URL")
    assert make_demo(["--date", "2026-11-22", "--people", "20000"]) == 0
    rows = [r for r in map(str.split, capsys.readouterr().out.splitlines()) if len(r) == 7 and "." in r[0]]
    assert [r[1] for r in rows] == ["published"] * len(FEEDS)
