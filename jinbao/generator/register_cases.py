"""Register cases planted in a story: what the hub's reconciled register must get exactly right.

Issue 12 asks for planted truth.  Every day of a story carries one case of each
kind below that fits on that day (its events must all fall inside the story;
withdrawals only from CZBZ_FROM, the day the agreements give the death feeds
their `CZBZ` column).  A case is planned around its *anchor*, the day of its
last event; its earlier events come 1-3 days before.

Deaths (people taken from the story's ordinary deaths of the anchor day, so the
number of deaths a day, and hence the length of a story, is unchanged):

| kind | deliveries (day: source date) | register ends |
|---|---|---|
| `health_only` | a: health x | deceased, x, health |
| `cremation_only` | a: cremation x | deceased, x, cremation |
| `police_then_health` | a-1: police x; a: health x±1..2 | deceased, x, police |
| `health_then_police` | a-2: health x±1..2; a: police x | deceased, x, police (history: two rows) |
| `three_sources` | a-2: cremation x+d1; a-1: health x+d2; a: police x | deceased, x, police (three rows) |
| `corrected_police` | a-k: police x-e; a: police x (correction) | deceased, x, police |
| `corrected_health` | a-k: health x-e; a: health x (correction) | deceased, x, health |
| `name_health` | a: police x, health x with a homophone name | + conflict on aac003 from health |
| `name_cremation` | a: police x, cremation x with a homophone name | + conflict on aac003 from cremation |
| `withdrawn_police_health_remains` | a-2: police x; a-1: health x+d; a: police withdraws | deceased, x+d, health |
| `withdrawn_health_police_remains` | a-2: police x; a-1: health x+d; a: health withdraws | deceased, x, police |

People who do not die (taken from those with no death in the story):

| kind | deliveries | register ends |
|---|---|---|
| `emigrated` / `duplicate` / `deregistered` | a: police, ZXYY 2 / 3 / 9, SWRQ = ZXRQ = y | that status, y, police |

(`name_health` and `name_cremation` take, by turns, a pensioner's death and someone else's; `duplicate`
and `deregistered` take, by turns, a pensioner and someone under 60 all story long with no
job, whom no feed but the police's deaths tells the hub about; the other living kinds any adult.)
| `withdrawn_alone` | a-k: one source (police, health, cremation by turns) x; a: it withdraws | alive again |
| `name_assistance` | a: police.identity, and assistance with a homophone name | conflict on aac003 |
| `division_assistance` | a: police.identity, and assistance with another county of the city | conflict on aab301 |
| `name_resolved` | a: as name_assistance; a+2: assistance sends the police's spelling | conflict resolved |

Planted records are free of defects (never `eligible`), carry ordinary gender
codes and 18-digit IDs, and a withdrawal repeats the withdrawn record's fields.
The people of every case are *reserved*: no feed draws them at random, so they
appear in police.identity, assistance and the death feeds exactly as planned
(register_truth.py turns the plan into the answer key).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields

import numpy as np

from jinbao.generator import story

#: From this business date the three death feeds carry CZBZ (exchange agreements §2).
CZBZ_FROM = np.datetime64("2026-12-01", "D")
DEATH_FEEDS = ("police.death", "health.death_certificate", "civil_affairs.cremation")
POLICE, HEALTH, CREMATION = 0, 1, 2
LIVING_FEEDS = ("police.identity", "civil_affairs.assistance")
IDENTITY, ASSISTANCE = 0, 1
REGISTERS, WITHDRAWS = "1", "2"

DYING = ("health_only", "cremation_only", "police_then_health", "health_then_police", "three_sources",
         "corrected_police", "corrected_health", "name_health", "name_cremation",
         "withdrawn_police_health_remains", "withdrawn_health_police_remains")
LIVING = ("emigrated", "duplicate", "deregistered", "withdrawn_alone", "name_assistance", "division_assistance",
          "name_resolved")
KINDS = DYING + LIVING
#: Days a kind needs before its anchor (its first event is that many days earlier, at least).
SPAN = {"police_then_health": 1, "health_then_police": 2, "three_sources": 2, "corrected_police": 1,
        "corrected_health": 1, "withdrawn_police_health_remains": 2, "withdrawn_health_police_remains": 2,
        "withdrawn_alone": 1}
WITHDRAWING = ("withdrawn_police_health_remains", "withdrawn_health_police_remains", "withdrawn_alone")
#: Police deregistration reason of the deregistration kinds.
REASON = {"emigrated": "2", "duplicate": "3", "deregistered": "9"}
CONFLICTS = ("name_assistance", "division_assistance", "name_resolved")
#: The names spelt differently: a pensioner's death on even day numbers (True) or on odd ones.
NAMES = {"name_health": True, "name_cremation": False}
#: Deregistrations that are not deaths whose person is, by turns, a pensioner or someone no other
#: feed tells the hub about (the auditors' report must show neither as a death).
TURNS = ("duplicate", "deregistered")
#: Days after its first offer that assistance sends the police's spelling in `name_resolved`.
RESOLVE_AFTER = 2


def czbz(on: dt.date | np.datetime64) -> bool:
    """Whether the death feeds of business date `on` carry the CZBZ column."""
    return np.datetime64(on, "D") >= CZBZ_FROM


@dataclass
class Records:
    """Planted death-feed records, or the ones of one source and day (`Cases.records_on`)."""
    case: np.ndarray      # index into the cases
    person: np.ndarray
    source: np.ndarray    # POLICE / HEALTH / CREMATION
    day: np.ndarray       # datetime64[D], the delivery's business date
    date: np.ndarray      # datetime64[D], SWRQ / DEATH_DATE
    reason: np.ndarray    # object, police ZXYY ('1' for the other sources)
    second: np.ndarray    # datetime64[D], police ZXRQ or cremation HHRQ (NaT for health)
    action: np.ndarray    # object, CZBZ: '1' registers or corrects, '2' withdraws
    variant: np.ndarray   # bool, the source spells the name differently (names.variant)
    aux: np.ndarray       # float in [0, 1): stable per case and source (hospital, HHRQ, ZXRQ)
    order: np.ndarray     # float, place in the day's file

    def take(self, idx: np.ndarray) -> "Records":
        return Records(**{f.name: getattr(self, f.name)[idx] for f in fields(self)})


@dataclass
class Appearances:
    """Planned appearances of case people in police.identity and civil_affairs.assistance."""
    case: np.ndarray
    person: np.ndarray
    feed: np.ndarray            # IDENTITY / ASSISTANCE
    day: np.ndarray             # datetime64[D]
    name_variant: np.ndarray    # bool
    county_variant: np.ndarray  # bool

    def take(self, idx: np.ndarray) -> "Appearances":
        return Appearances(**{f.name: getattr(self, f.name)[idx] for f in fields(self)})


@dataclass
class Cases:
    person: np.ndarray    # population row of each case (each person in at most one case)
    kind: np.ndarray      # object, one of KINDS
    anchor: np.ndarray    # datetime64[D], the day of the case's last event
    died: np.ndarray      # datetime64[D], the true death date (NaT: does not die in the story)
    gone: np.ndarray      # datetime64[D], deregistered from that day (emigrated ...), else NaT
    records: Records
    appearances: Appearances

    def records_on(self, source: int, on) -> Records:
        r = self.records
        sel = np.flatnonzero((r.source == source) & (r.day == np.datetime64(on, "D")))
        return r.take(sel[np.argsort(r.order[sel], kind="stable")])

    def appearing(self, feed: int, on) -> Appearances:
        a = self.appearances
        sel = np.flatnonzero((a.feed == feed) & (a.day == np.datetime64(on, "D")))
        return a.take(sel[np.argsort(a.person[sel], kind="stable")])

    def reserved(self, n_people: int) -> np.ndarray:
        mask = np.zeros(n_people, dtype=bool)
        mask[self.person] = True
        return mask

    def gone_on(self, n_people: int, on) -> np.ndarray:
        """Per person: deregistered (emigrated, duplicate, other) on or before `on`."""
        mask = np.zeros(n_people, dtype=bool)
        mask[self.person[self.gone <= np.datetime64(on, "D")]] = True
        return mask


def _rank_within(day: np.ndarray) -> np.ndarray:
    """0, 1, 2 ... within each run of equal values of a sorted array."""
    idx = np.arange(len(day))
    starts = np.r_[True, day[1:] != day[:-1]] if len(day) else np.empty(0, dtype=bool)
    return idx - np.maximum.accumulate(np.where(starts, idx, 0))


def plan(seed: int, first: dt.date, last: dt.date, birth: np.ndarray, assistance_start: np.ndarray,
         person: np.ndarray, report: np.ndarray, date: np.ndarray, planted: np.ndarray):
    """The story's cases, and the calendar's (ordinary, date, report) with the case deaths moved.

    `person`, `report`, `date`, `planted` are the story's death calendar (deaths.py); a case that
    dies takes one of its ordinary deaths (same person, same day), gets its true death date and
    its first report day, and leaves the ordinary reporting (`ordinary` False).
    """
    rng = np.random.default_rng([seed, story.STORY + story.CASES, story.day_number(first)])
    f, last_day = np.datetime64(first, "D"), np.datetime64(last, "D")
    days = np.arange(f, last_day + 1)

    def fits(kind: str) -> np.ndarray:
        ok = days >= f + SPAN.get(kind, 0)
        if kind in WITHDRAWING:
            ok &= days >= CZBZ_FROM
        return days[ok]

    # Dying kinds: the j-th ordinary death of a day, in a random order, is that day's DYING[j]; but the
    # names spelt differently take, by turns, a pensioner's death (the roll holds the name: the auditors'
    # identity mismatch) and someone else's (no feed but the death feeds holds one: no mismatch).
    ordinary_idx = np.flatnonzero(~planted)
    o = ordinary_idx[np.lexsort((rng.random(len(ordinary_idx)), report[ordinary_idx]))]
    pension = (f - birth[person[o]]).astype(int) >= 60 * 365.25
    even = (report[o] - np.datetime64(story.EPOCH, "D")).astype(int) % 2 == 0
    taken = np.zeros(len(o), dtype=bool)
    cal, kinds, anchors = [], [], []

    def take(kind: str, sel: np.ndarray) -> None:
        taken[sel] = True
        cal.append(o[sel])
        kinds.append(np.full(len(sel), kind, dtype=object))
        anchors.append(report[o[sel]])

    for kind, on_even in NAMES.items():
        pool = np.flatnonzero(~taken & (pension == (even == on_even)))
        take(kind, pool[(_rank_within(report[o[pool]]) == 0) & np.isin(report[o[pool]], fits(kind))])
    rest = np.flatnonzero(~taken)
    rank = _rank_within(report[o[rest]])
    for j, kind in enumerate(k for k in DYING if k not in NAMES):
        take(kind, rest[(rank == j) & np.isin(report[o[rest]], fits(kind))])
    cal_idx = np.concatenate(cal)
    who = [person[cal_idx]]
    # Living kinds: people with no death in the story, adults; conflicts need an assistance case.
    n = len(birth)
    free = np.ones(n, dtype=bool)
    free[person] = False
    adult = birth <= f - 18 * 366
    started = assistance_start <= f
    perm = rng.permutation(n)
    # The duplicate and other deregistrations by turns of a pensioner (on the roll all story long) and
    # of someone the hub knows from no feed but the death feeds (under 60 all story long, no job).
    from jinbao.generator.hrss import employed  # cycle: hrss imports audit_cases, which imports this module
    pension_age = 60 * 365.25
    pensioner = (f - birth).astype(int) >= pension_age
    unknown = ((last_day - birth).astype(int) < pension_age) & ~employed(seed, n)
    for kind in LIVING:
        anchor = fits(kind)
        ok = free & adult & (started if kind in CONFLICTS else True)
        if kind in TURNS:
            first = ((anchor - np.datetime64(story.EPOCH, "D")).astype(int) + TURNS.index(kind)) % 2 == 0
            picked = np.full(len(anchor), -1, dtype=np.int64)
            for turn, pool in ((first, pensioner), (~first, unknown)):
                slots = np.flatnonzero(turn)
                got = perm[(ok & pool)[perm]][:len(slots)]
                picked[slots[:len(got)]] = got
            chosen, anchor = picked[picked >= 0], anchor[picked >= 0]
        else:
            chosen = perm[ok[perm]][:len(anchor)]
        free[chosen] = False
        who.append(chosen)
        kinds.append(np.full(len(chosen), kind, dtype=object))
        anchors.append(anchor[:len(chosen)])
    people = np.concatenate(who)
    kind = np.concatenate(kinds)
    a = np.concatenate(anchors).astype("datetime64[D]")
    m = len(people)
    cal_of = np.r_[cal_idx, np.full(m - len(cal_idx), -1)]

    # Per-case draws, always in this order whatever the kinds.
    delay = rng.integers(1, 11, m)             # days from a death (or deregistration) to its first report
    gap = rng.integers(1, 4, m)                # days between a report and its correction or withdrawal
    off = rng.integers(1, 11, m)               # how far off a wrong (later corrected) date was
    pick = rng.integers(0, 4, m)
    d1 = np.array([-2, -1, 1, 2])[pick]                                # another source's date, a day or two off
    d2 = np.array([-2, -1, 1, 2])[(pick + 1 + rng.integers(0, 3, m)) % 4]   # a third one, never equal to d1
    aux = rng.random((m, 3))

    span = np.array([SPAN.get(k, 0) for k in kind])
    flexible = np.isin(kind, ("corrected_police", "corrected_health", "withdrawn_alone"))
    span = np.where(flexible, np.minimum(gap, (a - f).astype(int)), span)
    first_event = a - span
    x = first_event - delay                   # a death (or, for withdrawn_alone, the date reported in error)
    dying = cal_of >= 0
    x[dying] = np.minimum(date[cal_of[dying]], first_event[dying] - 3)
    x = np.maximum(x, birth[people] + 1).astype("datetime64[D]")
    y = (a - delay).astype("datetime64[D]")             # deregistration date, 1-10 days before its report

    rec: dict[str, list] = {k: [] for k in ("case", "source", "day", "date", "reason", "action", "variant", "orig")}

    def add(sel, day, source, when, reason="1", action=REGISTERS, variant=False, orig=None):
        k = len(sel)
        rec["case"].append(sel)
        rec["source"].append(np.broadcast_to(source, k).astype(np.int8))
        rec["day"].append(np.asarray(day, dtype="datetime64[D]"))
        rec["date"].append(np.asarray(when, dtype="datetime64[D]"))
        rec["reason"].append(np.full(k, reason, dtype=object))
        rec["action"].append(np.full(k, action, dtype=object))
        rec["variant"].append(np.full(k, variant, dtype=bool))
        rec["orig"].append(np.asarray(day if orig is None else orig, dtype="datetime64[D]"))

    def of(name):
        return np.flatnonzero(kind == name)

    s = of("health_only"); add(s, a[s], HEALTH, x[s])
    s = of("cremation_only"); add(s, a[s], CREMATION, x[s])
    s = of("police_then_health"); add(s, a[s] - 1, POLICE, x[s]); add(s, a[s], HEALTH, x[s] + d1[s])
    s = of("health_then_police"); add(s, a[s] - 2, HEALTH, x[s] + d1[s]); add(s, a[s], POLICE, x[s])
    s = of("three_sources")
    add(s, a[s] - 2, CREMATION, x[s] + d1[s]); add(s, a[s] - 1, HEALTH, x[s] + d2[s]); add(s, a[s], POLICE, x[s])
    for name, source in (("corrected_police", POLICE), ("corrected_health", HEALTH)):
        s = of(name)
        add(s, first_event[s], source, x[s] - off[s]); add(s, a[s], source, x[s])
    s = of("name_health"); add(s, a[s], POLICE, x[s]); add(s, a[s], HEALTH, x[s], variant=True)
    s = of("name_cremation"); add(s, a[s], POLICE, x[s]); add(s, a[s], CREMATION, x[s], variant=True)
    s = of("withdrawn_police_health_remains")
    add(s, a[s] - 2, POLICE, x[s]); add(s, a[s] - 1, HEALTH, x[s] + d1[s])
    add(s, a[s], POLICE, x[s], action=WITHDRAWS, orig=a[s] - 2)
    s = of("withdrawn_health_police_remains")
    add(s, a[s] - 2, POLICE, x[s]); add(s, a[s] - 1, HEALTH, x[s] + d1[s])
    add(s, a[s], HEALTH, x[s] + d1[s], action=WITHDRAWS, orig=a[s] - 1)
    for name, reason in REASON.items():
        s = of(name); add(s, a[s], POLICE, y[s], reason=reason)
    s = of("withdrawn_alone")
    turn = (a[s] - np.datetime64(story.EPOCH, "D")).astype(int) % 3      # police, health, cremation by turns
    for source in (POLICE, HEALTH, CREMATION):
        t = s[turn == source]
        add(t, first_event[t], source, x[t]); add(t, a[t], source, x[t], action=WITHDRAWS, orig=first_event[t])

    case = np.concatenate(rec["case"]).astype(np.int64)
    source = np.concatenate(rec["source"])
    when = np.concatenate(rec["date"])
    orig = np.concatenate(rec["orig"])
    u = aux[case, source]
    reason_all = np.concatenate(rec["reason"])
    spread = np.where(source == CREMATION, 5, 9)        # HHRQ 1-5 days after the death, ZXRQ 1-9
    second = np.minimum(when + 1 + (u * spread).astype(int), orig).astype("datetime64[D]")
    second[reason_all != "1"] = when[reason_all != "1"]     # a deregistration: ZXRQ = SWRQ
    second[source == HEALTH] = np.datetime64("NaT")
    records = Records(case=case, person=people[case], source=source, day=np.concatenate(rec["day"]), date=when,
                      reason=reason_all, second=second, action=np.concatenate(rec["action"]),
                      variant=np.concatenate(rec["variant"]), aux=u, order=rng.random(len(case)))

    ap: dict[str, list] = {k: [] for k in ("case", "feed", "day", "name", "county")}

    def appear(sel, day, feed, name=False, county=False):
        ap["case"].append(sel)
        ap["feed"].append(np.full(len(sel), feed, dtype=np.int8))
        ap["day"].append(np.asarray(day, dtype="datetime64[D]"))
        ap["name"].append(np.full(len(sel), name, dtype=bool))
        ap["county"].append(np.full(len(sel), county, dtype=bool))

    s = of("name_assistance"); appear(s, a[s], IDENTITY); appear(s, a[s], ASSISTANCE, name=True)
    s = of("division_assistance"); appear(s, a[s], IDENTITY); appear(s, a[s], ASSISTANCE, county=True)
    s = of("name_resolved"); appear(s, a[s], IDENTITY); appear(s, a[s], ASSISTANCE, name=True)
    s = s[a[s] + RESOLVE_AFTER <= last_day]; appear(s, a[s] + RESOLVE_AFTER, ASSISTANCE)
    acase = np.concatenate(ap["case"]).astype(np.int64)
    appearances = Appearances(case=acase, person=people[acase], feed=np.concatenate(ap["feed"]),
                              day=np.concatenate(ap["day"]), name_variant=np.concatenate(ap["name"]),
                              county_variant=np.concatenate(ap["county"]))

    died = np.full(m, np.datetime64("NaT"), dtype="datetime64[D]")
    died[dying] = x[dying]
    late = kind == "withdrawn_police_health_remains"          # the police date was the error
    died[late] = (x + d1)[late]
    gone = np.full(m, np.datetime64("NaT"), dtype="datetime64[D]")
    dereg = np.isin(kind, tuple(REASON))
    gone[dereg] = y[dereg]
    cases = Cases(person=people, kind=kind, anchor=a, died=died, gone=gone, records=records,
                  appearances=appearances)

    ordinary = np.ones(len(person), dtype=bool)
    ordinary[cal_idx] = False
    new_date, new_report = date.copy(), report.copy()
    new_date[cal_idx] = died[:len(cal_idx)]
    new_report[cal_idx] = first_event[:len(cal_idx)]
    return cases, ordinary, new_date, new_report


def shuffle(d, order: np.ndarray):
    """Put a built delivery's rows in `order` (floats: the plan's places in the file)."""
    perm = np.argsort(order, kind="stable")
    d.cols = {c: v[perm] for c, v in d.cols.items()}
    d.eligible = d.eligible[perm]
    for name in ("male", "birth", "person"):
        if getattr(d, name) is not None:
            setattr(d, name, getattr(d, name)[perm])
    return d
