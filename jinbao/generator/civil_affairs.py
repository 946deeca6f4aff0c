"""civil_affairs.assistance and civil_affairs.cremation, as civil affairs send them.

Their SEX code is REVERSED relative to the hub and GB/T 2261.1 (1 female,
2 male): a hub that copies it straight swaps every gender, which is exactly
what the generated files make visible.  UTF-8, dates YYYY-MM-DD.

The planted register cases (register_cases.py) appear here as planned:
assistance sends some people with a homophone spelling of their name or the
county they live in rather than their household-registration county (the police
send the same people the same day), and crematoria send the cases' cremations,
corrections and, from 2026-12-01, withdrawals; from that day the cremation file
carries the last column CZBZ (empty on ordinary rows: a registration).
"""
from __future__ import annotations

import numpy as np

from jinbao.generator import audit_cases
from jinbao.generator import register_cases as rc
from jinbao.generator import story
from jinbao.generator.delivery import Delivery, Kind
from jinbao.generator.formats import ISO, dates, take
from jinbao.generator.names import variant
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
    if "assistance_cases" not in w.memo:
        w.memo["assistance_cases"] = case_table(w.seed, w.birth)
    return w.memo["assistance_cases"]


def case_table(seed: int, birth: np.ndarray) -> dict[str, np.ndarray]:
    """`cases` from the seed and the birth dates alone (the death calendar needs the starts too)."""
    rng = np.random.default_rng([seed, story.LASTING + NUMBER])
    n = len(birth)
    earliest = np.maximum(CASES_FROM, birth + 1)
    start = earliest + (rng.random(n) * (CASES_TO - earliest).astype(int)).astype(int)
    end = np.where(rng.random(n) < 0.2, start + rng.integers(30, 1500, n), np.datetime64("NaT"))
    return {"category": CATEGORIES[rng.choice(4, n, p=CATEGORY_P)], "start": start.astype("datetime64[D]"),
            "end": end.astype("datetime64[D]")}


def draw(rng: np.random.Generator, w: World, n: int) -> np.ndarray:
    """The day's people drawn at random (the first use of the day's stream): alive, in no planted
    case, their assistance case started."""
    known = w.drawable()
    known = known[cases(w)["start"][known] <= w.today]
    return rng.choice(known, min(n, len(known)), replace=False)


def in_force_on_jan1(w: World, people: np.ndarray) -> np.ndarray:
    """Whether each person's case is in force on 1 January of w's year: what the hub's subsidy
    lines take as the person's category for the year (jinbao.subsidies.lines)."""
    case = cases(w)
    jan1 = np.datetime64(f"{w.on.year}-01-01")
    start, end = case["start"][people], case["end"][people]
    return (start <= jan1) & (np.isnat(end) | (end >= jan1))


def late_cases(rng: np.random.Generator, w: World, enrolled: np.ndarray) -> np.ndarray:
    """Of yesterday's enrollees, some whose case was in force on 1 January (one in ten, at least
    one): civil affairs send them only now, so the hub computed their lines as ordinary residents
    yesterday and must recompute them today (a category change before the claim)."""
    enrolled = np.asarray(enrolled, dtype=np.int64)
    pool = enrolled[in_force_on_jan1(w, enrolled) & ~w.reserved[enrolled] & ~w.dead[enrolled]]
    k = min(len(pool), max(1, len(pool) // 10)) if len(pool) else 0
    return np.sort(rng.choice(pool, k, replace=False)) if k else pool[:0]


def assistance(rng: np.random.Generator, w: World, n: int, late: np.ndarray | None = None) -> Delivery:
    """Assistance cases as civil affairs hold them today: who receives what since when (some ended).

    Each person has one case for good (`cases`), so a person sent on two days is
    sent with the same case; the end date shows once it has passed.  The planted
    register cases of the day come on top, with the name or county civil affairs hold.  No
    defect goes into the record of someone whose death the story plans (audit_truth.py).
    """
    case = cases(w)
    drawn = draw(rng, w, n)
    planned = w.cases.appearing(rc.ASSISTANCE, w.on)
    late = np.empty(0, dtype=np.int64) if late is None else np.setdiff1d(late_cases(rng, w, late), drawn)
    p = np.concatenate([drawn, planned.person, late])
    order = np.argsort(p, kind="stable")
    p = p[order]
    m = len(p)
    position = np.arange(m)
    mine = ((position >= len(drawn)) & (position < len(drawn) + len(planned.person)))[order]
    sent_late = (position >= len(drawn) + len(planned.person))[order]
    end = case["end"][p]
    ended = ~np.isnat(end) & (end <= w.today)
    zzrq = np.where(ended, dates(np.where(ended, end, w.today), ISO), "").astype(object)
    names, county = take(w.names, p), take(w.county, p)
    spelt = np.flatnonzero(mine)[planned.name_variant[order[mine] - len(drawn)]]
    names[spelt] = variant(names[spelt])
    moved = np.flatnonzero(mine)[planned.county_variant[order[mine] - len(drawn)]]
    county[moved] = w.neighbour(county[moved])
    cols = {"SFZH": take(w.ids, p), "XM": names, "SEX": sex(w.male[p]),
            "JZLB": case["category"][p].astype(object), "XZQH": county,
            "KSRQ": dates(case["start"][p], ISO), "ZZRQ": zzrq}
    return Delivery(ASSISTANCE, PARTNER, ENCODING, ASSISTANCE_COLUMNS, cols, ASSISTANCE_KINDS,
                    eligible=plain(cols["XM"]) & ~mine & ~sent_late & ~w.calendar.dies(len(w.ids))[p], male=w.male[p],
                    birth=w.birth[p], person=p)


def cremation_columns(on) -> list[str]:
    return CREMATION_COLUMNS + ["CZBZ"] if rc.czbz(on) else list(CREMATION_COLUMNS)


def cremation(rng: np.random.Generator, w: World) -> Delivery:
    """Cremations reported today: the deaths civil affairs know of, cremated days after death."""
    d, case = w.deaths, audit_cases.records_on(w, rc.CREMATION)
    sel = np.flatnonzero(d.in_cremation)
    m0 = len(sel)
    p = np.concatenate([d.person[sel], case.person])
    m = len(p)
    mine = np.arange(m) >= m0
    death = np.concatenate([d.date[sel], case.date])
    burnt = np.concatenate([np.minimum(d.date[sel] + rng.integers(1, 6, m0), w.today), case.second])
    home = np.char.add(w.county_name(w.county[p]).astype(str), "殡仪馆").astype(object)
    names = take(w.names, p)
    spelt = m0 + np.flatnonzero(case.variant)
    names[spelt] = variant(names[spelt])
    sent, key = audit_cases.identities(w, case)          # a typo'd ID for some audit cases
    cols = {"SFZH": np.concatenate([take(w.ids, p[:m0]), sent]), "XM": names, "SEX": sex(w.male[p]),
            "SWRQ": dates(death, ISO), "HHRQ": dates(burnt, ISO), "BYGMC": home}
    if rc.czbz(w.on):      # empty: a registration, as the agreement allows; the cases say 1 or 2
        cols["CZBZ"] = np.concatenate([np.full(m0, "", dtype=object), case.action])
    planted = np.concatenate([d.planted[sel], np.zeros(len(case.person), dtype=bool)])
    out = Delivery(CREMATION, PARTNER, ENCODING, cremation_columns(w.on), cols, CREMATION_KINDS,
                   eligible=plain(cols["XM"]) & ~planted & ~mine, male=w.male[p], birth=w.birth[p],
                   person=np.concatenate([p[:m0], key]))
    return audit_cases.builder_defects(rc.shuffle(out, np.concatenate([d.order[sel], case.order])), w,
                                       rc.CREMATION)
