"""The drop zone is only regular files with agreed names; anything else is set aside, unread, and reported."""
from __future__ import annotations

import json
import os

import sqlalchemy as sa

from jinbao.cli import main
from jinbao.store.database import connect
from tests.deliveries import death_row, write_delivery


def test_links_devices_and_bad_names_are_set_aside_and_reported(home, tmp_path, capsys):
    inbound = home.inbound("police")
    write_delivery(inbound, "police.death", [death_row(i) for i in range(5)])
    secret = tmp_path / "outside" / "police.death_20261122_000002.csv"       # outside the drop zone
    secret.parent.mkdir()
    secret.write_bytes(b"GMSFHM,XM,XB,SWRQ,ZXRQ,ZXYY,HJDZ_XZQH\n")
    os.symlink(secret, inbound / "police.death_20261122_000002.csv")
    os.mkfifo(inbound / "police.death_20261122_000003.csv")
    (inbound / "deaths for november.csv").write_bytes(b"whatever")
    (inbound / "health.death_certificate_20261122_000001.csv").write_bytes(b"not police's feed")
    (inbound / "police.death_20261122_000004.csv.part").write_bytes(b"upload in progress")

    assert main(["run", "police.death"]) == 2
    with connect(home.store_url).connect() as c:
        rows = c.execute(sa.text("select file_name, status, reason_code from batch order by file_name")).all()
        published = c.execute(sa.text("select count(*) from death_record")).scalar()
    assert published == 5                                       # the real delivery went through
    assert sorted((r.file_name, r.status, r.reason_code) for r in rows) == sorted([
        ("deaths for november.csv", "refused", "BAD_NAME"),
        ("health.death_certificate_20261122_000001.csv", "refused", "BAD_NAME"),
        ("police.death_20261122_000001.csv", "published", None),
        ("police.death_20261122_000002.csv", "refused", "NOT_A_FILE"),
        ("police.death_20261122_000003.csv", "refused", "NOT_A_FILE")])
    left = sorted(p.name for p in inbound.iterdir())
    assert left == ["police.death_20261122_000004.csv.part", "processed", "rejected"]   # in progress: untouched
    aside = inbound / "rejected"
    assert (aside / "police.death_20261122_000002.csv").is_symlink()                   # moved, never followed
    assert secret.read_bytes().startswith(b"GMSFHM")                                   # the target untouched
    receipt = json.loads((home.outbound("police") / "stray.2.deaths_for_november.csv.receipt.json").read_text())
    assert receipt["reason_code"] == "BAD_NAME" and str(home.home) not in json.dumps(receipt)
    assert receipt["file"] == "deaths for november.csv" and receipt["batch_id"] == 2
    assert main(["batches", "list", "--status", "refused"]) == 0
    listing = capsys.readouterr().out
    assert "NOT_A_FILE" in listing and "BAD_NAME" in listing
