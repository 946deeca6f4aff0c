"""health.death_certificate: medical death certificates as hospitals issue them.

Health codes gender M/F/U and identifies the issuing hospital by its USCC, so
this feed also carries USCC defects.  UTF-8, dates YYYY-MM-DD.  The planted register
cases' certificates (register_cases.py) go between the day's others: deaths a day
or two off the police's date, corrections, names spelt differently, withdrawals;
so do the audit cases' (audit_cases.py), some under a typo'd ID or rejected on purpose;
from 2026-12-01 the file carries the last column CZBZ (`1`, `2` for a withdrawal).
"""
from __future__ import annotations

import numpy as np

from jinbao.generator import audit_cases
from jinbao.generator import credit_codes as uscc
from jinbao.generator import register_cases as rc
from jinbao.generator.names import variant
from jinbao.generator.delivery import Delivery, Kind
from jinbao.generator.formats import ISO, dates, take
from jinbao.generator.world import World

FEED, PARTNER, ENCODING = "health.death_certificate", "health", "UTF-8"
COLUMNS = ["ID_NO", "NAME", "SEX", "BIRTH_DATE", "DEATH_DATE", "DEATH_PLACE", "ORG_USCC"]
KINDS = [Kind("ID_NO", "ID_CHECKSUM"), Kind("SEX", "UNMAPPED_CODE", "3"), Kind("DEATH_DATE", "DATE_INVALID", ISO),
         Kind("SEX", "ID_GENDER_MISMATCH", ("M", "F")), Kind("NAME", "BAD_ENCODING"), Kind("NAME", "REQUIRED"),
         Kind("DEATH_DATE", "DEATH_BEFORE_BIRTH", ISO), Kind("DEATH_DATE", "DATE_IN_FUTURE", ISO),
         Kind("DEATH_PLACE", "DIVISION_UNKNOWN"), Kind("ORG_USCC", "USCC_CHECKSUM"),
         Kind("BIRTH_DATE", "ID_BIRTHDATE_MISMATCH", ISO)]
HOSPITALS_PER_COUNTY = 3
NUMBER = 5          # the feed's number in FEEDS: its lasting random stream


def hospitals(w: World) -> np.ndarray:
    """A few public hospitals per county (USCC kind 12), the same ones on every day of this seed."""
    if "hospitals" not in w.memo:
        w.memo["hospitals"] = uscc.make(w.lasting(NUMBER), uscc.PUBLIC_INSTITUTION,
                                        np.repeat(w.county_codes, HOSPITALS_PER_COUNTY))
    return w.memo["hospitals"]


def columns(on) -> list[str]:
    return COLUMNS + ["CZBZ"] if rc.czbz(on) else list(COLUMNS)


def build(rng: np.random.Generator, w: World) -> Delivery:
    d, case = w.deaths, audit_cases.records_on(w, rc.HEALTH)
    sel = np.flatnonzero(d.in_health)
    m0 = len(sel)
    p = np.concatenate([d.person[sel], case.person])
    m = len(p)
    mine = np.arange(m) >= m0
    male = w.male[p]
    sex = np.where(male, "M", "F").astype(object)
    unknown = (rng.random(m) < 0.005) & ~mine            # certificates issued before identification
    sex[unknown] = "U"
    # Each death certified by a hospital of the county the person lived in (a case: the same one each time).
    slot = np.searchsorted(w.county_codes, w.county[p].astype(str)) * HOSPITALS_PER_COUNTY \
        + np.concatenate([rng.integers(0, HOSPITALS_PER_COUNTY, m0), (case.aux * HOSPITALS_PER_COUNTY).astype(int)])
    names = take(w.names, p)
    spelt = m0 + np.flatnonzero(case.variant)             # the hospital wrote the name differently
    names[spelt] = variant(names[spelt])
    sent, key = audit_cases.identities(w, case)          # a typo'd ID for some audit cases
    cols = {"ID_NO": np.concatenate([take(w.ids, p[:m0]), sent]), "NAME": names, "SEX": sex, "BIRTH_DATE": dates(w.birth[p], ISO),
            "DEATH_DATE": dates(np.concatenate([d.date[sel], case.date]), ISO), "DEATH_PLACE": take(w.county, p),
            "ORG_USCC": hospitals(w)[slot]}
    if rc.czbz(w.on):
        cols["CZBZ"] = np.concatenate([np.full(m0, rc.REGISTERS, dtype=object), case.action])
    plain = np.char.find(cols["NAME"].astype(str), "·") < 0
    planted = np.concatenate([d.planted[sel], np.zeros(len(case.person), dtype=bool)])
    out = Delivery(FEED, PARTNER, ENCODING, columns(w.on), cols, KINDS,
                   eligible=plain & ~unknown & ~planted & ~mine, male=male, birth=w.birth[p],
                   person=np.concatenate([p[:m0], key]))
    return audit_cases.builder_defects(rc.shuffle(out, np.concatenate([d.order[sel], case.order])), w, rc.HEALTH)
