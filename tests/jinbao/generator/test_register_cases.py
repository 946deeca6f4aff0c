"""The planted register cases (register_cases.py) and their answer key (register_truth.py), pure generator.

Six days of one story (2026-11-28 .. 2026-12-03) are generated into one home: the planted
records must be in the files exactly as the key says, clean, with CZBZ only from 2026-12-01
and withdrawals repeating what they withdraw; and the key must say what each kind of case
means (a withdrawn lone report ends alive, a correction moves the date ...), independently
of how register_truth computes it.
"""
from __future__ import annotations

import collections
import csv
import datetime as dt

import numpy as np
import pytest

from jinbao.generator import generate, register_truth
from jinbao.generator import register_cases as rc
from jinbao.generator.deaths import Calendar, per_day
from jinbao.settings import load_settings

FIRST = dt.date(2026, 11, 28)
DAYS = [FIRST + dt.timedelta(days=i) for i in range(6)]
PEOPLE = 8000
ID = {"police.death": "GMSFHM", "health.death_certificate": "ID_NO", "civil_affairs.cremation": "SFZH",
      "police.identity": "GMSFHM", "civil_affairs.assistance": "SFZH"}
NAME = {"police.death": "XM", "health.death_certificate": "NAME", "civil_affairs.cremation": "XM",
        "police.identity": "XM", "civil_affairs.assistance": "XM"}
DATE = {"police.death": "SWRQ", "health.death_certificate": "DEATH_DATE", "civil_affairs.cremation": "SWRQ"}
DIVISION = {"police.death": "HJDZ_XZQH", "police.identity": "HJDZ_XZQH", "civil_affairs.assistance": "XZQH"}
DEATH_FEEDS, LIVING_FEEDS = rc.DEATH_FEEDS, rc.LIVING_FEEDS
P, H, C = DEATH_FEEDS


def _csv(path) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _iso(value: str) -> str:
    return f"{value[:4]}-{value[4:6]}-{value[6:]}" if len(value) == 8 else value


@pytest.fixture(scope="module")
def days(tmp_path_factory):
    """{day: (summary, {feed: (header, records, defective lines)})} and the last day's truth files."""
    home = tmp_path_factory.mktemp("register-days")
    mp = pytest.MonkeyPatch()
    mp.setenv("JINBAO_HOME", str(home))
    cfg = load_settings()
    out = {}
    for on in DAYS:
        summary = generate(cfg, on, people=PEOPLE, since=FIRST)
        files = {}
        for feed in DEATH_FEEDS + LIVING_FEEDS:
            info = summary["feeds"][feed]
            text = (cfg.inbound(info["partner"]) / info["file"]).read_bytes().decode(info["encoding"].lower())
            lines = list(csv.reader(text.split("\n")[:-1]))
            bad = {int(t["line"]) for t in _csv(cfg.generated / "truth" / info["truth"])}
            files[feed] = (lines[0], [dict(zip(lines[0], r)) for r in lines[1:]], bad)
        out[on] = (summary, files)
    truth = {name: _csv(cfg.generated / "truth" / file) for name, file in register_truth.FILES.items()}
    mp.undo()
    return out, truth


def test_czbz_from_december_and_withdrawals_only_of_planted_people(days):
    out, truth = days
    planted = {r["aac002"] for r in truth["planted"]}
    for on, (_, files) in out.items():
        for feed in DEATH_FEEDS:
            header, records, _ = files[feed]
            assert (header[-1] == "CZBZ") == (on >= dt.date(2026, 12, 1)), (feed, on)
            if header[-1] == "CZBZ":
                assert {r["CZBZ"] for r in records} <= {"1", "2", ""}
                withdrawn = {r[ID[feed]] for r in records if r["CZBZ"] == "2"}
                assert withdrawn <= planted
    withdrawals = [r for r in truth["planted"] if r["death_action"] == "2"]
    assert withdrawals and min(r["business_date"] for r in withdrawals) >= "2026-12-01"


def test_every_planted_record_is_in_its_delivery_clean_and_as_the_key_says(days):
    out, truth = days
    assert {r["business_date"] for r in truth["planted"]} == {d.isoformat() for d in DAYS}
    for r in truth["planted"]:
        header, records, bad = out[dt.date.fromisoformat(r["business_date"])][1][r["feed"]]
        lines = [i for i, rec in enumerate(records, start=2) if rec[ID[r["feed"]]] == r["aac002"]]
        assert len(lines) == 1, r
        rec = records[lines[0] - 2]
        assert lines[0] not in bad, r
        assert rec[NAME[r["feed"]]] == r["aac003"], r
        if r["feed"] in DATE:
            assert _iso(rec[DATE[r["feed"]]]) == r["aac060"], r
            assert rec.get("CZBZ", "1") == r["death_action"] or (r["death_action"] == "1" and "CZBZ" not in rec)
        if r["feed"] == P:
            assert rec["ZXYY"] == r["dereg_reason"], r
            if r["dereg_reason"] != "1":
                assert rec["ZXRQ"] == rec["SWRQ"]                     # a deregistration's date, twice
        if r["feed"] in DIVISION:
            assert rec[DIVISION[r["feed"]]] == r["aab301"], r


def test_a_withdrawal_repeats_the_record_it_withdraws(days):
    out, truth = days
    by = collections.defaultdict(list)
    for r in truth["planted"]:
        if r["feed"] in DEATH_FEEDS:
            by[(r["aac002"], r["feed"])].append(r)
    withdrawals = 0
    for (pid, feed), rows in by.items():
        rows.sort(key=lambda r: r["business_date"])
        for before, after in zip(rows, rows[1:]):
            if after["death_action"] != "2":
                continue
            withdrawals += 1
            old, new = ({k: v for k, v in rec.items() if k != "CZBZ"} for rec in (
                next(x for x in out[dt.date.fromisoformat(r["business_date"])][1][feed][1] if x[ID[feed]] == pid)
                for r in (before, after)))
            assert old == new, (feed, before["case"])
    assert withdrawals >= 5


def test_each_day_carries_one_case_of_every_kind_that_fits():
    """From the plan: one case per kind and anchor day; withdrawals only from 2026-12-01, so a
    story before that month has none."""
    rng = np.random.default_rng(20261122)
    birth = np.datetime64("1935-01-01") + rng.integers(0, 25_000, PEOPLE)
    cal = Calendar.plan(20261122, birth.astype("datetime64[D]"), dt.date(2026, 11, 30), per_day(PEOPLE))
    assert (cal.first, cal.last) == (dt.date(2026, 10, 1), dt.date(2026, 12, 31))
    cases = cal.cases
    for kind in rc.KINDS:
        anchors = cases.anchor[cases.kind == kind]
        assert len(anchors) == len(set(anchors.tolist())), kind               # one a day
        lo = np.datetime64(cal.first, "D") + rc.SPAN.get(kind, 0)
        if kind in rc.WITHDRAWING:
            lo = max(lo, rc.CZBZ_FROM)
        assert anchors.min() == lo and anchors.max() == np.datetime64(cal.last, "D"), kind
        assert len(anchors) == (np.datetime64(cal.last, "D") - lo).astype(int) + 1, kind
    assert len(set(cases.person.tolist())) == len(cases.person)            # one case a person
    assert not np.isin(cases.person, cal.person[cal.ordinary]).any()        # not an ordinary death too
    summer = Calendar.plan(20261122, birth.astype("datetime64[D]"), dt.date(2026, 8, 15), per_day(PEOPLE))
    assert not np.isin(summer.cases.kind, rc.WITHDRAWING).any()
    assert (summer.cases.records.action == rc.REGISTERS).all()


def test_the_key_says_what_each_kind_means(days):
    """For the cases planted wholly inside the run, the answer key's end state, history and conflicts,
    checked against each kind's definition (not against register_truth's computation)."""
    _, truth = days
    records = collections.defaultdict(list)
    for r in truth["planted"]:
        records[r["aac002"]].append(r)
    status = {r["aac002"]: (r["life_status"], r["life_status_date"], r["life_status_source"])
              for r in truth["status"]}
    history = collections.defaultdict(list)
    for r in truth["history"]:
        history[r["aac002"]].append((r["from_status"], r["to_status"], r["effective_date"], r["source_feed"]))
    open_ = {(r["aac002"], r["field"], r["offered_source"]): (r["value_offered"], r["value_held"], r["held_source"])
             for r in truth["conflicts"]}
    resolved = {(r["aac002"], r["field"], r["offered_source"]) for r in truth["resolved"]}
    whole = collections.Counter()

    def said(rows, feed, action="1"):
        return [r for r in rows if r["feed"] == feed and r["death_action"] == action]

    for pid, rows in records.items():
        kind = rows[0]["case"]
        rows.sort(key=lambda r: (r["business_date"], r["feed"]))
        span = {"police_then_health": 2, "health_then_police": 2, "three_sources": 3, "name_health": 2,
                "name_cremation": 2, "withdrawn_police_health_remains": 3, "withdrawn_health_police_remains": 3,
                "corrected_police": 2, "corrected_health": 2, "withdrawn_alone": 2, "name_assistance": 2,
                "division_assistance": 2, "name_resolved": 3}.get(kind, 1)
        if len(rows) < span:            # begun before the run or ends after it
            continue
        whole[kind] += 1
        dates = [r["aac060"] for r in rows]
        if kind in ("health_only", "cremation_only"):
            feed = H if kind == "health_only" else C
            assert status[pid] == ("deceased", dates[0], feed)
            assert history[pid] == [("alive", "deceased", dates[0], feed)]
        elif kind == "police_then_health":
            (police,), (hosp,) = said(rows, P), said(rows, H)
            assert hosp["aac060"] != police["aac060"]
            assert status[pid] == ("deceased", police["aac060"], P)
            assert history[pid] == [("alive", "deceased", police["aac060"], P)]
        elif kind in ("health_then_police", "three_sources"):
            order = [r for r in rows]                                      # by day: first reported first
            assert len({r["aac060"] for r in order}) == len(order)         # every source its own date
            assert history[pid] == [("alive", "deceased", order[0]["aac060"], order[0]["feed"])] + \
                [("deceased", "deceased", r["aac060"], r["feed"]) for r in order[1:]]
            assert status[pid] == ("deceased", said(rows, P)[0]["aac060"], P)
        elif kind in ("corrected_police", "corrected_health"):
            feed = P if kind == "corrected_police" else H
            wrong, right = rows
            assert wrong["aac060"] < right["aac060"] and wrong["business_date"] < right["business_date"]
            assert status[pid] == ("deceased", right["aac060"], feed)
            assert history[pid] == [("alive", "deceased", wrong["aac060"], feed),
                                    ("deceased", "deceased", right["aac060"], feed)]
        elif kind in ("name_health", "name_cremation"):
            feed = H if kind == "name_health" else C
            (police,), (other,) = said(rows, P), said(rows, feed)
            assert status[pid] == ("deceased", police["aac060"], P)
            assert open_[(pid, "aac003", feed)] == (other["aac003"], police["aac003"], P)
            assert other["aac003"] != police["aac003"] and len(other["aac003"]) == len(police["aac003"])
        elif kind == "withdrawn_police_health_remains":
            (police,), (hosp,) = said(rows, P), said(rows, H)
            assert said(rows, P, "2")[0]["aac060"] == police["aac060"]
            assert status[pid] == ("deceased", hosp["aac060"], H)
            assert history[pid] == [("alive", "deceased", police["aac060"], P),
                                    ("deceased", "deceased", hosp["aac060"], H)]
        elif kind == "withdrawn_health_police_remains":
            (police,) = said(rows, P)
            assert said(rows, H, "2")
            assert status[pid] == ("deceased", police["aac060"], P)
            assert history[pid] == [("alive", "deceased", police["aac060"], P)]
        elif kind == "withdrawn_alone":
            first, last = rows
            assert (first["death_action"], last["death_action"], first["feed"]) == ("1", "2", last["feed"])
            assert status[pid] == ("alive", "", last["feed"])
            assert history[pid] == [("alive", "deceased", first["aac060"], first["feed"]),
                                    ("deceased", "alive", "", last["feed"])]
        elif kind in rc.REASON:
            (police,) = rows
            assert police["dereg_reason"] == rc.REASON[kind]
            assert status[pid] == (kind, police["aac060"], P)
            assert history[pid] == [("alive", kind, police["aac060"], P)]
        elif kind in rc.CONFLICTS:
            ident = [r for r in rows if r["feed"] == "police.identity"][0]
            offers = [r for r in rows if r["feed"] == "civil_affairs.assistance"]
            field = "aab301" if kind == "division_assistance" else "aac003"
            assert offers[0][field] != ident[field] and offers[0]["business_date"] == ident["business_date"]
            if kind == "name_resolved":
                assert offers[-1]["aac003"] == ident["aac003"]
                assert (pid, field, "civil_affairs.assistance") in resolved
            else:
                assert open_[(pid, field, "civil_affairs.assistance")] == (offers[0][field], ident[field],
                                                                           "police.identity")
        if kind not in rc.DYING and kind not in rc.WITHDRAWING and kind not in rc.REASON:
            assert pid not in status                                    # never reported dead
    assert set(whole) == set(rc.KINDS), set(rc.KINDS) - set(whole)
    # Nothing but the planted conflicts; every planted person in the key is in the planted records.
    assert {k[0] for k in open_} | {k[0] for k in resolved} <= set(records)


def test_a_person_is_reported_by_a_source_on_two_days_only_when_planted(days):
    out, truth = days
    planted = {r["aac002"] for r in truth["planted"]}
    for feed in DEATH_FEEDS:
        seen = collections.Counter()
        for on, (_, files) in out.items():
            ids = [r[ID[feed]] for r in files[feed][1]]
            assert len(ids) == len(set(ids)), (feed, on)
            seen.update(i[:6] + "19" + i[6:15] if len(i) == 15 else i[:17] for i in ids)
        again = {p for p, n in seen.items() if n > 1}
        assert again and again <= {p[:17] for p in planted}, feed


def test_planted_people_appear_in_living_feeds_only_as_planned(days):
    out, truth = days
    case = {r["aac002"]: r["case"] for r in truth["planted"]}
    planned = {(r["aac002"], r["feed"], r["business_date"]) for r in truth["planted"]}
    for on, (_, files) in out.items():
        for feed in LIVING_FEEDS:
            for r in files[feed][1]:
                if r[ID[feed]] in case:
                    assert (r[ID[feed]], feed, on.isoformat()) in planned, (case[r[ID[feed]]], feed, on)


def test_the_key_is_reproducible_and_starts_where_asked(tmp_path, monkeypatch):
    keys = []
    for n, since in enumerate((FIRST, FIRST, None)):
        monkeypatch.setenv("JINBAO_HOME", str(tmp_path / str(n)))
        cfg = load_settings()
        summary = generate(cfg, DAYS[-1], people=PEOPLE, since=since,
                           feeds=["police.death", "health.death_certificate", "civil_affairs.cremation"])
        keys.append((summary["register"], {f: (cfg.generated / "truth" / f).read_bytes()
                                           for f in register_truth.FILES.values()}))
    assert keys[0] == keys[1]
    assert keys[2][0]["since"] == "2026-10-01" and keys[2][0]["status"] > keys[0][0]["status"]
    assert keys[0][0]["conflicts"] > 0           # the death feeds' own: name_health, name_cremation
