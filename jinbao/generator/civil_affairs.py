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


#: Assistance cases start between 2015 and the end of 2028 (a case starting after the business
#: date is not known yet); one in five ends 30 days to four years after it started.
CASES_FROM, CASES_TO = np.datetime64("2015-01-01"), np.datetime64("2028-12-31")
NUMBER = 3          # the feed's number in FEEDS: its lasting random stream


def cases(w: World) -> dict[str, np.ndarray]:
    """One assistance case per person, the same on every day of this seed: category, start, end."""
    rng = w.lasting(NUMBER)
    n = len(w.ids)
    earliest = np.maximum(CASES_FROM, w.birth + 1)
    start = earliest + (rng.random(n) * (CASES_TO - earliest).astype(int)).astype(int)
    end = np.where(rng.random(n) < 0.2, start + rng.integers(30, 1500, n), np.datetime64("NaT"))
    return {"category": CATEGORIES[rng.choice(4, n, p=CATEGORY_P)], "start": start.astype("datetime64[D]"),
            "end": end.astype("datetime64[D]")}


def assistance(rng: np.random.Generator, w: World, n: int) -> Delivery:
    """Assistance cases as civil affairs hold them today: who receives what since when (some ended).

    Each person has one case for good (`cases`), so a person sent on two days is
    sent with the same case; the end date shows once it has passed.
    """
    case = cases(w)
    known = w.alive()
    known = known[case["start"][known] <= w.today]
    p = np.sort(rng.choice(known, min(n, len(known)), replace=False))
    m = len(p)
    end = case["end"][p]
    ended = ~np.isnat(end) & (end <= w.today)
    zzrq = np.where(ended, dates(np.where(ended, end, w.today), ISO), "").astype(object)
    cols = {"SFZH": take(w.ids, p), "XM": take(w.names, p), "SEX": sex(w.male[p]),
            "JZLB": case["category"][p].astype(object), "XZQH": take(w.county, p),
            "KSRQ": dates(case["start"][p], ISO), "ZZRQ": zzrq}
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
