"""Who dies, when, and the planted cases the auditors must find.

Most deaths are reported within days and the roll stops in the death month.
The planted cases are the ones the national audit found: a death registered
late (months after it happened) while the pension kept being paid.
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


def choose(rng: np.random.Generator, people: pa.Table, on: dt.date, n_deaths: int) -> Deaths:
    birth = people.column("aac006").to_numpy().astype("datetime64[D]")
    today = np.datetime64(on)
    retired = np.flatnonzero((today - birth).astype(int) >= 60 * 365.25)
    younger = np.setdiff1d(np.arange(people.num_rows), retired)
    n_old = min(len(retired), int(n_deaths * 0.8))
    person = np.concatenate([rng.choice(retired, n_old, replace=False),
                             rng.choice(younger, min(len(younger), n_deaths - n_old), replace=False)])
    date = today - rng.integers(1, 31, len(person))
    planted = np.zeros(len(person), dtype=bool)
    k = min(n_old, max(3, n_deaths // 20))
    planted[:k] = True                                       # first k retirees
    date[:k] = today - rng.integers(70, 330, k)              # died months ago, reported only now
    date = np.maximum(date, birth[person] + 1)
    order = rng.permutation(len(person))                     # planted cases anywhere in the file
    return Deaths(person=person[order], date=date.astype("datetime64[D]")[order], planted=planted[order])


def stop_after(n_people: int, deaths: Deaths) -> np.ndarray:
    """Last month paid per person: the death month, except planted cases (still paid)."""
    out = np.full(n_people, np.datetime64("NaT"), dtype="datetime64[D]")
    month = deaths.date.astype("datetime64[M]").astype("datetime64[D]")
    out[deaths.person[~deaths.planted]] = month[~deaths.planted]
    return out
