"""The auditors' answer key: the death-mismatch report (issue 13) the hub must give after a run of days.

For a business date D the files describe, for every month of the run (the months of the days
from `since` to D, as register_truth.py; each day's feeds published in `jinbao run all`'s order),
the exact rows of each finding kind and the totals, as `jinbao report deaths --month M` must find
them in the store.  They are computed from the deliveries as written, not from the plan alone:
each day's death deliveries are built again with their planted defects and the rejected lines
set apart (register_truth.death_records, shared with the register's key).  What the other feeds
told the hub about the people the death records name follows from those feeds' draws: no defect
is ever planted in a living feed's or the roll's record of someone whose death (or register
case) the story plans, nor in the roll rows of anyone born the same day in the same county
(audit_cases.spared: the pensioners a probable typo may mean), so what was sent about them is
what the hub holds; the roll and the contributions are then known from the plan, police.identity
and assistance from the day's draw (the first use of their streams).  For anyone else the roll's
defect draws are replayed (roll_payments).  tests/jinbao/generator/test_audit_cases.py checks
these shortcuts against the deliveries.

The report's semantics (report month M, tolerance N = 3 days):

* a death counts when its date is on or before the end of M, a payment when its month is M or
  earlier; each death source's record is its newest (a later delivery replaces it); a record
  *reports* a death unless it is withdrawn (CZBZ 2), police only with ZXYY 1;
* **paid after death**: register deceased (register_truth.life), payments for the months after
  the month of death (the death month itself is due, not overpaid), with the register's name
  and division, the reporting sources (most trusted first, whatever their dates), months, amount
  to the fen, last month paid;
* **sources disagree**: the reporting sources' dates more than N days apart ("dates differ"),
  or a record withdrawn while another source still reports the death ("withdrawn but still
  reported");
* **not deregistered**: reported by health or cremation, no reporting police record, and paid
  in the latest month of the roll up to M;
* **identity mismatch**: any death-feed record (withdrawals and police deregistrations too) of
  a person no feed but the death feeds knows ("unknown ID": never sent by police.identity,
  assistance, the roll or the contributions; the bureau's enrolment and finance never name a
  person whose death the story plans), else a record whose name differs from the register's
  value in force (or gender, both known; the gate's ID/gender rule makes that impossible here);
  the value in force is the latest of the most authoritative feed that offered one
  (schemas/register.yaml);
* **probable typo**: an unknown-ID record (its birth date from the ID as sent, its name, gender
  and division) matching exactly one pensioner (paid for a month up to M) whose ID is one digit
  substitution or one adjacent transposition away in its first 17 characters (both IDs valid,
  so the check characters differ too); and, apart, a line the gate rejected (kept in
  `rejected_death`) matching exactly one pensioner whose ID is one edit away over all 18
  characters (a wrong check character; a typo that kept the old one).

Files (in `generated/truth/`, rewritten by every `generate`):

* `expected_report.json` — run, tolerance, and per month the totals (people paid after death,
  months, overpaid total to the fen, rows of each kind, rejected typos);
* `expected_<kind>.csv` — the rows of each kind for every month (`report_month` first, IDs in
  full, amounts as exact strings, `case` last: the planted case of the row's person, as in
  register_status.csv, or an audit case kind); identity mismatch and probable typo name the
  delivery (`business_date`, `line_no`) instead of the hub's batch;
* `expected_typos_rejected.csv` — the rejected lines' probable typos, the same way (and the
  line's `reasons`);
* `audit_planted.csv` — every audit case record of the run (audit_cases.py) as sent.
"""
from __future__ import annotations

import datetime as dt
import json
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from jinbao.generator import audit_cases, civil_affairs, hrss, police_identity, register_truth, story
from jinbao.generator import register_cases as rc
from jinbao.generator.population import months_back
from jinbao.generator.writer import write_csv

POLICE, HEALTH, CREMATION = rc.DEATH_FEEDS
IDENTITY, ASSISTANCE, ROLL, CONTRIBUTION = ("police.identity", "civil_affairs.assistance", "hrss.pension_roll",
                                            "hrss.contribution")
#: schemas/register.yaml: the feeds that may set a field, most authoritative first (as far as the
#: feeds meet a person named by a death record).
AUTHORITY = {
    "name": (IDENTITY, POLICE, ROLL, "hrss.resident_enrollment", HEALTH, ASSISTANCE, CREMATION),
    "gender": (IDENTITY, POLICE, ROLL, HEALTH, ASSISTANCE, CREMATION),
    "division": (IDENTITY, POLICE, ROLL, ASSISTANCE),
}
KINDS = ("paid_after_death", "sources_disagree", "not_deregistered", "identity_mismatch", "probable_typo")
COLUMNS = {
    "paid_after_death": ["aac002", "name", "division", "death_date", "sources", "months_paid_after", "overpaid",
                         "last_month_paid"],
    "sources_disagree": ["aac002", "name", "division", "kind", "police_date", "health_date", "cremation_date",
                         "spread_days", "withdrawn_by", "still_reported_by"],
    "not_deregistered": ["aac002", "name", "division", "death_date", "sources", "last_month_paid"],
    "identity_mismatch": ["aac002", "source_feed", "kind", "name_reported", "name_registered", "gender_reported",
                          "gender_registered", "death_date", "business_date", "line_no"],
    "probable_typo": ["id_reported", "aac002", "difference", "name", "birth_date", "gender", "division",
                      "source_feed", "death_date", "business_date", "line_no", "last_month_paid"],
}
REJECTED_COLUMNS = COLUMNS["probable_typo"] + ["reasons"]
FILES = {**{kind: f"expected_{kind}.csv" for kind in KINDS}, "rejected": "expected_typos_rejected.csv",
         "report": "expected_report.json", "planted": "audit_planted.csv"}
PLANTED_COLUMNS = ["case", "aac002", "id_sent", "feed", "business_date", "aac060", "aac003", "rejected"]
TOLERANCE = audit_cases.TOLERANCE
SOURCE_NAMES = np.array(rc.DEATH_FEEDS, dtype=object)


def _month_end(month: np.datetime64) -> np.datetime64:
    return (month.astype("datetime64[M]") + 1).astype("datetime64[D]") - 1


def _iso(values) -> np.ndarray:
    """datetime64 values (NaT: '') as ISO dates, object array (each distinct day formatted once)."""
    d = np.asarray(values, dtype="datetime64[D]")
    ok = ~np.isnat(d)
    out = np.full(len(d), "", dtype=object)
    if ok.any():
        lo = d[ok].min()
        offset = (d[ok] - lo).astype(np.int64)
        out[ok] = (lo + np.arange(offset.max() + 1)).astype(str).astype(object)[offset]
    return out


def _yuan(fen) -> np.ndarray:
    """Whole fen as exact yuan strings ('9001.50'), object array."""
    fen = np.asarray(fen, dtype=np.int64)
    if not len(fen):
        return np.empty(0, dtype=object)
    whole, cents = np.abs(fen) // 100, np.abs(fen) % 100
    text = np.char.add(np.char.add(np.where(fen < 0, "-", ""), whole.astype(str)),
                       np.char.add(".", np.char.zfill(cents.astype(str), 2)))
    return text.astype(object)


def _births(ids) -> np.ndarray:
    """The birth date inside each ID as sent (NaT where there is none)."""
    sent = pa.array(np.asarray(ids, dtype=object), pa.string())
    digits = pc.utf8_slice_codeunits(sent, 6, 14)
    ok = pc.and_(pc.equal(pc.utf8_length(sent), 18), pc.match_substring_regex(digits, "^[0-9]{8}$"))
    digits = pc.if_else(pc.fill_null(ok, False), digits, pa.scalar(None, pa.string()))
    days = pc.strptime(digits, format="%Y%m%d", unit="s", error_is_null=True).cast(pa.date32())
    return days.to_numpy(zero_copy_only=False).astype("datetime64[D]")


def _table(columns: list[str], **values) -> dict[str, np.ndarray]:
    """A table as the answer key keeps it: columns in order, text as object arrays (None: empty),
    counts as integers; a string for a whole column."""
    n = max(len(values[c]) for c in columns if not isinstance(values[c], str))
    return {c: np.full(n, values[c], dtype=object) if isinstance(values[c], str) else np.asarray(values[c])
            for c in columns}


def _stack(tables: list[dict], columns: list[str]) -> dict[str, np.ndarray]:
    return {c: np.concatenate([t[c] for t in tables]) if tables else np.empty(0, dtype=object) for c in columns}


def _rows(table: dict) -> int:
    return len(next(iter(table.values()))) if table else 0


def _joined(mask: np.ndarray, alphabetical: bool = False) -> np.ndarray:
    """Bit masks of death sources (bit i: rc.DEATH_FEEDS[i]) as the report joins them: most trusted
    first, or alphabetically; None for no source."""
    table = np.array([None] + [", ".join(sorted(names) if alphabetical else names)
                               for names in ([SOURCE_NAMES[i] for i in range(3) if m >> i & 1]
                                             for m in range(1, 8))], dtype=object)
    return table[mask]


# --- what the other feeds say, as delivered --------------------------------------------------------

class Paid:
    """Accepted `hrss.pension_roll` rows of a run for some people: `accepted[i, j]` is whether the
    store holds a payment to `people[i]` (sorted keys) for month `first + j`; `fen[i]` its amount."""

    def __init__(self, people: np.ndarray, first: np.datetime64, accepted: np.ndarray, fen: np.ndarray):
        self.people, self.first, self.accepted, self.fen = people, first, accepted, fen

    def months(self) -> np.ndarray:
        return (self.first + np.arange(self.accepted.shape[1])).astype("datetime64[D]")

    def frame(self) -> pd.DataFrame:
        i, j = np.nonzero(self.accepted)
        return pd.DataFrame({"person": self.people[i], "month": self.months()[j], "fen": self.fen[i]})


def roll_payments(world, days, seed: int, defect_share: float, monthly: np.ndarray, who: np.ndarray) -> Paid:
    """The run's accepted `hrss.pension_roll` rows for the people `who`.

    A day's delivery is population.pension_roll of that day as hrss.pension_roll writes it: per
    person the paid months of the 12 up to the day's month (all of them while no death is reported,
    then up to the death month, deaths.Calendar.stop_after), for the people aged 60 that day.  The
    rows of anyone whose death the story plans, or born the same day in the same county (whom a
    probable typo may mean), are never defective (audit_cases.spared), so for them the store holds
    what was sent; for anyone else the defect draws of defects.plant are replayed on row numbers.
    tests/jinbao/generator/test_audit_cases.py checks both against the deliveries themselves.
    """
    who = np.unique(np.asarray(who, dtype=np.int64))
    first = months_back(days[0], 12)[0].astype("datetime64[M]")
    width = (np.datetime64(days[-1], "M") - first).astype(int) + 1
    spared = audit_cases.spared(world)
    accepted = np.zeros((len(who), width), dtype=bool)
    mine = spared[who]
    accepted[mine] = _delivered(world, days, who[mine], first, width)
    if (~mine).any():
        accepted[~mine] = _replayed(world, days, seed, defect_share, who[~mine], first, width, spared)
    return Paid(who, first, accepted, np.rint(np.round(monthly[who], 2) * 100).astype(np.int64))


def _counts(world, on: dt.date, who: np.ndarray, report: np.ndarray, last: np.ndarray) -> np.ndarray:
    """Months of the day's roll delivered per person (a prefix of the 12 up to the day's month)."""
    start = months_back(on, 12)[0].astype("datetime64[M]")
    retired = (np.datetime64(on, "D") - world.birth[who]).astype(int) >= audit_cases.PENSION_AGE
    stop = np.where(report <= np.datetime64(on, "D"), last, np.datetime64("NaT", "M"))
    return np.where(np.isnat(stop), 12, np.clip((stop - start).astype(np.int64) + 1, 0, 12)) * retired


def _stops(world, who: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(report day, last month paid once reported) per person, as deaths.Calendar.stop_after has them."""
    cal = world.calendar
    at = np.full(len(world.ids), -1)
    at[cal.person] = np.arange(len(cal.person))
    i = at[who]
    report = np.where(i >= 0, cal.report[np.maximum(i, 0)], np.datetime64("NaT", "D"))
    last = np.where(cal.planted[np.maximum(i, 0)], cal.report[np.maximum(i, 0)], cal.date[np.maximum(i, 0)])
    return report, np.where(i >= 0, last.astype("datetime64[M]"), np.datetime64("NaT", "M"))


def _delivered(world, days, who: np.ndarray, first: np.datetime64, width: int) -> np.ndarray:
    """Months sent on some day of the run, per person: per month of days, the longest prefix."""
    report, last = _stops(world, who)
    out = np.zeros((len(who), width), dtype=bool)
    by_month: dict = {}
    for on in days:
        key = np.datetime64(on, "M")
        by_month[key] = np.maximum(by_month.get(key, 0), _counts(world, on, who, report, last))
    for month, count in by_month.items():
        off = (month - 11 - first).astype(int)
        out[:, off:off + 12] |= np.arange(12) < count[:, None]
    return out


def _replayed(world, days, seed: int, defect_share: float, who: np.ndarray, first: np.datetime64, width: int,
              spared: np.ndarray) -> np.ndarray:
    """Months sent on some day on a line the gate accepted, replaying each day's defect draws: the
    rows are the day's people in population order, each one's months oldest first; the eligible
    ones (hrss.pension_roll) are numbered and defects.plant picks among them."""
    from jinbao.generator import FEEDS

    n = len(world.ids)
    everyone = np.arange(n)
    report, last = _stops(world, everyone)
    plain = ~pc.match_substring(pa.array(world.names, pa.string()), "·").to_numpy(zero_copy_only=False)
    eligible = ~spared & plain
    delivered = np.zeros((len(who), width), dtype=np.int16)
    rejected = np.zeros((len(who), width), dtype=np.int16)
    for on in days:
        count = _counts(world, on, everyone, report, last)
        ce = np.where(eligible, count, 0)
        records, candidates = int(count.sum()), int(ce.sum())
        k = min(candidates, int(round(defect_share * records)))
        rng = np.random.default_rng([seed, FEEDS.index(ROLL) + 1, story.day_number(on)])
        pick = rng.choice(candidates, k, replace=False) if candidates else np.empty(0, dtype=np.int64)
        cum = np.cumsum(ce)
        owner = np.searchsorted(cum, pick, side="right")
        offset = pick - (cum[owner] - ce[owner])
        off = (months_back(on, 12)[0].astype("datetime64[M]") - first).astype(int)
        delivered[:, off:off + 12] += np.arange(12) < count[who][:, None]
        row = np.minimum(np.searchsorted(who, owner), len(who) - 1)
        hit = who[row] == owner
        np.add.at(rejected, (row[hit], off + offset[hit]), 1)
    return delivered > rejected


def contributors(world, days, who: np.ndarray) -> np.ndarray:
    """Per person of `who`: sent in `hrss.contribution` on some day of the run (an employee of working
    age, alive that day); the rows of someone whose death the story plans are never defective, and
    `who` are such people (the register's employer comes from these rows)."""
    work = hrss.employment(world)
    cal, cases = world.calendar, world.calendar.cases
    died = np.full(len(world.ids), np.datetime64("NaT", "D"))
    died[cal.person] = cal.date
    gone = np.full(len(world.ids), np.datetime64("NaT", "D"))
    gone[cases.person] = cases.gone
    out = np.zeros(len(who), dtype=bool)
    for on in days:
        today = np.datetime64(on, "D")
        age = (today - world.birth[who]).astype(int)
        alive = ~(died[who] <= today) & ~(gone[who] <= today)
        out |= work.employed[who] & (age >= 18 * hrss.YEAR) & (age < 60 * hrss.YEAR) & alive
    return out


def living_offers(world, days, seed: int, feeds, who: np.ndarray) -> dict[str, np.ndarray]:
    """The people of `who` that police.identity or assistance sent in the run (person, feed, whether a
    gender was offered: not for a police XB 0/9, the hub's 'not known').  Their records are never
    defective (their death is planned), so the day's draw says it: the first use of the feed's
    stream (police_identity.draw, civil_affairs.draw), then for the police the rare 0/9 codes
    (police_death.police_gender, over the day's rows in ID order)."""
    from jinbao.generator import FEEDS

    n = len(world.ids)
    wanted = np.zeros(n, dtype=bool)
    wanted[who] = True
    out: dict[str, list] = {"person": [], "feed": [], "gender": []}
    for on in days:
        w = world.on_day(on)
        for feed in (IDENTITY, ASSISTANCE):
            if feed not in feeds:
                continue
            rng = np.random.default_rng([seed, FEEDS.index(feed) + 1, story.day_number(on)])
            if feed == IDENTITY:
                drawn = police_identity.draw(rng, w, police_identity.size(n))
                p = np.sort(np.concatenate([drawn, w.cases.appearing(rc.IDENTITY, on).person]), kind="stable")
                odd = rng.random(len(p)) < 0.005                      # police_gender's first draw
                gender = ~odd[np.searchsorted(p, drawn)]
            else:
                drawn = civil_affairs.draw(rng, w, civil_affairs.assistance_size(n))
                gender = np.ones(len(drawn), dtype=bool)
            keep = wanted[drawn]
            out["person"].append(drawn[keep])
            out["feed"].append(np.full(int(keep.sum()), feed, dtype=object))
            out["gender"].append(gender[keep])
    empty = {"person": np.int64, "feed": object, "gender": bool}
    return {k: np.concatenate(v) if v else np.empty(0, dtype=empty[k]) for k, v in out.items()}


# --- one edit away ---------------------------------------------------------------------------------

def namesakes(world, prefixes: np.ndarray) -> np.ndarray:
    """Population rows whose ID starts with one of `prefixes` (14 characters)."""
    ids = pa.array(world.ids, pa.string())
    wanted = pa.array(np.unique(np.asarray(prefixes, dtype=object)).tolist(), pa.string())
    return np.flatnonzero(pc.is_in(pc.utf8_slice_codeunits(ids, 0, 14), value_set=wanted)
                          .to_numpy(zero_copy_only=False))


def near(records: dict, searched: np.ndarray, world, width: int) -> pd.DataFrame:
    """Population people with a searched record's name, gender, division and birth date (the one
    inside the ID as sent), and the edit between the IDs over their first `width` characters: record
    index `r`, person, identical, near (one substitution or one adjacent transposition), difference
    (1-based, the record's character first, as the report words it).

    A pensioner with the record's division and birth date has the ID prefix division + birth date
    (population IDs carry the county the register holds), so the blocks are found by prefix."""
    empty = pd.DataFrame({"r": np.empty(0, np.int64), "person": np.empty(0, np.int64),
                          "identical": np.empty(0, bool), "near": np.empty(0, bool), "difference": []})
    ids = np.asarray(records["id"], dtype=object)
    division, name, gender = (np.asarray(records[k], dtype=object) for k in ("division", "name", "gender"))
    ok = searched & np.not_equal(division, None) & np.not_equal(name, None) & np.not_equal(gender, None) \
        & ~np.isnat(records["birth"])
    r = np.flatnonzero(ok)
    if not len(r):
        return empty
    sent = ids[r].astype(str)
    want = pd.DataFrame({"r": r, "id": sent.astype(object),
                         "prefix": np.char.add(division[r].astype(str), np.strings.slice(sent, 6, 14)).astype(object),
                         "name": name[r], "gender": gender[r]})
    hit = namesakes(world, want["prefix"].to_numpy())
    people = pd.DataFrame({"person": hit, "prefix": np.strings.slice(world.ids[hit].astype(str), 0, 14).astype(object),
                           "name": world.names[hit], "gender": np.where(world.male[hit], "1", "2").astype(object),
                           "known": world.ids[hit]})
    pairs = want.merge(people, on=["prefix", "name", "gender"])
    if pairs.empty:
        return empty
    a = pairs["id"].to_numpy(dtype=object).astype(f"S{width}").view(np.uint8).reshape(-1, width)
    b = pairs["known"].to_numpy(dtype=object).astype(f"S{width}").view(np.uint8).reshape(-1, width)
    diff = a != b
    count = diff.sum(axis=1)
    first = diff.argmax(axis=1)
    rows = np.arange(len(a))
    second = np.minimum(first + 1, width - 1)
    swapped = (count == 2) & diff[rows, second] & (a[rows, first] == b[rows, second]) \
        & (a[rows, second] == b[rows, first])
    pairs["identical"] = count == 0
    pairs["near"] = (count == 1) | swapped
    pairs["difference"] = [f"digits {f + 1}-{f + 2} swapped" if s else f"digit {f + 1}: {chr(x)} -> {chr(y)}"
                           for f, s, x, y in zip(first, swapped, a[rows, first], b[rows, first])]
    pairs = pairs[pairs["identical"] | pairs["near"]]
    return pairs[["r", "person", "identical", "near", "difference"]].reset_index(drop=True)


# --- the answer --------------------------------------------------------------------------------------

def report_months(days: list[dt.date]) -> list[np.datetime64]:
    if not days:
        return []
    first, last = np.datetime64(days[0], "M"), np.datetime64(days[-1], "M")
    return list(np.arange(first, last + 1).astype("datetime64[D]"))


def answer(world, on: dt.date, seed: int, defect_share: float, feeds, monthly: np.ndarray,
           since: dt.date | None = None, tolerance: int = TOLERANCE) -> dict:
    """The expected report of every month of the run: {"days", "months": {YYYY-MM: {kind: frame,
    "rejected": frame, "totals": dict}}, "planted": frame}."""
    days = register_truth.run_days(world, on, since)
    feeds = set(feeds)
    n = len(world.ids)
    run = SimpleNamespace()            # what the store holds after the run, per key (population rows, then
    #                                    the audit cases' IDs: audit_cases.identities)
    run.ids, run.cases = audit_cases.all_ids(world), register_truth._cases_of(world)
    run.world, run.tolerance = world, tolerance
    out = {"days": days, "months": {}, "planted": planted(world, days, feeds)}
    r = register_truth.death_records(world, days, seed, defect_share, feeds)
    if not days or not len(r["person"]):
        return out
    size = len(run.ids)
    # Each source's newest record per person (a later delivery replaces the earlier one).
    o = np.lexsort((r["step"], r["source"], r["person"]))
    last = np.r_[(r["person"][o][1:] != r["person"][o][:-1]) | (r["source"][o][1:] != r["source"][o][:-1]), True]
    rec = {k: v[o][last] for k, v in r.items()}
    rec["withdrawn"] = np.asarray(rec["action"], dtype=str) == rc.WITHDRAWS
    rec["reports"] = ~rec["withdrawn"] & ((rec["source"] != 0) | (np.asarray(rec["reason"], dtype=str) == "1"))
    rec["id"] = run.ids[rec["person"]]
    rec["birth"] = _births(rec["id"])
    rec["date_iso"], rec["day_iso"] = _iso(rec["date"]), _iso(rec["day"])
    run.rec = rec
    bits = np.zeros(size, dtype=np.uint8)
    np.bitwise_or.at(bits, rec["person"][rec["reports"]], (1 << rec["source"][rec["reports"]]).astype(np.uint8))
    run.sources = _joined(bits)
    final, _ = register_truth.life_of(world, days, seed, defect_share, feeds)
    run.status = np.full(size, register_truth.ALIVE, dtype=object)
    run.died = np.full(size, register_truth.NAT)
    run.status[final["person"]] = final["status"]
    run.died[final["person"]] = final["date"]

    # Who the other feeds know, what the roll paid: everyone a death record names is someone whose
    # death (or register case) the story plans, so their records in those feeds are never defective.
    named = np.zeros(size, dtype=bool)
    named[r["person"]] = True
    population = np.flatnonzero(named[:n])
    paid = roll_payments(world, days, seed, defect_share, monthly,
                         population if ROLL in feeds else np.empty(0, np.int64))
    living = living_offers(world, days, seed, feeds, population)
    known = np.zeros(size, dtype=bool)
    known[living["person"]] = True
    known[paid.people[paid.accepted.any(axis=1)]] = True
    if CONTRIBUTION in feeds:
        known[population] |= contributors(world, days, population)
    run.known = known
    run.name, run.gender, run.division = _register(world, r, living, paid, size)
    # The typo search: unknown-ID records, and the police's rejected lines (only the police send a
    # division); the pensioners they may mean need their roll too.
    # A pensioner shares the birth date, so nobody born after the last day's pensioners can be meant.
    born_by = np.datetime64(days[-1], "D") - int(np.ceil(audit_cases.PENSION_AGE))
    run.near_stored = near(rec, ~known[rec["person"]] & (rec["birth"] <= born_by), world, 17)
    rejected = register_truth.rejected_deaths(world, days, seed, defect_share, feeds)
    run.rejected = {k: v[rejected["source"] == 0] for k, v in rejected.items()}
    run.rejected["birth"] = _births(run.rejected["id"])
    run.near_rejected = near(run.rejected, run.rejected["birth"] <= born_by, world, 18)
    more = np.setdiff1d(np.r_[run.near_stored["person"], run.near_rejected["person"]].astype(np.int64), paid.people)
    if len(more) and ROLL in feeds:
        extra = roll_payments(world, days, seed, defect_share, monthly, more)
        order = np.argsort(np.r_[paid.people, extra.people], kind="stable")
        paid = Paid(np.r_[paid.people, extra.people][order], paid.first,
                    np.concatenate([paid.accepted, extra.accepted])[order], np.r_[paid.fen, extra.fen][order])
    run.paid = paid
    for month in report_months(days):
        out["months"][str(month.astype("datetime64[M]"))] = _month(run, month)
    return out


def _register(world, r: dict, living: dict, paid: Paid, size: int) -> tuple[np.ndarray, ...]:
    """Name, gender and division in force per key: the latest value of the most authoritative feed
    that offered one.  The feeds other than the death feeds carry the population's values; a death
    feed's latest record of the person says what it offered."""
    n = len(world.ids)
    on_roll = paid.people[paid.accepted.any(axis=1)]
    pop = {"name": world.names, "gender": np.where(world.male, "1", "2").astype(object), "division": world.county}
    position = np.arange(len(r["person"]))
    out = []
    for field, skip in (("name", None), ("gender", "9"), ("division", None)):
        authority = {f: i for i, f in enumerate(AUTHORITY[field])}
        rank = np.array([authority.get(f, -1) for f in rc.DEATH_FEEDS])[r["source"]]
        value = np.asarray(r[field], dtype=object)
        ok = np.not_equal(value, None) & np.not_equal(value, skip) & (rank >= 0)
        best = np.full(size, len(authority))
        np.minimum.at(best, r["person"][ok], rank[ok])
        others = np.full(size, len(authority))                  # the best of the other feeds, per key
        for who, source in ((living["person"][(living["feed"] == IDENTITY)
                                               & (living["gender"] | (field != "gender"))], IDENTITY),
                            (living["person"][living["feed"] == ASSISTANCE], ASSISTANCE), (on_roll, ROLL)):
            if source in authority:
                others[who] = np.minimum(others[who], authority[source])
        best = np.minimum(best, others)
        latest = np.full(size, -1)                             # the death feeds' latest record at that rank
        top = ok & (rank == best[r["person"]])
        np.maximum.at(latest, r["person"][top], position[top])
        held = np.full(size, None, dtype=object)
        from_death = latest >= 0
        held[from_death] = value[latest[from_death]]
        from_others = ~from_death & (others == best) & (best < len(authority))
        held[:n][from_others[:n]] = pop[field][from_others[:n]]
        out.append(held)
    return tuple(out)


def _month(run: SimpleNamespace, month: np.datetime64) -> dict:
    end = _month_end(month)
    ids, cases, size = run.ids, run.cases, len(run.ids)
    rec, paid = run.rec, run.paid
    out = {}

    # 1. paid after death: months after the death month, up to M.
    months = paid.months()
    died = run.died[paid.people]
    dead = (run.status[paid.people] == register_truth.DECEASED) & (died <= end)
    after = paid.accepted & dead[:, None] & (months <= month)[None, :] \
        & (months[None, :] > died.astype("datetime64[M]").astype("datetime64[D]")[:, None])
    count = after.sum(axis=1)
    i = np.flatnonzero(count)
    who = paid.people[i]
    last = months[after.shape[1] - 1 - after[i, ::-1].argmax(axis=1)] if len(i) else months[:0]
    fen = count[i] * paid.fen[i]
    out["paid_after_death"] = _table(
        COLUMNS["paid_after_death"] + ["case"], aac002=ids[who], name=run.name[who], division=run.division[who],
        death_date=_iso(run.died[who]), sources=run.sources[who], months_paid_after=count[i], overpaid=_yuan(fen),
        last_month_paid=_iso(last), case=cases[who])

    # 2. sources disagree, among the records dated up to the end of M.
    d = rec["date"] <= end
    active = d & rec["reports"]
    day = rec["date"].astype(np.int64)
    lo, hi = np.full(size, np.iinfo(np.int64).max), np.full(size, np.iinfo(np.int64).min)
    np.minimum.at(lo, rec["person"][active], day[active])
    np.maximum.at(hi, rec["person"][active], day[active])
    spread = np.where(hi >= lo, hi - lo, 0)
    at = np.full((3, size), register_truth.NAT)
    at[rec["source"][active], rec["person"][active]] = rec["date"][active]
    still, gone = np.zeros(size, np.uint8), np.zeros(size, np.uint8)
    np.bitwise_or.at(still, rec["person"][active], (1 << rec["source"][active]).astype(np.uint8))
    withdrawn = d & rec["withdrawn"]
    np.bitwise_or.at(gone, rec["person"][withdrawn], (1 << rec["source"][withdrawn]).astype(np.uint8))
    columns = COLUMNS["sources_disagree"] + ["case"]
    out["sources_disagree"] = _stack([_table(
        columns, aac002=ids[p], name=run.name[p], division=run.division[p], kind=kind, police_date=_iso(at[0, p]),
        health_date=_iso(at[1, p]), cremation_date=_iso(at[2, p]), spread_days=spread[p],
        withdrawn_by=_joined(gone[p], alphabetical=True), still_reported_by=_joined(still[p]), case=cases[p])
        for kind, p in (("dates differ", np.flatnonzero(spread > run.tolerance)),
                        ("withdrawn but still reported", np.flatnonzero((gone > 0) & (still > 0))))], columns)

    # 3. not deregistered: health or cremation report it, the police do not, paid in the roll's latest month.
    latest = np.flatnonzero(months <= month).max() if (months <= month).any() else None
    on_roll = np.zeros(size, dtype=bool)
    if latest is not None:
        on_roll[paid.people] = paid.accepted[:, latest]
    p = np.flatnonzero(((still & 0b110) > 0) & ((still & 0b001) == 0) & on_roll)
    first_date = np.where((still[p] & 0b010) > 0, at[1, p], at[2, p])     # health before cremation
    out["not_deregistered"] = _table(
        COLUMNS["not_deregistered"] + ["case"], aac002=ids[p], name=run.name[p], division=run.division[p],
        death_date=_iso(first_date), sources=run.sources[p],
        last_month_paid=_iso(np.full(len(p), months[latest] if latest is not None else register_truth.NAT)),
        case=cases[p])

    # 4. identity mismatch: the records dated up to the end of M.
    s = np.flatnonzero(d)
    p = rec["person"][s]
    unknown = ~run.known[p]
    reg_name, reg_gender = run.name[p], run.gender[p]
    name_differs = ~unknown & np.not_equal(reg_name, None) & (rec["name"][s] != reg_name)
    gender_differs = ~unknown & np.isin(rec["gender"][s], ["1", "2"]) & np.isin(reg_gender, ["1", "2"]) \
        & (rec["gender"][s] != reg_gender)
    columns = COLUMNS["identity_mismatch"] + ["case"]
    out["identity_mismatch"] = _stack([_table(
        columns, aac002=ids[p[mask]], source_feed=SOURCE_NAMES[rec["source"][s[mask]]], kind=kind,
        name_reported=rec["name"][s[mask]], name_registered=run.name[p[mask]],
        gender_reported=rec["gender"][s[mask]], gender_registered=run.gender[p[mask]],
        death_date=rec["date_iso"][s[mask]], business_date=rec["day_iso"][s[mask]], line_no=rec["line"][s[mask]],
        case=cases[p[mask]])
        for kind, mask in (("unknown ID", unknown), ("name differs", name_differs),
                           ("gender differs", gender_differs))], columns)

    # 5. probable typos: unknown-ID records of M, one pensioner (paid for a month up to M) one edit away.
    paid_to = paid.accepted & (months <= month)[None, :]
    ever = paid_to.any(axis=1)
    last_paid = np.full(size, register_truth.NAT)
    last_paid[paid.people[ever]] = months[paid_to.shape[1] - 1 - paid_to[ever, ::-1].argmax(axis=1)]
    pensioner = ~np.isnat(last_paid)
    out["probable_typo"] = _typos(run.near_stored, rec, d & ~run.known[rec["person"]], pensioner, last_paid, run)
    out["rejected"] = _typos(run.near_rejected, run.rejected, run.rejected["date"] <= end, pensioner, last_paid, run)

    out["totals"] = {"people_paid_after_death": int(len(i)), "months_paid_after_death": int(count.sum()),
                     "overpaid": _yuan([int(fen.sum())])[0], "rows": {kind: _rows(out[kind]) for kind in KINDS},
                     "typos_rejected": _rows(out["rejected"])}
    return out


def _typos(pairs: pd.DataFrame, records: dict, eligible: np.ndarray, pensioner: np.ndarray, last_paid: np.ndarray,
           run: SimpleNamespace) -> dict:
    """Records (`eligible`) with exactly one pensioner candidate, and not the pensioner's own ID."""
    columns = COLUMNS["probable_typo"] + (["reasons"] if "reasons" in records else []) + ["case"]
    p = pairs[eligible[pairs["r"].to_numpy()] & pensioner[pairs["person"].to_numpy()]] if len(pairs) else pairs
    alone = p.groupby("r")["person"].transform("size").to_numpy() == 1 if len(p) else np.empty(0, bool)
    p = p[alone & ~p["identical"].to_numpy(bool)]
    t, who = p["r"].to_numpy(np.int64), p["person"].to_numpy(np.int64)
    return _table(
        columns, id_reported=np.asarray(records["id"], dtype=object)[t], aac002=run.world.ids[who],
        difference=p["difference"].to_numpy(), name=np.asarray(records["name"], dtype=object)[t],
        birth_date=_iso(records["birth"][t]), gender=np.asarray(records["gender"], dtype=object)[t],
        division=np.asarray(records["division"], dtype=object)[t], source_feed=SOURCE_NAMES[records["source"][t]],
        death_date=_iso(records["date"][t]), business_date=_iso(records["day"][t]), line_no=records["line"][t],
        last_month_paid=_iso(last_paid[who]), reasons=records["reasons"][t] if "reasons" in records else None,
        case=run.cases[records["person"][t]])


def planted(world, days: list[dt.date], feeds) -> dict:
    """Every audit case record of the run, as sent: case, the person's ID (the pensioner a typo
    means; an invented ID), the ID sent, feed, day, date, name, whether the gate rejects it."""
    audit = world.calendar.audit
    r = audit.records
    if not days:
        return {c: np.empty(0, dtype=object) for c in PLANTED_COLUMNS}
    lo, hi = np.datetime64(days[0], "D"), np.datetime64(days[-1], "D")
    feed = SOURCE_NAMES[r.source]
    sel = np.flatnonzero((r.day >= lo) & (r.day <= hi) & np.isin(feed, list(feeds)))
    c = -1 - r.case[sel]
    sent = audit_cases.sent_ids(world)[c]
    kind = audit.kind[c]
    own = np.where(kind == "unknown_person", sent, world.ids[audit.person[c]])
    table = _table(PLANTED_COLUMNS, case=kind, aac002=own, id_sent=sent, feed=feed[sel],
                   business_date=_iso(r.day[sel]), aac060=_iso(r.date[sel]), aac003=world.names[r.person[sel]],
                   rejected=(kind == "typo_invalid").astype(int))
    order = np.lexsort([table[k].astype(str) for k in ("feed", "case", "business_date")])
    return {k: v[order] for k, v in table.items()}


def write(truth_dir, world, on: dt.date, seed: int, defect_share: float, feeds, monthly: np.ndarray,
          since: dt.date | None = None) -> dict:
    """Write the expected report of the run `since`..`on`; returns the summary's `audit` part."""
    key = answer(world, on, seed, defect_share, feeds, monthly, since)
    truth_dir.mkdir(parents=True, exist_ok=True)

    def rows(kind, columns):
        tables = [{"report_month": np.full(_rows(m[kind]), month, dtype=object), **m[kind]}
                  for month, m in key["months"].items()]
        return _stack(tables, ["report_month"] + columns + ["case"])

    for kind in KINDS:
        _csv(truth_dir / FILES[kind], rows(kind, COLUMNS[kind]))
    _csv(truth_dir / FILES["rejected"], rows("rejected", REJECTED_COLUMNS))
    _csv(truth_dir / FILES["planted"], key["planted"])
    days = key["days"]
    report = {"business_date": on.isoformat(), "since": days[0].isoformat() if days else None,
              "tolerance_days": TOLERANCE, "files": FILES,
              "months": {month: m["totals"] for month, m in key["months"].items()}}
    (truth_dir / FILES["report"]).write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    kinds, counts = np.unique(key["planted"]["case"].astype(str), return_counts=True)
    return {**report, "planted": dict(zip(kinds.tolist(), counts.tolist()))}


def _csv(path, table: dict) -> None:
    """As the deliveries are written (writer.write_csv): UTF-8, header, `\\n`, unquoted unless a value
    needs it; none is empty."""
    write_csv(path, list(table), {c: v if v.dtype == object else v.astype(str).astype(object)
                                  for c, v in table.items()}, "UTF-8")
