"""The planted audit cases (audit_cases.py) and the expected report (audit_truth.py), pure generator.

Five days of one story (2026-11-28 .. 2026-12-02) are generated into one home: every planted audit
record must be in its delivery as the key says (clean, but for the defects a case plants on purpose,
which the truth files must name), the typo'd and invented IDs must be what their kind says, and the
expected report must hold each case where its kind puts it (and not where it does not), checked
against each kind's definition (docs/audit.md) rather than against audit_truth's computation.  The
shortcuts audit_truth takes (the roll and the living feeds without building their deliveries
again) are checked against the deliveries themselves, and `score` against the key itself.
"""
from __future__ import annotations

import collections
import csv
import datetime as dt
import json
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from jinbao.formats import citizen_id
from jinbao.generator import audit_cases, audit_truth, generate
from jinbao.generator import deaths as deaths_mod
from jinbao.generator import register_cases as rc
from jinbao.generator.population import counties, pensions, population
from jinbao.generator.world import World
from jinbao.settings import load_settings

FIRST = dt.date(2026, 11, 28)
DAYS = [FIRST + dt.timedelta(days=i) for i in range(5)]
PEOPLE, SEED = 8000, 20261122
ID = {"police.death": "GMSFHM", "health.death_certificate": "ID_NO", "civil_affairs.cremation": "SFZH",
      "police.identity": "GMSFHM", "civil_affairs.assistance": "SFZH", "finance.subsidy_payment": "SFZH",
      "hrss.pension_roll": "AAC002", "hrss.resident_enrollment": "AAC002", "hrss.contribution": "AAC002"}
NAME = {"police.death": "XM", "health.death_certificate": "NAME", "civil_affairs.cremation": "XM"}
DATE = {"police.death": "SWRQ", "health.death_certificate": "DEATH_DATE", "civil_affairs.cremation": "SWRQ"}
P, H, C = rc.DEATH_FEEDS
ROLL = "hrss.pension_roll"
LIVING = ("police.identity", "civil_affairs.assistance", "finance.subsidy_payment", "hrss.resident_enrollment",
          "hrss.contribution")
NON_DEATH = LIVING + (ROLL,)


def _csv(path) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _iso(value: str) -> str:
    return f"{value[:4]}-{value[4:6]}-{value[6:]}" if len(value) == 8 else value


def _date(value: str) -> dt.date:
    return dt.date.fromisoformat(value)


def _months(a: str, b: str) -> int:
    """Months from the month of date `a` to that of `b` (ISO dates)."""
    return (int(b[:4]) - int(a[:4])) * 12 + int(b[5:7]) - int(a[5:7])


@pytest.fixture(scope="module")
def days(tmp_path_factory):
    """({day: {feed: (records, defective lines {line: truth row})}}, truth files of the last day, settings)."""
    home = tmp_path_factory.mktemp("audit-days")
    mp = pytest.MonkeyPatch()
    mp.setenv("JINBAO_HOME", str(home))
    cfg = load_settings()
    out = {}
    for on in DAYS:
        summary = generate(cfg, on, people=PEOPLE, seed=SEED, since=FIRST)
        files = {}
        for feed, info in summary["feeds"].items():
            text = (cfg.inbound(info["partner"]) / info["file"]).read_bytes().decode(info["encoding"].lower())
            lines = list(csv.reader(text.split("\n")[:-1]))
            bad = {int(t["line"]): t for t in _csv(cfg.generated / "truth" / info["truth"])}
            files[feed] = ([dict(zip(lines[0], r)) for r in lines[1:]], bad)
        out[on] = files
    truth = {name: _csv(cfg.generated / "truth" / file) for name, file in audit_truth.FILES.items()
             if file.endswith(".csv")}
    truth["report"] = json.loads((cfg.generated / "truth" / audit_truth.FILES["report"]).read_text())
    truth["summary"] = summary
    truth["paid_after_death.csv"] = _csv(cfg.generated / "truth" / "paid_after_death.csv")
    truth["register_planted"] = _csv(cfg.generated / "truth" / "register_planted.csv")
    truth["register_status"] = _csv(cfg.generated / "truth" / "register_status.csv")
    truth["roll"] = pq.read_table(cfg.generated / "pension_roll.parquet").to_pandas()
    yield out, truth, cfg
    mp.undo()


def _world(on: dt.date = DAYS[-1], people: int = PEOPLE):
    """The generator's world of that day, as generate() builds it (population, pensions, plan)."""
    rng = np.random.default_rng(SEED)
    known = counties()
    pop = population(rng, people, known)
    monthly = pensions(rng, pop.num_rows)
    birth = pop.column("aac006").to_numpy().astype("datetime64[D]")
    calendar = deaths_mod.Calendar.plan(SEED, birth, on, deaths_mod.per_day(people))
    return World.of(pop, calendar, on, known, SEED), monthly


def _cases(truth) -> dict[str, list[dict]]:
    by = collections.defaultdict(list)
    for r in truth["planted"]:
        by[r["case"]].append(r)
    return by


@pytest.mark.parametrize("people", [PEOPLE, 40_000])
def test_each_day_carries_one_case_of_every_slot_that_fits(people):
    """From the plan of a whole story: one case per slot (kind, and a typo's source) and anchor day
    (stopped_on_time and roll_rejected: not on the 1st); the dying are pensioners all story long, in
    no register case and no ordinary death; with 40 000 people the free slots take pensioners the
    story lets live (8 000 leave too few: ordinary deaths then)."""
    w, _ = _world(people=people)
    cal, audit = w.calendar, w.calendar.audit
    days = np.arange(np.datetime64(cal.first, "D"), np.datetime64(cal.last, "D") + 1)
    not_first = days[days.astype("datetime64[M]").astype("datetime64[D]") < days]
    for kind, source in audit_cases.SLOTS + audit_cases.FREE_SLOTS + (("unknown_person", -1),):
        anchors = audit.anchor[(audit.kind == kind) & (audit.source == source)]
        assert len(anchors) == len(set(anchors.tolist())), kind
        fits = not_first if kind in ("stopped_on_time", "roll_rejected") else days
        assert sorted(anchors.tolist()) == fits.tolist(), (kind, source)
    dying = audit.kind != "unknown_person"
    people_ = audit.person[dying]
    assert len(set(people_.tolist())) == len(people_)
    assert not np.isin(people_, cal.cases.person).any() and not np.isin(people_, cal.person[cal.ordinary]).any()
    assert ((np.datetime64(cal.first, "D") - w.birth[people_]).astype(int) >= audit_cases.PENSION_AGE).all()
    namesakes = audit.person[~dying]
    assert ((np.datetime64(cal.last, "D") - w.birth[namesakes]).astype(int) < audit_cases.PENSION_AGE).all()
    assert (audit.died < audit.anchor).all()
    free = np.isin(audit.person, cal.person, invert=True) & dying
    free_kinds = {(k, s) for k, s in zip(audit.kind[free].tolist(), audit.source[free].tolist())}
    assert free_kinds == (set(audit_cases.FREE_SLOTS) if people > PEOPLE else set())
    # The roll never stops for the people the police never report under their own ID; for the others
    # it stops on the anchor day, in the police's month.
    at = {p: i for i, p in enumerate(cal.person.tolist())}
    for i in np.flatnonzero(dying & ~free):
        j, kind = at[audit.person[i]], audit.kind[i]
        assert np.isnat(cal.report[j]) == (kind in audit_cases.UNSTOPPED), kind
        if kind in ("police_later", "roll_rejected"):
            assert audit.died[i] < cal.date[j] < audit.anchor[i]
        if kind == "roll_rejected":
            assert cal.date[j].astype("datetime64[M]") == audit.anchor[i].astype("datetime64[M]")
    # Typos: each source on every day, in the birth-date digits by turns.
    typo = np.isin(audit.kind, audit_cases.TYPOS)
    turn = ((audit.anchor - np.datetime64("2020-01-01", "D")).astype(int) + audit.source) % 2 == 0
    assert (audit.birth_typo == (typo & turn)).all()


def test_planted_records_are_in_their_delivery_as_the_key_says(days):
    out, truth, _ = days
    assert {r["business_date"] for r in truth["planted"]} == {d.isoformat() for d in DAYS}
    assert set(_cases(truth)) == set(audit_cases.KINDS)
    reasons = collections.Counter()
    for r in truth["planted"]:
        records, bad = out[_date(r["business_date"])][r["feed"]]
        if r["feed"] == ROLL:               # a roll row sent with an amount of three decimals
            lines = [i for i, rec in enumerate(records, start=2)
                     if rec["AAC002"] == r["aac002"] and rec["FFNY"] == r["date"][:7]]
            assert len(lines) == 1, r
            assert records[lines[0] - 2]["FFJE"] == audit_cases.BAD_AMOUNT
            assert bad[lines[0]] == {"line": str(lines[0]), "field": "FFJE", "reason_code": "AMOUNT_INVALID"}
            reasons[r["reason"]] += 1
            continue
        lines = [i for i, rec in enumerate(records, start=2) if rec[ID[r["feed"]]] == r["id_sent"]]
        assert len(lines) == 1, r
        rec = records[lines[0] - 2]
        if r["reason"]:                     # the gate rejects it, and the truth file says why
            field, reason = r["reason"].split(":")
            assert bad[lines[0]] == {"line": str(lines[0]), "field": field, "reason_code": reason}, r
            reasons[r["reason"]] += 1
        else:
            assert lines[0] not in bad, r
        assert rec[NAME[r["feed"]]] == r["name"] and _iso(rec[DATE[r["feed"]]]) == r["date"], r
        assert rec.get("CZBZ", "1") in ("1", "")                       # audit cases never withdraw
        if r["feed"] == P:
            assert rec["ZXYY"] == "1" and rec["XB"] in ("1", "2") and len(rec["GMSFHM"]) == 18, r
        if r["reason"] == "BIRTH_DATE:ID_BIRTHDATE_MISMATCH":         # the hospital's own, true birth date
            assert rec["BIRTH_DATE"] == f"{r['aac002'][6:10]}-{r['aac002'][10:12]}-{r['aac002'][12:14]}"
    assert set(reasons) == {"GMSFHM:ID_CHECKSUM", "ID_NO:ID_CHECKSUM", "SFZH:ID_CHECKSUM",
                            "BIRTH_DATE:ID_BIRTHDATE_MISMATCH", "ORG_USCC:USCC_CHECKSUM", "FFJE:AMOUNT_INVALID"}


def test_typo_and_invented_ids(days):
    """A typo: one digit substituted or two adjacent ones swapped in the pensioner's ID, in the sequence
    digits (15-17, the 17th keeping its parity) or the birth-date digits (7-14: still a real date,
    before the death), in each death source; the check character recomputed (valid) or kept
    (invalid).  An invented ID: valid, the namesake's county and birth date.  None is anybody's ID,
    nor any two the same."""
    out, truth, _ = days
    w, _ = _world()
    everyone = set(w.ids.tolist())
    bodies = {i[:17] for i in everyone}
    sent = audit_cases.sent_ids(w)
    virtual = np.isin(w.calendar.audit.kind, audit_cases.VIRTUAL)
    assert len(set(sent[virtual].tolist())) == virtual.sum()
    where = collections.Counter()
    for r in [r for k in audit_cases.VIRTUAL for r in _cases(truth)[k]]:
        real, typo = r["aac002"], r["id_sent"]
        assert typo[:17] not in bodies and typo not in everyone, r
        valid = bool(citizen_id.valid_checksum(pa.array([typo]))[0])
        assert valid == (r["case"] != "typo_invalid"), r
        if r["case"] == "unknown_person":
            assert real == typo and any(i.startswith(typo[:14]) for i in everyone)
            continue
        assert typo[:6] == real[:6] and int(typo[16]) % 2 == int(real[16]) % 2, r
        diff = [i for i in range(17) if typo[i] != real[i]]
        assert len(diff) == 1 or (len(diff) == 2 and diff[1] == diff[0] + 1
                                  and typo[diff[0]] == real[diff[1]] and typo[diff[1]] == real[diff[0]]), r
        assert all(14 <= i <= 16 for i in diff) or all(6 <= i <= 13 for i in diff), r
        if diff[0] < 14:
            born = dt.date(int(typo[6:10]), int(typo[10:12]), int(typo[12:14]))     # a real date ...
            assert dt.date(1900, 1, 1) <= born < _date(r["date"]), r                # ... before the death
        assert (typo[17] == real[17]) == (r["case"] == "typo_invalid"), r
        where[r["case"], r["feed"], "birth" if diff[0] < 14 else "sequence"] += 1
    assert set(where) == {(k, f, d) for k in audit_cases.TYPOS for f in rc.DEATH_FEEDS for d in ("birth", "sequence")}


def test_the_people_behind_the_cases_are_where_their_kind_puts_them(days):
    """A typo's pensioner, a death only health or cremation report, a rejected certificate: never
    reported under the person's ID by the police, still paid in the business month, in no living feed
    from the death on.  A death the police report: the roll stops in the police's month.  The invented
    ID is in no feed but police.death; the duplicate and other deregistrations are, by turns, of a
    pensioner and of someone no feed but the death feeds sends."""
    out, truth, cfg = days
    roll = truth["roll"]
    last_paid = roll.groupby("aac002")["month"].max()
    business_month = DAYS[-1].replace(day=1)
    cases = _cases(truth)
    sent = collections.defaultdict(set)
    for on, files in out.items():
        for feed, (records, _) in files.items():
            if feed in ID:
                sent[feed] |= {r[ID[feed]] for r in records}
    unstopped = [r for k in audit_cases.UNSTOPPED for r in cases[k] if r["feed"] != ROLL]
    for r in unstopped:
        assert r["aac002"] not in sent[P], r
        if r["case"] in audit_cases.TYPOS:
            assert r["aac002"] not in sent[H] | sent[C], r
        assert last_paid[r["aac002"]] == business_month, r
        died = _date(r["date"])
        for on, files in out.items():
            if on >= died:
                for feed in LIVING:
                    assert r["aac002"] not in {x[ID[feed]] for x in files[feed][0]}, (feed, on, r)
    for kind in ("stopped_on_time", "dates_differ", "dates_within", "police_later", "police_earlier",
                 "roll_rejected"):
        for r in cases[kind]:
            if r["feed"] == P:
                assert last_paid[r["aac002"]] == _date(r["date"]).replace(day=1), r
    for r in cases["unknown_person"]:
        assert all(r["aac002"] not in sent[feed] for feed in sent if feed != P), r
    for r in cases["stopped_on_time"]:
        assert r["date"][:7] == r["business_date"][:7] < r["business_date"]
    w, _ = _world()
    at = {p: i for i, p in enumerate(w.ids.tolist())}
    turns = collections.Counter()
    for r in truth["register_planted"]:
        if r["case"] in rc.TURNS:
            i = at[r["aac002"]]
            if (np.datetime64(FIRST, "D") - w.birth[i]).astype(int) >= audit_cases.PENSION_AGE:
                turns[r["case"], "pensioner"] += 1
                assert r["aac002"] in last_paid.index
            else:
                turns[r["case"], "unknown"] += 1
                assert all(r["aac002"] not in sent[feed] for feed in NON_DEATH), r
    assert set(turns) == {(k, t) for k in rc.TURNS for t in ("pensioner", "unknown")}


def _rows(truth, kind: str, month: str) -> list[dict]:
    return [r for r in truth[kind] if r["report_month"] == month]


@pytest.mark.parametrize("month", ["2026-11", "2026-12"])
def test_the_expected_report_holds_every_planted_case(days, month):
    out, truth, _ = days
    cases = _cases(truth)
    end = "2026-11-30" if month == "2026-11" else "2026-12-31"
    first_of = f"{month}-01"
    stop = {r["aac002"]: r for r in _rows(truth, "stop_payment", month)}
    paid = {r["aac002"]: r for r in _rows(truth, "paid_after_death", month)}
    disagree = collections.defaultdict(dict)
    for r in _rows(truth, "sources_disagree", month):
        disagree[r["aac002"]][r["kind"]] = r
    undead = {r["aac002"]: r for r in _rows(truth, "not_deregistered", month)}
    rejected = collections.defaultdict(list)
    for r in _rows(truth, "rejected_death", month):
        rejected[r["aac002"]].append(r)
    mismatch = collections.defaultdict(dict)
    for r in _rows(truth, "identity_mismatch", month):
        mismatch[r["aac002"]][r["source_feed"]] = r
    typos = {r["id_reported"]: r for r in _rows(truth, "probable_typo", month)}
    unplaced = {r["aac002"]: r for r in _rows(truth, "unplaced", month)}
    roll = truth["roll"]
    paid_months = roll.groupby("aac002")["month"].apply(lambda m: sorted(f"{x:%Y-%m-%d}" for x in m))

    def said(kind):
        """Per person of a kind, its death records dated within the month: {feed: record}."""
        by = collections.defaultdict(dict)
        for r in cases[kind]:
            if r["feed"] != ROLL:
                by[r["aac002"]][r["feed"]] = r
        return {p: rs for p, rs in by.items() if all(x["date"] <= end for x in rs.values())}

    def alive(pid):
        return pid not in stop and pid not in paid and pid not in undead and pid not in disagree

    for kind in audit_cases.TYPOS:
        for pid, rs in said(kind).items():
            (r,) = rs.values()
            t = typos[r["id_sent"]]
            assert (t["aac002"], t["source_feed"], t["death_date"], t["name"]) == (pid, r["feed"], r["date"], r["name"])
            assert t["division_agrees"] == ("yes" if r["feed"] == P else "not reported")
            assert t["difference"].startswith("digit") and alive(pid) and r["id_sent"] not in rejected
            if r["reason"]:                                   # a rejected line: not stored
                assert r["id_sent"] not in unplaced
            else:                                             # an ID nobody else has
                u = unplaced[r["id_sent"]]
                assert (u["reported"], u["sources"], u["name"], u["date"]) == ("death", r["feed"], r["name"], r["date"])
    for pid, rs in said("unknown_person").items():
        u = unplaced[pid]
        assert (u["reported"], u["sources"], u["name"]) == ("death", P, rs[P]["name"]) and pid not in mismatch
    for pid, rs in said("dates_differ").items():
        spread = abs((_date(rs[P]["date"]) - _date(rs[H]["date"])).days)
        row = disagree[pid]["dates differ"]
        assert spread > audit_truth.TOLERANCE and int(row["spread_days"]) == spread
        assert (row["police_date"], row["health_date"]) == (rs[P]["date"], rs[H]["date"])
    for pid, rs in said("dates_within").items():
        spread = abs((_date(rs[P]["date"]) - _date(rs[C]["date"])).days)
        assert spread == audit_truth.TOLERANCE and pid not in disagree
    for pid, rs in said("not_deregistered").items():
        row = undead[pid]
        assert row["sources"] == ", ".join(f for f in rc.DEATH_FEEDS if f in rs) and P not in rs
        assert row["death_date"] == (rs[H] if H in rs else rs[C])["date"] and pid in stop
        death_month = min(x["date"] for x in rs.values())[:7]
        assert (pid in paid) == (death_month < month), pid
        if pid in paid:
            assert int(paid[pid]["months_paid_after"]) == _months(death_month + "-01", first_of)
            assert paid[pid]["last_month_paid"] == first_of
    for pid, rs in said("police_later").items():
        row, gap = paid[pid], disagree[pid]["dates differ"]
        assert rs[H]["date"] < rs[P]["date"] and (gap["police_date"], gap["health_date"]) == (rs[P]["date"], rs[H]["date"])
        assert (row["death_date"], row["earliest_date"], row["latest_date"]) == (rs[P]["date"], rs[H]["date"], rs[P]["date"])
        assert Decimal(row["overpaid_high"]) > Decimal(row["overpaid"]) == Decimal(row["overpaid_low"])
    for pid, rs in said("police_earlier").items():
        gap = disagree[pid]["dates differ"]
        assert (gap["police_date"], gap["health_date"]) == (rs[P]["date"], rs[H]["date"]) and rs[P]["date"] < rs[H]["date"]
        if pid in paid:                          # only by what a day of the run paid before the police reported
            assert Decimal(paid[pid]["overpaid"]) == Decimal(paid[pid]["overpaid_high"]) \
                >= Decimal(paid[pid]["overpaid_low"])
    for pid, rs in said("certificate_rejected").items():
        (r,) = rejected[pid]
        assert (r["source_feed"], r["death_date"], r["reasons"]) == (H, rs[H]["date"], "ORG_USCC:USCC_CHECKSUM")
        after = [m for m in paid_months[pid] if rs[H]["date"][:7] < m[:7] <= month]
        assert int(r["months_at_risk"]) == len(after) > 0 and alive(pid)
    mine = {r["aac002"] for r in cases["roll_rejected"]}
    accepted = {(rec["AAC002"], rec["FFNY"]) for records, bad in (files[ROLL] for files in out.values())
                for line, rec in enumerate(records, start=2) if line not in bad and rec["AAC002"] in mine}
    rows_rejected = collections.Counter(r["aac002"] for r in cases["roll_rejected"] if r["feed"] == ROLL
                                        and r["date"] <= end and (r["aac002"], r["date"][:7]) not in accepted)
    for pid, rs in said("roll_rejected").items():
        row = paid[pid]
        assert int(row["roll_rows_rejected"]) == rows_rejected[pid] and row["earliest_date"] == rs[H]["date"]
        assert (pid in stop) == (row["last_month_paid"] == first_of)
    # November's rejected rows came in again on 1 and 2 December; December's were never sent right.
    assert any(int(r["roll_rows_rejected"]) for r in paid.values()) == (month == "2026-12")
    for pid, rs in said("stopped_on_time").items():
        assert pid not in paid and (pid in stop) == (rs[P]["date"][:7] == month)
    for kind in audit_cases.KINDS:
        assert said(kind), kind

    # Deregistrations that are not deaths: nothing for a pensioner, unplaced for someone else.
    for r in truth["register_planted"]:
        if r["case"] in rc.REASON and r["aac060"] <= end:
            if r["aac002"] in unplaced:
                u = unplaced[r["aac002"]]
                assert (u["reported"], u["date"], u["sources"]) == (audit_truth.REPORTED[r["dereg_reason"]],
                                                                    r["aac060"], P)
            elif r["case"] in rc.TURNS:
                assert r["aac002"] in paid_months.index
            assert alive(r["aac002"]) and r["aac002"] not in mismatch and r["aac002"] not in rejected
    assert {u["reported"] for u in unplaced.values()} >= {"death", "duplicate registration", "other deregistration"}

    # The planted late reports: one, two and three sources, paid for every month after the death month.
    late = {r["aac002"] for r in truth["register_status"] if r["case"] == "paid_after_death"
            and r["life_status_date"] <= end}
    assert late and late <= set(paid)
    assert {paid[p]["sources"] for p in late} == {P, f"{P}, {H}", f"{P}, {H}, {C}"}
    if month == "2026-12":                  # the last day's paid_after_death.csv says the same, to the fen
        for r in truth["paid_after_death.csv"]:
            assert int(paid[r["aac002"]]["months_paid_after"]) == int(r["months_paid_after"])
            assert Decimal(paid[r["aac002"]]["overpaid"]) == Decimal(r["amount_paid_after"])

    # The register cases, coordinated: withdrawals with another source still reporting, homophone names.
    register = collections.defaultdict(list)
    for r in truth["register_planted"]:
        register[r["case"]].append(r)
    withdrawn = {r["aac002"] for k in ("withdrawn_police_health_remains", "withdrawn_health_police_remains")
                 for r in register[k] if r["death_action"] == "2" and r["aac060"] <= end}
    assert withdrawn and all("withdrawn but still reported" in disagree[p] for p in withdrawn)
    names = collections.defaultdict(dict)
    for k in rc.NAMES:
        for r in register[k]:
            if r["aac060"] <= end:
                names[r["aac002"]][r["feed"]] = r
    turns = collections.Counter()
    for p, rs in names.items():             # a mismatch exactly when a feed other than the death feeds knows
        (f,) = set(rs) - {P}                # the name: the roll, a pensioner's (by turns)
        turns[p in paid_months.index] += 1
        if p in paid_months.index:
            row = mismatch[p][f]
            assert (row["kind"], row["registered_by"], row["name_reported"], row["name_registered"]) == \
                ("name differs", ROLL, rs[f]["aac003"], rs[P]["aac003"])
            assert rs[f]["aac003"] != rs[P]["aac003"] and P not in mismatch[p]
        else:
            assert p not in mismatch
    assert set(turns) == {True, False}

    # Every row obeys its kind's definition.
    for r in paid.values():
        high, mid, low = (Decimal(r[c]) for c in ("overpaid_high", "overpaid", "overpaid_low"))
        assert high > 0 and high >= mid >= low >= 0 and r["earliest_date"] <= r["death_date"] <= end
        assert r["earliest_date"] <= r["latest_date"] <= end and r["last_month_paid"] <= first_of
    for r in stop.values():
        assert r["last_month_paid"] == first_of and r["earliest_date"] <= r["death_date"] <= end
    assert all(P not in r["sources"] for r in undead.values()) and set(undead) <= set(stop)
    assert all(r["registered_by"] in ("police.identity", ROLL, "civil_affairs.assistance")
               for rows in mismatch.values() for r in rows.values())
    assert all(r["id_reported"] != r["aac002"] for r in typos.values())
    assert all(r["death_date"] <= end for rows in rejected.values() for r in rows)
    assert len(unplaced) == len(_rows(truth, "unplaced", month))

    totals = truth["report"]["months"][month]
    assert totals["people_paid_after_death"] == len(paid)
    assert totals["months_paid_after_death"] == sum(int(r["months_paid_after"]) for r in paid.values())
    for kind, columns in audit_truth.AMOUNTS.items():
        for column in columns:
            total = sum((Decimal(r[column]) for r in _rows(truth, kind, month)), Decimal(0))
            assert Decimal(totals[f"{kind}.{column}"]) == total
    assert totals["rows"] == {k: len(_rows(truth, k, month)) for k in audit_truth.KINDS}
    found = {(r["case"], kind) for m in ("2026-11", "2026-12") for kind in audit_truth.KINDS
             for r in _rows(truth, kind, m)}
    assert {(case, kind) for case, kinds in audit_truth.FOUND_IN.items() for kind in kinds} <= found


def test_the_shortcuts_agree_with_the_deliveries(days):
    """audit_truth reads the roll, the contributions and the living feeds without building their
    deliveries again: what it says the hub got must be what the files hold, line for line."""
    out, truth, _ = days
    w, monthly = _world()
    audit = w.calendar.audit                     # everyone a death record names, and the typos' pensioners
    named = np.unique(np.concatenate([np.flatnonzero(np.isin(w.ids, [r["aac002"] for r in truth["register_status"]])),
                                      audit.person[audit.kind != "unknown_person"]]))
    index = {p: i for i, p in enumerate(w.ids.tolist())}
    body = {p[:17]: i for p, i in index.items()}
    mine = set(named.tolist())
    roll, contributed, living, planted = set(), set(), set(), set()
    spared = audit_cases.spared(w)
    for on, files in out.items():
        records, bad = files[ROLL]
        for line, r in enumerate(records, start=2):
            if line in bad:             # never on a spared person, but for the planted roll_rejected rows
                if spared[body[r["AAC002"][:17]]]:
                    assert r["FFJE"] == audit_cases.BAD_AMOUNT and r["FFNY"] == f"{on:%Y-%m}", r
                    planted.add((r["AAC002"], on.isoformat(), r["FFNY"]))
            elif index[r["AAC002"]] in mine:
                roll.add((index[r["AAC002"]], np.datetime64(r["FFNY"], "D")))
        records, bad = files["hrss.contribution"]
        contributed |= {index[r["AAC002"]] for line, r in enumerate(records, start=2) if line not in bad}
        for feed in ("police.identity", "civil_affairs.assistance"):
            records, bad = files[feed]
            living |= {(index[r[ID[feed]]], feed, r.get("XB", "1") in ("1", "2"))
                       for line, r in enumerate(records, start=2) if line not in bad and r[ID[feed]] in index}
    assert planted == {(r["aac002"], r["business_date"], r["date"][:7]) for r in truth["planted"] if r["feed"] == ROLL}
    person, month, day = audit_truth.rejected_roll_rows(w, DAYS)
    assert planted == {(w.ids[p], d.astype(object).isoformat(), str(m.astype("datetime64[M]")))
                       for p, m, d in zip(person, month, day)}
    paid = audit_truth.roll_payments(w, DAYS, SEED, 0.05, monthly, named)
    i, j = np.nonzero(paid.accepted)
    assert set(zip(paid.people[i].tolist(), paid.months()[j].tolist())) == \
        {(p, m.astype(object)) for p, m in roll}
    assert set(named[audit_truth.contributors(w, DAYS, named)].tolist()) == contributed & mine
    offers = audit_truth.living_offers(w, DAYS, SEED, set(ID), named)
    assert set(zip(offers["person"].tolist(), offers["feed"].tolist(), offers["gender"].tolist())) == \
        {x for x in living if x[0] in mine}
    # ... and for pensioners the story does not spare, the defect draws are replayed: day by day, so
    # that the rejected lines show (over several days another day's line may make up for one).
    others = np.flatnonzero(~spared & ((np.datetime64(DAYS[0], "D") - w.birth).astype(int) >= 22_000))[:400]
    mine, missing = set(others.tolist()), 0
    for on, files in out.items():
        records, bad = files[ROLL]
        lines = {(index[r["AAC002"]], np.datetime64(r["FFNY"], "D")) for line, r in enumerate(records, start=2)
                 if line not in bad and index[r["AAC002"]] in mine}
        missing += sum(1 for line in bad if body[records[line - 2]["AAC002"][:17]] in mine)
        replayed = audit_truth.roll_payments(w, [on], SEED, 0.05, monthly, others)
        i, j = np.nonzero(replayed.accepted)
        assert set(zip(replayed.people[i].tolist(), replayed.months()[j].tolist())) == \
            {(p, m.astype(object)) for p, m in lines}, on
    assert missing > 0


def _report_of_the_key(truth_dir, month: dt.date, batches: dict[str, int]):
    """A findings.Report holding exactly the key's rows of `month` (the hub's types: decimals, dates,
    batch ids), as find() must give it."""
    from jinbao.audit.findings import KINDS as SCHEMAS, Report

    tables = {}
    for kind in audit_truth.KINDS:
        schema = SCHEMAS[kind]
        rows = [r for r in _csv(truth_dir / audit_truth.FILES[kind]) if r["report_month"] == f"{month:%Y-%m}"]
        columns = {}
        for f in schema:
            mine = "business_date" if f.name == "batch_id" else f.name
            values = [r[mine] or None for r in rows]
            if f.name == "batch_id":
                values = [batches[v] for v in values]
            elif pa.types.is_decimal(f.type):
                values = [Decimal(v) for v in values]
            elif pa.types.is_date(f.type):
                values = [None if v is None else _date(v) for v in values]
            elif pa.types.is_integer(f.type):
                values = [int(v) for v in values]
            columns[f.name] = pa.array(values, f.type)
        tables[kind] = pa.table(columns, schema=schema)
    return Report(month=month, generated_at=dt.datetime.now(dt.timezone.utc), tolerance_days=3, tables=tables)


def test_score_counts_a_report_against_the_key(days):
    """The key's columns are findings.py's; a report holding exactly the key scores every row a true
    positive; one row dropped and one changed are a false negative each and one false positive."""
    from jinbao.audit.findings import YUAN

    _, truth, cfg = days
    for kind in audit_truth.KINDS:
        assert audit_truth.COLUMNS[kind] == audit_truth.schema_columns(kind), kind
    truth_dir = cfg.generated / "truth"
    batches = {d.isoformat(): 100 + i for i, d in enumerate(DAYS)}
    back = {v: k for k, v in batches.items()}
    month = dt.date(2026, 11, 1)
    report = _report_of_the_key(truth_dir, month, batches)
    score = audit_truth.score(report, truth_dir, month, back)
    assert score == {k: (truth["report"]["months"]["2026-11"]["rows"][k], 0, 0) for k in audit_truth.KINDS}
    assert all(score[k][0] for k in audit_truth.KINDS)
    paid = report.tables["paid_after_death"]
    changed = paid.slice(1).set_column(paid.schema.get_field_index("overpaid"), "overpaid",
                                       pa.array([Decimal("0.01")] * (paid.num_rows - 1), YUAN))
    report.tables["paid_after_death"] = pa.concat_tables([changed.slice(0, 1), paid.slice(2)])
    tp, fp, fn = audit_truth.score(report, truth_dir, month, back)["paid_after_death"]
    assert (tp, fp, fn) == (paid.num_rows - 2, 1, 2)


def test_the_key_is_reproducible(days, tmp_path, monkeypatch):
    _, truth, cfg = days
    monkeypatch.setenv("JINBAO_HOME", str(tmp_path / "again"))
    again = load_settings()
    generate(again, DAYS[-1], people=PEOPLE, seed=SEED, since=FIRST)
    for file in audit_truth.FILES.values():
        assert (again.generated / "truth" / file).read_bytes() == (cfg.generated / "truth" / file).read_bytes(), file


def test_a_day_of_one_feed_without_death_feeds_has_an_empty_key(tmp_path, monkeypatch):
    """`generate --feed hrss.pension_roll` (as the Celery test does): no death record, no finding, no failure."""
    monkeypatch.setenv("JINBAO_HOME", str(tmp_path))
    cfg = load_settings()
    summary = generate(cfg, dt.date(2026, 11, 22), people=8000, feeds=["hrss.pension_roll"])
    assert list(summary["feeds"]) == ["hrss.pension_roll"]
    report = json.loads((cfg.generated / "truth" / audit_truth.FILES["report"]).read_text())
    assert all(not any(m["rows"].values()) for m in report["months"].values())
