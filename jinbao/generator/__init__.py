"""Synthetic partner data: realistic, seeded, reproducible, never real personal data.

`generate` writes the bureau's own population and pension roll (Parquet, in
JINBAO_HOME/generated), partner deliveries into the partners' inbound folders,
and truth files saying which line carries which defect and which dead people
are still being paid, so tests and the demo can check the hub against them.
"""
from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from jinbao.generator import deaths as deaths_mod
from jinbao.generator import police_death
from jinbao.generator.defects import plant_police_death
from jinbao.generator.population import pension_roll, population
from jinbao.generator.writer import delivery_name, write_csv, write_truth

#: Feeds the generator can write (the other agreed feeds are not generated yet).
FEEDS = ("police.death",)


def generate(cfg, business_date: dt.date, seed: int = 20261122, people: int = 20_000,
             defect_share: float = 0.05, feeds: list[str] | None = None) -> dict:
    unknown = set(feeds or ()) - set(FEEDS)
    if unknown:
        raise ValueError(f"cannot generate {sorted(unknown)}; available: {', '.join(FEEDS)}")
    rng = np.random.default_rng(seed)
    pop = population(rng, people)
    dead = deaths_mod.choose(rng, pop, business_date, max(50, people // 200))
    roll = pension_roll(rng, pop, business_date, deaths_mod.stop_after(pop.num_rows, dead))
    cfg.generated.mkdir(parents=True, exist_ok=True)
    pq.write_table(pop, cfg.generated / "population.parquet")
    pq.write_table(roll, cfg.generated / "pension_roll.parquet")
    truth_dir = cfg.generated / "truth"
    summary = {"business_date": business_date.isoformat(), "seed": seed, "people": pop.num_rows,
               "pension_payments": roll.num_rows, "feeds": {}}

    if feeds is None or "police.death" in feeds:
        cols, facts = police_death.build(rng, pop, dead, business_date)
        truth = plant_police_death(rng, cols, facts, defect_share, business_date, "GB18030")
        name = delivery_name(police_death.FEED, business_date)
        write_csv(cfg.inbound("police") / name, police_death.COLUMNS, cols, "GB18030")
        write_truth(truth_dir / f"{name.removesuffix('.csv')}.truth.csv", truth)
        summary["feeds"]["police.death"] = {"file": name, "records": len(cols["GMSFHM"]), "defects": len(truth)}

    summary["planted"] = _paid_after_death(pop, roll, dead, truth_dir)
    (truth_dir / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")
    return summary


def _paid_after_death(pop: pa.Table, roll: pa.Table, dead: deaths_mod.Deaths, truth_dir) -> int:
    import pandas as pd

    planted = pd.DataFrame({
        "aac002": pop.column("aac002").to_numpy(zero_copy_only=False)[dead.person[dead.planted]],
        "death_date": dead.date[dead.planted]})
    paid = roll.to_pandas().merge(planted, on="aac002")
    death_month = paid["death_date"].values.astype("datetime64[M]").astype("datetime64[D]")
    after = paid[paid["month"].values.astype("datetime64[D]") > death_month]
    out = (planted.merge(after.groupby("aac002").agg(months_paid_after=("amount", "size"),
                                                     amount_paid_after=("amount", "sum")).reset_index(),
                         on="aac002", how="left").fillna({"months_paid_after": 0, "amount_paid_after": 0.0})
           .sort_values("aac002"))
    out["months_paid_after"] = out["months_paid_after"].astype(int)
    out["amount_paid_after"] = out["amount_paid_after"].round(2)
    out["death_date"] = out["death_date"].dt.strftime("%Y-%m-%d")
    truth_dir.mkdir(parents=True, exist_ok=True)
    out.to_csv(truth_dir / "paid_after_death.csv", index=False, float_format="%.2f")
    return len(out)
