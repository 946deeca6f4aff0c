"""`jinbao demo` / `make demo`: the whole hub on the embedded defaults, in one command.

It wipes JINBAO_HOME only when that folder was made by the hub (it holds the
marker file), so pointing JINBAO_HOME at a real folder by mistake loses nothing.
"""
from __future__ import annotations

import datetime as dt
import os
import shutil
import time
from pathlib import Path
from zoneinfo import ZoneInfo

from jinbao.config import TIMEZONE, settings

MARKER = ".jinbao-home"


def fresh_home(home: Path) -> None:
    if home.exists() and any(home.iterdir()):
        if not (home / MARKER).exists():
            raise SystemExit(f"{home} is not empty and was not created by jinbao; refusing to wipe it")
        shutil.rmtree(home)
    home.mkdir(parents=True, exist_ok=True)
    (home / MARKER).write_text("created by jinbao demo; safe to delete\n")


def sftp_drop_zones(cfg, specs):
    """Move the generated drops onto a real sshd, sealed as the partners would send them.

    Returns (server, description); (None, why) when no sshd can run here, and the
    feeds then read the local folders as before.
    """
    import json

    from jinbao import keys, sshd_zone
    from jinbao.connectors.base import parse_delivery_name
    from jinbao.exchange_zone.envelope import seal_delivery

    partners = tuple(sorted({s.partner for s in specs}))
    try:
        server = sshd_zone.start(sshd_zone.server_root(), partners, install=False)
    except (sshd_zone.Unavailable, PermissionError, OSError) as exc:
        return None, f"local folders under {cfg.exchange_zone} (no SFTP: {exc})"
    wanted = {s.name: s for s in specs}
    for partner in partners:
        os.environ[f"AIRFLOW_CONN_JINBAO_SFTP_{partner.upper()}"] = json.dumps({
            "conn_type": "sftp", "host": "127.0.0.1", "port": server.port, "login": server.user(partner),
            "extra": {"key_file": str(server.keys[partner]), "host_key": server.host_key_line}})
        for plain in sorted(cfg.inbound(partner).glob("*.csv")):
            d = parse_delivery_name(plain.name)
            if d is None or d.feed not in wanted:
                continue
            records = plain.read_bytes().count(b"\n") - 1
            for f in seal_delivery(plain, d.feed, d.sequence, records, wanted[d.feed].encoding,
                                   keys.load_cert(cfg.home, "hub"), keys.load_key(cfg.home, partner),
                                   cfg.home / "partner-side" / partner):
                dest = server.zones[partner] / "inbound" / f.name
                shutil.copy(f, dest)
                shutil.chown(dest, server.user(partner))
            plain.unlink()
    os.environ["JINBAO_TRANSPORT"] = "sftp+cms"
    return server, f"SFTP + CMS envelopes (OpenSSH sshd on 127.0.0.1:{server.port}, one chrooted account per partner)"


def demo(date: dt.date | None = None, people: int = 20_000, seed: int = 20261122) -> int:
    from jinbao.engine import Engine
    from jinbao.feeds import load_feeds
    from jinbao.generator import generate
    from jinbao.hub_data import load_generated

    cfg = settings()
    date = date or (dt.datetime.now(ZoneInfo(TIMEZONE)).date() - dt.timedelta(days=1))
    fresh_home(cfg.home)
    print(f"JINBAO_HOME  {cfg.home}\nstore        {cfg.store_url}\nbusiness day {date}")
    t0 = time.perf_counter()
    gen = generate(cfg, date, seed=seed, people=people)
    loaded = load_generated(cfg.generated, cfg.store_url)
    print(f"generated    {people} insured people, {loaded['pension_payment']} pension payments "
          f"({time.perf_counter() - t0:.1f} s)")
    from jinbao.keys import init_keys
    init_keys(cfg.home)
    inbound = [s for s in load_feeds().values() if s.direction == "inbound"]
    saved_env = dict(os.environ)
    server, transport = sftp_drop_zones(cfg, inbound)
    print(f"transport    {transport}")
    rows = []
    try:
        for spec in inbound:
            t1 = time.perf_counter()
            for o in Engine(spec, cfg).run(date) or []:
                rows.append((spec.name, o, time.perf_counter() - t1))
    finally:
        os.environ.clear()                  # the SFTP switch was for this demo run only
        os.environ.update(saved_env)
    print()
    print(f"{'feed':<32}{'status':<11}{'received':>9}{'accepted':>9}{'rejected':>9}{'published':>10}{'secs':>7}")
    for name, o, secs in rows:
        print(f"{name:<32}{o.status:<11}{o.received:>9}{o.accepted:>9}{o.rejected:>9}{o.published:>10}{secs:>7.1f}")
    declared = {s.name for s in load_feeds().values()}
    waiting = sorted(f for f in (gen.get("feeds") or {}) if f not in declared)
    if waiting:
        print(f"\nnot yet declared (deliveries left waiting in inbound/): {', '.join(waiting)}")
    if server is not None:
        from jinbao import sshd_zone
        print(f"\nreceipts     {server.root / 'zones'}/jb_<partner>/outbound/ (sealed to each partner)")
        sshd_zone.stop(server)
    else:
        print(f"\nreceipts     {cfg.exchange_zone}/<partner>/outbound/")
    print(f"quarantine   {cfg.quarantine}")
    return 0 if all(o.status == "published" for _, o, _ in rows) else 2
