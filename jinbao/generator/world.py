"""The population as plain numpy columns, plus the story's deaths, shared by every feed builder.

Feed builders pick rows of the same people, so converting the Arrow columns
once (not once per feed) keeps a million-person day fast.  `alive()` is who
is alive on the business date in this story: the dead (reported yet or not)
and the deregistered (emigrated, duplicate registrations) appear in no delivery
but the death feeds.  `drawable()` leaves out the people of the planted register
cases too (register_cases.py): they appear only where their case plans them.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from jinbao.generator import story, timetable
from jinbao.generator.deaths import Calendar, Deaths
from jinbao.generator.register_cases import Cases


@dataclass
class World:
    on: dt.date
    ids: np.ndarray        # object, 18-char IDs
    names: np.ndarray      # object
    male: np.ndarray       # bool
    birth: np.ndarray      # datetime64[D]
    ethnic: np.ndarray     # object, '01'..'56'
    county: np.ndarray     # object, 6-digit division
    deaths: Deaths             # reported today
    calendar: Calendar         # every death of the story
    dead: np.ndarray           # bool per person: died (or was deregistered) on or before today
    county_codes: np.ndarray   # sorted codes of the counties in use
    county_names: np.ndarray   # names aligned with county_codes
    seed: int = 0
    reserved: np.ndarray | None = None   # bool per person: in a planted register or audit case
    #: What lasts and is costly to make (a county's hospitals), shared by the world on every day.
    memo: dict = dataclasses.field(default_factory=dict)
    #: feed -> cadence of the deliveries written (timetable.py); None: every feed every day.
    timetable: dict | None = None

    @property
    def cases(self) -> Cases:
        return self.calendar.cases

    @classmethod
    def of(cls, pop: pa.Table, calendar: Calendar, on: dt.date, counties: list[tuple[str, str]],
           seed: int = 0, timetable: dict | None = None) -> "World":
        def col(name):
            return pop.column(name).to_numpy(zero_copy_only=False)
        codes = np.array([c for c, _ in counties])
        names = np.array([n for _, n in counties])
        order = np.argsort(codes, kind="stable")
        return cls(on=on, ids=col("aac002"), names=col("aac003"), male=col("aaa002") == "1",
                   birth=pop.column("aac006").to_numpy().astype("datetime64[D]"), ethnic=col("aac005"),
                   county=col("aab301"), deaths=calendar.reported_on(on), calendar=calendar,
                   dead=cls._dead(calendar, pop.num_rows, on), county_codes=codes[order],
                   county_names=names[order], seed=seed, reserved=calendar.reserved(pop.num_rows),
                   timetable=timetable)

    @staticmethod
    def _dead(calendar: Calendar, n: int, on: dt.date) -> np.ndarray:
        return calendar.dead_on(n, on) | calendar.cases.gone_on(n, on)

    def on_day(self, on: dt.date) -> "World":
        """The same world on another day of its story (the columns are shared, not copied)."""
        return dataclasses.replace(self, on=on, deaths=self.calendar.reported_on(on),
                                   dead=self._dead(self.calendar, len(self.ids), on))

    def delivers(self, feed: str) -> bool:
        """Whether `feed` has a delivery for this world's day (its business date, timetable.py)."""
        return timetable.owed(self.timetable, feed, self.on)

    def period(self, feed: str) -> list[dt.date]:
        """The days the day's delivery of `feed` covers (just the day, for a daily feed)."""
        return timetable.period(self.timetable, feed, self.on, self.calendar.first)

    @property
    def today(self) -> np.datetime64:
        return np.datetime64(self.on, "D")

    def county_name(self, codes: np.ndarray) -> np.ndarray:
        idx = np.searchsorted(self.county_codes, np.asarray(codes, dtype=str))
        return self.county_names[np.minimum(idx, len(self.county_names) - 1)]

    @property
    def story_first(self) -> np.datetime64:
        return np.datetime64(self.calendar.first, "D")

    @property
    def story_days(self) -> int:
        return (self.calendar.last - self.calendar.first).days + 1

    def alive(self) -> np.ndarray:
        return np.flatnonzero(~self.dead)

    def drawable(self) -> np.ndarray:
        """The living a feed may draw at random: alive and in no planted register case."""
        return np.flatnonzero(~self.dead & ~self.reserved)

    def neighbour(self, codes: np.ndarray) -> np.ndarray:
        """Another county of the same city (else of the same province, else the next code): where
        another office may file a person who lives away from their household registration (the
        county codes sorted, so the neighbours in the list share the city or province if any does)."""
        codes = np.asarray(codes, dtype=str)
        cc = self.county_codes.astype(str)
        idx = np.minimum(np.searchsorted(cc, codes), len(cc) - 1)
        up, down = cc[(idx + 1) % len(cc)], cc[idx - 1]
        city = np.strings.slice(codes, 0, 4)
        province = np.strings.slice(codes, 0, 2)
        out = np.select([np.strings.slice(up, 0, 4) == city, np.strings.slice(down, 0, 4) == city,
                         np.strings.slice(down, 0, 2) == province], [up, down, down], up)
        return np.where(out == codes, down, out).astype(object)

    def lasting(self, number: int) -> np.random.Generator:
        """A stream for what lasts beyond one day (same for every date of this seed)."""
        return np.random.default_rng([self.seed, story.LASTING + number])

    def planning(self, number: int) -> np.random.Generator:
        """A stream for planning this story (same for every day of it)."""
        return np.random.default_rng([self.seed, story.STORY + number, story.day_number(self.calendar.first)])
