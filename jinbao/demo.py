"""`jinbao demo`: the whole hub on the embedded defaults, in one command; and `jinbao generate`,
a day of synthetic partner deliveries.

These two commands are the only part of the product that loads the synthetic-data generator
(jinbao/generator/, imported when they run, not when the parser is built):
tests/test_layout.py holds every other module to that.  Imports inside functions: the demo, its
steps and `generate` import the generator, the engine and the store when they run, as just said.

The demo wipes JINBAO_HOME only when that folder was made by the hub (it holds the
marker file), so pointing JINBAO_HOME at a real folder by mistake loses nothing.
A *relay* may carry the generated drops somewhere else before the feeds run
(`make demo` uses dev/sftp_demo.py to carry them over a local sshd); it yields the
settings to run with, so nothing is switched through the environment.
"""
from __future__ import annotations

import datetime as dt
import json
import shutil
import time
from contextlib import contextmanager
from pathlib import Path

from jinbao.console import iso_date
from jinbao.ledger import Status
from jinbao.settings import Settings, load_settings

MARKER = ".jinbao-home"
#: What a demo never deletes in JINBAO_HOME: Airflow's metadata, logs and secret (`make airflow`).
KEEP = ("airflow", "airflow.db", "airflow-logs", MARKER)


def fresh_home(home: Path) -> None:
    """Empty a hub-made JINBAO_HOME for a new demo day, keeping Airflow's own files."""
    if home.exists() and any(home.iterdir()):
        foreign = [p.name for p in home.iterdir() if p.name not in KEEP]
        if foreign and not (home / MARKER).exists():
            raise SystemExit(f"{home} is not empty and was not created by jinbao ({', '.join(sorted(foreign)[:3])} "
                             "...); refusing to wipe it: point JINBAO_HOME at a new folder")
        for entry in home.iterdir():
            if entry.name in KEEP:
                continue
            shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()
    home.mkdir(parents=True, exist_ok=True)
    (home / MARKER).write_text("created by jinbao demo; safe to delete\n")


@contextmanager
def local_folders(cfg: Settings, specs):
    """The default relay: the feeds read the drop-zone folders where the generator wrote."""
    yield cfg, f"local folders under {cfg.drop_zones}"


def demo(cfg: Settings, date: dt.date | None = None, people: int = 20_000, seed: int = 20261122,
         relay=local_folders) -> int:
    from jinbao.declarations import load_feeds
    from jinbao.engine import Engine
    from jinbao.generator import generate
    from jinbao.keys import init_keys

    from jinbao import ledger

    date = date or (ledger.today() - dt.timedelta(days=1))        # yesterday, by the hub's clock
    fresh_home(cfg.home)
    print(f"JINBAO_HOME  {cfg.home}\nstore        {cfg.store_url}\nbusiness day {date}")
    t0 = time.perf_counter()
    # a fresh home is fed from this day on, so the subsidies' answer key (written on request) is exact
    gen = generate(cfg, date, seed=seed, people=people, since=date, subsidy_key=True)
    # The pension roll reaches the store only as the bureau's hrss.pension_roll delivery, through the gate.
    print(f"generated    {gen['people']} insured people, {gen['pension_payments']} pension payments "
          f"({time.perf_counter() - t0:.1f} s)")
    init_keys(cfg.home)
    inbound = [s for s in load_feeds(cfg).values() if s.direction == "inbound"]
    rows = []
    with relay(cfg, inbound) as (run_cfg, transport):
        print(f"transport    {transport}")
        for spec in inbound:
            t1 = time.perf_counter()
            for o in Engine(spec, run_cfg).run(date):
                rows.append((spec.name, o, time.perf_counter() - t1))
        sent = _outbound(run_cfg, date)
    print()
    print(f"{'feed':<32}{'status':<11}{'received':>9}{'accepted':>9}{'rejected':>9}{'published':>10}{'secs':>7}")
    for name, o, secs in rows:
        print(f"{name:<32}{o.status:<11}{o.received:>9}{o.accepted:>9}{o.rejected:>9}{o.published:>10}{secs:>7.1f}")
    declared = {s.name for s in inbound}
    waiting = sorted(f for f in (gen.get("feeds") or {}) if f not in declared)
    if waiting:
        print(f"\nnot yet declared (deliveries left waiting in inbound/): {', '.join(waiting)}")
    receipts = sorted(cfg.receipts.glob("*/*/*.receipt.csv"))
    if receipts:
        print(f"\nreceipts     {cfg.receipts}/  (readable copies of what each partner received), e.g.\n"
              f"             {receipts[0]}")
    if cfg.quarantine.exists() and any(cfg.quarantine.iterdir()):
        print(f"quarantine   {cfg.quarantine}/  (refused deliveries, kept whole)")
    print("batches      jinbao batches list")
    print(_register_line(cfg))
    _print_sent(cfg, sent)
    _auditors_report(cfg, date)
    return 0 if all(o.status == Status.PUBLISHED for _, o, _ in rows) else 2


def _outbound(cfg: Settings, date: dt.date) -> list:
    """Every outbound feed for the demo day, after the inbound feeds have filled the store."""
    from jinbao.declarations import OutboundFeed, load_feeds
    from jinbao.outbound.send import send

    return [send(spec, cfg, date) for spec in load_feeds(cfg).values() if isinstance(spec, OutboundFeed)]


def _print_sent(cfg: Settings, sent: list) -> None:
    """What went to whom, under which agreement, and the exchange log that records it."""
    from jinbao import exchange_log
    from jinbao.declarations import load_agreements
    from jinbao.store.database import connect

    agreements = load_agreements(cfg)
    print()
    for i, s in enumerate(sent):
        label = "sent" if i == 0 else ""
        agreement = agreements[s.agreement]
        what = (f"{s.file} → {s.partner}: {s.records} records" + (f", {s.held_back} held back" if s.held_back else "")
                if s.file else s.message)
        print(f"{label:<13}{what}")
        print(f"{'':<13}  under {agreement.name} ({agreement.purpose}), in force {agreement.validity}")
        if s.notes:
            print(f"{'':<13}  claim {' '.join(s.notes[-1].split())} (per division and level: jinbao subsidies summary)")
    if sent:
        print(f"{'':<13}sealed to each partner in its outbound/; the hub's plaintext copies: {cfg.sent}/")
    with connect(cfg.store_url).connect() as conn:
        check = exchange_log.verify(conn, exchange_log.log_key(cfg.home))
    print(f"exchange log {check.entries} entries (every delivery in and out), "
          f"{'intact' if check.ok else 'TAMPERED'}: jinbao audit log, jinbao audit verify")


def _register_line(cfg: Settings) -> str:
    """The reconciled register in one line: how many people, their life status, open conflicts."""
    import sqlalchemy as sa

    from jinbao.schemas.store_tables import conflict, register
    from jinbao.store.database import connect

    with connect(cfg.store_url).connect() as conn:
        status = dict(conn.execute(sa.select(register.c.life_status, sa.func.count())
                                   .group_by(register.c.life_status)).all())
        open_conflicts = conn.execute(sa.select(sa.func.count()).select_from(conflict)
                                      .where(conflict.c.resolved_at.is_(None))).scalar_one()
    people = sum(status.values())
    states = ", ".join(f"{n} {s}" for s, n in sorted(status.items(), key=lambda kv: -kv[1]))
    return (f"register     {people} people ({states}), {open_conflicts} open conflicts: "
            "jinbao conflicts, jinbao lineage AAC002")


def _auditors_report(cfg: Settings, date: dt.date) -> None:
    """The reason the hub exists, last: the payments to stop, then who was paid after death, for the
    business day's month."""
    from jinbao.audit import findings
    from jinbao.audit.render import headline_text
    from jinbao.audit.report import run

    written = run(cfg, date.replace(day=1))
    report = written.report
    first, *more = headline_text(report)
    print(f"\nauditors     {first}")
    for line in more:
        print(f"             {line}")
    counts = ", ".join(f"{kind.replace('_', ' ')} {report.table(kind).num_rows}" for kind in findings.KINDS)
    print(f"             rows: {counts}")
    print(f"             page      {written.files['page']}")
    print(f"             workbook  {written.files['workbook']}")
    print(f"             handed over to the auditors' drop zone {written.handed_over}/")


def cmd_demo(args) -> int:
    return demo(load_settings(), args.date, people=args.people, seed=args.seed)


def cmd_generate(args) -> int:
    from jinbao.generator import generate

    from jinbao import ledger

    summary = generate(load_settings(), args.date or ledger.today(), seed=args.seed, people=args.people,
                       defect_share=args.defect_share, feeds=args.feed or None, since=args.since,
                       subsidy_key=args.subsidy_key, every_feed=args.every_feed, omit=tuple(args.omit or ()))
    print(json.dumps(summary, ensure_ascii=False, indent=2, default=str))
    return 0


def add_commands(sub, kw) -> None:
    g = sub.add_parser("generate", help="write a day of synthetic partner deliveries", **kw)
    g.add_argument("--date", type=iso_date, default=None,
                   help="the business day (YYYY-MM-DD); default: the hub's day (China Standard Time)")
    g.add_argument("--seed", type=int, default=20261122, help="the population's seed: same seed, same people")
    g.add_argument("--people", type=int, default=20_000, help="insured people in the synthetic province")
    g.add_argument("--defect-share", type=float, default=0.05, help="share of records with a planted defect")
    g.add_argument("--feed", action="append", help="only this feed (repeatable); default: every feed")
    g.add_argument("--every-feed", action="store_true",
                   help="write every feed's delivery, whatever the calendar; default: only the deliveries "
                        "due for --date under the feeds' declarations (expected:)")
    g.add_argument("--omit", action="append", metavar="FEED",
                   help="leave this feed's delivery out (repeatable), as a partner that fails to deliver; "
                        "truth/deliveries_<date>.csv says what was written and what was left out")
    g.add_argument("--since", type=iso_date, default=None,
                   help="the first day the hub was fed from (YYYY-MM-DD), where the answer keys start; "
                        "default: the story's first day")
    g.add_argument("--subsidy-key", action="store_true",
                   help="also write the subsidies' answer key (expected lines and refused payments) for --since..--date")
    g.set_defaults(func=cmd_generate)

    d = sub.add_parser("demo", help="fresh JINBAO_HOME, generate a day, run every feed, summarise", **kw)
    d.add_argument("--date", type=iso_date, default=None, help="the business day (default: yesterday in China)")
    d.add_argument("--seed", type=int, default=20261122, help="the population's seed")
    d.add_argument("--people", type=int, default=20_000, help="insured people in the synthetic province")
    d.set_defaults(func=cmd_demo)
