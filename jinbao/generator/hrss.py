"""The bureau's own systems (人社核心业务系统, partner `hrss`): pension roll, resident enrolment,
employee contributions, exported to the hub like any partner's file (UTF-8, hub field names
and codes) so that they pass the same gate.

* `hrss.pension_roll`: the generator's pension roll (population.pension_roll, stopped by
  deaths.Calendar.stop_after), the last 12 paid months up to the business month restated in
  every delivery, one row per person per month paid.  Name, gender, birth date and division
  are the population's; the rows of everyone whose death the story plans (the planted
  paid-after-death people among them) or whom a probable typo may mean are defect-free
  (audit_cases.spared), so
  the hub receives exactly what truth/paid_after_death.csv counts.
* `hrss.resident_enrollment`: 城乡居民医保 enrolments for the current year of working-age
  people who are neither pensioners nor employees, through a virtual unit (a school for the
  young, else a community), each person's unit lasting; spread over the story's days like the
  finance subsidies, so a person enrols once in a story.
* `hrss.contribution`: employees (half of the working-age people, each with one employer
  for good; employers are synthetic USCCs), the current month and the two before.  Employers
  pay on a day of the month of their own, so the current month turns from `0` (due) to `1`
  day by day; a few employers are one to three months in arrears.

Everything is whole-array numpy: per-person strings are made once per person and shared by
that person's rows (an object array of pointers), so a million people's roll is seconds.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from jinbao.generator import audit_cases
from jinbao.generator import credit_codes as uscc
from jinbao.generator import story
from jinbao.generator.defects import plant
from jinbao.generator.delivery import Delivery, Kind
from jinbao.generator.formats import ISO, MONTH_COMPACT, MONTH_ISO, dates, money, take
from jinbao.generator.population import months_back
from jinbao.generator.world import World

PARTNER, ENCODING = "hrss", "UTF-8"
ROLL, ENROLLMENT, CONTRIBUTION = "hrss.pension_roll", "hrss.resident_enrollment", "hrss.contribution"
#: The feeds' numbers in FEEDS: their lasting and story-planning streams.
ROLL_NUMBER, ENROLLMENT_NUMBER, CONTRIBUTION_NUMBER = 8, 9, 10

ROLL_COLUMNS = ["AAC002", "AAC003", "AAA002", "AAC006", "AAB301", "FFNY", "FFJE"]
ROLL_KINDS = [Kind("AAC002", "ID_CHECKSUM"), Kind("AAA002", "UNMAPPED_CODE", "5"),
              Kind("AAA002", "ID_GENDER_MISMATCH", ("1", "2")), Kind("AAC006", "ID_BIRTHDATE_MISMATCH", ISO),
              Kind("AAC006", "DATE_INVALID", ISO), Kind("AAC003", "BAD_ENCODING"), Kind("AAC003", "REQUIRED"),
              Kind("AAB301", "DIVISION_UNKNOWN"), Kind("FFNY", "DATE_INVALID", MONTH_ISO),
              Kind("FFNY", "MONTH_IN_FUTURE", MONTH_ISO), Kind("FFJE", "AMOUNT_INVALID")]
ENROLLMENT_COLUMNS = ["AAC002", "AAC003", "CBND", "DWBH", "DWMC", "DW_XZQH", "GRJFJE", "JFRQ"]
ENROLLMENT_KINDS = [Kind("AAC002", "ID_CHECKSUM"), Kind("AAC003", "BAD_ENCODING"), Kind("AAC003", "REQUIRED"),
                    Kind("CBND", "FORMAT_INVALID", "26"), Kind("DWMC", "REQUIRED"),
                    Kind("DW_XZQH", "DIVISION_UNKNOWN"), Kind("GRJFJE", "AMOUNT_INVALID"),
                    Kind("JFRQ", "DATE_INVALID", ISO), Kind("JFRQ", "DATE_IN_FUTURE", ISO)]
CONTRIBUTION_COLUMNS = ["AAC002", "AAB998", "JFNY", "JFBZ"]
CONTRIBUTION_KINDS = [Kind("AAC002", "ID_CHECKSUM"), Kind("AAB998", "USCC_CHECKSUM"),
                      Kind("JFNY", "DATE_INVALID", MONTH_COMPACT), Kind("JFNY", "MONTH_IN_FUTURE", MONTH_COMPACT),
                      Kind("JFBZ", "UNMAPPED_CODE", "2"), Kind("JFBZ", "REQUIRED")]

#: 城乡居民医保 personal contribution per person and year, yuan (the national minimum standard).
PERSONAL_CONTRIBUTION = {2023: 380.00, 2024: 400.00, 2025: 400.00, 2026: 400.00}
#: Share of working-age people employed (and so paying employee contributions, not resident ones).
EMPLOYED = 0.5
#: Virtual enrolling units: schools for the young (students), communities for the rest.
STUDENT_BEFORE_AGE = 23
SCHOOLS = np.array(["职业技术学院", "师范学院", "第一中学", "理工学院", "实验中学"])
STREETS = np.array(["城关", "新华", "人民路", "解放路", "建设路", "和平", "东风", "胜利", "向阳", "长安"])
UNITS_PER_COUNTY = 5
GENDER = np.array(["2", "1"], dtype=object)          # hub codes, indexed by male
YEAR = 365.25


def enrollment_size(people: int) -> int:
    return max(50, people // 100)


def _age_days(w: World, on: np.datetime64) -> np.ndarray:
    return (on - w.birth).astype(int)


def _pensioner(w: World) -> np.ndarray:
    """Aged 60+ on the business date: on the roll (population.pension_roll's rule)."""
    return _age_days(w, w.today) >= 60 * YEAR


def _people_of(person: np.ndarray, n_people: int) -> tuple[np.ndarray, np.ndarray]:
    """(the distinct people of the rows, ascending; each row's place among them): per-person
    strings are made once and spread over a person's rows as `strings[at]`."""
    seen = np.zeros(n_people, dtype=bool)
    seen[person] = True
    who = np.flatnonzero(seen)
    return who, (np.cumsum(seen) - 1)[person]


@dataclass(frozen=True)
class Employment:
    """Who works where, for good (drawn from the contribution feed's lasting stream)."""
    employed: np.ndarray      # bool per person: employed when of working age
    employer: np.ndarray      # employer index per person
    codes: np.ndarray         # object, the employers' USCCs
    behind: np.ndarray        # months in arrears per employer (0 for most)
    pay_day: np.ndarray       # day of the month each employer pays


def employment(w: World) -> Employment:
    """Who works where (the same on every day: kept in the world's memo, as three feeds ask)."""
    if "employment" not in w.memo:
        w.memo["employment"] = _employment(w)
    return w.memo["employment"]


def employed(seed: int, n: int) -> np.ndarray:
    """Per person: employed when of working age (the first draw of `_employment`'s lasting stream),
    from the seed alone: the story's planning needs it before there is a World (register_cases.py)."""
    return np.random.default_rng([seed, story.LASTING + CONTRIBUTION_NUMBER]).random(n) < EMPLOYED


def _employment(w: World) -> Employment:
    n = len(w.ids)
    rng = w.lasting(CONTRIBUTION_NUMBER)
    employed = rng.random(n) < EMPLOYED           # = employed(w.seed, n)
    count = max(5, n // 50)
    employer = rng.integers(0, count, n)
    county = w.county[rng.integers(0, n, count)].astype(str)          # employers where people live
    codes = uscc.make(rng, uscc.ENTERPRISE, county)
    behind = rng.choice(4, count, p=[0.92, 0.04, 0.02, 0.02])
    pay_day = rng.integers(5, 26, count)
    return Employment(employed, employer, codes, behind, pay_day)


def _plain(names: np.ndarray) -> np.ndarray:
    return np.char.find(names.astype(str), "·") < 0                    # minority names keep their ·


def pension_roll(rng: np.random.Generator, w: World, roll: pa.Table) -> Delivery:
    """The generator's roll as the bureau exports it: one row per person per month paid."""
    person = pc.index_in(roll.column("aac002"), value_set=pa.array(w.ids, pa.string())).to_numpy()
    who, at = _people_of(person, len(w.ids))
    amount = np.empty(len(who))
    amount[at] = roll.column("amount").to_numpy()                      # a person's pension, every month
    month = roll.column("month").to_numpy().astype("datetime64[M]")
    first = month.min() if len(month) else np.datetime64(w.on, "M")
    offset = (month - first).astype(int)
    labels = dates((first + np.arange(offset.max() + 1 if len(offset) else 0)).astype("datetime64[D]"), MONTH_ISO)
    # Whoever the story's deaths are about (the planted paid after death among them), and whoever a
    # probable typo may mean, is kept clean: the hub holds every payment the auditors' report counts.
    planted = audit_cases.spared(w)
    cols = {"AAC002": w.ids[person], "AAC003": w.names[person], "AAA002": GENDER[w.male[person].astype(int)],
            "AAC006": dates(w.birth[who], ISO)[at], "AAB301": w.county[person], "FFNY": labels[offset],
            "FFJE": money(amount)[at]}
    d = Delivery(ROLL, PARTNER, ENCODING, ROLL_COLUMNS, cols, ROLL_KINDS,
                 eligible=(~planted[person]) & _plain(w.names[who])[at],
                 male=w.male[person], birth=w.birth[person], person=person)
    return audit_cases.roll_defects(d, w)       # the planted roll_rejected rows (audit_cases.py)


def _unit_draws(w: World) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per person, for good: enrols away from home (one in ten), the county away, the unit's slot."""
    if "enrolling_units" not in w.memo:
        rng = w.lasting(ENROLLMENT_NUMBER)
        n = len(w.ids)
        away = rng.random(n) < 0.1
        elsewhere = w.county[rng.integers(0, n, n)]
        w.memo["enrolling_units"] = (away, elsewhere, rng.integers(0, UNITS_PER_COUNTY, n))
    return w.memo["enrolling_units"]


def unit_division(w: World, person: np.ndarray) -> np.ndarray:
    """The division of each person's enrolling unit (str): their household county, or for one in
    ten another county (studying or living away), never the owing division of their lines."""
    away, elsewhere, _ = _unit_draws(w)
    return np.where(away[person], elsewhere[person], w.county[person]).astype(str)


def _units(w: World, person: np.ndarray, on: np.datetime64) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(code, name, division) of each person's enrolling unit: mostly in the person's own county,
    one in ten elsewhere (studying or living away); the same unit for a person on every day."""
    division = unit_division(w, person)
    slot = _unit_draws(w)[2][person]
    school = _age_days(w, on)[person] < STUDENT_BEFORE_AGE * YEAR
    code = np.char.add(np.char.add(np.where(school, "51", "52"), division), np.char.zfill(slot.astype(str), 3))
    place = w.county_name(division).astype(str)
    street = STREETS[(slot + division.astype(np.int64)) % len(STREETS)]          # varies with the county too
    community = np.char.add(np.char.add(place, street), "社区居民委员会")
    name = np.where(school, np.char.add(place, SCHOOLS[slot % len(SCHOOLS)]), community)
    return code.astype(object), name.astype(object), division.astype(object)


def resident_enrollment(rng: np.random.Generator, w: World, n: int) -> Delivery:
    """The day's enrolments for the current year: residents who live through the story, each once."""
    work = employment(w)
    story_last = w.story_first + (w.story_days - 1)
    pool = np.flatnonzero(~work.employed & (_age_days(w, story_last) < 60 * YEAR)
                          & ~w.calendar.dies(len(w.ids)))
    planned, day = story.schedule(w.planning(ENROLLMENT_NUMBER), pool, min(n, len(pool)), w.story_days)
    p = np.sort(planned[day == (w.today - w.story_first).astype(int)])
    p = p[~w.dead[p]]                                 # whoever else is gone by today (never in this plan now)
    m = len(p)
    code, name, division = _units(w, p, w.today)
    year = w.on.year
    fee = PERSONAL_CONTRIBUTION.get(year, PERSONAL_CONTRIBUTION[max(PERSONAL_CONTRIBUTION)])
    cols = {"AAC002": take(w.ids, p), "AAC003": take(w.names, p), "CBND": np.full(m, str(year), dtype=object),
            "DWBH": code, "DWMC": name, "DW_XZQH": division, "GRJFJE": money(np.full(m, fee)),
            "JFRQ": dates(w.today - rng.integers(0, 3, m), ISO)}
    return Delivery(ENROLLMENT, PARTNER, ENCODING, ENROLLMENT_COLUMNS, cols, ENROLLMENT_KINDS,
                    eligible=_plain(cols["AAC003"]), male=w.male[p], birth=w.birth[p], person=p)


def contribution(rng: np.random.Generator, w: World) -> Delivery:
    """Every living employee's contribution records for the current month and the two before."""
    work = employment(w)
    age = _age_days(w, w.today)
    staff = np.flatnonzero(work.employed & (age >= 18 * YEAR) & ~_pensioner(w) & ~w.dead)
    months = months_back(w.on, 3)
    p = np.repeat(staff, len(months))
    k = np.tile(np.arange(len(months)), len(staff))                   # 0 oldest .. 2 the business month
    employer = work.employer[p]
    arrears = (len(months) - 1 - k) < work.behind[employer]           # the employer's last months unpaid
    not_yet = (k == len(months) - 1) & (work.pay_day[employer] > w.on.day)
    labels = dates(months, MONTH_COMPACT)
    cols = {"AAC002": w.ids[p], "AAB998": work.codes[employer], "JFNY": labels[k],
            "JFBZ": np.where(arrears | not_yet, "0", "1").astype(object)}
    return Delivery(CONTRIBUTION, PARTNER, ENCODING, CONTRIBUTION_COLUMNS, cols, CONTRIBUTION_KINDS,
                    eligible=~w.calendar.dies(len(w.ids))[p], male=w.male[p], birth=w.birth[p], person=p)


def accepted_enrollees(w: World, seed: int, people: int, defect_share: float) -> np.ndarray:
    """The people whose enrolment record of the day the hub accepts: the day's delivery built again
    from its own stream, with its planted defects (what finance.build pays); kept in the world's
    memo, as finance, assistance and the subsidy key ask for the same days."""
    if not w.delivers(ENROLLMENT):                   # no delivery that day: nobody enrols
        return np.empty(0, dtype=np.int64)
    key = ("accepted_enrollees", w.on, people, defect_share)
    if key not in w.memo:
        w.memo[key] = _accepted_enrollees(w, seed, people, defect_share)
    return w.memo[key]


def enrolled_yesterday(w: World, seed: int, people: int, defect_share: float) -> np.ndarray | None:
    """accepted_enrollees of the day before w's, None on the story's first day (another story's
    enrolments are planned apart)."""
    if w.today <= w.story_first:
        return None
    return accepted_enrollees(w.on_day(w.on - dt.timedelta(days=1)), seed, people, defect_share)


def fresh_enrollees(w: World, seed: int, people: int, defect_share: float,
                    since: dt.date | None = None) -> np.ndarray:
    """accepted_enrollees of w's day whose enrolment the hub accepted on no earlier day of the run
    (`since`, not before the story, up to yesterday): the people whose year's lines the day's
    enrolments create, and so the only ones finance may pay.  When a story holds more enrolments
    than residents (`story.schedule` goes through the pool again), the rest re-enrol a year the
    hub already holds lines for: paying them again would be SUBSIDY_ALREADY_PAID.  Without `since`
    the day stands alone (nothing was accepted before it), so a single generated day keeps its
    payments whatever day of the story it is."""
    today = accepted_enrollees(w, seed, people, defect_share)
    return today[~_enrolled_before(w, seed, people, defect_share, since)[today]]


def _enrolled_before(w: World, seed: int, people: int, defect_share: float, since: dt.date | None) -> np.ndarray:
    """Per person: an enrolment accepted on a day of the run before w's.  The last answer is kept in
    the world's memo and carried forward, as the subsidy key asks for the run's days in order."""
    start = max(since, w.calendar.first) if since else w.on
    key = ("enrolled_before", start, people, defect_share)
    day, seen = w.memo.get(key, (start, np.zeros(len(w.ids), dtype=bool)))
    if day > w.on:
        day, seen = start, np.zeros(len(w.ids), dtype=bool)
    seen = seen.copy()
    while day < w.on:
        seen[accepted_enrollees(w.on_day(day), seed, people, defect_share)] = True
        day += dt.timedelta(days=1)
    w.memo[key] = (day, seen)
    return seen


def _accepted_enrollees(w: World, seed: int, people: int, defect_share: float) -> np.ndarray:
    rng = np.random.default_rng([seed, ENROLLMENT_NUMBER, story.day_number(w.on)])
    d = resident_enrollment(rng, w, enrollment_size(people))
    bad = np.zeros(d.records, dtype=bool)
    bad[[row for row, _, _ in plant(rng, d, defect_share, w.on)]] = True
    return d.person[~bad]
