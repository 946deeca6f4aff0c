"""The planted audit cases (audit_cases.py) and the expected report (audit_truth.py), pure generator.

Five days of one story (2026-11-28 .. 2026-12-02) are generated into one home: every planted audit
record must be in its delivery as the key says (clean, but for the typo'd IDs that keep their old
check character: the gate must reject those), the typo'd and invented IDs must be what their kind
says, and the expected report must hold each case where its kind puts it (and not where it does
not), checked against each kind's definition rather than against audit_truth's computation.  The
shortcuts audit_truth takes (the roll and the living feeds without building their deliveries
again) are checked against the deliveries themselves.
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

from jinbao.generator import audit_cases, audit_truth, generate
from jinbao.generator import deaths as deaths_mod
from jinbao.generator import register_cases as rc
from jinbao.generator.population import counties, pensions, population
from jinbao.generator.world import World
from jinbao.quality import citizen_id
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
LIVING = ("police.identity", "civil_affairs.assistance", "finance.subsidy_payment", "hrss.resident_enrollment",
          "hrss.contribution")


def _csv(path) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _iso(value: str) -> str:
    return f"{value[:4]}-{value[4:6]}-{value[6:]}" if len(value) == 8 else value


@pytest.fixture(scope="module")
def days(tmp_path_factory):
    """({day: {feed: (records, defective lines)}}, truth files of the last day, settings)."""
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
    yield out, truth, cfg
    mp.undo()


def _world(on: dt.date = DAYS[-1]):
    """The generator's world of that day, as generate() builds it (population, pensions, plan)."""
    rng = np.random.default_rng(SEED)
    known = counties()
    pop = population(rng, PEOPLE, known)
    monthly = pensions(rng, pop.num_rows)
    birth = pop.column("aac006").to_numpy().astype("datetime64[D]")
    calendar = deaths_mod.Calendar.plan(SEED, birth, on, deaths_mod.per_day(PEOPLE))
    return World.of(pop, calendar, on, known, SEED), monthly


def _cases(truth) -> dict[str, list[dict]]:
    by = collections.defaultdict(list)
    for r in truth["planted"]:
        by[r["case"]].append(r)
    return by


def test_each_day_carries_one_case_of_every_kind_that_fits():
    """From the plan of a whole story: one case per kind and anchor day (stopped_on_time: not on the
    1st); the dying are pensioners all story long, in no register case and no ordinary death."""
    w, _ = _world()
    cal, audit = w.calendar, w.calendar.audit
    days = np.arange(np.datetime64(cal.first, "D"), np.datetime64(cal.last, "D") + 1)
    for kind in audit_cases.KINDS:
        anchors = audit.anchor[audit.kind == kind]
        assert len(anchors) == len(set(anchors.tolist())), kind
        fits = days[days.astype("datetime64[M]").astype("datetime64[D]") < days] if kind == "stopped_on_time" \
            else days
        assert sorted(anchors.tolist()) == fits.tolist(), kind
    dying = audit.kind != "unknown_person"
    people = audit.person[dying]
    assert len(set(people.tolist())) == len(people)
    assert not np.isin(people, cal.cases.person).any() and not np.isin(people, cal.person[cal.ordinary]).any()
    assert ((np.datetime64(cal.first, "D") - w.birth[people]).astype(int) >= audit_cases.PENSION_AGE).all()
    namesakes = audit.person[~dying]
    assert ((np.datetime64(cal.last, "D") - w.birth[namesakes]).astype(int) < audit_cases.PENSION_AGE).all()
    assert (audit.died < audit.anchor).all()
    # The roll never stops for the people the police never report under their own ID.
    at = {p: i for i, p in enumerate(cal.person.tolist())}
    for kind, p in zip(audit.kind[dying], people):
        assert np.isnat(cal.report[at[p]]) == (kind in audit_cases.UNSTOPPED), kind


def test_planted_records_are_in_their_delivery_as_the_key_says(days):
    out, truth, _ = days
    assert {r["business_date"] for r in truth["planted"]} == {d.isoformat() for d in DAYS}
    assert set(_cases(truth)) == set(audit_cases.KINDS)
    for r in truth["planted"]:
        records, bad = out[dt.date.fromisoformat(r["business_date"])][r["feed"]]
        lines = [i for i, rec in enumerate(records, start=2) if rec[ID[r["feed"]]] == r["id_sent"]]
        assert len(lines) == 1, r
        rec = records[lines[0] - 2]
        if r["rejected"] == "1":                    # the gate rejects it, and the truth file says why
            assert bad[lines[0]] == {"line": str(lines[0]), "field": "GMSFHM", "reason_code": "ID_CHECKSUM"}, r
        else:
            assert lines[0] not in bad, r
        assert rec[NAME[r["feed"]]] == r["aac003"] and _iso(rec[DATE[r["feed"]]]) == r["aac060"], r
        assert rec.get("CZBZ", "1") in ("1", "")                       # audit cases never withdraw
        if r["feed"] == P:
            assert rec["ZXYY"] == "1" and rec["XB"] in ("1", "2") and len(rec["GMSFHM"]) == 18, r


def test_typo_and_invented_ids(days):
    """A typo: one sequence digit (15-17, the 17th keeping its parity) or two adjacent ones swapped in
    the pensioner's ID; the check character recomputed (valid) or kept (invalid).  An invented ID:
    valid, the namesake's county and birth date.  None is anybody's ID, nor any two the same."""
    out, truth, _ = days
    w, _ = _world()
    everyone = set(w.ids.tolist())
    bodies = {i[:17] for i in everyone}
    sent = audit_cases.sent_ids(w)
    virtual = np.isin(w.calendar.audit.kind, audit_cases.VIRTUAL)
    assert len(set(sent[virtual].tolist())) == virtual.sum()
    for r in [r for k in ("typo_valid", "typo_invalid", "unknown_person") for r in _cases(truth)[k]]:
        real, typo = r["aac002"], r["id_sent"]
        assert typo[:17] not in bodies and typo not in everyone, r
        valid = bool(citizen_id.valid_checksum(pa.array([typo]))[0])
        assert valid == (r["case"] != "typo_invalid"), r
        if r["case"] == "unknown_person":
            assert real == typo and any(i.startswith(typo[:14]) for i in everyone)
            continue
        assert typo[:14] == real[:14] and int(typo[16]) % 2 == int(real[16]) % 2, r
        diff = [i for i in range(17) if typo[i] != real[i]]
        assert len(diff) == 1 or (len(diff) == 2 and diff[1] == diff[0] + 1
                                  and typo[diff[0]] == real[diff[1]] and typo[diff[1]] == real[diff[0]]), r
        assert (typo[17] == real[17]) == (r["case"] == "typo_invalid"), r


def test_the_people_behind_the_cases_are_where_their_kind_puts_them(days):
    """A typo's pensioner and a death only health or cremation report: never reported under the
    person's ID by the police, still paid in the business month, in no living feed from the death on.
    The invented ID is in no feed but police.death."""
    out, truth, cfg = days
    roll = pq.read_table(cfg.generated / "pension_roll.parquet").to_pandas()
    last_paid = roll.groupby("aac002")["month"].max()
    business_month = DAYS[-1].replace(day=1)
    cases = _cases(truth)
    sent = collections.defaultdict(set)
    for on, files in out.items():
        for feed, (records, _) in files.items():
            if feed in ID:
                sent[feed] |= {r[ID[feed]] for r in records}
    for r in cases["typo_valid"] + cases["typo_invalid"] + cases["not_deregistered"]:
        assert r["aac002"] not in sent[P], r
        if r["case"] != "not_deregistered":
            assert r["aac002"] not in sent[H] | sent[C], r
        assert last_paid[r["aac002"]] == business_month, r
        died = dt.date.fromisoformat(r["aac060"])
        for on, files in out.items():
            if on >= died:
                for feed in LIVING:
                    assert r["aac002"] not in {x[ID[feed]] for x in files[feed][0]}, (feed, on, r)
    for r in cases["unknown_person"]:
        assert all(r["aac002"] not in sent[feed] for feed in sent if feed != P), r
    for r in cases["stopped_on_time"]:
        assert r["aac060"][:7] == r["business_date"][:7] < r["business_date"]
        assert last_paid[r["aac002"]] == dt.date.fromisoformat(r["aac060"]).replace(day=1), r


def _rows(truth, kind: str, month: str) -> list[dict]:
    return [r for r in truth[kind] if r["report_month"] == month]


@pytest.mark.parametrize("month", ["2026-11", "2026-12"])
def test_the_expected_report_holds_every_planted_case(days, month):
    _, truth, _ = days
    cases = _cases(truth)
    paid = {r["aac002"]: r for r in _rows(truth, "paid_after_death", month)}
    disagree = collections.defaultdict(dict)
    for r in _rows(truth, "sources_disagree", month):
        disagree[r["aac002"]][r["kind"]] = r
    undead = {r["aac002"]: r for r in _rows(truth, "not_deregistered", month)}
    mismatch = collections.defaultdict(dict)
    for r in _rows(truth, "identity_mismatch", month):
        mismatch[r["aac002"]][r["source_feed"]] = r
    typos = {r["id_reported"]: r for r in _rows(truth, "probable_typo", month)}
    rejected = {r["id_reported"]: r for r in _rows(truth, "rejected", month)}
    end = "2026-11-30" if month == "2026-11" else "2026-12-31"

    def said(kind):
        """Per person of a kind dated within the month: {feed: record}."""
        by = collections.defaultdict(dict)
        for r in cases[kind]:
            by[r["aac002"]][r["feed"]] = r
        return {p: rs for p, rs in by.items() if all(x["aac060"] <= end for x in rs.values())}

    for pid, rs in said("typo_valid").items():
        r = rs[P]
        assert mismatch[r["id_sent"]][P]["kind"] == "unknown ID" and r["id_sent"] not in paid
        t = typos[r["id_sent"]]
        assert (t["aac002"], t["source_feed"], t["death_date"], t["name"]) == (pid, P, r["aac060"], r["aac003"])
        assert t["difference"].startswith("digit")
    for pid, rs in said("typo_invalid").items():
        r = rs[P]
        assert rejected[r["id_sent"]]["aac002"] == pid and rejected[r["id_sent"]]["reasons"] == "GMSFHM:ID_CHECKSUM"
        assert r["id_sent"] not in mismatch and r["id_sent"] not in typos
    for pid, rs in said("unknown_person").items():
        assert mismatch[pid][P]["kind"] == "unknown ID" and mismatch[pid][P]["name_registered"] == rs[P]["aac003"]
    for pid, rs in said("dates_differ").items():
        spread = abs((dt.date.fromisoformat(rs[P]["aac060"]) - dt.date.fromisoformat(rs[H]["aac060"])).days)
        row = disagree[pid]["dates differ"]
        assert spread > audit_truth.TOLERANCE and int(row["spread_days"]) == spread
        assert (row["police_date"], row["health_date"]) == (rs[P]["aac060"], rs[H]["aac060"])
    for pid, rs in said("dates_within").items():
        spread = abs((dt.date.fromisoformat(rs[P]["aac060"]) - dt.date.fromisoformat(rs[C]["aac060"])).days)
        assert spread == audit_truth.TOLERANCE and pid not in disagree
    for pid, rs in said("not_deregistered").items():
        row = undead[pid]
        assert row["sources"] == ", ".join(f for f in rc.DEATH_FEEDS if f in rs) and P not in rs
        death_month = min(x["aac060"] for x in rs.values())[:7]
        assert (pid in paid) == (death_month < month), pid
        if pid in paid:
            months = (int(month[:4]) - int(death_month[:4])) * 12 + int(month[5:]) - int(death_month[5:])
            assert int(paid[pid]["months_paid_after"]) == months and paid[pid]["last_month_paid"] == month + "-01"
    for pid in said("stopped_on_time"):
        assert pid not in paid
    assert all(said(kind) for kind in audit_cases.KINDS)

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
    assert withdrawn and all("withdrawn but still reported" in disagree[p] for p in withdrawn)   # (in December,
    # a death dated in November: the November report sees the store as it is)
    names = [(r["aac002"], r["feed"]) for k in ("name_health", "name_cremation") for r in register[k]
             if r["feed"] != P and r["aac060"] <= end]
    assert names and all(mismatch[p][f]["kind"] in ("name differs", "unknown ID") for p, f in names)
    assert any(mismatch[p][f]["kind"] == "name differs" for p, f in names)

    totals = truth["report"]["months"][month]
    assert totals["people_paid_after_death"] == len(paid)
    assert totals["months_paid_after_death"] == sum(int(r["months_paid_after"]) for r in paid.values())
    assert Decimal(totals["overpaid"]) == sum((Decimal(r["overpaid"]) for r in paid.values()), Decimal(0))
    assert totals["rows"] == {k: len(_rows(truth, k, month)) for k in audit_truth.KINDS}


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
    roll, contributed, living = set(), set(), set()
    spared = audit_cases.spared(w)
    for on, files in out.items():
        records, bad = files["hrss.pension_roll"]
        for line, r in enumerate(records, start=2):
            if line in bad:
                assert not spared[body[r["AAC002"][:17]]], r             # never on a spared person
            elif index[r["AAC002"]] in set(named.tolist()):
                roll.add((index[r["AAC002"]], np.datetime64(r["FFNY"], "D")))
        records, bad = files["hrss.contribution"]
        contributed |= {index[r["AAC002"]] for line, r in enumerate(records, start=2) if line not in bad}
        for feed in ("police.identity", "civil_affairs.assistance"):
            records, bad = files[feed]
            living |= {(index[r[ID[feed]]], feed, r.get("XB", "1") in ("1", "2"))
                       for line, r in enumerate(records, start=2) if line not in bad and r[ID[feed]] in index}
    paid = audit_truth.roll_payments(w, DAYS, SEED, 0.05, monthly, named)
    i, j = np.nonzero(paid.accepted)
    assert set(zip(paid.people[i].tolist(), paid.months()[j].tolist())) == \
        {(p, m.astype(object)) for p, m in roll}
    assert set(named[audit_truth.contributors(w, DAYS, named)].tolist()) == contributed & set(named.tolist())
    offers = audit_truth.living_offers(w, DAYS, SEED, set(ID), named)
    assert set(zip(offers["person"].tolist(), offers["feed"].tolist(), offers["gender"].tolist())) == \
        {x for x in living if x[0] in set(named.tolist())}
    # ... and for pensioners the story does not spare, the defect draws are replayed: day by day, so
    # that the rejected lines show (over several days another day's line may make up for one).
    others = np.flatnonzero(~spared & ((np.datetime64(DAYS[0], "D") - w.birth).astype(int) >= 22_000))[:400]
    mine, missing = set(others.tolist()), 0
    for on, files in out.items():
        records, bad = files["hrss.pension_roll"]
        lines = {(index[r["AAC002"]], np.datetime64(r["FFNY"], "D")) for line, r in enumerate(records, start=2)
                 if line not in bad and index[r["AAC002"]] in mine}
        missing += sum(1 for line in bad if body[records[line - 2]["AAC002"][:17]] in mine)
        replayed = audit_truth.roll_payments(w, [on], SEED, 0.05, monthly, others)
        i, j = np.nonzero(replayed.accepted)
        assert set(zip(replayed.people[i].tolist(), replayed.months()[j].tolist())) == \
            {(p, m.astype(object)) for p, m in lines}, on
    assert missing > 0


def test_the_key_is_reproducible(days, tmp_path, monkeypatch):
    _, truth, cfg = days
    monkeypatch.setenv("JINBAO_HOME", str(tmp_path / "again"))
    again = load_settings()
    generate(again, DAYS[-1], people=PEOPLE, seed=SEED, since=FIRST)
    for file in audit_truth.FILES.values():
        assert (again.generated / "truth" / file).read_bytes() == (cfg.generated / "truth" / file).read_bytes(), file
