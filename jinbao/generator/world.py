"""The population as plain numpy columns, plus today's deaths, shared by every feed builder.

Feed builders pick rows of the same people, so converting the Arrow columns
once (not once per feed) keeps a million-person day fast.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from jinbao.generator.deaths import Deaths


@dataclass
class World:
    on: dt.date
    ids: np.ndarray        # object, 18-char IDs
    names: np.ndarray      # object
    male: np.ndarray       # bool
    birth: np.ndarray      # datetime64[D]
    ethnic: np.ndarray     # object, '01'..'56'
    county: np.ndarray     # object, 6-digit division
    deaths: Deaths
    county_codes: np.ndarray   # sorted codes of the counties in use
    county_names: np.ndarray   # names aligned with county_codes

    @classmethod
    def of(cls, pop: pa.Table, deaths: Deaths, on: dt.date, counties: list[tuple[str, str]]) -> "World":
        def col(name):
            return pop.column(name).to_numpy(zero_copy_only=False)
        codes = np.array([c for c, _ in counties])
        names = np.array([n for _, n in counties])
        order = np.argsort(codes, kind="stable")
        return cls(on=on, ids=col("aac002"), names=col("aac003"), male=col("aaa002") == "1",
                   birth=pop.column("aac006").to_numpy().astype("datetime64[D]"), ethnic=col("aac005"),
                   county=col("aab301"), deaths=deaths, county_codes=codes[order], county_names=names[order])

    @property
    def today(self) -> np.datetime64:
        return np.datetime64(self.on, "D")

    def county_name(self, codes: np.ndarray) -> np.ndarray:
        idx = np.searchsorted(self.county_codes, np.asarray(codes, dtype=str))
        return self.county_names[np.minimum(idx, len(self.county_names) - 1)]

    def alive(self) -> np.ndarray:
        mask = np.ones(len(self.ids), dtype=bool)
        mask[self.deaths.person] = False
        return np.flatnonzero(mask)
