"""`make demo`: `jinbao demo`, with the partners' drops carried over a real local sshd.

The product's `jinbao demo` reads the local drop-zone folders.  Here, when an
OpenSSH sshd can run (root, /usr/sbin/sshd), every generated delivery is
sealed as its partner would seal it and uploaded to that partner's chrooted
SFTP account, and the feeds run over SFTP + CMS; otherwise the local folders
are used and the demo says why.  Run from the checkout: `python -m dev.sftp_demo`.
"""
from __future__ import annotations

import shutil
import sys
from contextlib import contextmanager

from jinbao.settings import Settings


@contextmanager
def sftp_relay(cfg: Settings, specs):
    """Move the generated drops onto a local sshd; yields (settings to run with, description)."""
    from dev import sshd_zone
    from jinbao import keys
    from jinbao.connectors.base import parse_delivery_name
    from jinbao.exchange_zone.envelope import seal_delivery

    partners = tuple(sorted({s.partner for s in specs}))
    try:
        server = sshd_zone.start(sshd_zone.server_root(), partners, install=False)
    except (sshd_zone.Unavailable, PermissionError, OSError) as exc:
        yield cfg, f"local folders under {cfg.drop_zones} (no SFTP: {exc})"
        return
    try:
        wanted = {s.name: s for s in specs}
        endpoints = {}
        for partner in partners:
            endpoints[partner] = {"conn_type": "sftp", "host": "127.0.0.1", "port": server.port,
                                  "login": server.user(partner),
                                  "extra": {"key_file": str(server.keys[partner]), "host_key": server.host_key_line}}
            for plain in sorted(cfg.inbound(partner).glob("*.csv")):
                d = parse_delivery_name(plain.name)
                if d is None or d.feed not in wanted:
                    continue
                records = plain.read_bytes().count(b"\n") - 1
                for f in seal_delivery(plain, d.feed, d.sequence, records, wanted[d.feed].format.encoding,
                                       keys.load_cert(cfg.home, "hub"), keys.load_key(cfg.home, partner),
                                       cfg.home / "partner-side" / partner):
                    dest = server.zones[partner] / "inbound" / f.name
                    shutil.copy(f, dest)
                    shutil.chown(dest, server.user(partner))
                plain.unlink()
        yield (cfg.replace(transport="sftp+cms", sftp_endpoints=endpoints),
               f"SFTP + CMS envelopes (OpenSSH sshd on 127.0.0.1:{server.port}, one chrooted account per partner)")
    finally:
        sshd_zone.stop(server)


def main(argv: list[str] | None = None) -> int:
    from jinbao.cli import parser
    from jinbao.demo import demo
    from jinbao.settings import load_settings

    args = parser().parse_args(["demo", *(sys.argv[1:] if argv is None else argv)])
    return demo(load_settings(), args.date, people=args.people, seed=args.seed, relay=sftp_relay)


if __name__ == "__main__":
    sys.exit(main())
