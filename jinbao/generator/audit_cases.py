"""Audit cases planted in a story: what the auditors' death-mismatch report must find (issues 13, 22).

The report (jinbao/audit, docs/audit.md) compares the three death sources with the pension roll.
Some of its findings arise by themselves in any generated run: the late-reported deaths of
deaths.py are paid after death (police only, + health, + cremation); the register cases of
register_cases.py have sources a day or two apart, withdrawals with another source still
reporting (from 2026-12-01), health or cremation spelling a name with a homophone (of a pensioner,
whose name the roll holds, by turns: an identity mismatch), and police deregistrations that are not
deaths (ZXYY 2, 3, 9) of pensioners and of people only the death sources name; ordinary deaths of
people the hub knows from no other feed are unplaced.  The rest,
and both sides of each boundary, are planted here: every day of a story carries one case of each
kind below that fits on that day (three of each typo kind: one per death source), all its records
on that day (its *anchor* `a`); `x` is the (earliest) death date.

Dying kinds take a pensioner (60 or older on the story's first day, so on the roll every day of
it) from the anchor day's ordinary deaths, like the register cases, so the number of deaths a day
is unchanged (SLOTS); the slots no police record names (FREE_SLOTS: typos in health and cremation,
the rejected certificate) take pensioners with no death in the story, so the police's file keeps
its size, unless the story has too few of those (8 000 people: then ordinary deaths too):

| kind | deliveries on day a | the report |
|---|---|---|
| `stopped_on_time` | police x, earlier in a's month | roll stops in the death month: stop payment only |
| `dates_differ` | police x; health x + s, 4 <= abs(s) <= 15 | sources disagree: dates differ |
| `dates_within` | police x; cremation x +/- 3 (the tolerance) | no disagreement |
| `not_deregistered` | health / cremation / both by turns, x 3-60 days before; never the police | not deregistered (1) |
| `typo_valid` | each source x under a typo'd ID, check character recomputed (2) | unplaced; probable typo |
| `typo_invalid` | the same, the old check character kept | rejected (ID_CHECKSUM); probable typo |
| `police_later` | health x, 90-130 days before a; police 1-20 days before a | paid after death by the earliest date only (3) |
| `police_earlier` | police x, 90-130 days before a; health 31-60 days after x | dates differ; the roll stopped by the police (4) |
| `certificate_rejected` | health x, 40-100 days before a, the hospital's USCC with a wrong check character | a rejected death record, payments at risk |
| `roll_rejected` | health x, 90-130 days before a; police in a's month (not the 1st); the roll row of a's month sent with FFJE `12.345` from a - 3 to a + 3 (within the month) | paid after death; while no day of the run sent the row right the roll looks stopped a month early (off the stop-payment list) and the finding counts the rows |

People who do not die:

| kind | deliveries on day a | the report |
|---|---|---|
| `unknown_person` | police x under an invented ID (5) | unplaced: a death nobody else knows |

(1) never the police, so the roll goes on (the bureau stops a pension on the police's word).
(2) one digit substituted or two adjacent ones swapped in the pensioner's ID: in the sequence digits
    (positions 15-17, the 17th keeping its parity) or the birth-date digits (7-14, a real date before
    x), by turns (day number + source even: birth date).  The gate accepts it (an ID nobody else
    has), but for a health certificate with a birth-date typo: its own BIRTH_DATE (the true one)
    contradicts the ID, so the gate rejects it (ID_BIRTHDATE_MISMATCH).
(3) the roll stops in the police's month (the bureau's word): nothing overpaid by the date in force
    (the police's) unless a day of the run before a paid a later month, months overpaid by the
    health date.
(4) nothing overpaid unless a day of the run before a paid months after x (the roll restates 12
    months daily and stops once the police report).
(5) the name, birth date, gender and county of a namesake (under 60 all story long, so no pensioner
    can be meant) with another sequence number; not a dying person's case.

A typo'd or invented ID is never a real person's ID (nor a real ID's first 17 characters), and no
two cases share one.  These records reach the hub under an ID that is not their person's: the
deliveries carry them with a *key* `n_people + case` (`identities`), so the register's answer key
and the expected report (audit_truth.py) see the person the hub sees.  Planted records are clean
but for the defects their kind plants (`builder_defects`, in the truth files like any other),
18-digit, with ordinary gender codes; the dying people are reserved (no feed draws them at random).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from jinbao.generator import credit_codes as uscc, register_cases as rc
from jinbao.generator import story
from jinbao.generator.formats import MONTH_ISO, dates

#: The dying kinds' slots of a day taken from its ordinary deaths of pensioners, in the order they are
#: handed out, and those taken from pensioners the story lets live otherwise (reported by no police, so
#: the police's file keeps its size; from the ordinary deaths too when a small population's story has
#: too few such pensioners): (kind, the death source of a typo, else -1).
SLOTS = (("stopped_on_time", -1), ("dates_differ", -1), ("dates_within", -1), ("not_deregistered", -1),
         ("typo_valid", rc.POLICE), ("typo_invalid", rc.POLICE), ("police_later", -1), ("police_earlier", -1),
         ("roll_rejected", -1))
FREE_SLOTS = (("typo_valid", rc.HEALTH), ("typo_valid", rc.CREMATION), ("typo_invalid", rc.HEALTH),
              ("typo_invalid", rc.CREMATION), ("certificate_rejected", -1))
DYING = tuple(dict.fromkeys(kind for kind, _ in SLOTS + FREE_SLOTS))
KINDS = DYING + ("unknown_person",)
TYPOS = ("typo_valid", "typo_invalid")
#: Kinds whose records reach the hub under an ID that is not their person's.
VIRTUAL = TYPOS + ("unknown_person",)
#: Kinds whose roll never stops: no police report under the person's own ID.
UNSTOPPED = ("not_deregistered", "typo_valid", "typo_invalid", "certificate_rejected")
#: The report's default tolerance (days) between sources' dates: `dates_within` sits on it.
TOLERANCE = 3
#: Age on the roll (population.pension_roll), in days.
PENSION_AGE = 60 * 365.25
#: Which sources report a `not_deregistered` death, by turns.
NOT_DEREGISTERED_SOURCES = ((rc.HEALTH,), (rc.CREMATION,), (rc.HEALTH, rc.CREMATION))
#: The amount a `roll_rejected` row is sent with: three decimals, which the gate rejects (AMOUNT_INVALID).
BAD_AMOUNT = "12.345"
#: How many days before and after its anchor (within the anchor's month) a `roll_rejected` row is sent
#: rejected (seven roll rows a day at most); otherwise the bureau's export carries the right amount.
ROLL_REJECTED_DAYS = 3
#: The partner column of the ID in each death feed.
ID_COLUMN = ("GMSFHM", "ID_NO", "SFZH")


@dataclass
class AuditCases:
    person: np.ndarray    # population row: the dying pensioner, or unknown_person's namesake
    kind: np.ndarray      # object, one of KINDS
    anchor: np.ndarray    # datetime64[D]
    died: np.ndarray      # datetime64[D], the (earliest) death date
    aux: np.ndarray       # float in [0, 1): picks the typo or the invented sequence number
    source: np.ndarray    # int8: a typo's death source (-1 for the other kinds)
    birth_typo: np.ndarray  # bool: a typo in the birth-date digits (else the sequence digits)
    records: rc.Records   # `case` is -1 - the audit case's index (never a register case's)

    def records_of(self, source: int, on) -> rc.Records:
        r = self.records
        sel = np.flatnonzero((r.source == source) & (r.day == np.datetime64(on, "D")))
        return r.take(sel[np.argsort(r.order[sel], kind="stable")])

    def reserved(self, n_people: int) -> np.ndarray:
        """The dying people (a namesake is not reserved: only the invented ID dies)."""
        mask = np.zeros(n_people, dtype=bool)
        mask[self.person[self.kind != "unknown_person"]] = True
        return mask

    def roll_rejected_on(self, on) -> np.ndarray:
        """The people whose roll row of `on`'s month the gate rejects on that day (`roll_rejected`: in
        the anchor's month, from ROLL_REJECTED_DAYS before the anchor to as many after)."""
        on = np.datetime64(on, "D")
        sel = (self.kind == "roll_rejected") & (abs((on - self.anchor).astype(int)) <= ROLL_REJECTED_DAYS) \
            & (self.anchor.astype("datetime64[M]") == on.astype("datetime64[M]"))
        return np.unique(self.person[sel])


def _concat(parts: list[rc.Records]) -> rc.Records:
    return rc.Records(**{f.name: np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(rc.Records)})


def plan(seed: int, first: dt.date, last: dt.date, birth: np.ndarray, person: np.ndarray, report: np.ndarray,
         date: np.ndarray, planted: np.ndarray, ordinary: np.ndarray, taken: np.ndarray):
    """The story's audit cases, and the calendar's (ordinary, date, report) with their deaths moved.

    `person` ... `ordinary` are the story's death calendar after the register cases took theirs (and
    `taken` the register cases' people); a SLOTS case takes one of the anchor day's ordinary deaths of
    a pensioner (same person, same day), gets its death date (the calendar's: the police's, whose
    month stops the roll), leaves the ordinary reporting, and its roll stops (`report`) on the anchor
    day, or never for the kinds the police never report under the person's ID.  A FREE_SLOTS case
    takes a pensioner who has no death in the calendar (nor a register case): the roll never stops.
    """
    rng = np.random.default_rng([seed, story.STORY + story.AUDIT, story.day_number(first)])
    f, l = np.datetime64(first, "D"), np.datetime64(last, "D")
    days = np.arange(f, l + 1)
    pensioner = (f - birth).astype(int) >= PENSION_AGE

    def fits(kind: str, on: np.ndarray) -> np.ndarray:
        if kind in ("stopped_on_time", "roll_rejected"):      # a police date earlier in the anchor's month
            return on > on.astype("datetime64[M]").astype("datetime64[D]")
        return np.ones(len(on), dtype=bool)

    # FREE_SLOTS: pensioners with no death in the story and no register case, one per slot and day; a
    # small population's story leaves too few, and its free slots take ordinary deaths too.
    free = pensioner.copy()
    free[person] = False
    free[taken] = False
    pool = np.flatnonzero(free)
    enough = len(pool) >= len(days) * len(FREE_SLOTS)
    slots = SLOTS if enough else SLOTS + FREE_SLOTS
    cand = np.flatnonzero(ordinary & ~planted & pensioner[person])
    o = cand[np.lexsort((rng.random(len(cand)), report[cand]))]
    rank = rc._rank_within(report[o])
    cal, kinds, sources = [], [], []
    for j, (kind, source) in enumerate(slots):
        sel = o[(rank == j) & fits(kind, report[o])]
        cal.append(sel)
        kinds.append(np.full(len(sel), kind, dtype=object))
        sources.append(np.full(len(sel), source, dtype=np.int8))
    cal_idx = np.concatenate(cal)
    chosen = rng.choice(pool, len(days) * len(FREE_SLOTS), replace=False) if enough else pool[:0]
    k = len(chosen) // len(FREE_SLOTS)
    free_kind = np.repeat(np.array([kind for kind, _ in FREE_SLOTS], dtype=object)[None, :], k, axis=0).ravel()
    free_source = np.repeat(np.array([s for _, s in FREE_SLOTS], dtype=np.int8)[None, :], k, axis=0).ravel()
    free_day = np.repeat(days[:k], len(FREE_SLOTS))
    # unknown_person: a namesake under 60 on the last day (no pensioner is born that day), adult.
    pool = np.flatnonzero(((l - birth).astype(int) < PENSION_AGE) & (birth <= f - 18 * 366))
    namesakes = rng.choice(pool, min(len(days), len(pool)), replace=False)
    people = np.concatenate([person[cal_idx], chosen, namesakes])
    kind = np.concatenate(kinds + [free_kind, np.full(len(namesakes), "unknown_person", dtype=object)])
    typo_source = np.concatenate(sources + [free_source, np.full(len(namesakes), -1, dtype=np.int8)])
    a = np.concatenate([report[cal_idx], free_day, days[:len(namesakes)]]).astype("datetime64[D]")
    m = len(people)
    n_cal = len(cal_idx)

    # Per-case draws, always in this order whatever the kinds.
    delay = rng.integers(1, 11, m)             # unknown_person: days from the death to the report
    late = rng.integers(3, 61, m)              # not_deregistered: days from the death to the report
    spread = rng.integers(4, 16, m) * np.where(rng.random(m) < 0.5, -1, 1)   # dates_differ
    within = TOLERANCE * np.where(rng.random(m) < 0.5, -1, 1)                # dates_within
    aux = rng.random((m, 4))                   # per source (hospital, ZXRQ, HHRQ), and the ID's pick
    long_ago = rng.integers(90, 131, m)        # police_later, police_earlier, roll_rejected: the earliest date
    recent = rng.integers(1, 21, m)            # police_later, roll_rejected: the police's date, days before a
    after = rng.integers(31, 61, m)            # police_earlier: health's date, days after the police's
    months = rng.integers(40, 101, m)          # certificate_rejected: days before a
    ordinary_delay = rng.integers(1, 31, m)    # a free typo: days from the death to the report

    x = np.empty(m, dtype="datetime64[D]")
    x[:n_cal] = date[cal_idx]
    x[n_cal:] = a[n_cal:] - np.where(kind[n_cal:] == "unknown_person", delay[n_cal:], ordinary_delay[n_cal:])
    other = np.zeros(m, dtype=np.int64)        # the other source's offset from x
    other[kind == "dates_differ"] = spread[kind == "dates_differ"]
    other[kind == "dates_within"] = within[kind == "dates_within"]
    month_start = a.astype("datetime64[M]").astype("datetime64[D]")
    x = np.where(kind == "stopped_on_time", np.maximum(x, month_start), x)
    x = np.where(kind == "not_deregistered", a - late, x)
    x = np.where(np.isin(kind, ("police_later", "police_earlier", "roll_rejected")), a - long_ago, x)
    x = np.where(kind == "certificate_rejected", a - months, x)
    x = np.minimum(x, a - 1 - np.maximum(other, 0))          # every date before the report day
    x = np.maximum(x, birth[people] + 1).astype("datetime64[D]")
    # The police's later date: police_later within 20 days of a; roll_rejected in a's month too, so that
    # the roll's last month (the police's) is the month whose row is rejected.
    police = np.maximum(a - recent, x + 1)
    police = np.where(kind == "roll_rejected", np.maximum(police, month_start), police).astype("datetime64[D]")
    health_later = np.minimum(x + after, a - 1).astype("datetime64[D]")         # after the police's
    birth_typo = (((a - np.datetime64(story.EPOCH, "D")).astype(int) + typo_source) % 2 == 0) \
        & np.isin(kind, TYPOS)

    rec: dict[str, list] = {k: [] for k in ("case", "source", "date", "variant")}

    def add(sel, source, when, variant=False):
        rec["case"].append(sel)
        rec["source"].append(np.broadcast_to(np.asarray(source, dtype=np.int8), len(sel)))
        rec["date"].append(np.asarray(when, dtype="datetime64[D]"))
        rec["variant"].append(np.full(len(sel), variant, dtype=bool))

    def of(name):
        return np.flatnonzero(kind == name)

    for name in ("stopped_on_time", "unknown_person"):
        s = of(name); add(s, rc.POLICE, x[s])
    for name in TYPOS:
        s = of(name); add(s, typo_source[s], x[s])
    s = of("dates_differ"); add(s, rc.POLICE, x[s]); add(s, rc.HEALTH, x[s] + other[s])
    s = of("dates_within"); add(s, rc.POLICE, x[s]); add(s, rc.CREMATION, x[s] + other[s])
    s = of("not_deregistered")
    turn = (a[s] - np.datetime64(story.EPOCH, "D")).astype(int) % len(NOT_DEREGISTERED_SOURCES)
    for t, sources_ in enumerate(NOT_DEREGISTERED_SOURCES):
        for source in sources_:
            add(s[turn == t], source, x[s[turn == t]])
    for name in ("police_later", "roll_rejected"):
        s = of(name); add(s, rc.HEALTH, x[s]); add(s, rc.POLICE, police[s])
    s = of("police_earlier"); add(s, rc.POLICE, x[s]); add(s, rc.HEALTH, health_later[s])
    s = of("certificate_rejected"); add(s, rc.HEALTH, x[s])

    case = np.concatenate(rec["case"]).astype(np.int64)
    source = np.concatenate(rec["source"]).astype(np.int8)
    when = np.concatenate(rec["date"])
    day = a[case]
    u = aux[case, source]
    gap = np.where(source == rc.CREMATION, 5, 9)          # HHRQ 1-5 days after the death, ZXRQ 1-9
    second = np.minimum(when + 1 + (u * gap).astype(int), day).astype("datetime64[D]")
    second[source == rc.HEALTH] = np.datetime64("NaT")
    k = len(case)
    records = rc.Records(case=-1 - case, person=people[case], source=source, day=day, date=when,
                         reason=np.full(k, "1", dtype=object), second=second,
                         action=np.full(k, rc.REGISTERS, dtype=object), variant=np.concatenate(rec["variant"]),
                         aux=u, order=rng.random(k))
    cases = AuditCases(person=people, kind=kind, anchor=a, died=x, aux=aux[:, 3], source=typo_source,
                       birth_typo=birth_typo, records=records)

    ordinary = ordinary.copy()
    ordinary[cal_idx] = False
    new_date, new_report = date.copy(), report.copy()
    # The calendar's date stops the roll once the police report: the police's date.
    new_date[cal_idx] = np.where(np.isin(kind[:n_cal], ("police_later", "roll_rejected")), police[:n_cal], x[:n_cal])
    new_report[cal_idx] = np.where(np.isin(kind[:n_cal], UNSTOPPED), np.datetime64("NaT"), a[:n_cal])
    return cases, ordinary, new_date, new_report


def records_on(w, source: int) -> rc.Records:
    """The day's planted records of one death source: the register cases', then the audit cases'."""
    return _concat([w.cases.records_on(source, w.on), w.calendar.audit.records_of(source, w.on)])


# --- IDs the hub sees -------------------------------------------------------------------------------

_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
_CHECK = np.array(list("10X98765432"))
#: Birth dates a typo may turn the pensioner's into: a real date the gate takes (from 1900), before
#: the death (else the police's and crematoria's DEATH_BEFORE_BIRTH, on the ID's birth date).
FIRST_BIRTH = dt.date(1900, 1, 1)


def check_char(body: str) -> str:
    """GB 11643 check character of 17 digits (independent of the hub's validator)."""
    return str(_CHECK[int(np.dot(np.frombuffer(body.encode(), np.uint8) - 48, _WEIGHTS)) % 11])


def _birth_ok(body: str, died: dt.date) -> bool:
    try:
        born = dt.date(int(body[6:10]), int(body[10:12]), int(body[12:14]))
    except ValueError:
        return False
    return FIRST_BIRTH <= born < died


def _edits(body: str, birth: bool, died: dt.date) -> list[str]:
    """Bodies one substitution or one adjacent transposition away: in the sequence digits (15-17, the
    17th keeping the gender's parity) or in the birth-date digits (7-14, still a real date before
    the death)."""
    lo, hi = (6, 14) if birth else (14, 17)
    out = []
    for i in range(lo, hi):
        for digit in "0123456789":
            if digit != body[i] and (i < 16 or int(digit) % 2 == int(body[16]) % 2):
                out.append(body[:i] + digit + body[i + 1:])
    for i in range(lo, hi - 1):
        j = i + 1
        if body[i] != body[j] and (j < 16 or int(body[i]) % 2 == int(body[j]) % 2):
            out.append(body[:i] + body[j] + body[i] + body[j + 1:])
    return [b for b in out if _birth_ok(b, died)] if birth else out


def sent_ids(w) -> np.ndarray:
    """Per audit case, the ID its records carry (the person's own for the non-virtual kinds).

    A loop over the story's few typo'd and invented IDs (a handful a day), each picked from its
    candidates by the case's `aux`, skipping any that is a real ID's body (one lookup of every
    candidate against the population, in Arrow) or already taken.
    """
    if "audit_ids" in w.memo:
        return w.memo["audit_ids"]

    audit = w.calendar.audit
    own = w.ids[audit.person].astype(object)
    out = own.copy()
    virtual = np.flatnonzero(np.isin(audit.kind, VIRTUAL))
    options = {}
    for c in virtual:
        real = str(own[c])
        if audit.kind[c] == "unknown_person":
            parity = int(real[16]) % 2
            options[c] = [real[:14] + f"{s:03d}" for s in range(parity, 1000, 2)]
        else:
            options[c] = _edits(real[:17], bool(audit.birth_typo[c]), audit.died[c].astype(object))
    every = sorted({b for bodies in options.values() for b in bodies})
    bodies = pc.utf8_slice_codeunits(pa.array(w.ids, pa.string()), 0, 17)
    real_body = pc.is_in(pa.array(every, pa.string()), value_set=bodies).to_numpy(zero_copy_only=False)
    taken = {b for b, hit in zip(every, real_body) if hit}
    for c in virtual:
        free = [b for b in options[c] if b not in taken]
        start = int(audit.aux[c] * len(free))
        body = free[start]
        taken.add(body)
        real = str(own[c])
        out[c] = body + (real[17] if audit.kind[c] == "typo_invalid" else check_char(body))
    w.memo["audit_ids"] = out
    return out


def identities(w, case: rc.Records) -> tuple[np.ndarray, np.ndarray]:
    """For the rows of `records_on`: the ID each carries and the person key the hub files it under
    (the population row, or n_people + audit case for a typo'd or invented ID)."""
    ids = w.ids[case.person].astype(object)
    key = case.person.astype(np.int64).copy()
    mine = np.flatnonzero(case.case < 0)
    c = -1 - case.case[mine]
    virtual = np.isin(w.calendar.audit.kind[c], VIRTUAL)
    ids[mine] = sent_ids(w)[c]
    key[mine[virtual]] = len(w.ids) + c[virtual]
    return ids, key


def spared(w) -> np.ndarray:
    """Per person: whose pension roll rows are never defective at random: everyone whose death (or
    register case) the story plans, and everyone born the same day in the same county as one of
    them.  So the auditors' answer key (audit_truth.py) knows every payment the report can name from
    the plan (the `roll_rejected` rows are the builder's own defects, planned too)."""
    if "spared" not in w.memo:
        dies = w.calendar.dies(len(w.ids))
        cell = pa.array(w.county, pa.string()).cast(pa.int64()).to_numpy() * 100_000 \
            + (w.birth - np.datetime64("1900-01-01", "D")).astype(np.int64)
        w.memo["spared"] = dies | np.isin(cell, cell[dies])
    return w.memo["spared"]


def all_ids(w) -> np.ndarray:
    """IDs by key: the population's, then each audit case's as sent (n_people + case)."""
    return np.concatenate([w.ids.astype(object), sent_ids(w)])


def builder_defects(d, w, source: int):
    """The defects the audit cases plant in a death feed's delivery themselves, in its truth file like
    any other (defects.plant adds them): a typo'd ID that keeps the old check character
    (ID_CHECKSUM); a health certificate's true birth date against a typo'd ID whose check character
    was recomputed (ID_BIRTHDATE_MISMATCH); `certificate_rejected`'s hospital USCC with a wrong
    check character (USCC_CHECKSUM, written here)."""
    audit = w.calendar.audit
    n = len(w.ids)
    case = np.flatnonzero(audit.source == source)
    out = []
    invalid = n + case[audit.kind[case] == "typo_invalid"]
    out += [(int(r), ID_COLUMN[source], "ID_CHECKSUM") for r in np.flatnonzero(np.isin(d.person, invalid))]
    if source == rc.HEALTH:
        mismatch = n + case[(audit.kind[case] == "typo_valid") & audit.birth_typo[case]]
        out += [(int(r), "BIRTH_DATE", "ID_BIRTHDATE_MISMATCH") for r in np.flatnonzero(np.isin(d.person, mismatch))]
        rows = np.flatnonzero(np.isin(d.person, audit.person[audit.kind == "certificate_rejected"]))
        d.cols["ORG_USCC"][rows] = uscc.wrong_check(d.cols["ORG_USCC"][rows])
        out += [(int(r), "ORG_USCC", "USCC_CHECKSUM") for r in rows]
    d.extra["defects"] = sorted(out)
    return d


def roll_defects(d, w):
    """`roll_rejected`: from its anchor on, the person's roll row of the business month is sent with an
    amount of three decimals, which the gate rejects (AMOUNT_INVALID, in the truth file)."""
    who = w.calendar.audit.roll_rejected_on(w.on)
    if len(who):
        this = dates(np.array([w.today]), MONTH_ISO)[0]
        rows = np.flatnonzero(np.isin(d.person, who) & (d.cols["FFNY"] == this))
        d.cols["FFJE"][rows] = BAD_AMOUNT
        d.extra["defects"] = [(int(r), "FFJE", "AMOUNT_INVALID") for r in rows]
    return d
