"""Who dies, when, which partners report it, and the planted cases auditors must find.

Deaths are planned for a whole story (story.py) at once, so every day of it
agrees with the others: each person in the plan has one police report day,
one death date a little before it, and is dead in every delivery from that
date on.  The day's feeds then take the deaths reported that day.

Most deaths are reported within days and the roll stops in the death month.
The planted cases are the ones the national audit found: a death registered
late (months after it happened) while the pension kept being paid.  A death
is not reported by every partner: police always (police.death is the feed the
bureau relies on), hospitals and crematoria for most, on the same day as the
police; planted cases are spread over "police only", "police + health" and
"all three" so a cross-check that needs two sources is shown to miss some.

Some of each day's deaths are register cases instead (register_cases.py):
reported by one, two or three sources on different days with dates a day or
two apart, corrected or withdrawn; those leave the ordinary reporting
(`Calendar.ordinary`) and the death feeds send them as the case plans.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from jinbao.generator import audit_cases, register_cases, story

#: Who may die in a story: people born before 1980 (deaths are mostly of the old); planted
#: (late-reported, still paid) cases only among those born before 1955, pensioners on any date.
MAY_DIE_BORN_BEFORE = np.datetime64("1980-01-01")
PLANTED_BORN_BEFORE = np.datetime64("1955-01-01")
#: Days from death to the police report: ordinary deaths, planted cases.
DELAY, PLANTED_DELAY = (1, 31), (70, 330)


def per_day(people: int) -> int:
    return max(50, people // 200)


def planted_per_day(deaths: int) -> int:
    return max(3, deaths // 20)


@dataclass
class Deaths:
    """The deaths reported on one day, in the order the day's files list them."""
    person: np.ndarray        # indices into the population
    date: np.ndarray          # datetime64[D]
    planted: np.ndarray       # bool: pension still paid after death
    in_health: np.ndarray     # bool: a death certificate is delivered today
    in_cremation: np.ndarray  # bool: a cremation record is delivered today
    order: np.ndarray         # float: place in the day's files (the planted register cases go between)


@dataclass
class Calendar:
    """Every death of one story: who, reported by the police on which day, died when."""
    first: dt.date
    last: dt.date
    person: np.ndarray        # population rows, each at most once
    report: np.ndarray        # datetime64[D], the police report day (a day of the story)
    date: np.ndarray          # datetime64[D], the death date (before the report day)
    planted: np.ndarray
    in_health: np.ndarray
    in_cremation: np.ndarray
    order: np.ndarray         # float: place in the day's files
    ordinary: np.ndarray      # bool: reported as above (False: a register case, reported as it plans)
    cases: "register_cases.Cases"
    audit: "audit_cases.AuditCases"

    @classmethod
    def plan(cls, seed: int, birth: np.ndarray, on: dt.date, deaths_per_day: int) -> "Calendar":
        """The story `on` belongs to; the same plan for every day of it (seeded by its first day)."""
        pool = np.flatnonzero(birth < MAY_DIE_BORN_BEFORE)
        old = np.flatnonzero(birth < PLANTED_BORN_BEFORE)
        n = min(deaths_per_day, len(pool))
        k = min(planted_per_day(deaths_per_day), len(old), n)
        first, last = story.stretch(on, capacity(len(pool), len(old), n, k))
        days = (last - first).days + 1
        rng = np.random.default_rng([seed, story.STORY, story.day_number(first)])
        planted_people = rng.choice(old, k * days, replace=False)
        rest = np.setdiff1d(pool, planted_people, assume_unique=True)
        ordinary = rng.choice(rest, (n - k) * days, replace=False)
        person = np.concatenate([planted_people, ordinary])
        offset = np.concatenate([np.repeat(np.arange(days), k), np.repeat(np.arange(days), n - k)])
        planted = np.arange(len(person)) < len(planted_people)
        delay = np.where(planted, rng.integers(*PLANTED_DELAY, len(person)), rng.integers(*DELAY, len(person)))
        report = np.datetime64(first, "D") + offset
        date = np.maximum(report - delay, birth[person] + 1).astype("datetime64[D]")
        in_health = rng.random(len(person)) < 0.75
        in_cremation = rng.random(len(person)) < 0.6
        pattern = np.arange(len(planted_people)) % k % 3 if k else np.empty(0, dtype=int)
        in_health[:len(pattern)] = pattern >= 1                # 0 police only, 1 + health, 2 all three
        in_cremation[:len(pattern)] = pattern == 2
        order = rng.random(len(person))
        from jinbao.generator.civil_affairs import case_table    # cycle: civil_affairs imports world, world this
        cases, ordinary, date, report = register_cases.plan(
            seed, first, last, birth, case_table(seed, birth)["start"], person, report, date, planted)
        audit, ordinary, date, report = audit_cases.plan(seed, first, last, birth, person, report, date, planted,
                                                         ordinary, cases.person)
        return cls(first=first, last=last, person=person, report=report, date=date, planted=planted,
                   in_health=in_health, in_cremation=in_cremation, order=order, ordinary=ordinary, cases=cases,
                   audit=audit)

    def reported_on(self, on: dt.date) -> Deaths:
        """The ordinary and planted (paid after death) deaths the police report on `on`."""
        sel = np.flatnonzero((self.report == np.datetime64(on, "D")) & self.ordinary)
        sel = sel[np.argsort(self.order[sel], kind="stable")]   # planted cases anywhere in the files
        return Deaths(person=self.person[sel], date=self.date[sel], planted=self.planted[sel],
                      in_health=self.in_health[sel], in_cremation=self.in_cremation[sel], order=self.order[sel])

    def dead_on(self, n_people: int, on: dt.date) -> np.ndarray:
        """Per person: died on or before `on` (reported yet or not; register cases by their true date)."""
        mask = np.zeros(n_people, dtype=bool)
        mask[self.person[self.date <= np.datetime64(on, "D")]] = True
        return mask

    def dies(self, n_people: int) -> np.ndarray:
        """Per person: dies at some point of the story, or is a planted register or audit case (so
        feeds that plan ahead for the living, such as finance, leave them alone)."""
        mask = self.cases.reserved(n_people) | self.audit.reserved(n_people)
        mask[self.person] = True
        return mask

    def reserved(self, n_people: int) -> np.ndarray:
        """Per person: in a planted register or audit case (no feed draws them at random)."""
        return self.cases.reserved(n_people) | self.audit.reserved(n_people)

    def stop_after(self, n_people: int, on: dt.date) -> np.ndarray:
        """Last month paid per person: NaT while no death is reported; the death month once the
        police reported it; for planted cases the report month (paid on until the bureau learnt it).
        Audit cases the police never report under the person's ID have no report day: paid on."""
        out = np.full(n_people, np.datetime64("NaT"), dtype="datetime64[D]")
        known = self.report <= np.datetime64(on, "D")
        last = np.where(self.planted, self.report, self.date).astype("datetime64[M]").astype("datetime64[D]")
        out[self.person[known]] = last[known]
        return out


def capacity(may_die: int, old: int, per_day: int, planted: int) -> int:
    """How many days of deaths a population holds before everyone who may die has died."""
    days = [may_die // per_day if per_day else 10_000, old // planted if planted else 10_000]
    return min(days)
