"""Who dies, when, which partners report it, and the planted cases auditors must find.

Most deaths are reported within days and the roll stops in the death month.
The planted cases are the ones the national audit found: a death registered
late (months after it happened) while the pension kept being paid.  A death
is not reported by every partner: police always (police.death is the feed the
bureau relies on), hospitals and crematoria for most; planted cases are spread
over "police only", "police + health" and "all three" so a cross-check that
needs two sources is shown to miss some.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pyarrow as pa


@dataclass
class Deaths:
    person: np.ndarray        # indices into the population
    date: np.ndarray          # datetime64[D]
    planted: np.ndarray       # bool: pension still paid after death
    in_health: np.ndarray     # bool: a death certificate is delivered today
    in_cremation: np.ndarray  # bool: a cremation record is delivered today


def choose(rng: np.random.Generator, people: pa.Table, on: dt.date, n_deaths: int) -> Deaths:
    birth = people.column("aac006").to_numpy().astype("datetime64[D]")
    today = np.datetime64(on)
    retired = np.flatnonzero((today - birth).astype(int) >= 60 * 365.25)
    younger = np.flatnonzero((today - birth).astype(int) < 60 * 365.25)
    n_old = min(len(retired), int(n_deaths * 0.8))
    person = np.concatenate([rng.choice(retired, n_old, replace=False),
                             rng.choice(younger, min(len(younger), n_deaths - n_old), replace=False)])
    n = len(person)
    date = today - rng.integers(1, 31, n)
    planted = np.zeros(n, dtype=bool)
    k = min(n_old, max(3, n_deaths // 20))
    planted[:k] = True                                       # first k retirees
    date[:k] = today - rng.integers(70, 330, k)              # died months ago, reported only now
    date = np.maximum(date, birth[person] + 1)
    in_health = rng.random(n) < 0.75
    in_cremation = rng.random(n) < 0.6
    pattern = np.arange(k) % 3                               # 0 police only, 1 + health, 2 all three
    in_health[:k] = pattern >= 1
    in_cremation[:k] = pattern == 2
    order = rng.permutation(n)                               # planted cases anywhere in the files
    return Deaths(person=person[order], date=date.astype("datetime64[D]")[order], planted=planted[order],
                  in_health=in_health[order], in_cremation=in_cremation[order])


def stop_after(n_people: int, deaths: Deaths) -> np.ndarray:
    """Last month paid per person: the death month, except planted cases (still paid)."""
    out = np.full(n_people, np.datetime64("NaT"), dtype="datetime64[D]")
    month = deaths.date.astype("datetime64[M]").astype("datetime64[D]")
    out[deaths.person[~deaths.planted]] = month[~deaths.planted]
    return out
