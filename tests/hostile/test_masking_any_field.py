"""Issue 23, class 5: a value shaped like a citizen ID is masked wherever the hub echoes it, whichever
column it arrived in.

Partners type IDs into the wrong columns: the name, a code column, a date, the division, the funeral
home, even a header.  The hub echoes values back in receipts (the partner's copy and its own), its
staged and quarantined rejections, the store's `rejection` table, the batch's message, console and log
lines, `jinbao mappings coverage` and `jinbao mappings suggest`.  Every echo shows the ID masked
(440306********5554, jinbao.privacy.mask_text) and never the ID itself.  On SQLite and PostgreSQL.
"""
from __future__ import annotations

import logging

import pyarrow.parquet as pq
import sqlalchemy as sa

from jinbao.cli import main
from jinbao.ledger import now
from jinbao.schemas.store_tables import person
from jinbao.store.database import connect, upgrade
from jinbao.store.publish import upsert
from tests.deliveries import CREMATION, POLICE_DEATH, citizen_id, cremation_row, death_row, write_delivery

#: Nobody's ID in these deliveries: typed into other columns only.
STRAY_ID = citizen_id(777)
MASKED = STRAY_ID[:6] + "*" * 8 + STRAY_ID[-4:]
FIFTEEN = STRAY_ID[:6] + STRAY_ID[8:17]        # a first-generation 15-digit ID
FULL_WIDTH = STRAY_ID.translate(str.maketrans("0123456789", "０１２３４５６７８９"))

#: (column, value) of every police.death record that carries an ID where no ID belongs.
POLICE_STRAYS = [("XM", STRAY_ID), ("XM", f"张{STRAY_ID}"), ("XB", STRAY_ID), ("SWRQ", STRAY_ID),
                 ("ZXRQ", FIFTEEN), ("ZXYY", f"{STRAY_ID} "), ("HJDZ_XZQH", STRAY_ID), ("XB", FULL_WIDTH)]
CREMATION_STRAYS = [("BYGMC", STRAY_ID), ("SEX", STRAY_ID), ("HHRQ", STRAY_ID), ("XM", STRAY_ID),
                    ("BYGMC", f"{STRAY_ID}殡仪馆")]


def _leaks(text: str) -> list[str]:
    return [form for form in (STRAY_ID, FIFTEEN, FULL_WIDTH, STRAY_ID[6:14]) if form in text]


def _files_text(*folders) -> str:
    out = []
    for folder in folders:
        for p in sorted(folder.rglob("*")) if folder.is_dir() else []:
            if p.name == "rejected.parquet":            # the gate's rejections (the records themselves are data)
                out.append(pq.read_table(p).to_pandas().to_csv())
            elif p.is_file() and ".receipt." in p.name and not p.name.endswith((".p7m", ".sig")):
                raw = p.read_bytes()
                for enc in ("utf-8", "gb18030"):
                    out.append(raw.decode(enc, errors="replace"))
    return "\n".join(out)


def test_an_id_in_any_column_is_masked_wherever_the_hub_echoes_it(home, capsys, caplog):
    caplog.set_level(logging.INFO)
    police = [death_row(i) for i in range(60)] + [death_row(100 + n, **{c: v}) for n, (c, v) in
                                                  enumerate(POLICE_STRAYS)]
    write_delivery(home.inbound("police"), "police.death", police)
    cremations = [cremation_row(i) for i in range(40)] + [cremation_row(200 + n, **{c: v}) for n, (c, v) in
                                                          enumerate(CREMATION_STRAYS)]
    write_delivery(home.inbound("civil_affairs"), "civil_affairs.cremation", cremations, encoding="UTF-8",
                   columns=CREMATION)
    # the next police delivery: a person published above, an ID in a code column, and a header that
    # names an ID-shaped column twice (refused whole, the header quoted in the batch's message)
    write_delivery(home.inbound("police"), "police.death",
                   [death_row(i) for i in range(5, 15)] + [death_row(3, XB=STRAY_ID)], seq=2, date="20261123")
    write_delivery(home.inbound("police"), "police.death", [death_row(4)], seq=3, date="20261124",
                   columns=POLICE_DEATH + [STRAY_ID, STRAY_ID])

    with upgrade(home.store_url).begin() as conn:      # person 3 in the register: `mappings suggest` links on it
        upsert(conn, person, [{"aac002": death_row(3)["GMSFHM"], "aaa002": death_row(3)["XB"],
                               "source_feed": "hub.core", "updated_at": now(), "id_upgraded": False}])

    assert main(["run", "police.death"]) == 2
    assert main(["run", "civil_affairs.cremation"]) == 0
    assert main(["mappings", "coverage", "police.death"]) == 1
    assert main(["mappings", "coverage", "civil_affairs.cremation"]) == 1
    before = capsys.readouterr()
    assert main(["mappings", "suggest", "police.death", "XB"]) == 0
    suggested = capsys.readouterr()
    assert MASKED in suggested.out                      # the value typed into XB, linked through person 3
    assert main(["batches", "list"]) == 0
    after = capsys.readouterr()
    console = "".join(c.out + c.err for c in (before, suggested, after))

    with connect(home.store_url).connect() as conn:
        batches = conn.execute(sa.text("select id, feed, status, reason_code, message from batch order by id")).all()
        rejections = conn.execute(sa.text("select * from rejection")).all()
    assert [(b.feed, b.status, b.reason_code) for b in batches] == [
        ("police.death", "published", None), ("police.death", "published", None),
        ("police.death", "refused", "HEADER_MISMATCH"), ("civil_affairs.cremation", "published", None)]

    echoes = {
        "console": console,
        "log": caplog.text,
        "receipts sent": _files_text(home.outbound("police"), home.outbound("civil_affairs")),
        "receipt copies": _files_text(home.receipts),
        "staged and quarantined rejections": _files_text(home.staging, home.quarantine),
        "store rejections": "\n".join(str(tuple(r)) for r in rejections),
        "batch messages": "\n".join(str(b.message) for b in batches),
    }
    for where, text in echoes.items():
        assert _leaks(text) == [], f"an unmasked ID in the {where}"
    # and they are echoes: the values are there, masked
    for where in ("console", "receipts sent", "receipt copies", "store rejections", "batch messages"):
        assert MASKED in echoes[where], f"no masked value in the {where}"
