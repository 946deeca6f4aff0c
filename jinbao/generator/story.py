"""One seed, many days: the stretch of days that tell one consistent story, and the random streams.

The population is fixed by the seed, and so is everything that lasts (a
person's pension, assistance case, the hospitals of a county).  What happens
is planned per *story*, a stretch of consecutive days: who dies on which day
of it (deaths.py), which subsidies arrive when (finance.py).  Every day of a
story is generated on its own (no state is kept between calls), yet the days
agree: a person dies once, and is alive in no delivery after the death.

A story is as long as the population allows: with `people/200` deaths a day
a fixed population runs out after some months (see `capacity` in deaths.py).
It is the calendar quarter when the deaths fit into it (from about 10 000
people), else the calendar month, else runs of as many days as fit, counted
from EPOCH.  The next story starts again from the whole population: days from
two different stories are two separate worlds.
"""
from __future__ import annotations

import datetime as dt

import numpy as np

#: Day 0 of the sequence numbers in delivery names (writer.py) and of the day-run stories.
EPOCH = dt.date(2020, 1, 1)

#: Tags of the random streams, so no two uses of one seed ever share a stream:
#: `np.random.default_rng(seed)` makes the population (and the pensions, after it);
#: `(seed, feed number, day)` is a feed's delivery of one day;
#: `(seed, LASTING + feed number)` holds what lasts (hospitals, assistance cases);
#: `(seed, STORY + feed number, first day of the story)` plans a story (0 = the deaths);
#: `(seed, STORY + CASES, first day)` plans the story's register cases (register_cases.py);
#: `(seed, STORY + AUDIT, first day)` its audit cases (audit_cases.py).
LASTING, STORY, CASES, AUDIT = 100, 200, 50, 60


def day_number(on: dt.date) -> int:
    return (on - EPOCH).days


def _quarter(on: dt.date) -> tuple[dt.date, dt.date]:
    first = dt.date(on.year, 3 * ((on.month - 1) // 3) + 1, 1)
    nxt = dt.date(first.year + 1, 1, 1) if first.month == 10 else dt.date(first.year, first.month + 3, 1)
    return first, nxt - dt.timedelta(days=1)


def _month(on: dt.date) -> tuple[dt.date, dt.date]:
    first = on.replace(day=1)
    nxt = dt.date(first.year + 1, 1, 1) if first.month == 12 else dt.date(first.year, first.month + 1, 1)
    return first, nxt - dt.timedelta(days=1)


def stretch(on: dt.date, capacity: int) -> tuple[dt.date, dt.date]:
    """First and last day of the story `on` belongs to, when at most `capacity` days fit in one.

    Quarter (92 days at most) or month (31) when they fit whatever the date,
    so every day of a quarter picks the same stretch; else `capacity`-day runs
    from EPOCH.  The stretches partition the calendar.
    """
    if capacity >= 92:
        return _quarter(on)
    if capacity >= 31:
        return _month(on)
    size = max(1, capacity)
    first = EPOCH + dt.timedelta(days=(day_number(on) // size) * size)
    return first, first + dt.timedelta(days=size - 1)


def schedule(rng: np.random.Generator, pool: np.ndarray, per_day: int, days: int) -> tuple[np.ndarray, np.ndarray]:
    """Spread `pool` over the days of a story, `per_day` a day: (members, day offset), oldest day first.

    Nobody is scheduled twice unless the pool is smaller than `per_day * days`
    (then it is gone through again from the start).
    """
    need = per_day * days
    if len(pool) == 0 or need == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    perm = rng.permutation(pool)
    members = perm[np.arange(need) % len(perm)]
    return members, np.arange(need) // per_day
