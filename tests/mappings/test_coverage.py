"""mappings/coverage.py (`jinbao mappings coverage`) on real batches in the store."""
from __future__ import annotations


from jinbao.ledger import now
from jinbao.cli import main
from jinbao.schemas.store_tables import person
from jinbao.store.database import upgrade
from jinbao.store.publish import upsert
from tests.deliveries import death_row, write_delivery


def held_with_letter_codes(home) -> None:
    """Police switch XB to letters without telling anyone: every record is UNMAPPED, the batch held."""
    rows = [death_row(i) for i in range(40)]
    register = [{"aac002": r["GMSFHM"], "aaa002": r["XB"], "source_feed": "hub.core", "updated_at": now(),
                 "id_upgraded": False} for r in rows]
    for r in rows:
        r["XB"] = {"1": "M", "2": "F"}[r["XB"]]
    rows[0]["XB"] = "F"                       # one clerk's typo: disagreement the proposal must show
    write_delivery(home.inbound("police"), "police.death", rows)
    db = upgrade(home.store_url)
    with db.begin() as conn:
        upsert(conn, person, register)
    assert main(["run", "police.death"]) == 2                 # held: 100 % rejected


def test_coverage_for_a_changed_partner_code(home, capsys):
    held_with_letter_codes(home)
    capsys.readouterr()
    assert main(["mappings", "coverage", "police.death"]) == 1
    out = capsys.readouterr().out
    assert "XB" in out and " M " in out.replace("\n", " ") and " F " in out.replace("\n", " ")
    assert "20" in out or "21" in out


def test_coverage_is_clean_when_everything_mapped(home, capsys):
    write_delivery(home.inbound("police"), "police.death", [death_row(i) for i in range(5)])
    assert main(["run", "police.death"]) == 0
    assert main(["mappings", "coverage", "police.death"]) == 0
