"""health.death_certificate: medical death certificates as hospitals issue them.

Health codes gender M/F/U and identifies the issuing hospital by its USCC, so
this feed also carries USCC defects.  UTF-8, dates YYYY-MM-DD.
"""
from __future__ import annotations

import numpy as np

from jinbao.generator import credit_codes as uscc
from jinbao.generator.delivery import Delivery, Kind
from jinbao.generator.formats import ISO, dates, take
from jinbao.generator.world import World

FEED, PARTNER, ENCODING = "health.death_certificate", "health", "UTF-8"
COLUMNS = ["ID_NO", "NAME", "SEX", "BIRTH_DATE", "DEATH_DATE", "DEATH_PLACE", "ORG_USCC"]
KINDS = [Kind("ID_NO", "ID_CHECKSUM"), Kind("SEX", "UNMAPPED_CODE", "3"), Kind("DEATH_DATE", "DATE_INVALID", ISO),
         Kind("SEX", "ID_GENDER_MISMATCH", ("M", "F")), Kind("NAME", "BAD_ENCODING"), Kind("NAME", "REQUIRED"),
         Kind("DEATH_DATE", "DEATH_BEFORE_BIRTH", ISO), Kind("DEATH_DATE", "DATE_IN_FUTURE", ISO),
         Kind("DEATH_PLACE", "DIVISION_UNKNOWN"), Kind("ORG_USCC", "USCC_CHECKSUM")]
HOSPITALS_PER_COUNTY = 3
NUMBER = 5          # the feed's number in FEEDS: its lasting random stream


def hospitals(w: World) -> np.ndarray:
    """A few public hospitals per county (USCC kind 12), the same ones on every day of this seed."""
    return uscc.make(w.lasting(NUMBER), uscc.PUBLIC_INSTITUTION, np.repeat(w.county_codes, HOSPITALS_PER_COUNTY))


def build(rng: np.random.Generator, w: World) -> Delivery:
    d = w.deaths
    sel = np.flatnonzero(d.in_health)
    p = d.person[sel]
    m = len(p)
    male = w.male[p]
    sex = np.where(male, "M", "F").astype(object)
    unknown = rng.random(m) < 0.005                      # certificates issued before identification
    sex[unknown] = "U"
    # Each death certified by a hospital of the county the person lived in.
    slot = np.searchsorted(w.county_codes, w.county[p].astype(str)) * HOSPITALS_PER_COUNTY \
        + rng.integers(0, HOSPITALS_PER_COUNTY, m)
    cols = {"ID_NO": take(w.ids, p), "NAME": take(w.names, p), "SEX": sex, "BIRTH_DATE": dates(w.birth[p], ISO),
            "DEATH_DATE": dates(d.date[sel], ISO), "DEATH_PLACE": take(w.county, p), "ORG_USCC": hospitals(w)[slot]}
    plain = np.char.find(cols["NAME"].astype(str), "·") < 0
    return Delivery(FEED, PARTNER, ENCODING, COLUMNS, cols, KINDS,
                    eligible=plain & ~unknown & ~d.planted[sel], male=male, birth=w.birth[p], person=p)
