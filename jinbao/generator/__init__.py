"""Synthetic partner data: realistic, seeded, reproducible, never real personal data.

`generate` writes the bureau's own population and pension roll (Parquet, in
JINBAO_HOME/generated), partner deliveries into the partners' inbound folders,
and truth files saying which line carries which defect and which dead people
are still being paid, with the register's and the auditors' answer keys (register_truth.py,
audit_truth.py) and on request the subsidies' (subsidy_truth.py), so tests and the demo can check the hub against them.

The population is the seed's alone; what happens is planned per story (a
quarter or a month of days, story.py), so the days of one story agree with
each other: a person dies once and appears alive in nothing afterwards.  Each
feed's delivery draws from its own random stream (seed, feed number, day), so
asking for one feed gives the same file as generating them all, and every day
gives different files.  Which feeds a day writes is the agreements' calendar
(timetable.py: only the deliveries owed for the business date) or, with
`every_feed` (the default here; `jinbao generate --every-feed`), all of them.

Nothing in the product imports this package but jinbao/demo.py, for `jinbao demo` and `jinbao
generate`, and only when they run: the hub that takes real deliveries never loads the third of
jinbao/ that is here (tests/test_layout.py checks it; tests, bench/ and dev/ use it freely).
"""
from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from jinbao.generator import central_bank, civil_affairs, finance, health, hrss, police_death, police_identity, story
from jinbao.generator import deaths as deaths_mod
from jinbao.generator import audit_truth, register_truth, subsidy_truth, timetable
from jinbao.generator.defects import plant
from jinbao.generator.population import counties, pension_roll, pensions, population
from jinbao.generator.world import World
from jinbao.generator.writer import delivery_name, write_csv, write_truth

#: Every agreed inbound feed, in the order they are generated (police.death first: the demo's feed).
FEEDS = ("police.death", "police.identity", "civil_affairs.assistance", "civil_affairs.cremation",
         "health.death_certificate", "finance.subsidy_payment", "central_bank.employer_status",
         "hrss.pension_roll", "hrss.resident_enrollment", "hrss.contribution")


def _builders(people: int, roll: pa.Table, defect_share: float = 0.0, since: dt.date | None = None) -> dict:
    return {
        "police.death": police_death.build,
        "police.identity": lambda rng, w: police_identity.build(rng, w, police_identity.size(people)),
        "civil_affairs.assistance": lambda rng, w: civil_affairs.assistance(
            rng, w, civil_affairs.assistance_size(people),
            late=hrss.enrolled_yesterday(w, w.seed, people, defect_share)),
        "civil_affairs.cremation": civil_affairs.cremation,
        "health.death_certificate": health.build,
        "finance.subsidy_payment": lambda rng, w: finance.build(
            rng, w, finance.size(people), _payable(w, people, defect_share, since),
            yesterday=_paid_last_time(w, people, defect_share, since)),
        "central_bank.employer_status": lambda rng, w: central_bank.build(rng, w, central_bank.size(people)),
        "hrss.pension_roll": lambda rng, w: hrss.pension_roll(rng, w, roll),
        "hrss.resident_enrollment": lambda rng, w: hrss.resident_enrollment(rng, w, hrss.enrollment_size(people)),
        "hrss.contribution": hrss.contribution,
    }


def _payable(w: World, people: int, defect_share: float, since: dt.date | None) -> np.ndarray:
    """Whom finance's delivery of w's day pays: the fresh enrolments (hrss.fresh_enrollees) of every
    day it covers (a month, on the calendar; the day, every feed every day), the dead left out."""
    fresh = [hrss.fresh_enrollees(w.on_day(d), w.seed, people, defect_share, since) for d in w.period(finance.FEED)]
    enrolled = np.unique(np.concatenate(fresh)) if fresh else np.empty(0, dtype=np.int64)
    return enrolled[~w.dead[enrolled]]


def _paid_last_time(w: World, people: int, defect_share: float, since: dt.date | None) -> np.ndarray | None:
    """The payees of finance's previous delivery in the story (yesterday's, every feed every day),
    some of whom finance pays again; None on the story's first delivery (another story's enrolments
    are planned apart)."""
    last = timetable.previous(w.timetable, finance.FEED, w.on, w.calendar.first)
    if last is None:
        return None
    before = w.on_day(last)
    return finance.payees(before, _payable(before, people, defect_share, since))


def generate(cfg, business_date: dt.date, seed: int = 20261122, people: int = 20_000,
             defect_share: float = 0.05, feeds: list[str] | None = None, since: dt.date | None = None,
             subsidy_key: bool = False, every_feed: bool = True, omit: tuple[str, ...] = ()) -> dict:
    """One business day; `since`: the first day of the story the hub is fed from (default: the
    story's first day), which the register's answer key (register_truth.py) starts from, and from
    which finance pays no resident twice (hrss.fresh_enrollees; without it a day stands alone);
    `subsidy_key`: also write the subsidies' answer key for since..the day (subsidy_truth.py),
    which replays every day of the run and so is written only when asked; `every_feed` False: only
    the deliveries the declarations owe for the day (timetable.py; `jinbao generate` without
    --every-feed), of which `omit` are left out, as the missing-delivery alarm's test case."""
    wanted = list(FEEDS) if feeds is None else list(feeds)
    unknown = (set(wanted) | set(omit)) - set(FEEDS)
    if unknown:
        raise ValueError(f"cannot generate {sorted(unknown)}; available: {', '.join(FEEDS)}")
    rng = np.random.default_rng(seed)
    known = counties()
    pop = population(rng, people, known)
    monthly = pensions(rng, pop.num_rows)
    birth = pop.column("aac006").to_numpy().astype("datetime64[D]")
    calendar = deaths_mod.Calendar.plan(seed, birth, business_date, deaths_mod.per_day(people))
    roll = pension_roll(pop, business_date, calendar.stop_after(pop.num_rows, business_date), monthly)
    cfg.generated.mkdir(parents=True, exist_ok=True)
    pq.write_table(pop, cfg.generated / "population.parquet")
    pq.write_table(roll, cfg.generated / "pension_roll.parquet")
    truth_dir = cfg.generated / "truth"
    summary = {"business_date": business_date.isoformat(), "seed": seed, "people": pop.num_rows,
               "story": {"first": calendar.first.isoformat(), "last": calendar.last.isoformat()},
               "pension_payments": roll.num_rows, "defect_share": defect_share, "feeds": {}}

    world = World.of(pop, calendar, business_date, known, seed, None if every_feed else timetable.cadences(cfg))
    dead = world.deaths
    builders = _builders(people, roll, defect_share, since)
    written, omitted = [], []
    for number, feed in enumerate(FEEDS, start=1):
        if feed not in wanted or not world.delivers(feed):
            continue
        if feed in omit:
            omitted.append(feed)
            continue
        written.append(feed)
        feed_rng = np.random.default_rng([seed, number, story.day_number(business_date)])
        d = builders[feed](feed_rng, world)
        truth = plant(feed_rng, d, defect_share, business_date)
        name = delivery_name(feed, business_date)
        write_csv(cfg.inbound(d.partner) / name, d.columns, d.cols, d.encoding)
        truth_name = f"{name.removesuffix('.csv')}.truth.csv"
        write_truth(truth_dir / truth_name, truth)
        summary["feeds"][feed] = {"file": name, "partner": d.partner, "encoding": d.encoding,
                                  "records": d.records, "defects": len(truth), "truth": truth_name}

    summary["deliveries"] = {"truth": timetable.write(truth_dir, business_date, written, omitted),
                             "written": written, "omitted": omitted}
    summary["planted"] = _paid_after_death(pop, roll, dead, truth_dir)
    summary["register"] = register_truth.write(truth_dir, world, business_date, seed, defect_share, wanted, since)
    summary["audit"] = audit_truth.write(truth_dir, world, business_date, seed, defect_share, wanted, monthly, since)
    if subsidy_key:
        summary["subsidies"] = subsidy_truth.write(truth_dir, world, business_date, seed, people, defect_share,
                                                   builders, since)
    summary["planted_sources"] = {
        "police_only": int((dead.planted & ~dead.in_health & ~dead.in_cremation).sum()),
        "police_and_health": int((dead.planted & dead.in_health & ~dead.in_cremation).sum()),
        "police_health_cremation": int((dead.planted & dead.in_health & dead.in_cremation).sum())}
    (truth_dir / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")
    return summary


def _paid_after_death(pop: pa.Table, roll: pa.Table, dead: deaths_mod.Deaths, truth_dir) -> int:
    """The audit's answer key: planted people, their death date and what was paid after it."""
    planted = pd.DataFrame({
        "aac002": pop.column("aac002").to_numpy(zero_copy_only=False)[dead.person[dead.planted]],
        "death_date": dead.date[dead.planted]})
    mine = roll.filter(pc.is_in(roll.column("aac002"), pa.array(planted["aac002"].tolist(), pa.string())))
    paid = mine.to_pandas().merge(planted, on="aac002")
    death_month = paid["death_date"].values.astype("datetime64[M]").astype("datetime64[D]")
    after = paid[paid["month"].values.astype("datetime64[D]") > death_month]
    out = (planted.merge(after.groupby("aac002").agg(months_paid_after=("amount", "size"),
                                                     amount_paid_after=("amount", "sum")).reset_index(),
                         on="aac002", how="left").fillna({"months_paid_after": 0, "amount_paid_after": 0.0})
           .sort_values("aac002"))
    out["months_paid_after"] = out["months_paid_after"].astype(int)
    out["amount_paid_after"] = out["amount_paid_after"].round(2)
    out["death_date"] = pd.to_datetime(out["death_date"]).dt.strftime("%Y-%m-%d")
    truth_dir.mkdir(parents=True, exist_ok=True)
    out.to_csv(truth_dir / "paid_after_death.csv", index=False, float_format="%.2f", lineterminator="\n")
    return len(out)
