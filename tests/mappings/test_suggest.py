"""mappings/suggest.py (`jinbao mappings suggest`): a value map proposed from the store's register."""
from __future__ import annotations

from jinbao.cli import main
from tests.mappings.test_coverage import held_with_letter_codes


def test_suggest_for_a_changed_partner_code(home, capsys):
    held_with_letter_codes(home)
    capsys.readouterr()
    assert main(["mappings", "suggest", "police.death", "XB"]) == 0
    out = capsys.readouterr().out
    lines = {l.split(":")[0].strip().strip('"'): l for l in out.splitlines() if l.strip().startswith('"')}
    assert '"M": "1"' in lines["M"] and "support 19, agreement 100.0%" in lines["M"]
    assert '"F": "2"' in lines["F"] and "agreement 95.2%" in lines["F"]    # 20 of 21 (row 0 is a man sent as F)


def test_suggest_reads_the_plaintext_of_a_sealed_delivery(sqlite_home, capsys, monkeypatch):
    """Over the CMS envelope the staged files are X.csv.p7m and its plaintext X.csv: suggest reads the latter."""
    from jinbao.exchange_zone.envelope import seal_delivery
    from jinbao.keys import init_keys, load_cert, load_key
    from jinbao.ledger import now
    from jinbao.schemas.store_tables import person
    from jinbao.store.database import upgrade
    from jinbao.store.publish import upsert
    from tests.deliveries import death_row, write_delivery

    home = sqlite_home
    init_keys(home.home)
    monkeypatch.setenv("JINBAO_TRANSPORT", "local+cms")
    rows = [death_row(i) for i in range(30)]
    with upgrade(home.store_url).begin() as conn:
        upsert(conn, person, [{"aac002": r["GMSFHM"], "aaa002": r["XB"], "source_feed": "hub.core",
                               "updated_at": now(), "id_upgraded": False} for r in rows])
    for r in rows:
        r["XB"] = {"1": "M", "2": "F"}[r["XB"]]
    plain = write_delivery(home.home / "police-side", "police.death", rows)
    seal_delivery(plain, "police.death", 1, len(rows), "GB18030", load_cert(home.home, "hub"),
                  load_key(home.home, "police"), home.inbound("police"))
    assert main(["run", "police.death"]) == 2                              # held: every XB unmapped
    capsys.readouterr()
    assert main(["mappings", "suggest", "police.death", "XB"]) == 0
    out = capsys.readouterr().out
    assert '"M": "1"' in out and '"F": "2"' in out and "support 15, agreement 100.0%" in out
