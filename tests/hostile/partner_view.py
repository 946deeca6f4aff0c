"""What the hostile date and contract tests look at: the hub's clock, the register's life status, and
everything a partner is sent (receipts), which must speak the partner's terms only."""
from __future__ import annotations

import datetime as dt
import json
import re

import sqlalchemy as sa

#: China Standard Time: the hub's business days are China's days, whatever the server's zone.
CST = dt.timezone(dt.timedelta(hours=8))
#: An 18-character citizen ID not masked (the form tests/conftest.py scans logs for).
UNMASKED_ID = re.compile(r"(?<![0-9A-Za-z*])[1-9]\d{16}[\dX](?![0-9A-Za-z])")


def set_hub_clock(monkeypatch, when: dt.datetime) -> None:
    """Inject the hub's clock (`jinbao.ledger.now`): every 'now' and 'today' of the hub reads it."""
    from jinbao import ledger

    monkeypatch.setattr(ledger, "now", lambda: when.astimezone(dt.timezone.utc))


def query(cfg, sql: str, **params) -> list[dict]:
    from jinbao.store.database import connect
    with connect(cfg.store_url).connect() as conn:
        return [dict(r) for r in conn.execute(sa.text(sql), params).mappings()]


def life(cfg, pid: str) -> tuple:
    """(status, date as YYYY-MM-DD or None, deciding source) of a person in the register."""
    (row,) = query(cfg, "select life_status, life_status_date, life_status_source from register "
                        "where aac002 = :p", p=pid)
    return row["life_status"], str(row["life_status_date"]) if row["life_status_date"] else None, \
        row["life_status_source"]


def receipt(cfg, feed: str, batch_id: int) -> dict:
    """The receipt the hub sent for a batch (its readable copy), checked for the partner's eyes."""
    (path,) = (cfg.receipts / feed / str(batch_id)).glob("*.receipt.json")
    return json.loads(path.read_text(encoding="utf-8"))


def assert_partner_terms(cfg, partner: str, outbound=None) -> None:
    """Every file the partner was sent and every readable receipt copy: no unmasked ID, no hub path, no
    hub command.  `outbound`: the partner's outbound/ when it is not the local zone's (the sshd's)."""
    places = [outbound or cfg.outbound(partner), cfg.receipts]
    for place in places:
        for path in (p for p in place.rglob("*") if p.is_file()):
            raw = path.read_bytes()
            if path.suffix in (".json", ".csv"):
                text = raw.decode("utf-8", errors="replace") + raw.decode("gb18030", errors="replace")
                assert str(cfg.home) not in text, f"{path.name}: names a hub path"
                assert "jinbao " not in text, f"{path.name}: names a hub command"
            assert not UNMASKED_ID.search(raw.decode("latin-1")), f"{path.name}: holds an unmasked citizen ID"
