"""The auditors' report over generated days against the generator's answer key, row for row, both ways.

Four business days of one story (2026-11-29 .. 2026-12-02: November ends inside the run, so its
report is complete, and the death feeds' CZBZ withdrawals begin on 2026-12-01) are generated into
one home and each is run with `jinbao run all`; then `jinbao.audit.deaths.find` for November and
for December must give, for every kind the key holds (jinbao/generator/audit_truth.py:
stop payment, paid after death, sources disagree, not deregistered, rejected death records, identity
mismatch, probable typo, unplaced), exactly the key's rows (every expected row found, nothing
else: precision and recall 100 %, audit_truth.score) and its totals to the fen, on SQLite and
PostgreSQL; and every planted case (jinbao/generator/audit_cases.py, the register cases it relies
on) must be found where its kind puts it.

8 000 people: the smallest population whose story is a calendar quarter (so November and December
are one world); every audit case kind is planted on each day it fits.
"""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
import sqlalchemy as sa

from jinbao.generator import audit_truth, generate

FIRST = dt.date(2026, 11, 29)
DAYS = [FIRST + dt.timedelta(days=i) for i in range(4)]
MONTHS = (dt.date(2026, 11, 1), dt.date(2026, 12, 1))
PEOPLE = 8000


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def hub(request, tmp_path_factory):
    """The four days generated and run into one home on one backend: (settings, last summary)."""
    from jinbao.cli import main
    from tests.conftest import home_on

    folder = tmp_path_factory.mktemp(f"audit-{request.param}")
    with home_on(request.param, folder) as home:
        for on in DAYS:
            summary = generate(home, on, people=PEOPLE, since=FIRST)
            assert summary["story"] == {"first": "2026-10-01", "last": "2026-12-31"}
            assert main(["run", "all"]) == 0, on
        yield home, summary


@pytest.fixture(scope="module")
def reports(hub):
    """{month: (report, {batch id: business date})} as `find` gives them from the store."""
    from jinbao.audit.deaths import find
    from jinbao.store.database import connect

    home, _ = hub
    out = {}
    with connect(home.store_url).connect() as conn:
        batches = {r[0]: audit_truth.text(r[1]) for r in conn.execute(sa.text("select id, business_date from batch"))}
        for month in MONTHS:
            out[month] = (find(conn, month, audit_truth.TOLERANCE), batches)
    return out


def _truth(hub):
    home, _ = hub
    return home.generated / "truth"


@pytest.mark.parametrize("month", MONTHS, ids=lambda m: f"{m:%Y-%m}")
def test_every_keyed_kind_is_exactly_the_key(hub, reports, month):
    """Both directions, one line per disagreeing row with the planted case of an expected one."""
    home, summary = hub
    assert summary["audit"]["since"] == FIRST.isoformat()
    report, batches = reports[month]
    wrong = []
    for kind in audit_truth.KINDS:
        want = audit_truth.expected_rows(_truth(hub), kind, month)
        got = audit_truth.found_rows(report, kind, batches)
        if any(n > 1 for n in got.values()):
            wrong.append(f"{kind} {month:%Y-%m}: a row found twice")
        for row in sorted(set(want) - set(got)):
            wrong.append(f"{kind} {month:%Y-%m} missing ({', '.join(want.cases[row])}): {row}")
        for row in sorted(set(got) - set(want)):
            wrong.append(f"{kind} {month:%Y-%m} not expected: {row}")
    assert not wrong, f"{len(wrong)} disagreement(s) with the expected report:\n" + "\n".join(wrong)


@pytest.mark.parametrize("month", MONTHS, ids=lambda m: f"{m:%Y-%m}")
def test_precision_and_recall_are_complete(hub, reports, month):
    """audit_truth.score, as a benchmark reads it: every kind 100 % / 100 %, none of them empty."""
    report, batches = reports[month]
    score = audit_truth.score(report, _truth(hub), month, batches)
    totals = json.loads((_truth(hub) / audit_truth.FILES["report"]).read_text())["months"][f"{month:%Y-%m}"]
    assert score == {kind: (totals["rows"][kind], 0, 0) for kind in audit_truth.KINDS}
    assert all(tp for tp, _, _ in score.values()), score


@pytest.mark.parametrize("month", MONTHS, ids=lambda m: f"{m:%Y-%m}")
def test_totals_to_the_fen(hub, reports, month):
    report, _ = reports[month]
    totals = json.loads((_truth(hub) / audit_truth.FILES["report"]).read_text())["months"][f"{month:%Y-%m}"]
    paid = report.table("paid_after_death").to_pylist()
    assert len(paid) == totals["people_paid_after_death"] > 0
    assert sum(r["months_paid_after"] for r in paid) == totals["months_paid_after_death"]
    for kind, columns in audit_truth.AMOUNTS.items():
        rows = report.table(kind).to_pylist()
        for column in columns:
            assert f"{sum((r[column] for r in rows), Decimal(0)):.2f}" == totals[f"{kind}.{column}"], (kind, column)
    assert {kind: report.table(kind).num_rows for kind in audit_truth.KINDS} == totals["rows"]


def test_every_planted_case_is_found_where_it_belongs(hub, reports):
    """audit_truth.FOUND_IN: the typos of each source (unplaced, probable typo), dates apart either way,
    rejected certificates, rejected roll rows, names differing, invented IDs, deregistrations that are
    not deaths, withdrawals, late reports ... each in the report where its kind puts it, in one of the
    two months."""
    found = set()
    for month, (report, batches) in reports.items():
        for kind in audit_truth.KINDS:
            want = audit_truth.expected_rows(_truth(hub), kind, month)
            for row in audit_truth.found_rows(report, kind, batches):
                found |= {(case, kind) for case in want.cases.get(row, ())}
    missing = {(case, kind) for case, kinds in audit_truth.FOUND_IN.items() for kind in kinds} - found
    assert not missing, sorted(missing)
    report, _ = reports[MONTHS[1]]
    assert any(r["roll_rows_rejected"] for r in report.table("paid_after_death").to_pylist())
