"""Audit cases planted in a story: what the auditors' death-mismatch report must find (issue 13).

The report (jinbao/audit) compares the three death sources with the pension roll.
Some of its findings arise by themselves in any generated run: the late-reported
deaths of deaths.py are paid after death (police only, + health, + cremation); the
register cases of register_cases.py have sources a day or two apart, withdrawals
with another source still reporting (from 2026-12-01), and health or cremation
spelling a name with a homophone (an identity mismatch, "name differs" when the
hub knows the person from another feed).  The rest, and both sides of each
boundary, are planted here: every day of a story carries one case of each kind
below that fits on that day, all its records on that day (its *anchor* `a`); `x`
is the death date.

Dying kinds take a pensioner (60 or older on the story's first day, so on the
roll every day of it) from the anchor day's ordinary deaths, like the register
cases, so the number of deaths a day is unchanged:

| kind | deliveries on day a | the report |
|---|---|---|
| `stopped_on_time` | police x, earlier in a's month | roll stops in the death month: nothing |
| `dates_differ` | police x; health x + s, 4 <= abs(s) <= 15 | sources disagree: dates differ |
| `dates_within` | police x; cremation x +/- 3 (the tolerance) | nothing |
| `not_deregistered` | health / cremation / both by turns, x 3-60 days before | not deregistered (1) |
| `typo_valid` | police x under a typo'd ID, check recomputed | unknown ID; probable typo (2) |
| `typo_invalid` | the same, the old check character kept | rejected (ID_CHECKSUM): typo (3) |
| `unknown_person` | police x under an invented ID (4) | identity mismatch: unknown ID |

(1) never the police, so the roll goes on (the bureau stops a pension on the police's word):
    also paid after death once a month after x's is paid.
(2) one digit (or two adjacent ones) off the pensioner's ID: the gate accepts it, no other feed
    knows it; the pensioner is paid on.
(3) in the delivery's truth file; a probable typo from the rejected lines (rejected_death).
(4) the name, birth date, gender and county of a namesake (under 60 all story long, so no
    pensioner can be meant) with another sequence number; not a dying person's case.

A typo changes the ID's sequence digits only (positions 15-17; the 17th keeps its
parity, so the gender still agrees): the birth date, the county and the gender
inside the ID stay the pensioner's, as the probable-typo search needs.  A typo'd or
invented ID is never a real person's ID (nor a real ID's first 17 characters), and
no two cases share one.  These records reach the hub under an ID that is not their
person's: the deliveries carry them with a *key* `n_people + case` (`identities`),
so the register's answer key and the expected report (audit_truth.py) see the
person the hub sees.  Planted records are clean, 18-digit, with ordinary gender
codes; the dying people are reserved (no feed draws them at random).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields

import numpy as np

from jinbao.generator import register_cases as rc
from jinbao.generator import story

DYING = ("stopped_on_time", "dates_differ", "dates_within", "not_deregistered", "typo_valid", "typo_invalid")
KINDS = DYING + ("unknown_person",)
#: Kinds whose records reach the hub under an ID that is not their person's.
VIRTUAL = ("typo_valid", "typo_invalid", "unknown_person")
#: Kinds whose roll never stops: no police report under the person's own ID.
UNSTOPPED = ("not_deregistered", "typo_valid", "typo_invalid")
#: The report's default tolerance (days) between sources' dates: `dates_within` sits on it.
TOLERANCE = 3
#: Age on the roll (population.pension_roll), in days.
PENSION_AGE = 60 * 365.25
#: Which sources report a `not_deregistered` death, by turns.
NOT_DEREGISTERED_SOURCES = ((rc.HEALTH,), (rc.CREMATION,), (rc.HEALTH, rc.CREMATION))


@dataclass
class AuditCases:
    person: np.ndarray    # population row: the dying pensioner, or unknown_person's namesake
    kind: np.ndarray      # object, one of KINDS
    anchor: np.ndarray    # datetime64[D]
    died: np.ndarray      # datetime64[D], the true death date
    aux: np.ndarray       # float in [0, 1): picks the typo or the invented sequence number
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


def _concat(parts: list[rc.Records]) -> rc.Records:
    return rc.Records(**{f.name: np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(rc.Records)})


def plan(seed: int, first: dt.date, last: dt.date, birth: np.ndarray, person: np.ndarray, report: np.ndarray,
         date: np.ndarray, planted: np.ndarray, ordinary: np.ndarray):
    """The story's audit cases, and the calendar's (ordinary, date, report) with their deaths moved.

    `person` ... `ordinary` are the story's death calendar after the register cases took theirs; a
    dying case takes one of the anchor day's ordinary deaths of a pensioner (same person, same day),
    gets its death date, leaves the ordinary reporting, and its roll stops (`report`) on the anchor
    day, or never for the kinds the police never report under the person's ID.
    """
    rng = np.random.default_rng([seed, story.STORY + story.AUDIT, story.day_number(first)])
    f, l = np.datetime64(first, "D"), np.datetime64(last, "D")
    days = np.arange(f, l + 1)
    pensioner = (f - birth).astype(int) >= PENSION_AGE

    def fits(kind: str, on: np.ndarray) -> np.ndarray:
        if kind == "stopped_on_time":            # a death earlier in the anchor's month
            return on > on.astype("datetime64[M]").astype("datetime64[D]")
        return np.ones(len(on), dtype=bool)

    cand = np.flatnonzero(ordinary & ~planted & pensioner[person])
    o = cand[np.lexsort((rng.random(len(cand)), report[cand]))]
    rank = rc._rank_within(report[o])
    cal, kinds = [], []
    for j, kind in enumerate(DYING):
        sel = o[(rank == j) & fits(kind, report[o])]
        cal.append(sel)
        kinds.append(np.full(len(sel), kind, dtype=object))
    cal_idx = np.concatenate(cal)
    # unknown_person: a namesake under 60 on the last day (no pensioner is born that day), adult.
    pool = np.flatnonzero(((l - birth).astype(int) < PENSION_AGE) & (birth <= f - 18 * 366))
    namesakes = rng.choice(pool, min(len(days), len(pool)), replace=False)
    people = np.concatenate([person[cal_idx], namesakes])
    kind = np.concatenate(kinds + [np.full(len(namesakes), "unknown_person", dtype=object)])
    a = np.concatenate([report[cal_idx], days[:len(namesakes)]]).astype("datetime64[D]")
    m = len(people)

    # Per-case draws, always in this order whatever the kinds.
    delay = rng.integers(1, 11, m)             # unknown_person: days from the death to the report
    late = rng.integers(3, 61, m)              # not_deregistered: days from the death to the report
    spread = rng.integers(4, 16, m) * np.where(rng.random(m) < 0.5, -1, 1)   # dates_differ
    within = TOLERANCE * np.where(rng.random(m) < 0.5, -1, 1)                # dates_within
    aux = rng.random((m, 4))                   # per source (hospital, ZXRQ, HHRQ), and the ID's pick

    x = np.empty(m, dtype="datetime64[D]")
    n_cal = len(cal_idx)
    x[:n_cal] = date[cal_idx]
    x[n_cal:] = a[n_cal:] - delay[n_cal:]
    other = np.zeros(m, dtype=np.int64)        # the other source's offset from x
    other[kind == "dates_differ"] = spread[kind == "dates_differ"]
    other[kind == "dates_within"] = within[kind == "dates_within"]
    x = np.where(kind == "stopped_on_time", np.maximum(x, a.astype("datetime64[M]").astype("datetime64[D]")), x)
    x = np.where(kind == "not_deregistered", a - late, x)
    x = np.minimum(x, a - 1 - np.maximum(other, 0))          # every date before the report day
    x = np.maximum(x, birth[people] + 1).astype("datetime64[D]")

    rec: dict[str, list] = {k: [] for k in ("case", "source", "date")}

    def add(sel, source, when):
        rec["case"].append(sel)
        rec["source"].append(np.broadcast_to(np.asarray(source, dtype=np.int8), len(sel)))
        rec["date"].append(np.asarray(when, dtype="datetime64[D]"))

    def of(name):
        return np.flatnonzero(kind == name)

    for name in ("stopped_on_time", "typo_valid", "typo_invalid", "unknown_person"):
        s = of(name); add(s, rc.POLICE, x[s])
    s = of("dates_differ"); add(s, rc.POLICE, x[s]); add(s, rc.HEALTH, x[s] + other[s])
    s = of("dates_within"); add(s, rc.POLICE, x[s]); add(s, rc.CREMATION, x[s] + other[s])
    s = of("not_deregistered")
    turn = (a[s] - np.datetime64(story.EPOCH, "D")).astype(int) % len(NOT_DEREGISTERED_SOURCES)
    for t, sources in enumerate(NOT_DEREGISTERED_SOURCES):
        for source in sources:
            add(s[turn == t], source, x[s[turn == t]])

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
                         action=np.full(k, rc.REGISTERS, dtype=object), variant=np.zeros(k, dtype=bool),
                         aux=u, order=rng.random(k))
    cases = AuditCases(person=people, kind=kind, anchor=a, died=x, aux=aux[:, 3], records=records)

    ordinary = ordinary.copy()
    ordinary[cal_idx] = False
    new_date, new_report = date.copy(), report.copy()
    new_date[cal_idx] = x[:n_cal]
    new_report[cal_idx] = np.where(np.isin(kind[:n_cal], UNSTOPPED), np.datetime64("NaT"), a[:n_cal])
    return cases, ordinary, new_date, new_report


def records_on(w, source: int) -> rc.Records:
    """The day's planted records of one death source: the register cases', then the audit cases'."""
    return _concat([w.cases.records_on(source, w.on), w.calendar.audit.records_of(source, w.on)])


# --- IDs the hub sees -------------------------------------------------------------------------------

_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
_CHECK = np.array(list("10X98765432"))


def check_char(body: str) -> str:
    """GB 11643 check character of 17 digits (independent of the hub's validator)."""
    return str(_CHECK[int(np.dot(np.frombuffer(body.encode(), np.uint8) - 48, _WEIGHTS)) % 11])


def _edits(body: str) -> list[str]:
    """Bodies one sequence-digit substitution or one adjacent transposition away, gender kept."""
    out = []
    for i in (14, 15, 16):
        for digit in "0123456789":
            if digit != body[i] and (i < 16 or int(digit) % 2 == int(body[16]) % 2):
                out.append(body[:i] + digit + body[i + 1:])
    for i in (14, 15):
        j = i + 1
        if body[i] != body[j] and (j < 16 or int(body[i]) % 2 == int(body[j]) % 2):
            out.append(body[:i] + body[j] + body[i] + body[j + 1:])
    return out


def sent_ids(w) -> np.ndarray:
    """Per audit case, the ID its records carry (the person's own for the non-virtual kinds).

    A loop over the story's few typo'd and invented IDs (a handful a day), each picked from its
    candidates by the case's `aux`, skipping any that is a real ID's body or already taken.
    """
    if "audit_ids" in w.memo:
        return w.memo["audit_ids"]
    import pyarrow as pa
    import pyarrow.compute as pc

    audit = w.calendar.audit
    own = w.ids[audit.person].astype(object)
    out = own.copy()
    virtual = np.flatnonzero(np.isin(audit.kind, VIRTUAL))
    # Every candidate keeps the real ID's county and birth date (its first 14 characters): only the
    # population's IDs with one of those prefixes can collide.
    ids = pa.array(w.ids, pa.string())
    prefixes = pa.array(sorted({str(i)[:14] for i in own[virtual]}), pa.string())
    near = ids.filter(pc.is_in(pc.utf8_slice_codeunits(ids, 0, 14), value_set=prefixes))
    taken = {i[:17] for i in near.to_pylist()}
    for c in virtual:
        real = str(own[c])
        if audit.kind[c] == "unknown_person":
            parity = int(real[16]) % 2
            options = [real[:14] + f"{s:03d}" for s in range(parity, 1000, 2)]
        else:
            options = _edits(real[:17])
        options = [b for b in options if b not in taken]
        start = int(audit.aux[c] * len(options))
        body = next(b for b in options[start:] + options[:start])
        taken.add(body)
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
    """Per person: whose pension roll rows are never defective: everyone whose death (or register
    case) the story plans, and everyone born the same day in the same county as one of them, the
    pensioners a probable typo may mean (the search blocks on birth date and division).  So the
    auditors' answer key (audit_truth.py) knows every payment the report can name from the plan."""
    if "spared" not in w.memo:
        import pyarrow as pa

        dies = w.calendar.dies(len(w.ids))
        cell = pa.array(w.county, pa.string()).cast(pa.int64()).to_numpy() * 100_000 \
            + (w.birth - np.datetime64("1900-01-01", "D")).astype(np.int64)
        w.memo["spared"] = dies | np.isin(cell, cell[dies])
    return w.memo["spared"]


def all_ids(w) -> np.ndarray:
    """IDs by key: the population's, then each audit case's as sent (n_people + case)."""
    return np.concatenate([w.ids.astype(object), sent_ids(w)])


def rejected(d, w) -> object:
    """Mark the typo'd lines that keep the old check character as the defect they are (ID_CHECKSUM):
    the gate rejects them and the delivery's truth file must say so (defects.plant adds them)."""
    audit = w.calendar.audit
    keys = len(w.ids) + np.flatnonzero(audit.kind == "typo_invalid")
    rows = np.flatnonzero(np.isin(d.person, keys))
    d.extra["defects"] = [(int(r), "GMSFHM", "ID_CHECKSUM") for r in rows]
    return d
