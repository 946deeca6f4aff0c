"""`jinbao demo` / `make demo`: the whole hub on the embedded defaults, in one command.

It wipes JINBAO_HOME only when that folder was made by the hub (it holds the
marker file), so pointing JINBAO_HOME at a real folder by mistake loses nothing.
"""
from __future__ import annotations

import datetime as dt
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
    rows = []
    for spec in load_feeds().values():
        if spec.direction != "inbound":
            continue
        t1 = time.perf_counter()
        for o in Engine(spec, cfg).run(date) or []:
            rows.append((spec.name, o, time.perf_counter() - t1))
    print()
    print(f"{'feed':<28}{'status':<11}{'received':>9}{'accepted':>9}{'rejected':>9}{'published':>10}{'secs':>7}")
    for name, o, secs in rows:
        print(f"{name:<28}{o.status:<11}{o.received:>9}{o.accepted:>9}{o.rejected:>9}{o.published:>10}{secs:>7.1f}")
    declared = {s.name for s in load_feeds().values()}
    waiting = sorted(f for f in (gen.get("feeds") or {}) if f not in declared)
    if waiting:
        print(f"\nnot yet declared (deliveries left waiting in inbound/): {', '.join(waiting)}")
    print(f"\nreceipts     {cfg.exchange_zone}/<partner>/outbound/")
    print(f"quarantine   {cfg.quarantine}")
    return 0 if all(o.status == "published" for _, o, _ in rows) else 2
