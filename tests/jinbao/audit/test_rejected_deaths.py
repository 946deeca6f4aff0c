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


def test_a_person_sent_twice_in_one_delivery_is_still_evidence(home):
    """Both records of a duplicated key are rejected (DUPLICATE_KEY): neither may vanish from the evidence,
    with or without other rejected records in the same delivery."""
    twice = [death_row(5, SWRQ="20261103"), death_row(5, SWRQ="20261104")]
    write_delivery(home.inbound("police"), "police.death", twice + [death_row(i) for i in range(10, 20)])
    assert main(["run", "police.death"]) == 0
    bad = death_row(3)
    bad["GMSFHM"] = bad["GMSFHM"][:-1] + ("0" if bad["GMSFHM"][-1] != "0" else "1")
    write_delivery(home.inbound("police"), "police.death", [death_row(6, SWRQ="20261105"), bad,
                   death_row(6, SWRQ="20261106")] + [death_row(i) for i in range(20, 40)], seq=2)
    assert main(["run", "police.death"]) == 0
    with connect(home.store_url).connect() as conn:
        rows = [tuple(r) for r in conn.execute(sa.text(
            "select b.sequence, r.line_no, r.id_sent, r.aac060 from rejected_death r join batch b on b.id = r.batch_id "
            "order by b.sequence, r.line_no"))]
    assert [(s, line, pid, str(day)) for s, line, pid, day in rows] == [
        (1, 2, twice[0]["GMSFHM"], "2026-11-03"), (1, 3, twice[0]["GMSFHM"], "2026-11-04"),
        (2, 2, death_row(6)["GMSFHM"], "2026-11-05"), (2, 3, bad["GMSFHM"], "2026-11-04"),
        (2, 4, death_row(6)["GMSFHM"], "2026-11-06")]
