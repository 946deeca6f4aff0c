"""A death record the gate rejects is still evidence: the auditors' typo search reads it from the store."""
from __future__ import annotations

import sqlalchemy as sa

from jinbao.cli import main
from jinbao.store.database import connect
from tests.deliveries import death_row, write_delivery


def test_rejected_death_records_are_kept_as_far_as_they_translated(home):
    bad = death_row(3)
    bad["GMSFHM"] = bad["GMSFHM"][:-1] + ("0" if bad["GMSFHM"][-1] != "0" else "1")   # wrong check character
    long_name = death_row(4, XM="名" * 60, HJDZ_XZQH="1101055")                       # too long, bad division
    write_delivery(home.inbound("police"), "police.death", [death_row(1), bad, long_name] +
                   [death_row(i) for i in range(10, 20)])
    assert main(["run", "police.death"]) == 0
    with connect(home.store_url).connect() as conn:
        rows = [dict(r) for r in conn.execute(sa.text(
            "select line_no, source_feed, id_sent, aac003, aaa002, aab301, aac060 from rejected_death "
            "order by line_no")).mappings()]
    assert [(r["line_no"], r["source_feed"], r["id_sent"]) for r in rows] == [
        (3, "police.death", bad["GMSFHM"]), (4, "police.death", long_name["GMSFHM"])]
    assert rows[0]["aac003"] == bad["XM"] and rows[0]["aaa002"] == bad["XB"] and str(rows[0]["aac060"]) == "2026-11-04"
    assert rows[1]["aac003"] == "名" * 50 and rows[1]["aab301"] == "110105"      # cut to the column, never a failure
