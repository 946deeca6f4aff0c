"""`jinbao keys init`: the hub's and the demo partners' keys and certificates, what is missing only.

Imports inside functions: each cmd_* imports what it runs when it runs, so building the parser
(`jinbao --help`, jinbao/cli.py) loads none of it."""
from __future__ import annotations

from jinbao.settings import load_settings


def cmd_keys(args) -> int:
    from jinbao.keys import init_keys, key_dir

    home = load_settings().home
    for who, what in init_keys(home).items():
        print(f"{who:<14} {what}")
    print(f"keys in {key_dir(home)} (private keys 0600; see docs/transport.md for real certificates)")
    return 0


def add_commands(sub, kw) -> None:
    k = sub.add_parser("keys", help="the hub's and demo partners' keys and certificates (every partner in "
                       "dags/feeds/partners.yaml)", **kw)
    k.add_argument("action", choices=["init"], help="init: make what is missing, never replace a key")
    k.set_defaults(func=cmd_keys)
