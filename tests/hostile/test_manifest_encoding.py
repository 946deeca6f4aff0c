"""Issue 23, class 7: the manifest's encoding is authoritative for the payload (agreements §2, §4).

The feed's declared encoding is only the default for a delivery without a manifest: a police file
whose manifest says UTF-8 is read as UTF-8 (it used to be read as GB18030, every name garbled and
the batch held), a civil affairs file declared GB18030 is read as GB18030, a spelling of an agreed
encoding (`utf8`) is that encoding, and the receipt answers in the encoding the partner declared.
An encoding the hub cannot read is refused with a receipt saying so, and the corrected resend is
taken.  Over the local folder and the real sshd, on SQLite and PostgreSQL.
"""
from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from jinbao.cli import main
from jinbao.keys import init_keys
from jinbao.store.database import connect
from tests.deliveries import CREMATION, POLICE_DEATH, cremation_row, death_row
from tests.hostile.sealed_zone import TRANSPORTS, batches, zone_for

FEEDS = {
    "police.death": ("police", POLICE_DEATH, lambda i, **kw: death_row(i, **kw), {"XB": "5"}),
    "civil_affairs.cremation": ("civil_affairs", CREMATION, lambda i, **kw: cremation_row(i, **kw), {"SEX": "7"}),
}


@pytest.fixture(params=TRANSPORTS)
def transport(request):
    return request.param


def _names(cfg, feed: str) -> list[str]:
    with connect(cfg.store_url).connect() as conn:
        return sorted(conn.execute(sa.text("select aac003 from death_record where source_feed = :f"),
                                   {"f": feed}).scalars())


def _rows(feed: str, n: int = 10) -> list[dict]:
    _, _, row, defect = FEEDS[feed]
    return [row(i) for i in range(n)] + [row(60, **defect)]        # one record with a code no table has


@pytest.mark.parametrize("feed, written_in, declared", [
    ("police.death", "UTF-8", "UTF-8"),                 # the feed's declaration says GB18030
    ("police.death", "UTF-8", "utf8"),                  # another spelling of the same encoding
    ("civil_affairs.cremation", "GB18030", "GB18030"),  # the feed's declaration says UTF-8
])
def test_the_payload_is_read_in_the_encoding_its_manifest_declares(home, transport, request, monkeypatch, feed,
                                                                   written_in, declared):
    partner, _, row, _ = FEEDS[feed]
    init_keys(home.home)
    zone = zone_for(transport, home, request, monkeypatch, partner)
    rows = _rows(feed)
    name, _ = zone.deliver(feed, rows, FEEDS[feed][1], written_in, declared)

    assert main(["run", feed]) == 0
    (b,) = batches(home)
    assert (b["status"], b["received"], b["accepted"], b["rejected"]) == ("published", 11, 10, 1)
    assert b["encoding"] == written_in
    names_sent = sorted(r["XM"] for r in rows[:10])
    assert _names(home, feed) == names_sent                        # not garbled on the way in
    with connect(home.store_url).connect() as conn:
        reasons = conn.execute(sa.text("select distinct reason_code from rejection")).scalars().all()
    assert reasons == ["UNMAPPED_CODE"]                           # no BAD_ENCODING anywhere

    # the receipt answers in the partner's declared encoding, and its sealed manifest says so
    base = name.removesuffix(".csv.p7m")
    copy = home.receipts / feed / str(b["id"]) / f"{base}.receipt.csv"
    assert "代码值无对照" in copy.read_bytes().decode(written_in)
    sealed = json.loads((zone.outbound / f"{base}.receipt.csv.manifest.json").read_bytes())
    assert sealed["encoding"] == written_in
    assert (zone.inbound / "processed" / str(b["id"]) / name).is_file()


def test_an_encoding_the_hub_cannot_read_is_refused_and_the_corrected_resend_is_read(home, transport, request,
                                                                                     monkeypatch):
    init_keys(home.home)
    zone = zone_for(transport, home, request, monkeypatch, "police")
    rows = _rows("police.death")
    name, _ = zone.deliver("police.death", rows, POLICE_DEATH, "UTF-8", "UTF-16")

    assert main(["run", "police.death"]) == 2
    (refused,) = batches(home)
    assert (refused["status"], refused["reason_code"]) == ("refused", "MANIFEST_INVALID")
    assert "UTF-16" in refused["message"] and "GB18030" in refused["message"]     # what it said, what may be said
    receipt = json.loads((home.receipts / "police.death" / str(refused["id"]) /
                          name.replace(".csv.p7m", ".receipt.json")).read_text(encoding="utf-8"))
    assert receipt["reason_code"] == "MANIFEST_INVALID" and "UTF-16" in receipt["message"]
    assert (zone.outbound / name.replace(".csv.p7m", ".receipt.json.p7m")).is_file()     # sealed, sent
    assert list((home.quarantine / "police.death").glob(f"{refused['id']}-*"))
    assert (zone.inbound / "processed" / str(refused["id"]) / name).is_file()
    assert _names(home, "police.death") == []

    zone.deliver("police.death", rows, POLICE_DEATH, "UTF-8", "UTF-8")        # the partner corrects its manifest
    assert main(["run", "police.death"]) == 0
    taken = batches(home)[-1]
    assert (taken["status"], taken["accepted"], taken["rejected"]) == ("published", 10, 1)
    assert _names(home, "police.death") == sorted(r["XM"] for r in rows[:10])
