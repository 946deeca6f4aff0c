"""`jinbao demo`: the hub's verdicts on a generated day equal the generator's truth."""
from __future__ import annotations

import csv
import datetime as dt

import sqlalchemy as sa

from jinbao.cli import main
from jinbao.store import engine


def test_demo_verdicts_match_the_planted_defects(home, capsys):
    assert main(["demo", "--date", "2026-11-22", "--people", "20000"]) == 0
    out = capsys.readouterr().out
    assert "police.death" in out and "published" in out and "receipts" in out
    truth_file = next((home.generated / "truth").glob("police.death_*.truth.csv"))
    truth = {(int(r["line"]), r["field"], r["reason_code"]) for r in csv.DictReader(open(truth_file))}
    with engine(home.store_url).connect() as conn:
        got = {tuple(r) for r in conn.execute(sa.text("select line_no, field, reason_code from rejection"))}
        b = conn.execute(sa.text("select received, accepted, rejected, published from batch")).one()
    assert got == truth and len(truth) > 0
    assert b.received == b.accepted + b.rejected and b.published == b.accepted
    # A second demo starts from a fresh home: same figures again.
    assert main(["demo", "--date", "2026-11-22", "--people", "20000"]) == 0
