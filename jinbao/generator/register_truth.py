"""The register's answer key: what the hub's reconciled register must hold after a run of days.

For a business date D, the files describe the store after the hub has run every
inbound feed on every generated day of the story from `since` (default: the
story's first day) up to and including D, each day's feeds in the order
`jinbao run all` takes them (by feed name), every batch published.

* Life status comes from the three death feeds alone, which the generator
  writes, so it is computed for **everyone**: each day's death deliveries are
  built again exactly as written (same streams, same planted defects), the
  records the gate rejects (the defect truth) are dropped, and the rest are run
  through the rules of issue 12 (`life`).  Ordinary deaths and the paid-after-death
  cases are in it too, so a test can compare the store's whole
  `life_status_history` table and every register row that is not plainly alive.
* Conflicts are taken from the plan of the register cases (register_cases.py):
  a case's police record and its differing record arrive on the same day, the
  police outrank the other source, and the bureau's own feeds (hrss.*) carry the
  police's values, so the open conflict is the same in any order and whatever
  else arrived.  Conflicts that arise by themselves (a police `XB` 0/9 or a
  health `U` against another source's gender) are not planted and not listed.

Files (in `generated/truth/`, rewritten by every `generate`, like paid_after_death.csv):

* `register_status.csv` — `aac002,case,life_status,life_status_date,life_status_source`:
  every person with an accepted death-feed record in the run;
* `register_history.csv` — `aac002,case,step,from_status,to_status,effective_date,source_feed,business_date`:
  each change of (status, date), in order (`step` 1, 2, ... per person);
* `register_conflicts.csv` — `aac002,case,field,offered_source,value_offered,value_held,held_source`:
  the planted conflicts open after D; `register_conflicts_resolved.csv` the planted ones resolved by then;
* `register_planted.csv` — `aac002,case,feed,business_date,aac060,dereg_reason,death_action,aac003,aab301`:
  every planted record of the run (what each source said on which day).

`case` is the register case's kind (register_cases.KINDS), `paid_after_death`
for the audit's late-reported deaths, `ordinary` for the rest.
"""
from __future__ import annotations

import csv
import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from jinbao.generator import audit_cases, civil_affairs, health, police_death
from jinbao.generator import register_cases as rc
from jinbao.generator.defects import plant
from jinbao.generator.names import variant
from jinbao.generator.story import day_number

#: Life statuses as issue 12 names them; what a police deregistration reason (ZXYY) makes of a
#: person (the other sources only ever report deaths).
ALIVE, DECEASED = "alive", "deceased"
STATUSES = np.array([ALIVE, DECEASED, "emigrated", "duplicate", "deregistered"], dtype=object)
REASONS = {"1": 1, "2": 2, "3": 3, "9": 4}
#: The order in which `jinbao run all` runs the death feeds of a day (declarations by file name).
RUN_ORDER = tuple(sorted(rc.DEATH_FEEDS))
BUILD = {"police.death": police_death.build, "health.death_certificate": health.build,
         "civil_affairs.cremation": civil_affairs.cremation}
BUILD_ID = {"police.death": "GMSFHM", "health.death_certificate": "ID_NO", "civil_affairs.cremation": "SFZH"}
DATE_COLUMN = {"police.death": ("SWRQ", "%Y%m%d"), "health.death_certificate": ("DEATH_DATE", "%Y-%m-%d"),
               "civil_affairs.cremation": ("SWRQ", "%Y-%m-%d")}
#: Each death feed's name and gender columns, and its gender codes as the hub's (a code the hub reads
#: as 9, "not known", is no offer); the police alone send a division.
NAME_COLUMN = {"police.death": "XM", "health.death_certificate": "NAME", "civil_affairs.cremation": "XM"}
GENDER_CODES = {"police.death": ("XB", {"1": "1", "2": "2", "0": "9", "9": "9"}),
                "health.death_certificate": ("SEX", {"M": "1", "F": "2", "U": "9"}),
                "civil_affairs.cremation": ("SEX", {"1": "2", "2": "1"})}
SOURCES = np.array(rc.DEATH_FEEDS + ("",), dtype=object)      # index -1: none
FILES = {"status": "register_status.csv", "history": "register_history.csv", "conflicts": "register_conflicts.csv",
         "resolved": "register_conflicts_resolved.csv", "planted": "register_planted.csv"}
COLUMNS = {
    "status": ["aac002", "case", "life_status", "life_status_date", "life_status_source"],
    "history": ["aac002", "case", "step", "from_status", "to_status", "effective_date", "source_feed",
                "business_date"],
    "conflicts": ["aac002", "case", "field", "offered_source", "value_offered", "value_held", "held_source"],
    "resolved": ["aac002", "case", "field", "offered_source", "value_offered", "value_held", "held_source"],
    "planted": ["aac002", "case", "feed", "business_date", "aac060", "dereg_reason", "death_action", "aac003",
                "aab301"]}
NAT = np.datetime64("NaT", "D")


def run_days(world, on: dt.date, since: dt.date | None) -> list[dt.date]:
    """The days of the run the truth describes: from `since` (not before the story) to `on`."""
    start = max(since or world.calendar.first, world.calendar.first)
    return [start + dt.timedelta(days=i) for i in range((on - start).days + 1)]


def _parse(values: np.ndarray, layout: str, lenient: bool = False) -> np.ndarray:
    """Partner dates (valid: the rows with a planted defect are gone) as datetime64[D]; '' as NaT
    (`lenient`: anything that is no date, as on a rejected line, too)."""
    arr = pa.array(np.asarray(values, dtype=object), pa.string())
    arr = pc.if_else(pc.equal(arr, ""), pa.scalar(None, pa.string()), arr)
    days = pc.strptime(arr, format=layout, unit="s", error_is_null=lenient)
    if lenient:             # Arrow reads 30 February as 2 March: a date is one that reads back the same
        same = pc.equal(pc.strftime(days, format=layout), arr)
        days = pc.if_else(pc.fill_null(same, False), days, pa.scalar(None, days.type))
    return days.cast(pa.date32()).to_numpy(zero_copy_only=False).astype("datetime64[D]")


def death_records(world, days: list[dt.date], seed: int, defect_share: float, feeds) -> dict[str, np.ndarray]:
    """Every death-feed record of the run that the gate accepts, as the hub gets it, in run order:
    each day's three deliveries built again from their own streams, planted defects and all.

    `person` is the key the hub files a record under (audit_cases.identities: the population row,
    or past it for a typo'd or invented ID); `name`, `gender` (hub code), `division`, `birth`
    (health's own BIRTH_DATE, else NaT) and `line` (in the delivery, the header being line 1) are
    what the auditors' report reads.  Kept in the
    world's memo: the register's key and the expected report (audit_truth.py) share one rebuild,
    which also keeps the rejected lines (`rejected_deaths`)."""
    from jinbao.generator import FEEDS  # cycle: jinbao/generator/__init__.py imports this module

    memo = ("death_records", tuple(days), seed, defect_share, frozenset(feeds))
    if memo in world.memo:
        return world.memo[memo]
    out: dict[str, list] = {k: [] for k in ("person", "step", "source", "day", "date", "reason", "dereg", "action",
                                            "name", "gender", "division", "birth", "line")}
    bad: dict[str, list] = {k: [] for k in ("person", "id", "source", "day", "date", "name", "gender", "division",
                                            "birth", "line", "reasons")}
    for i, on in enumerate(days):
        w = world.on_day(on)
        for j, feed in enumerate(RUN_ORDER):
            if feed not in feeds:
                continue
            rng = np.random.default_rng([seed, FEEDS.index(feed) + 1, day_number(on)])
            d = BUILD[feed](rng, w)
            defects = plant(rng, d, defect_share, on)
            rejected = np.unique(np.array([row for row, _, _ in defects], dtype=np.int64))
            keep = np.setdiff1d(np.arange(d.records), rejected)
            n = len(keep)
            police = feed == "police.death"
            column, layout = DATE_COLUMN[feed]
            out["person"].append(d.person[keep])
            out["step"].append(np.full(n, i * len(RUN_ORDER) + j))
            out["source"].append(np.full(n, rc.DEATH_FEEDS.index(feed)))
            out["day"].append(np.full(n, np.datetime64(on, "D")))
            out["date"].append(_parse(d.cols[column][keep], layout))
            out["reason"].append(d.cols["ZXYY"][keep] if police else np.full(n, "1", dtype=object))
            out["dereg"].append(_parse(d.cols["ZXRQ"][keep], layout) if police else np.full(n, NAT))
            out["action"].append(d.cols["CZBZ"][keep] if "CZBZ" in d.cols else np.full(n, "", dtype=object))
            out["name"].append(d.cols[NAME_COLUMN[feed]][keep])
            column, codes = GENDER_CODES[feed]
            out["gender"].append(_codes(d.cols[column][keep], codes))
            out["division"].append(d.cols["HJDZ_XZQH"][keep] if police else np.full(n, None, dtype=object))
            health = feed == "health.death_certificate"      # the only death record with a birth date of its own
            out["birth"].append(_parse(d.cols["BIRTH_DATE"][keep], "%Y-%m-%d") if health else np.full(n, NAT))
            out["line"].append(keep + 2)
            # The rejected lines as sent (IDs, names, codes possibly broken), for the typo search.
            id_column = BUILD_ID[feed]
            k = len(rejected)
            bad["person"].append(d.person[rejected])
            bad["id"].append(d.cols[id_column][rejected])
            bad["source"].append(np.full(k, rc.DEATH_FEEDS.index(feed)))
            bad["day"].append(np.full(k, np.datetime64(on, "D")))
            bad["date"].append(_parse(d.cols[DATE_COLUMN[feed][0]][rejected], layout, lenient=True))
            bad["name"].append(d.cols[NAME_COLUMN[feed]][rejected])
            bad["gender"].append(_codes(d.cols[column][rejected], codes))
            bad["division"].append(d.cols["HJDZ_XZQH"][rejected] if police else np.full(k, None, dtype=object))
            bad["birth"].append(_parse(d.cols["BIRTH_DATE"][rejected], "%Y-%m-%d", lenient=True) if health
                                else np.full(k, NAT))
            bad["line"].append(rejected + 2)
            why: dict[int, list] = {}
            for row, field, reason in defects:
                why.setdefault(row, []).append(f"{field}:{reason}")
            bad["reasons"].append(np.array([";".join(why[r]) for r in rejected.tolist()], dtype=object))
    empty = {"person": np.int64, "step": np.int64, "source": np.int64, "day": "datetime64[D]",
             "date": "datetime64[D]", "reason": object, "dereg": "datetime64[D]", "action": object,
             "name": object, "gender": object, "division": object, "birth": "datetime64[D]", "line": np.int64}
    world.memo[memo] = {k: np.concatenate(v) if v else np.empty(0, dtype=empty[k]) for k, v in out.items()}
    empty = {**empty, "id": object, "reasons": object}
    world.memo[("rejected_deaths",) + memo[1:]] = {k: np.concatenate(v) if v else np.empty(0, dtype=empty[k])
                                                   for k, v in bad.items()}
    return world.memo[memo]


def rejected_deaths(world, days: list[dt.date], seed: int, defect_share: float, feeds) -> dict[str, np.ndarray]:
    """The death-feed lines of the run the gate rejects, as sent: `person` (the key of the record's
    person), `id`, `source`, `day`, `date` (NaT when no date), `name`, `gender` (hub code, None when
    unmapped), `division` (police only), `birth` (health's BIRTH_DATE, NaT elsewhere), `line`,
    `reasons` (`field:REASON;...`)."""
    death_records(world, days, seed, defect_share, feeds)
    return world.memo[("rejected_deaths", tuple(days), seed, defect_share, frozenset(feeds))]


def _codes(values: np.ndarray, codes: dict[str, str]) -> np.ndarray:
    """Partner codes as the hub's (None for a code the feed's table does not map)."""
    values = np.asarray(values, dtype=object)
    out = np.full(len(values), None, dtype=object)
    for partner, hub in codes.items():
        out[values == partner] = hub
    return out


def life_of(world, days: list[dt.date], seed: int, defect_share: float, feeds) -> tuple[dict, dict]:
    """`life` of the run's death records, kept in the world's memo (the expected report reads it too)."""
    memo = ("life", tuple(days), seed, defect_share, frozenset(feeds))
    if memo not in world.memo:
        world.memo[memo] = life(death_records(world, days, seed, defect_share, feeds))
    return world.memo[memo]


def life(r: dict[str, np.ndarray]) -> tuple[dict, dict]:
    """Issue 12's life status over the records in run order: (final state per person, history).

    After each record the person's state derives from the newest record of each source:
    deceased if any non-withdrawn record is a death (police only with ZXYY 1), dated and
    sourced by the most trusted such source (police, health, cremation); else the police
    reason's status, dated by ZXRQ (else SWRQ); else alive.  A history row whenever
    (status, date) changes, sourced by the deciding record (a return to alive: the record
    that caused it); the register's source is the deciding record's, and for a person alive
    again the feed whose delivery left them alive.  Whole-array numpy: rows sorted by
    person and run order, "the newest record of a source" is a running maximum of row
    numbers that restarts at each person.
    """
    o = np.lexsort((r["step"], r["person"]))
    person, source, day = r["person"][o], r["source"][o], r["day"][o]
    date, dereg, reason = r["date"][o], r["dereg"][o], np.asarray(r["reason"][o], dtype=str)
    active = np.asarray(r["action"][o], dtype=str) != rc.WITHDRAWS
    n = len(person)
    row = np.arange(n)
    new = np.r_[True, person[1:] != person[:-1]] if n else np.empty(0, dtype=bool)
    start = np.maximum.accumulate(np.where(new, row, 0)) if n else row

    def newest(mask: np.ndarray) -> np.ndarray:
        idx = np.maximum.accumulate(np.where(mask, row, -1)) if n else row
        return np.where(idx >= start, idx, -1)

    latest = [newest(source == s) for s in range(len(rc.DEATH_FEEDS))]
    has = [i >= 0 for i in latest]
    safe = [np.maximum(i, 0) for i in latest]
    dead = [has[s] & active[safe[s]] & ((s != rc.POLICE) | (reason[safe[s]] == "1")) for s in range(3)]
    police = safe[rc.POLICE]
    gone = has[rc.POLICE] & active[police] & (reason[police] != "1") & ~(dead[0] | dead[1] | dead[2])
    gone_code = np.select([reason[police] == k for k in REASONS], list(REASONS.values()), 4)
    status = np.select([dead[0] | dead[1] | dead[2], gone], [1, gone_code], 0)
    police_gone_date = np.where(np.isnat(dereg[police]), date[police], dereg[police])
    when = np.select([dead[0], dead[1], dead[2], gone],
                     [date[safe[0]], date[safe[1]], date[safe[2]], police_gone_date], NAT).astype("datetime64[D]")
    decider = np.select([dead[0], dead[1], dead[2], gone], [0, 1, 2, 0], -1)
    was = np.maximum.accumulate(np.where(status != 0, row, -1)) if n else row
    ever = was >= start
    decider = np.where(status == 0, np.where(ever, source, -1), decider)
    prev_status = np.where(new, 0, np.r_[0, status[:-1]]) if n else status
    prev_when = np.where(new, NAT, np.r_[NAT, when[:-1]]).astype("datetime64[D]") if n else when
    same = (prev_when == when) | (np.isnat(prev_when) & np.isnat(when))
    moved = (prev_status != status) | ~same
    hist_rows = np.flatnonzero(moved)
    first_move = np.r_[True, person[hist_rows][1:] != person[hist_rows][:-1]] if len(hist_rows) else hist_rows
    step = np.arange(len(hist_rows)) - np.maximum.accumulate(np.where(first_move, np.arange(len(hist_rows)), 0)) + 1
    last = np.r_[person[1:] != person[:-1], True] if n else new
    final = {"person": person[last], "status": STATUSES[status[last]], "date": when[last],
             "source": SOURCES[decider[last]]}
    history = {"person": person[hist_rows], "step": step, "from": STATUSES[prev_status[hist_rows]],
               "to": STATUSES[status[hist_rows]], "date": when[hist_rows], "source": SOURCES[decider[hist_rows]],
               "day": day[hist_rows]}
    return final, history


def _day(values) -> np.ndarray:
    d = np.asarray(values, dtype="datetime64[D]")
    return np.where(np.isnat(d), "", d.astype(str)).astype(object)


def _cases_of(world) -> np.ndarray:
    """Per key: the register case kind, the audit case kind, paid_after_death or ordinary (the
    population's rows, then the audit cases' typo'd and invented IDs: audit_cases.identities)."""
    case = np.full(len(world.ids), "ordinary", dtype=object)
    cal = world.calendar
    case[cal.person[cal.planted]] = "paid_after_death"
    case[cal.cases.person] = cal.cases.kind
    dying = cal.audit.kind != "unknown_person"             # (a namesake is no case of its own)
    case[cal.audit.person[dying]] = cal.audit.kind[dying]
    return np.concatenate([case, cal.audit.kind.astype(object)])


def conflicts(world, days: list[dt.date], feeds) -> tuple[dict, dict]:
    """The planted conflicts (open, resolved) after the run, from the plan."""
    cases = world.cases
    lo, hi = np.datetime64(days[0], "D"), np.datetime64(days[-1], "D")
    rows: dict[str, list] = {"open": [], "resolved": []}

    def add(which, sel, field, offered_source, offered, held, held_source):
        k = len(sel)
        rows[which].append({"aac002": world.ids[cases.person[sel]], "case": cases.kind[sel],
                            "field": np.full(k, field, dtype=object),
                            "offered_source": np.full(k, offered_source, dtype=object), "value_offered": offered,
                            "value_held": held, "held_source": np.full(k, held_source, dtype=object)})

    a = cases.anchor
    seen = (a >= lo) & (a <= hi)
    names, county = world.names[cases.person], world.county[cases.person]
    if {"police.identity", "civil_affairs.assistance"} <= set(feeds):
        for kind, field in (("name_assistance", "aac003"), ("division_assistance", "aab301"),
                            ("name_resolved", "aac003")):
            sel = np.flatnonzero(seen & (cases.kind == kind))
            if kind == "name_resolved":       # resolved once assistance sends the police's spelling
                fixed = (a[sel] + rc.RESOLVE_AFTER <= min(hi, np.datetime64(world.calendar.last, "D")))
                add("resolved", sel[fixed], field, "civil_affairs.assistance", variant(names[sel[fixed]]),
                    names[sel[fixed]], "police.identity")
                sel = sel[~fixed]
            offered = variant(names[sel]) if field == "aac003" else world.neighbour(county[sel])
            held = names[sel] if field == "aac003" else county[sel]
            add("open", sel, field, "civil_affairs.assistance", offered, held, "police.identity")
    for kind, feed in (("name_health", "health.death_certificate"), ("name_cremation", "civil_affairs.cremation")):
        if {"police.death", feed} <= set(feeds):
            sel = np.flatnonzero(seen & (cases.kind == kind))
            add("open", sel, "aac003", feed, variant(names[sel]), names[sel], "police.death")
    return tuple(_sorted(_stack(rows[w], COLUMNS["conflicts"]), ["aac002", "field", "offered_source"])
                 for w in ("open", "resolved"))


def planted(world, days: list[dt.date], feeds) -> dict:
    """Every planted register-case record of the run: which source said what on which day."""
    cases = world.cases
    lo, hi = np.datetime64(days[0], "D"), np.datetime64(days[-1], "D")
    r = cases.records
    sel = np.flatnonzero((r.day >= lo) & (r.day <= hi) & np.isin(np.array(rc.DEATH_FEEDS)[r.source], list(feeds)))
    p = r.person[sel]
    names = world.names[p].copy()
    names[r.variant[sel]] = variant(names[r.variant[sel]])
    police = r.source[sel] == rc.POLICE
    deaths = {"aac002": world.ids[p], "case": cases.kind[r.case[sel]],
              "feed": np.array(rc.DEATH_FEEDS, dtype=object)[r.source[sel]], "business_date": _day(r.day[sel]),
              "aac060": _day(r.date[sel]), "dereg_reason": np.where(police, r.reason[sel], "").astype(object),
              "death_action": r.action[sel], "aac003": names,
              "aab301": np.where(police, world.county[p], "").astype(object)}
    ap = cases.appearances
    sel = np.flatnonzero((ap.day >= lo) & (ap.day <= hi)
                         & np.isin(np.array(rc.LIVING_FEEDS)[ap.feed], list(feeds)))
    p = ap.person[sel]
    names, county = world.names[p].copy(), world.county[p].copy()
    names[ap.name_variant[sel]] = variant(names[ap.name_variant[sel]])
    county[ap.county_variant[sel]] = world.neighbour(county[ap.county_variant[sel]])
    blank = np.full(len(sel), "", dtype=object)
    living = {"aac002": world.ids[p], "case": cases.kind[ap.case[sel]],
              "feed": np.array(rc.LIVING_FEEDS, dtype=object)[ap.feed[sel]], "business_date": _day(ap.day[sel]),
              "aac060": blank, "dereg_reason": blank, "death_action": blank, "aac003": names, "aab301": county}
    return _sorted(_stack([deaths, living], COLUMNS["planted"]), ["aac002", "business_date", "feed"])


def _stack(parts: list[dict], columns: list[str]) -> dict:
    return {c: np.concatenate([np.asarray(p[c], dtype=object) for p in parts]) if parts
            else np.empty(0, dtype=object) for c in columns}


def _sorted(table: dict, keys: list[str]) -> dict:
    order = np.lexsort([np.asarray(table[k], dtype=str) for k in reversed(keys)]) if len(table[keys[0]]) else []
    return {c: v[order] for c, v in table.items()}


def answer(world, on: dt.date, seed: int, defect_share: float, feeds, since: dt.date | None = None) -> dict:
    """The answer key as tables (dicts of columns): status, history, conflicts, resolved, planted;
    and `days`, the run it describes."""
    days = run_days(world, on, since)
    feeds = set(feeds)
    if not days:
        return {**{k: _stack([], cols) for k, cols in COLUMNS.items()}, "days": days}
    case, ids = _cases_of(world), audit_cases.all_ids(world)
    final, history = life_of(world, days, seed, defect_share, feeds)
    status = {"aac002": ids[final["person"]], "case": case[final["person"]], "life_status": final["status"],
              "life_status_date": _day(final["date"]), "life_status_source": final["source"]}
    hist = {"aac002": ids[history["person"]], "case": case[history["person"]], "step": history["step"],
            "from_status": history["from"], "to_status": history["to"], "effective_date": _day(history["date"]),
            "source_feed": history["source"], "business_date": _day(history["day"])}
    open_, resolved = conflicts(world, days, feeds)
    return {"status": _sorted(status, ["aac002"]), "history": hist,     # (already by person, then step)
            "conflicts": open_, "resolved": resolved, "planted": planted(world, days, feeds), "days": days}


def write(truth_dir, world, on: dt.date, seed: int, defect_share: float, feeds,
          since: dt.date | None = None) -> dict:
    """Write the answer key for the run `since`..`on`; returns the summary's `register` part."""
    key = answer(world, on, seed, defect_share, feeds, since)
    truth_dir.mkdir(parents=True, exist_ok=True)
    for name, file in FILES.items():
        with open(truth_dir / file, "w", newline="", encoding="utf-8") as fh:
            out = csv.writer(fh, lineterminator="\n")
            out.writerow(COLUMNS[name])
            out.writerows(zip(*(key[name][c].tolist() for c in COLUMNS[name])))
    planted_people, first = np.unique(key["planted"]["aac002"].astype(str), return_index=True)
    kinds, counts = np.unique(key["planted"]["case"][first].astype(str), return_counts=True)
    found = dict(zip(kinds.tolist(), counts.tolist()))
    days = key["days"]
    return {"since": days[0].isoformat() if days else None, "files": FILES,
            "cases": {k: int(found.get(k, 0)) for k in rc.KINDS},
            "status": len(key["status"]["aac002"]), "history": len(key["history"]["aac002"]),
            "conflicts": len(key["conflicts"]["aac002"]), "resolved": len(key["resolved"]["aac002"])}
