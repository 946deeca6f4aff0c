"""`jinbao keys init | list | check | rotate | install`: the hub's and partners' keys and certificates.

Imports inside functions: each cmd_* imports what it runs when it runs, so building the parser
(`jinbao --help`, jinbao/cli.py) loads none of it."""
from __future__ import annotations

import argparse
from pathlib import Path

from jinbao.settings import load_settings


def cmd_keys(args) -> int:
    return {"init": _init, "list": _list, "check": _check, "rotate": _rotate, "install": _install}[args.action](
        args, load_settings().home)


def _init(args, home: Path) -> int:
    from jinbao.keys import init_keys, key_dir

    for who, what in init_keys(home).items():
        print(f"{who:<14} {what}")
    print(f"keys in {key_dir(home)} (private keys 0600; see docs/transport.md for real certificates)")
    return 0


def _list(args, home: Path) -> int:
    """Every certificate the hub holds, its role, validity and days to expiry."""
    from jinbao import keys
    from jinbao.keys_expiry import days_left, expired_reason, load_policy, utc_now
    from jinbao.partners import load_partners

    now, window = utc_now(), load_policy().warn_days
    rows = []
    for pair in keys.hub_keyring(home):
        rows.append((_hub_role(pair, now), pair.cert))
    for pid, partner in load_partners().items():
        path = keys.cert_path(home, partner.certificate)
        if path.exists():
            rows.append((f"partner {pid} (verifies, sealed to)", keys.load_cert(home, partner.certificate)))
        else:
            print(f"partner {pid}: no certificate installed ({path.name}): its deliveries are refused NO_CERTIFICATE")
    for role, cert in rows:
        left, bad = days_left(cert, now), expired_reason(cert, now)
        state = bad or (f"expires in {left} days (warned from {window})" if left <= window else f"{left} days left")
        print(f"{role}\n    {keys.named(cert)}\n    valid {cert.not_valid_before_utc:%Y-%m-%d} to "
              f"{cert.not_valid_after_utc:%Y-%m-%d}: {state}")
    return 0


def _hub_role(pair, now) -> str:
    if pair.role == "current":
        return "hub (current: decrypts, signs)"
    if pair.role == "previous" and now < pair.decrypts_until:
        return f"hub (previous: decrypts until {pair.decrypts_until:%Y-%m-%d %H:%M} UTC)"
    ended = f" {pair.decrypts_until:%Y-%m-%d}" if pair.decrypts_until else ""
    return f"hub ({pair.role}: retired{ended}, never used; an envelope to it is refused HUB_CERTIFICATE_RETIRED)"


def _check(args, home: Path) -> int:
    """As the daily keys.certificate_expiry DAG: exit 1 when a certificate is within the window or expired."""
    from jinbao.keys_expiry import check, load_policy

    window = load_policy().warn_days if args.warn_days is None else args.warn_days
    found = check(home, warn_days=window)          # each one logged: what it is, what to do
    if found:
        print(f"{len(found)} certificate(s) expired or expiring within {window} days: see the lines above")
        return 1
    print(f"every certificate is valid for more than {window} days")
    return 0


def _rotate(args, home: Path) -> int:
    from jinbao import keys
    from jinbao.keys_expiry import load_policy
    from jinbao.keys_rotation import RotationRefused, rotate_hub

    overlap = load_policy().overlap_days if args.overlap_days is None else args.overlap_days
    try:
        done = rotate_hub(home, overlap, key_file=args.key, cert_file=args.cert)
    except RotationRefused as exc:
        print(f"not rotated: {exc}")
        return 1
    if done.retired is not None:
        print(f"retired (kept in {keys.key_dir(home) / keys.RETIRED}, never used): {keys.named(done.retired)}")
    print(f"current hub certificate, signing from now on: {keys.named(done.current)}\n"
          f"previous, decrypting until {done.overlap_ends:%Y-%m-%d %H:%M} UTC: {keys.named(done.previous)}\n"
          f"give every partner {keys.cert_path(home, keys.HUB)} now: until that date they may seal to either "
          "certificate, after it a delivery sealed to the previous one is refused HUB_CERTIFICATE_RETIRED")
    return 0


def _install(args, home: Path) -> int:
    from jinbao import keys
    from jinbao.keys_rotation import RotationRefused, install_partner_cert

    try:
        old, new = install_partner_cert(home, args.partner, args.file)
    except RotationRefused as exc:
        print(f"not installed: {exc}")
        return 1
    print(f"installed for {args.partner}: {keys.named(new)}, valid to {new.not_valid_after_utc:%Y-%m-%d}")
    if old is not None:
        print(f"replaced (kept in {keys.key_dir(home) / keys.RETIRED}): {keys.named(old)}")
    return 0


def _file(text: str) -> Path:
    """argparse type: a file that exists."""
    path = Path(text)
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"no such file: {text}")
    return path


def add_commands(sub, kw) -> None:
    k = sub.add_parser("keys", help="the hub's and partners' keys and certificates: make, list, check expiry, "
                       "rotate the hub's key, install a partner's renewed certificate", **kw)
    ks = k.add_subparsers(dest="action", required=True, metavar="ACTION")
    ks.add_parser("init", help="make what is missing (the hub's pair, demo partners' pairs), never replace a key",
                  **kw)
    ks.add_parser("list", help="every certificate: its role, subject, serial, fingerprint, validity, days left",
                  **kw)
    kc = ks.add_parser("check", help="certificates within the warning window (schemas/certificates.yaml) or "
                       "expired, each with what to do (exit 1 if any); the daily keys.certificate_expiry DAG", **kw)
    kc.add_argument("--warn-days", type=int, help="the window in days (default: warn_days in the policy)")
    kr = ks.add_parser("rotate", help="a new hub key pair, signing from now on; the previous one still decrypts "
                       "during the overlap (one rotation at a time)", **kw)
    kr.add_argument("--overlap-days", type=int, help="days the previous key still decrypts (default: "
                    "overlap_days in schemas/certificates.yaml)")
    kr.add_argument("--key", type=_file, metavar="FILE", help="a new private key (PEM) for a CA-issued --cert; "
                    "without both, a self-signed pair is made")
    kr.add_argument("--cert", type=_file, metavar="FILE", help="the CA-issued certificate of --key (PEM)")
    ki = ks.add_parser("install", help="install a partner's renewed certificate (the one it replaces is kept in "
                       "keys/retired/)", **kw)
    ki.add_argument("partner", help="a declared partner, e.g. police")
    ki.add_argument("file", type=_file, help="its certificate (PEM), checked out of band")
    k.set_defaults(func=cmd_keys)
