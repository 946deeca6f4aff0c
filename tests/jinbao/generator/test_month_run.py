"""A generated month, run day by day as the hub is fed (issue 25): no batch held that the answer keys
do not expect.

Every day of November 2026 is generated with `jinbao generate --date D --since 2026-11-01` (the
calendar: only the deliveries the declarations owe for D, finance's month on the 30th) and run with
`jinbao run all`; one day leaves police.identity out (`--omit`).  Before issue 25 finance paid every
re-enrolment of a resident again, and from the 20th its deliveries were held, most of their records
SUBSIDY_ALREADY_PAID.  Here: every batch is published, each one's rejections are exactly its
truth file's planted defects (and, for finance, the subsidies' key's refusals), the deliveries taken
are exactly those the truth files `deliveries_<date>.csv` say were written, and the hub's missing-delivery
check finds exactly the one left out.  SQLite only; 2 500 people keep November one story (a month)
and the run about two minutes.
"""
from __future__ import annotations

import csv
import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
import pytest
import sqlalchemy as sa

from jinbao import generator
from jinbao.generator import deaths, finance, hrss, story, subsidy_truth, timetable
from jinbao.generator.population import counties, population
from jinbao.generator.world import World

FIRST = dt.date(2026, 11, 1)
DAYS = [FIRST + dt.timedelta(days=i) for i in range(30)]
PEOPLE = 2500
OMITTED = ("police.identity", dt.date(2026, 11, 17))
#: The field a subsidy refusal names (jinbao/subsidies): the line's key, else the field that disagrees.
SUBSIDY_FIELD = {"SUBSIDY_WRONG_DIVISION": "XZQH", "SUBSIDY_WRONG_AMOUNT": "BTJE"}


@pytest.fixture(scope="module")
def month(tmp_path_factory):
    from jinbao.cli import main
    from jinbao.keys import init_keys
    from tests.conftest import home_on

    with home_on("sqlite", tmp_path_factory.mktemp("month-run")) as home:
        init_keys(home.home)
        for on in DAYS:
            args = ["generate", "--date", on.isoformat(), "--people", str(PEOPLE), "--since", FIRST.isoformat()]
            if on == OMITTED[1]:
                args += ["--omit", OMITTED[0]]
            if on == DAYS[-1]:
                args += ["--subsidy-key"]
            assert main(args) == 0, on
            assert main(["run", "all"]) == 0, on         # 0: every delivery published, none held or refused
        yield home


def test_finance_pays_a_resident_once_though_residents_enrol_again():
    """Every feed every day, 3 000 people: November holds five times more enrolments than residents
    who may enrol, so residents enrol again and again; finance's exact payments of the days since
    the 1st name each person once (issue 25: from the 20th of a generated November they were mostly
    people paid before, refused SUBSIDY_ALREADY_PAID, and the deliveries held)."""
    seed, people = 20261122, 3000
    pop = population(np.random.default_rng(seed), people, counties())
    birth = pop.column("aac006").to_numpy().astype("datetime64[D]")
    plan = deaths.Calendar.plan(seed, birth, FIRST, deaths.per_day(people))
    world = World.of(pop, plan, FIRST, counties(), seed)
    build = generator._builders(people, None, 0.05, since=FIRST)[finance.FEED]
    enrolled, paid = [], []
    for on in DAYS:
        w = world.on_day(on)
        enrolled += hrss.accepted_enrollees(w, seed, people, 0.05).tolist()
        d = build(np.random.default_rng([seed, finance.NUMBER, story.day_number(on)]), w)
        paid += d.person[(d.extra["plant"] == finance.EXACT) & (d.cols["BTJB"] == "1")].tolist()
    assert len(enrolled) > 2 * len(set(enrolled))               # enrolling again is what the story does
    assert len(paid) == len(set(paid)) > 100                    # paying again is not


def _owed(home) -> dict[tuple[str, str], str]:
    """(feed, YYYYMMDD) -> written | omitted, from every day's deliveries truth file."""
    out = {}
    for on in DAYS:
        with open(home.generated / "truth" / timetable.FILE.format(on), encoding="utf-8", newline="") as fh:
            for r in csv.DictReader(fh):
                out[(r["feed"], r["business_date"].replace("-", ""))] = r["status"]
    return out


def test_the_month_follows_the_calendar(month):
    owed = _owed(month)
    days = {f: sorted(d for (g, d), s in owed.items() if g == f) for f, _ in owed}
    assert len(days["police.death"]) == 30 and len(days["police.identity"]) == 30
    assert days["health.death_certificate"] == days["hrss.resident_enrollment"]
    assert len(days["hrss.resident_enrollment"]) == 21            # November 2026's working days
    assert days["civil_affairs.assistance"] == ["20261101", "20261108", "20261115", "20261122", "20261129"]
    for feed in ("finance.subsidy_payment", "hrss.pension_roll", "hrss.contribution"):
        assert days[feed] == ["20261130"], feed
    assert "central_bank.employer_status" not in days                # quarterly: 30 September, 31 December
    assert [k for k, s in owed.items() if s == timetable.OMITTED] == [(OMITTED[0], f"{OMITTED[1]:%Y%m%d}")]


def test_every_batch_published_with_exactly_the_planted_rejections(month):
    from jinbao.store.database import connect

    refused = {}
    with open(month.generated / "truth" / subsidy_truth.FILES["receipts"], encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            refused.setdefault(r["business_date"].replace("-", ""), set()).add(
                (int(r["line_no"]), SUBSIDY_FIELD.get(r["reason_code"], "SFZH+BTND+BTJB"), r["reason_code"]))
    written = sorted(k for k, s in _owed(month).items() if s == timetable.WRITTEN)
    with connect(month.store_url).connect() as conn:
        batches = conn.execute(sa.text("select id, feed, file_name, status, reason_code from batch")).all()
        assert sorted((b.feed, b.file_name.split("_")[-2]) for b in batches) == written
        assert {(b.status, b.reason_code) for b in batches} == {("published", None)}
        for b in batches:
            truth_file = month.generated / "truth" / (b.file_name.split(".csv")[0] + ".truth.csv")
            truth = {(int(r["line"]), r["field"], r["reason_code"]) for r in csv.DictReader(open(truth_file))}
            if b.feed == "finance.subsidy_payment":
                truth |= refused.get(b.file_name.split("_")[-2], set())
            got = {tuple(r) for r in conn.execute(sa.text(
                "select line_no, field, reason_code from rejection where batch_id = :b"), {"b": b.id})}
            assert got == truth, b.file_name
        # finance's month pays each resident's lines once: nothing is refused as paid already but the
        # planted resends of last month's payees (whose lines this hub, fed from November, never had)
        codes = {r.reason_code for r in conn.execute(sa.text(
            "select r.reason_code from rejection r join batch b on b.id = r.batch_id "
            "where b.feed = 'finance.subsidy_payment'"))}
        assert "SUBSIDY_ALREADY_PAID" not in codes
        paid = conn.execute(sa.text("select count(*) from subsidy_line where status = 'paid'")).scalar_one()
        assert paid > 0


def test_the_omitted_delivery_is_the_only_one_missing(month):
    from jinbao.declarations import load_feeds
    from jinbao.expected.missing import check
    from jinbao.store.database import connect

    after_every_due_date = dt.datetime(2026, 12, 31, 12, tzinfo=ZoneInfo("Asia/Shanghai"))
    found = check(month, connect(month.store_url), load_feeds(month), FIRST, DAYS[-1], send=False,
                  at=after_every_due_date)
    assert not found.unknown
    assert [(m.due.feed, m.due.business_date) for m in found.missing] == [OMITTED]
