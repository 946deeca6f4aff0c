"""The auditors' answer key: the death-mismatch report (issues 13, 22) the hub must give after a run of days.

For a business date D the files describe, for every month of the run (the months of the days from
`since` to D, as register_truth.py; each day's feeds published in `jinbao run all`'s order), the
exact rows of each keyed finding kind and the totals, as `jinbao.audit.deaths.find(conn, M, 3)`
must find them in the store.  They are computed from the deliveries as written, independently of
the report's code: each day's death deliveries are built again with their planted defects, the
accepted records and the rejected lines set apart (register_truth.death_records, shared with the
register's key).  What the other feeds told the hub about the people the death records name follows
from those feeds' draws: no defect is ever planted at random in a living feed's or the roll's record
of someone whose death (or register case) the story plans (audit_cases.spared), so what was sent
about them is what the hub holds, but for the `roll_rejected` rows the plan rejects on purpose; the
roll and the contributions are then known from the plan, police.identity and assistance from the
day's draw (the first use of their streams).  For anyone else the roll's defect draws are replayed
(roll_payments).  tests/jinbao/generator/test_audit_cases.py checks these shortcuts against the
deliveries.

The definitions (docs/audit.md "What the report holds"), for report month M, E its last day:

* a death source's record is the newest it sent for the person; it is *active* when it reports a
  death (not withdrawn, CZBZ 2; the police's only with ZXYY 1) dated on or before E.  A person is
  *dead* when a record is active; the *date in force* is the most trusted active source's (police,
  health, cremation), the earliest and latest dates are over the active sources;
* a payment counts when its month is M or earlier; the *latest roll* is the latest month up to M
  with any payment; a *pensioner* is anyone paid for some month up to M;
* a non-death source *knows* an ID when police.identity, assistance, the roll or the contributions
  sent it (the bureau's enrolment and finance never name a person whose death the story plans).

| kind | rows |
|---|---|
| `stop_payment` | dead and paid for the latest roll month: that month's amount, the person's roll rows rejected (lines of months up to M that no delivery brought in) |
| `paid_after_death` | dead and paid for a month after the earliest active date's month: months and amount after the date in force's month (`overpaid`), amounts after the latest (`overpaid_low`) and the earliest (`overpaid_high`) active date's month |
| `sources_disagree` | active dates more than N days apart; a record dated up to E withdrawn while another is active |
| `not_deregistered` | an active health or cremation record, no active police death, paid for the latest roll month |
| `rejected_death` | a rejected line (any source, any reason) dated up to E whose ID as sent is a pensioner's: the months and amount paid after its month |
| `identity_mismatch` | a stored death record dated up to E whose ID a non-death source holds with another name (or gender, both 1 or 2): that source and its value |
| `probable_typo` | an unplaced stored record or a rejected line, dated up to E, with exactly one pensioner of its name and gender (and birth date, for health's own) whose ID is one substitution or one adjacent transposition away in the first 17 characters, or differs only in the check character; the division agreeing (police) or "not reported" |
| `unplaced` | per ID no non-death source knows, its records dated up to E: the most trusted one's report (death, withdrawn, emigration, duplicate registration, other deregistration), date (ZXRQ for a deregistration) and line, every source naming it |

Where the definitions leave a choice: sources are joined most trusted first with ", " (withdrawn_by
too); a name or division in force is the register's (the latest value of the most authoritative feed
that offered one, schemas/register.yaml); identity mismatch looks at every stored record (withdrawn
and deregistrations too) and names the most authoritative non-death source holding a value
(police.identity, the roll, assistance); a probable typo's name, birth date, gender and division are
the pensioner's; gender must be equal (a 9, "not known", matches nobody); a record's or line's date
must be known (a rejected line whose date did not parse is dated nowhere); a line's reasons are its
`FIELD:REASON`s joined with ";".

Files (in `generated/truth/`, rewritten by every `generate`):

* `expected_report.json` — run, tolerance, and per month the totals (rows of each kind, people and
  amounts paid after death, to the fen);
* `expected_<kind>.csv` — the rows of each kind for every month (`report_month` first, the columns of
  jinbao/audit/findings.py with the delivery's `business_date` for the hub's `batch_id`, IDs in full,
  amounts as exact strings, `case` last: the planted case of the row's person or record, as in
  register_status.csv, or an audit case kind);
* `audit_planted.csv` — every audit case record of the run (audit_cases.py) as sent, the roll rows
  rejected on purpose among them.

`score(report, truth_dir, month, batches)` counts, per kind, a report's rows against these files
(true positives, false positives, false negatives): the planted-report test and a benchmark use it.
"""
from __future__ import annotations

import collections
import csv
import datetime as dt
import json
import re
from decimal import Decimal
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from jinbao.audit.findings import KINDS as SCHEMAS
from jinbao.generator import audit_cases, civil_affairs, hrss, police_identity, register_truth, story
from jinbao.generator import register_cases as rc
from jinbao.generator.names import variant
from jinbao.generator.population import months_back
from jinbao.generator.writer import delivery_name, write_csv
from jinbao.quality.reasons import REASONS

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
#: The keyed kinds, and their columns: jinbao/audit/findings.py's, the delivery's business date for
#: the hub's batch id (the test maps one to the other).
KINDS = ("stop_payment", "paid_after_death", "sources_disagree", "not_deregistered", "rejected_death",
         "identity_mismatch", "probable_typo", "unplaced")
COLUMNS = {
    "stop_payment": ["aac002", "name", "division", "death_date", "earliest_date", "sources", "monthly_amount",
                     "last_month_paid", "roll_rows_rejected"],
    "paid_after_death": ["aac002", "name", "division", "death_date", "earliest_date", "latest_date", "sources",
                         "months_paid_after", "overpaid", "overpaid_low", "overpaid_high", "last_month_paid",
                         "roll_rows_rejected"],
    "sources_disagree": ["aac002", "name", "division", "kind", "police_date", "health_date", "cremation_date",
                         "spread_days", "withdrawn_by", "still_reported_by"],
    "not_deregistered": ["aac002", "name", "division", "death_date", "sources", "last_month_paid"],
    "rejected_death": ["aac002", "name", "division", "name_reported", "source_feed", "death_date", "reasons",
                       "file_name", "line_no", "business_date", "months_at_risk", "amount_at_risk",
                       "last_month_paid"],
    "identity_mismatch": ["aac002", "source_feed", "kind", "name_reported", "name_registered", "gender_reported",
                          "gender_registered", "registered_by", "death_date", "file_name", "line_no",
                          "business_date"],
    "probable_typo": ["id_reported", "aac002", "difference", "name", "birth_date", "gender", "division",
                      "division_agrees", "source_feed", "death_date", "file_name", "line_no", "business_date",
                      "last_month_paid"],
    "unplaced": ["aac002", "name", "reported", "date", "sources", "file_name", "line_no", "business_date"],
}
#: The hub's column a key column stands for.
STANDS_FOR = {"business_date": "batch_id"}
#: Amount columns (exact yuan) per kind, summed in the totals.
AMOUNTS = {"stop_payment": ("monthly_amount",), "paid_after_death": ("overpaid", "overpaid_low", "overpaid_high"),
           "rejected_death": ("amount_at_risk",)}
FILES = {**{kind: f"expected_{kind}.csv" for kind in KINDS}, "report": "expected_report.json",
         "planted": "audit_planted.csv"}
PLANTED_COLUMNS = ["case", "aac002", "id_sent", "feed", "business_date", "date", "name", "reason"]
TOLERANCE = audit_cases.TOLERANCE
SOURCE_NAMES = np.array(rc.DEATH_FEEDS, dtype=object)
#: What a record reports, as the unplaced table words it (police ZXYY; a withdrawal whatever it was).
REPORTED = {"1": "death", "2": "emigration", "3": "duplicate registration", "9": "other deregistration"}
WITHDRAWN = "withdrawn"
#: A probable typo's division evidence: only the police send a household division.
AGREES = {True: "yes", False: "no", None: "not reported"}
#: Where the rows of each planted case (audit_cases.KINDS, some register cases and the late reports)
#: show, at least once in any run of a few days inside a story (November and December reports of
#: 2026-11-29..2026-12-02 in the tests): the definitions put them there.
FOUND_IN = {
    "stopped_on_time": ("stop_payment",), "dates_differ": ("sources_disagree",),
    "not_deregistered": ("not_deregistered",), "typo_valid": ("unplaced", "probable_typo"),
    "typo_invalid": ("probable_typo",), "police_later": ("paid_after_death", "sources_disagree"),
    "police_earlier": ("sources_disagree",), "certificate_rejected": ("rejected_death",),
    "roll_rejected": ("paid_after_death",), "unknown_person": ("unplaced",),
    "name_health": ("identity_mismatch",), "name_cremation": ("identity_mismatch",),
    "duplicate": ("unplaced",), "deregistered": ("unplaced",), "paid_after_death": ("paid_after_death", "stop_payment"),
    "withdrawn_police_health_remains": ("sources_disagree",), "withdrawn_health_police_remains": ("sources_disagree",),
}
#: The first 17 characters cut into three: a substitution or an adjacent transposition leaves one whole.
SEGMENTS = ((0, 6), (6, 12), (12, 17))


def schema_columns(kind: str) -> list[str]:
    """findings.py's columns of a kind as the key names them (tests check COLUMNS against it)."""
    back = {v: k for k, v in STANDS_FOR.items()}
    return [back.get(name, name) for name in SCHEMAS[kind].names]


def _month_end(month: np.datetime64) -> np.datetime64:
    return (month.astype("datetime64[M]") + 1).astype("datetime64[D]") - 1


def _iso(values) -> np.ndarray:
    """datetime64 values (NaT: None) as ISO dates, object array (each distinct day formatted once)."""
    d = np.asarray(values, dtype="datetime64[D]")
    ok = ~np.isnat(d)
    out = np.full(len(d), None, dtype=object)
    if ok.any():
        lo = d[ok].min()
        offset = (d[ok] - lo).astype(np.int64)
        out[ok] = (lo + np.arange(offset.max() + 1)).astype(str).astype(object)[offset]
    return out


def _yuan(fen) -> np.ndarray:
    """Whole fen as exact yuan strings ('9001.50'), object array (Arrow's string kernels: no per-row Python)."""
    fen = np.asarray(fen, dtype=np.int64)
    if not len(fen):
        return np.empty(0, dtype=object)
    whole = pa.array(np.abs(fen) // 100).cast(pa.string())
    cents = pc.utf8_lpad(pa.array(np.abs(fen) % 100).cast(pa.string()), 2, "0")
    sign = pa.array(np.where(fen < 0, "-", ""))
    text = pc.binary_join_element_wise(pc.binary_join_element_wise(sign, whole, ""), cents, ".")
    return text.to_numpy(zero_copy_only=False).astype(object)


def _table(columns: list[str], **values) -> dict[str, np.ndarray]:
    """A table as the answer key keeps it: columns in order, text as object arrays (None: empty),
    counts as integers; a string for a whole column."""
    n = max(len(values[c]) for c in columns if not isinstance(values[c], str))
    return {c: np.full(n, values[c], dtype=object) if isinstance(values[c], str) else np.asarray(values[c])
            for c in columns}


def _stack(tables: list[dict], columns: list[str]) -> dict[str, np.ndarray]:
    return {c: np.concatenate([np.asarray(t[c], dtype=object) for t in tables]) if tables
            else np.empty(0, dtype=object) for c in columns}


def _rows(table: dict) -> int:
    return len(next(iter(table.values()))) if table else 0


def _joined(mask: np.ndarray) -> np.ndarray:
    """Bit masks of death sources (bit i: rc.DEATH_FEEDS[i]) as the report joins them, most trusted
    first; None for no source."""
    table = np.array([None] + [", ".join(SOURCE_NAMES[i] for i in range(3) if m >> i & 1) for m in range(1, 8)],
                     dtype=object)
    return table[np.asarray(mask, dtype=np.int64)]


def _files(source: np.ndarray, day: np.ndarray) -> np.ndarray:
    """The delivery a record came in (writer.delivery_name), per (source, business date)."""
    source, day = np.asarray(source, dtype=np.int64), np.asarray(day, dtype="datetime64[D]")
    pair, inverse = np.unique(day.astype(np.int64) * 4 + source, return_inverse=True)
    names = np.array([delivery_name(rc.DEATH_FEEDS[p % 4], np.datetime64(p // 4, "D").astype(object))
                      for p in pair.tolist()], dtype=object)
    return names[inverse.ravel()] if len(pair) else np.empty(0, dtype=object)


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

    def merged(self, other: "Paid") -> "Paid":
        people = np.r_[self.people, other.people]
        order = np.argsort(people, kind="stable")
        return Paid(people[order], self.first, np.concatenate([self.accepted, other.accepted])[order],
                    np.r_[self.fen, other.fen][order])


def roll_payments(world, days, seed: int, defect_share: float, monthly: np.ndarray, who: np.ndarray) -> Paid:
    """The run's accepted `hrss.pension_roll` rows for the people `who`.

    A day's delivery is population.pension_roll of that day as hrss.pension_roll writes it: per
    person the paid months of the 12 up to the day's month (all of them while no death is reported,
    then up to the death month, deaths.Calendar.stop_after), for the people aged 60 that day.  The
    rows of anyone whose death the story plans, or born the same day in the same county, are never
    defective at random (audit_cases.spared), so for them the store holds what was sent, but the
    business month's row of a `roll_rejected` case from its anchor on (audit_cases.roll_defects);
    for anyone else the defect draws of defects.plant are replayed on row numbers.
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


def rejected_roll_rows(world, days) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(person, month, business date) of every roll row of the run the gate rejects on purpose
    (`roll_rejected`: the business month's row of each day from the case's anchor on), one per line."""
    people, months, on_day = [np.empty(0, np.int64)], [np.empty(0, "datetime64[D]")], [np.empty(0, "datetime64[D]")]
    for on in days:
        who = world.calendar.audit.roll_rejected_on(on)
        report, last = _stops(world, who)
        who = who[_counts(world, on, who, report, last) == 12]     # paid for the business month that day
        people.append(who)
        months.append(np.full(len(who), months_back(on, 1)[0], dtype="datetime64[D]"))
        on_day.append(np.full(len(who), np.datetime64(on, "D")))
    return np.concatenate(people), np.concatenate(months), np.concatenate(on_day)


def _counts(world, on: dt.date, who: np.ndarray, report: np.ndarray, last: np.ndarray) -> np.ndarray:
    """Months of the day's roll delivered per person (a prefix of the 12 up to the day's month)."""
    start = months_back(on, 12)[0].astype("datetime64[M]")
    retired = (np.datetime64(on, "D") - world.birth[who]).astype(int) >= audit_cases.PENSION_AGE
    stop = np.where(report <= np.datetime64(on, "D"), last, np.datetime64("NaT", "M"))
    return np.where(np.isnat(stop), 12, np.clip((stop - start).astype(np.int64) + 1, 0, 12)) * retired


def _stops(world, who: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(report day, last month paid once reported) per person, as deaths.Calendar.stop_after has them."""
    cal = world.calendar
    if "calendar_at" not in world.memo:       # each person's place in the calendar (-1: none)
        at = np.full(len(world.ids), -1)
        at[cal.person] = np.arange(len(cal.person))
        world.memo["calendar_at"] = at
    i = world.memo["calendar_at"][who]
    report = np.where(i >= 0, cal.report[np.maximum(i, 0)], np.datetime64("NaT", "D"))
    last = np.where(cal.planted[np.maximum(i, 0)], cal.report[np.maximum(i, 0)], cal.date[np.maximum(i, 0)])
    return report, np.where(i >= 0, last.astype("datetime64[M]"), np.datetime64("NaT", "M"))


def _delivered(world, days, who: np.ndarray, first: np.datetime64, width: int) -> np.ndarray:
    """Months sent on some day of the run on a line the gate accepts, per person: each day's prefix
    of its 12 months, but a `roll_rejected` case's business month from its anchor on."""
    report, last = _stops(world, who)
    out = np.zeros((len(who), width), dtype=bool)
    by_month: dict = {}                       # per month of days, the longest prefix
    for on in days:
        key = np.datetime64(on, "M")
        by_month[key] = np.maximum(by_month.get(key, 0), _counts(world, on, who, report, last))
    for month, count in by_month.items():
        off = (month - 11 - first).astype(int)
        out[:, off:off + 12] |= np.arange(12) < count[:, None]
    # The few roll_rejected people again, day by day: their business month's row was rejected.
    audit = world.calendar.audit
    rows = np.flatnonzero(np.isin(who, audit.person[audit.kind == "roll_rejected"]))
    if len(rows):
        out[rows] = False
        for on in days:
            sent = np.arange(12) < _counts(world, on, who[rows], report[rows], last[rows])[:, None]
            sent[np.isin(who[rows], audit.roll_rejected_on(on)), 11] = False
            off = (np.datetime64(on, "M") - 11 - first).astype(int)
            out[rows, off:off + 12] |= sent
    return out


def _replayed(world, days, seed: int, defect_share: float, who: np.ndarray, first: np.datetime64, width: int,
              spared: np.ndarray) -> np.ndarray:
    """Months sent on some day on a line the gate accepted, replaying each day's defect draws: the
    rows are the day's people in population order, each one's months oldest first; the eligible
    ones (hrss.pension_roll) are numbered and defects.plant picks among them, as many as the share
    less the day's `roll_rejected` rows."""
    from jinbao.generator import FEEDS  # cycle: jinbao/generator/__init__.py imports this module

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
        planned = int((count[world.calendar.audit.roll_rejected_on(on)] == 12).sum())
        k = max(0, min(candidates, int(round(defect_share * records)) - planned))
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
    from jinbao.generator import FEEDS  # cycle: jinbao/generator/__init__.py imports this module

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

def near(records: dict, searched: np.ndarray, world, pool: np.ndarray) -> pd.DataFrame:
    """Pairs of a searched record and a person of `pool` (population rows) with the record's name and
    gender (and birth date, where the record carries its own: health) whose IDs are one edit apart:
    one substitution or one adjacent transposition in the first 17 characters (the 18th whatever
    it is), or the same 17 and another check character.  Columns: record index `r`, `person`,
    `difference` (1-based, the record's character first, as the report words it).

    One edit leaves at least one of three segments of the 17 characters whole, so the pairs are
    found by three joins on (name, gender, segment), each on one integer key, never by comparing
    every record with every pensioner."""
    empty = pd.DataFrame({"r": np.empty(0, np.int64), "person": np.empty(0, np.int64), "difference": []})
    ids = np.asarray(records["id"], dtype=object)
    name, gender = (np.asarray(records[k], dtype=object) for k in ("name", "gender"))
    sent = pa.array(ids, pa.string())
    digits = pc.match_substring_regex(sent, "^[0-9]{17}[0-9Xx]$")
    ok = searched & np.not_equal(name, None) & ((gender == "1") | (gender == "2")) \
        & pc.fill_null(digits, False).to_numpy(zero_copy_only=False)
    r = np.flatnonzero(ok)
    if not len(r) or not len(pool):
        return empty
    a_ids = ids[r].astype("S18").view(np.uint8).reshape(-1, 18)
    b_ids = world.ids[pool].astype("S18").view(np.uint8).reshape(-1, 18)
    codes, _ = pd.factorize(np.concatenate([name[r], world.names[pool]]))
    a_who = codes[:len(r)].astype(np.int64) * 2 + (gender[r] == "1")
    b_who = codes[len(r):].astype(np.int64) * 2 + world.male[pool]
    found = []
    for lo, hi in SEGMENTS:
        powers = 10 ** np.arange(hi - lo - 1, -1, -1, dtype=np.int64)
        a_key = a_who * 10 ** (hi - lo) + (a_ids[:, lo:hi].astype(np.int64) - 48) @ powers
        b_key = b_who * 10 ** (hi - lo) + (b_ids[:, lo:hi].astype(np.int64) - 48) @ powers
        pairs = pd.DataFrame({"k": a_key, "i": np.arange(len(r))}).merge(
            pd.DataFrame({"k": b_key, "j": np.arange(len(pool))}), on="k")
        found.append(pairs["i"].to_numpy(np.int64) * len(pool) + pairs["j"].to_numpy(np.int64))
    both = np.unique(np.concatenate(found))
    i, j = both // len(pool), both % len(pool)
    own = np.asarray(records["birth"], dtype="datetime64[D]")[r[i]]
    health = np.asarray(records["source"])[r[i]] == rc.HEALTH
    keep = ~health | (own == world.birth[pool[j]])
    i, j = i[keep], j[keep]
    a, b = a_ids[i], b_ids[j]
    diff = a[:, :17] != b[:, :17]
    count = diff.sum(axis=1)
    first = diff.argmax(axis=1)
    rows = np.arange(len(a))
    second = np.minimum(first + 1, 16)
    swapped = (count == 2) & diff[rows, second] & (a[rows, first] == b[rows, second]) \
        & (a[rows, second] == b[rows, first])
    check = (count == 0) & (a[:, 17] != b[:, 17])
    near_ = (count == 1) | swapped | check
    at = np.where(check, 17, first)[near_]
    x, y, s = a[near_, at] if len(at) else a[:0, 0], b[near_, at] if len(at) else b[:0, 0], swapped[near_]
    difference = [f"digits {f + 1}-{f + 2} swapped" if w else f"digit {f + 1}: {chr(u)} -> {chr(v)}"
                  for f, w, u, v in zip(at, s, x, y)]
    return pd.DataFrame({"r": r[i[near_]], "person": pool[j[near_]], "difference": difference})


# --- the answer --------------------------------------------------------------------------------------

def report_months(days: list[dt.date]) -> list[np.datetime64]:
    if not days:
        return []
    first, last = np.datetime64(days[0], "M"), np.datetime64(days[-1], "M")
    return list(np.arange(first, last + 1).astype("datetime64[D]"))


def _index_of(world, ids: np.ndarray) -> np.ndarray:
    """Population row of each ID (exactly as sent), -1 where nobody has it."""
    at = pc.index_in(pa.array(np.asarray(ids, dtype=object), pa.string()),
                     value_set=pa.array(world.ids, pa.string()))
    return pc.fill_null(at, -1).to_numpy(zero_copy_only=False).astype(np.int64)


def answer(world, on: dt.date, seed: int, defect_share: float, feeds, monthly: np.ndarray,
           since: dt.date | None = None, tolerance: int = TOLERANCE) -> dict:
    """The expected report of every month of the run: {"days", "months": {YYYY-MM: {kind: table,
    "totals": dict}}, "planted": table}."""
    days = register_truth.run_days(world, on, since)
    feeds = set(feeds)
    n = len(world.ids)
    run = SimpleNamespace()            # what the store holds after the run, per key (population rows, then
    #                                    the audit cases' IDs: audit_cases.identities)
    run.ids, run.cases = audit_cases.all_ids(world), register_truth._cases_of(world)
    run.world, run.tolerance = world, tolerance
    out = {"days": days, "months": {}, "planted": planted(world, days, feeds)}
    if not days:
        return out
    r = register_truth.death_records(world, days, seed, defect_share, feeds)
    size = len(run.ids)
    # Each source's newest record per person (a later delivery replaces the earlier one).
    o = np.lexsort((r["step"], r["source"], r["person"]))
    last = np.r_[(r["person"][o][1:] != r["person"][o][:-1]) | (r["source"][o][1:] != r["source"][o][:-1]),
                 np.ones(min(len(o), 1), dtype=bool)]            # no death record (no death feed generated): none
    rec = {k: v[o][last] for k, v in r.items()}
    rec["withdrawn"] = np.asarray(rec["action"], dtype=str) == rc.WITHDRAWS
    rec["death"] = ~rec["withdrawn"] & ((rec["source"] != rc.POLICE) | (np.asarray(rec["reason"], dtype=str) == "1"))
    rec["id"] = run.ids[rec["person"]]
    rec["file"] = _files(rec["source"], rec["day"])
    run.rec = rec
    bad = register_truth.rejected_deaths(world, days, seed, defect_share, feeds)
    bad = {**bad, "file": _files(bad["source"], bad["day"]), "own": _index_of(world, bad["id"])}
    run.bad = bad

    # Who the other feeds know, what the roll paid: everyone a death record names is someone whose
    # death (or register case) the story plans, so their records in those feeds are never defective.
    named = np.zeros(size, dtype=bool)
    named[rec["person"]] = True
    population = np.flatnonzero(named[:n])
    roll = ROLL in feeds
    who = np.union1d(population, bad["own"][bad["own"] >= 0])
    paid = roll_payments(world, days, seed, defect_share, monthly, who if roll else np.empty(0, np.int64))
    living = living_offers(world, days, seed, feeds, population)
    known = np.zeros(size, dtype=bool)
    known[living["person"]] = True
    known[paid.people[paid.accepted.any(axis=1)]] = True
    if CONTRIBUTION in feeds:
        known[population] |= contributors(world, days, population)
    run.known = known
    # The typo search: unplaced stored records and rejected lines, against everyone who is 60 by the
    # last day (nobody younger is ever on the roll); the pensioners among the pairs need their roll.
    born_by = np.datetime64(days[-1], "D") - int(np.ceil(audit_cases.PENSION_AGE))
    pool = np.flatnonzero(world.birth <= born_by) if roll else np.empty(0, np.int64)
    run.near_stored = near(rec, ~known[rec["person"]], world, pool)
    run.near_rejected = near(bad, np.ones(len(bad["id"]), dtype=bool), world, pool)
    more = np.setdiff1d(np.r_[run.near_stored["person"], run.near_rejected["person"]].astype(np.int64), paid.people)
    if len(more) and roll:
        paid = paid.merged(roll_payments(world, days, seed, defect_share, monthly, more))
    run.paid = paid
    run.name, run.gender, run.division = _register(world, r, living, paid, size)
    run.holder = _holders(world, living, paid, size)
    person, month, _ = rejected_roll_rows(world, days) if roll else (np.empty(0, np.int64),) * 3
    run.roll_rejected = (person, np.asarray(month, dtype="datetime64[D]"))
    for month in report_months(days):
        out["months"][str(month.astype("datetime64[M]"))] = _month(run, month)
    return out


def _register(world, r: dict, living: dict, paid: Paid, size: int) -> tuple[np.ndarray, ...]:
    """Name, gender and division in force per key: the latest value of the most authoritative feed
    that offered one.  The feeds other than the death feeds carry the population's values; a death
    feed's latest record of the person says what it offered (a gender 9 is no offer)."""
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


def _holders(world, living: dict, paid: Paid, size: int) -> dict[str, np.ndarray]:
    """Per key and field (name, gender): the most authoritative feed other than the death feeds that
    told the hub a value (police.identity, the roll, assistance; a police XB 0/9 is no gender), None
    where none did.  Those feeds carry the population's values for everyone a death record names."""
    out = {}
    on_roll = paid.people[paid.accepted.any(axis=1)]
    for field in ("name", "gender"):
        holder = np.full(size, None, dtype=object)
        ident = living["person"][(living["feed"] == IDENTITY) & (living["gender"] | (field != "gender"))]
        for who, source in sorted(((ident, IDENTITY), (living["person"][living["feed"] == ASSISTANCE], ASSISTANCE),
                                   (on_roll, ROLL)), key=lambda x: -AUTHORITY[field].index(x[1])):
            holder[who] = source                      # least authoritative first, the best written last
        out[field] = holder
    return out


def _month(run: SimpleNamespace, month: np.datetime64) -> dict:
    world, ids, cases, size, n = run.world, run.ids, run.cases, len(run.ids), len(run.world.ids)
    end = _month_end(month)
    rec, paid, bad = run.rec, run.paid, run.bad
    out = {}

    # Payments up to M, per key of `paid`.
    months = paid.months()
    upto = paid.accepted & (months <= month)[None, :]
    ever = upto.any(axis=1)
    last_paid = np.full(size, register_truth.NAT)
    last_paid[paid.people[ever]] = months[upto.shape[1] - 1 - upto[ever, ::-1].argmax(axis=1)]
    pensioner = ~np.isnat(last_paid)
    latest = np.flatnonzero(months <= month).max() if (months <= month).any() else None
    on_latest = np.zeros(size, dtype=bool)
    if latest is not None:
        on_latest[paid.people] = paid.accepted[:, latest]
    latest_month = months[latest] if latest is not None else register_truth.NAT
    row = np.full(size, -1)
    row[paid.people] = np.arange(len(paid.people))
    fen = np.zeros(size, dtype=np.int64)
    fen[paid.people] = paid.fen
    # The person's roll rows the gate rejected, of months up to M that no other delivery brought in.
    rejected_rows = np.zeros(size, dtype=np.int64)
    person, when = run.roll_rejected
    i, j = row[person], (when.astype("datetime64[M]") - paid.first).astype(np.int64)
    lost = (when <= month) & (i >= 0)
    lost[lost] = ~paid.accepted[i[lost], j[lost]]
    np.add.at(rejected_rows, person[lost], 1)

    def paid_after(keys: np.ndarray, date: np.ndarray) -> np.ndarray:
        """Months paid (up to M) after the month of `date`, per key."""
        i = row[keys]
        got = np.zeros(len(keys), dtype=np.int64)
        has = (i >= 0) & ~np.isnat(date)
        if has.any():
            cut = np.asarray(date, dtype="datetime64[D]")[has].astype("datetime64[M]").astype("datetime64[D]")
            got[has] = (upto[i[has]] & (months[None, :] > cut[:, None])).sum(axis=1)
        return got

    # Each key's active records, dated up to the end of M.
    dated = rec["date"] <= end
    active = dated & rec["death"]
    p_act, s_act = rec["person"][active], rec["source"][active]
    bits = np.zeros(size, np.uint8)
    np.bitwise_or.at(bits, p_act, (1 << s_act).astype(np.uint8))
    at = np.full((3, size), register_truth.NAT)
    at[s_act, p_act] = rec["date"][active]
    dead = bits > 0
    force = np.select([bits & 1 > 0, bits & 2 > 0, bits & 4 > 0], [at[0], at[1], at[2]], register_truth.NAT)
    earliest = np.where(np.isnat(at), np.datetime64("2999-12-31"), at).min(axis=0)
    latest_date = np.where(np.isnat(at), np.datetime64("1000-01-01"), at).max(axis=0)
    earliest[~dead], latest_date[~dead] = register_truth.NAT, register_truth.NAT

    # 1. stop payment: dead and paid for the latest roll month.
    p = np.flatnonzero(dead & on_latest)
    out["stop_payment"] = _table(
        COLUMNS["stop_payment"] + ["case"], aac002=ids[p], name=run.name[p], division=run.division[p],
        death_date=_iso(force[p]), earliest_date=_iso(earliest[p]), sources=_joined(bits[p]),
        monthly_amount=_yuan(fen[p]), last_month_paid=_iso(last_paid[p]), roll_rows_rejected=rejected_rows[p],
        case=cases[p])

    # 2. paid after death: paid for a month after the earliest active date's month.
    cand = np.flatnonzero(dead)
    high = paid_after(cand, earliest[cand])
    p, high = cand[high > 0], high[high > 0]
    months_force, low = paid_after(p, force[p]), paid_after(p, latest_date[p])
    out["paid_after_death"] = _table(
        COLUMNS["paid_after_death"] + ["case"], aac002=ids[p], name=run.name[p], division=run.division[p],
        death_date=_iso(force[p]), earliest_date=_iso(earliest[p]), latest_date=_iso(latest_date[p]),
        sources=_joined(bits[p]), months_paid_after=months_force, overpaid=_yuan(months_force * fen[p]),
        overpaid_low=_yuan(low * fen[p]), overpaid_high=_yuan(high * fen[p]), last_month_paid=_iso(last_paid[p]),
        roll_rows_rejected=rejected_rows[p], case=cases[p])

    # 3. sources disagree: active dates more than N days apart, or withdrawn while another is active.
    spread = np.where(dead, (latest_date - earliest).astype(np.int64), 0)
    gone = np.zeros(size, np.uint8)
    withdrawn = dated & rec["withdrawn"]
    np.bitwise_or.at(gone, rec["person"][withdrawn], (1 << rec["source"][withdrawn]).astype(np.uint8))
    columns = COLUMNS["sources_disagree"] + ["case"]
    out["sources_disagree"] = _stack([_table(
        columns, aac002=ids[p], name=run.name[p], division=run.division[p], kind=kind, police_date=_iso(at[0, p]),
        health_date=_iso(at[1, p]), cremation_date=_iso(at[2, p]), spread_days=spread[p],
        withdrawn_by=_joined(gone[p]), still_reported_by=_joined(bits[p]), case=cases[p])
        for kind, p in (("dates differ", np.flatnonzero(spread > run.tolerance)),
                        ("withdrawn but still reported", np.flatnonzero((gone > 0) & dead)))], columns)

    # 4. not deregistered: health or cremation active, the police not, paid for the latest roll month.
    p = np.flatnonzero((bits & 0b110 > 0) & (bits & 0b001 == 0) & on_latest)
    out["not_deregistered"] = _table(
        COLUMNS["not_deregistered"] + ["case"], aac002=ids[p], name=run.name[p], division=run.division[p],
        death_date=_iso(force[p]), sources=_joined(bits[p]), last_month_paid=_iso(np.full(len(p), latest_month)),
        case=cases[p])

    # 5. rejected death records of pensioners: lines dated up to E whose ID as sent is a pensioner's.
    own = bad["own"]
    t = np.flatnonzero((bad["date"] <= end) & (own >= 0))
    t = t[pensioner[own[t]]]
    p = own[t]
    risk = paid_after(p, bad["date"][t])
    out["rejected_death"] = _table(
        COLUMNS["rejected_death"] + ["case"], aac002=ids[p], name=run.name[p], division=run.division[p],
        name_reported=np.where(bad["name"][t] == "", None, bad["name"][t]), source_feed=SOURCE_NAMES[bad["source"][t]],
        death_date=_iso(bad["date"][t]), reasons=bad["reasons"][t], file_name=bad["file"][t], line_no=bad["line"][t],
        business_date=_iso(bad["day"][t]), months_at_risk=risk, amount_at_risk=_yuan(risk * fen[p]),
        last_month_paid=_iso(last_paid[p]), case=cases[bad["person"][t]])

    # 6. identity mismatch: stored records dated up to E whose ID a non-death source holds otherwise.
    s = np.flatnonzero(dated & (rec["person"] < n))
    p = rec["person"][s]
    held_name, held_gender = world.names[p], np.where(world.male[p], "1", "2").astype(object)
    name_by, gender_by = run.holder["name"][p], run.holder["gender"][p]
    said_name, said_gender = rec["name"][s], rec["gender"][s]
    name_differs = np.not_equal(name_by, None) & np.not_equal(said_name, None) & (said_name != held_name)
    gender_differs = np.not_equal(gender_by, None) & np.isin(said_gender, ["1", "2"]) & (said_gender != held_gender)
    columns = COLUMNS["identity_mismatch"] + ["case"]
    out["identity_mismatch"] = _stack([_table(
        columns, aac002=ids[p[m]], source_feed=SOURCE_NAMES[rec["source"][s[m]]], kind=kind,
        name_reported=said_name[m], name_registered=np.where(np.equal(name_by[m], None), None, held_name[m]),
        gender_reported=said_gender[m], gender_registered=np.where(np.equal(gender_by[m], None), None, held_gender[m]),
        registered_by=by[m], death_date=_iso(rec["date"][s[m]]), file_name=rec["file"][s[m]],
        line_no=rec["line"][s[m]], business_date=_iso(rec["day"][s[m]]), case=cases[p[m]])
        for kind, m, by in (("name differs", name_differs, name_by), ("gender differs", gender_differs, gender_by))],
        columns)

    # 7. probable typos: unplaced stored records and rejected lines of M, exactly one pensioner one edit away.
    out["probable_typo"] = _stack([
        _typos(run.near_stored, rec, dated & ~run.known[rec["person"]], pensioner, last_paid, run),
        _typos(run.near_rejected, bad, bad["date"] <= end, pensioner, last_paid, run)],
        COLUMNS["probable_typo"] + ["case"])

    # 8. unplaced: per ID no non-death source knows, its records dated up to E.
    s = np.flatnonzero(dated & ~run.known[rec["person"]])
    s = s[np.lexsort((rec["source"][s], rec["person"][s]))]
    every = np.zeros(size, np.uint8)
    np.bitwise_or.at(every, rec["person"][s], (1 << rec["source"][s]).astype(np.uint8))
    top = s[np.r_[True, rec["person"][s][1:] != rec["person"][s][:-1]]] if len(s) else s     # the most trusted
    p = rec["person"][top]
    reason = np.asarray(rec["reason"][top], dtype=object)
    dereg = (rec["source"][top] == rc.POLICE) & (reason != "1")
    reported = np.where(rec["withdrawn"][top], WITHDRAWN,
                        np.array([REPORTED.get(x, REPORTED["9"]) for x in reason], dtype=object))
    out["unplaced"] = _table(
        COLUMNS["unplaced"] + ["case"], aac002=ids[p], name=rec["name"][top], reported=reported.astype(object),
        date=_iso(np.where(dereg, rec["dereg"][top], rec["date"][top])), sources=_joined(every[p]),
        file_name=rec["file"][top], line_no=rec["line"][top], business_date=_iso(rec["day"][top]), case=cases[p])

    out["totals"] = {"rows": {kind: _rows(out[kind]) for kind in KINDS},
                     "people_paid_after_death": _rows(out["paid_after_death"]),
                     "months_paid_after_death": int(np.sum(out["paid_after_death"]["months_paid_after"], dtype=np.int64)),
                     **{f"{kind}.{column}": _total(out[kind][column])
                        for kind, columns_ in AMOUNTS.items() for column in columns_}}
    return out


def _total(values: np.ndarray) -> str:
    """The exact sum of yuan strings, through whole fen."""
    if not len(values):
        return "0.00"
    fen = pc.cast(pc.multiply(pc.cast(pa.array(values.astype(str)), pa.decimal128(16, 2)),
                              pa.scalar(Decimal(100), pa.decimal128(5, 0))), pa.int64())
    return _yuan([pc.sum(fen).as_py()])[0]


def _typos(pairs: pd.DataFrame, records: dict, eligible: np.ndarray, pensioner: np.ndarray, last_paid: np.ndarray,
           run: SimpleNamespace) -> dict:
    """Records (`eligible`) with exactly one pensioner candidate."""
    columns = COLUMNS["probable_typo"] + ["case"]
    p = pairs[eligible[pairs["r"].to_numpy()] & pensioner[pairs["person"].to_numpy()]] if len(pairs) else pairs
    alone = p.groupby("r")["person"].transform("size").to_numpy() == 1 if len(p) else np.empty(0, bool)
    p = p[alone]
    t, who = p["r"].to_numpy(np.int64), p["person"].to_numpy(np.int64)
    world = run.world
    division = np.asarray(records["division"], dtype=object)[t]
    agrees = np.array([AGREES[None if d is None else bool(d == h)] for d, h in zip(division, run.division[who])],
                      dtype=object)
    return _table(
        columns, id_reported=np.asarray(records["id"], dtype=object)[t], aac002=world.ids[who],
        difference=p["difference"].to_numpy(dtype=object), name=world.names[who], birth_date=_iso(world.birth[who]),
        gender=np.where(world.male[who], "1", "2").astype(object), division=run.division[who],
        division_agrees=agrees, source_feed=SOURCE_NAMES[np.asarray(records["source"])[t]],
        death_date=_iso(records["date"][t]), file_name=np.asarray(records["file"], dtype=object)[t],
        line_no=np.asarray(records["line"])[t], business_date=_iso(records["day"][t]),
        last_month_paid=_iso(last_paid[who]), case=run.cases[np.asarray(records["person"])[t]])


def planted(world, days: list[dt.date], feeds) -> dict:
    """Every audit case record of the run, as sent: case, the person's ID (the pensioner a typo
    means; an invented ID), the ID sent, feed, day, date (a roll row: its month), name, and the
    defect the case plants in it (`FIELD:REASON`, empty for a record the gate takes)."""
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
    names = world.names[r.person[sel]].copy()
    names[r.variant[sel]] = variant(names[r.variant[sel]])
    source = r.source[sel]
    reason = np.full(len(sel), "", dtype=object)
    reason[kind == "typo_invalid"] = np.array([audit_cases.ID_COLUMN[s] + ":ID_CHECKSUM"
                                               for s in source[kind == "typo_invalid"]], dtype=object)
    reason[(kind == "typo_valid") & audit.birth_typo[c] & (source == rc.HEALTH)] = "BIRTH_DATE:ID_BIRTHDATE_MISMATCH"
    reason[kind == "certificate_rejected"] = "ORG_USCC:USCC_CHECKSUM"
    deaths = _table(PLANTED_COLUMNS, case=kind, aac002=own, id_sent=sent, feed=feed[sel],
                    business_date=_iso(r.day[sel]), date=_iso(r.date[sel]), name=names, reason=reason)
    tables = [deaths]
    if ROLL in feeds:
        person, month, day = rejected_roll_rows(world, days)
        tables.append(_table(PLANTED_COLUMNS, case="roll_rejected", aac002=world.ids[person],
                             id_sent=world.ids[person], feed=ROLL, business_date=_iso(day), date=_iso(month),
                             name=world.names[person], reason="FFJE:AMOUNT_INVALID"))
    table = _stack(tables, PLANTED_COLUMNS)
    order = np.lexsort([table[k].astype(str) for k in ("date", "aac002", "feed", "case", "business_date")])
    return {k: v[order] for k, v in table.items()}


def write(truth_dir, world, on: dt.date, seed: int, defect_share: float, feeds, monthly: np.ndarray,
          since: dt.date | None = None) -> dict:
    """Write the expected report of the run `since`..`on`; returns the summary's `audit` part."""
    key = answer(world, on, seed, defect_share, feeds, monthly, since)
    truth_dir.mkdir(parents=True, exist_ok=True)
    for old in ("expected_typos_rejected.csv",):             # an earlier key's file, gone
        (truth_dir / old).unlink(missing_ok=True)

    def rows(kind, columns):
        tables = [{"report_month": np.full(_rows(m[kind]), month, dtype=object), **m[kind]}
                  for month, m in key["months"].items()]
        return _stack(tables, ["report_month"] + columns + ["case"])

    for kind in KINDS:
        _csv(truth_dir / FILES[kind], rows(kind, COLUMNS[kind]))
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
    needs it; None is empty."""
    def strings(v: np.ndarray) -> np.ndarray:
        return pa.array(v, from_pandas=True).cast(pa.string()).to_numpy(zero_copy_only=False).astype(object)

    write_csv(path, list(table), {c: strings(v) for c, v in table.items()}, "UTF-8")


# --- a report against the key ------------------------------------------------------------------------

def _reason_codes() -> frozenset[str]:
    return frozenset(REASONS)


def text(value, column: str = "") -> str:
    """One cell as the key writes it: '' for nothing, amounts with two decimals, ISO dates; a line's
    reasons as its reason codes, sorted and joined with ';' (however the report words them)."""
    if value is None:
        return ""
    if column == "reasons":
        return ";".join(sorted(set(re.findall(r"[A-Z][A-Z0-9_]+", str(value))) & _reason_codes()))
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def expected_rows(truth_dir, kind: str, month: dt.date, ignore=()) -> collections.Counter:
    """The key's rows of one kind and month, as tuples of the compared columns' text, with the planted
    case of each (`.cases[row]`)."""
    columns = [c for c in COLUMNS[kind] if c not in ignore]
    rows, cases = collections.Counter(), collections.defaultdict(list)
    with open(truth_dir / FILES[kind], encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            if r["report_month"] == f"{month:%Y-%m}":
                row = tuple(text(r[c], c) for c in columns)
                rows[row] += 1
                cases[row].append(r["case"])
    rows.cases = cases
    return rows


def found_rows(report, kind: str, batches: dict, ignore=()) -> collections.Counter:
    """A report's rows of one kind as the key's tuples: the hub's batch id as its business date."""
    columns = [c for c in COLUMNS[kind] if c not in ignore]
    out = collections.Counter()
    for r in report.table(kind).to_pylist():
        for mine, hub in STANDS_FOR.items():
            r[mine] = text(batches.get(r.get(hub), "?")) if hub in r else r.get(mine)
        out[tuple(text(r.get(c), c) for c in columns)] += 1
    return out


def score(report, truth_dir, month: dt.date, batches: dict, ignore=()) -> dict[str, tuple[int, int, int]]:
    """Per keyed kind, (true positives, false positives, false negatives) of a report
    (jinbao.audit.findings.Report) for `month` against the key in `truth_dir` (generated/truth of the
    home the run was made in), row for row: `batches` maps the hub's batch ids to their business
    dates; `ignore` leaves columns out of the comparison.  Precision is tp / (tp + fp), recall
    tp / (tp + fn)."""
    out = {}
    for kind in KINDS:
        want, got = expected_rows(truth_dir, kind, month, ignore), found_rows(report, kind, batches, ignore)
        tp = sum((want & got).values())
        out[kind] = (tp, sum(got.values()) - tp, sum(want.values()) - tp)
    return out
