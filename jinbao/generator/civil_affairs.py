"""civil_affairs.assistance and civil_affairs.cremation, as civil affairs send them.

Their SEX code is REVERSED relative to the hub and GB/T 2261.1 (1 female,
2 male): a hub that copies it straight swaps every gender, which is exactly
what the generated files make visible.  UTF-8, dates YYYY-MM-DD.
"""
from __future__ import annotations

import numpy as np

from jinbao.generator.delivery import Delivery, Kind
from jinbao.generator.formats import ISO, dates, take
from jinbao.generator.world import World

PARTNER, ENCODING = "civil_affairs", "UTF-8"
MALE, FEMALE = "2", "1"

ASSISTANCE = "civil_affairs.assistance"
ASSISTANCE_COLUMNS = ["SFZH", "XM", "SEX", "JZLB", "XZQH", "KSRQ", "ZZRQ"]
ASSISTANCE_KINDS = [Kind("SFZH", "ID_CHECKSUM"), Kind("SEX", "UNMAPPED_CODE", "3"),
                    Kind("JZLB", "UNMAPPED_CODE", "09"), Kind("KSRQ", "DATE_INVALID", ISO),
                    Kind("SEX", "ID_GENDER_MISMATCH", (MALE, FEMALE)), Kind("XM", "BAD_ENCODING"),
                    Kind("XM", "REQUIRED"), Kind("JZLB", "REQUIRED"), Kind("XZQH", "DIVISION_UNKNOWN")]
#: 低保 most common, then edge, destitute, severe disability.
CATEGORIES, CATEGORY_P = np.array(["01", "02", "03", "04"]), [0.55, 0.15, 0.2, 0.1]

CREMATION = "civil_affairs.cremation"
CREMATION_COLUMNS = ["SFZH", "XM", "SEX", "SWRQ", "HHRQ", "BYGMC"]
# DATE_IN_FUTURE goes on HHRQ: a future SWRQ would also put the cremation before the death.
CREMATION_KINDS = [Kind("SFZH", "ID_CHECKSUM"), Kind("SEX", "UNMAPPED_CODE", "3"),
                   Kind("SWRQ", "DATE_INVALID", ISO), Kind("SEX", "ID_GENDER_MISMATCH", (MALE, FEMALE)),
                   Kind("XM", "BAD_ENCODING"), Kind("XM", "REQUIRED"), Kind("SWRQ", "DEATH_BEFORE_BIRTH", ISO),
                   Kind("HHRQ", "DATE_IN_FUTURE", ISO)]


def sex(male: np.ndarray) -> np.ndarray:
    return np.where(male, MALE, FEMALE).astype(object)


def plain(names: np.ndarray) -> np.ndarray:
    return np.char.find(names.astype(str), "·") < 0


def assistance_size(people: int) -> int:
    return max(50, people // 50)


def assistance(rng: np.random.Generator, w: World, n: int) -> Delivery:
    """This week's assistance cases: who receives what since when (some already ended)."""
    alive = w.alive()
    p = np.sort(rng.choice(alive, min(n, len(alive)), replace=False))
    m = len(p)
    earliest = np.maximum(np.datetime64("2015-01-01"), w.birth[p] + 1)
    start = earliest + (rng.random(m) * (w.today - earliest).astype(int)).astype(int)
    ended = rng.random(m) < 0.2
    end = np.minimum(start + rng.integers(30, 1500, m), w.today)
    zzrq = np.where(ended, dates(end, ISO), "").astype(object)
    cols = {"SFZH": take(w.ids, p), "XM": take(w.names, p), "SEX": sex(w.male[p]),
            "JZLB": CATEGORIES[rng.choice(4, m, p=CATEGORY_P)].astype(object), "XZQH": take(w.county, p),
            "KSRQ": dates(start, ISO), "ZZRQ": zzrq}
    return Delivery(ASSISTANCE, PARTNER, ENCODING, ASSISTANCE_COLUMNS, cols, ASSISTANCE_KINDS,
                    eligible=plain(cols["XM"]), male=w.male[p], birth=w.birth[p], person=p)


def cremation(rng: np.random.Generator, w: World) -> Delivery:
    """Cremations reported today: the deaths civil affairs know of, cremated days after death."""
    d = w.deaths
    sel = np.flatnonzero(d.in_cremation)
    p = d.person[sel]
    m = len(p)
    death = d.date[sel]
    burnt = np.minimum(death + rng.integers(1, 6, m), w.today)
    home = np.char.add(w.county_name(w.county[p]).astype(str), "殡仪馆").astype(object)
    cols = {"SFZH": take(w.ids, p), "XM": take(w.names, p), "SEX": sex(w.male[p]),
            "SWRQ": dates(death, ISO), "HHRQ": dates(burnt, ISO), "BYGMC": home}
    return Delivery(CREMATION, PARTNER, ENCODING, CREMATION_COLUMNS, cols, CREMATION_KINDS,
                    eligible=plain(cols["XM"]) & ~d.planted[sel], male=w.male[p], birth=w.birth[p], person=p)
