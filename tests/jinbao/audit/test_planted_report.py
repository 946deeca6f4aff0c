"""The auditors' report over generated days against the generator's expected report, row for row.

Four business days of one story (2026-11-29 .. 2026-12-02: November ends inside the run, so its
report is complete, and the death feeds' CZBZ withdrawals begin on 2026-12-01) are generated into
one home and each is run with `jinbao run all`; then `jinbao.audit.deaths.find` for November and
for December must give exactly the rows of jinbao/generator/audit_truth.py's files (every expected
row found, nothing else) and the totals to the fen, on SQLite and PostgreSQL.  The probable typos
(kind 5: report.unplaced + typos.probable_typos, as `jinbao report deaths` runs them) are
checked against both the unknown-ID records' and the rejected lines' expected links.

8 000 people: the smallest population whose story is a calendar quarter (so November and December
are one world); every audit case kind (audit_cases.py) is planted on each day it fits.
"""
from __future__ import annotations

import csv
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
#: Columns compared per kind, as findings.py names them (identity mismatch and probable typo: the
#: delivery's business date stands for the hub's batch id); the rejected lines' typos as kind 5.
COMPARED = {**audit_truth.COLUMNS, "rejected": audit_truth.COLUMNS["probable_typo"]}


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    return str(value)


def _expected(home, kind: str, month: dt.date) -> dict[tuple, str]:
    """{row: planted case} of one kind and month from the generator's files."""
    with open(home.generated / "truth" / audit_truth.FILES[kind], encoding="utf-8") as fh:
        return {tuple(r[c] for c in COMPARED[kind]): r["case"]
                for r in csv.DictReader(fh) if r["report_month"] == f"{month:%Y-%m}"}


def _found(table, kind: str, batches: dict[int, str]) -> list[tuple]:
    rows = []
    for r in table.to_pylist():
        if "batch_id" in r:
            r["business_date"] = batches.get(r.pop("batch_id"), "?")
        rows.append(tuple(_text(r[c]) for c in COMPARED[kind]))
    return rows


def _compare(kind: str, month: dt.date, expected: dict[tuple, str], found: list[tuple]) -> list[str]:
    """Both directions, one line per row: planted case, expected or found."""
    out = []
    if len(found) != len(set(found)):
        out.append(f"{kind} {month:%Y-%m}: a row found twice")
    for row in sorted(set(expected) - set(found)):
        out.append(f"{kind} {month:%Y-%m} missing ({expected[row]}): {row}")
    for row in sorted(set(found) - set(expected)):
        out.append(f"{kind} {month:%Y-%m} not expected: {row}")
    return out


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


def _batches(conn) -> dict[int, str]:
    return {r[0]: _text(r[1]) for r in conn.execute(sa.text("select id, business_date from batch"))}


@pytest.mark.parametrize("month", MONTHS, ids=lambda m: f"{m:%Y-%m}")
def test_findings_1_to_4_are_exactly_the_planted_truth(hub, month):
    from jinbao.audit.deaths import find
    from jinbao.store.database import connect

    home, summary = hub
    assert summary["audit"]["since"] == FIRST.isoformat()
    with connect(home.store_url).connect() as conn:
        report = find(conn, month, audit_truth.TOLERANCE)
        batches = _batches(conn)
    wrong = []
    for kind in audit_truth.KINDS[:4]:
        wrong += _compare(kind, month, _expected(home, kind, month), _found(report.table(kind), kind, batches))
    assert not wrong, f"{len(wrong)} disagreement(s) with the expected report:\n" + "\n".join(wrong)


@pytest.mark.parametrize("month", MONTHS, ids=lambda m: f"{m:%Y-%m}")
def test_totals_to_the_fen(hub, month):
    from jinbao.audit.deaths import find
    from jinbao.store.database import connect

    home, _ = hub
    totals = json.loads((home.generated / "truth" / audit_truth.FILES["report"]).read_text())["months"][
        f"{month:%Y-%m}"]
    with connect(home.store_url).connect() as conn:
        paid = find(conn, month, audit_truth.TOLERANCE).table("paid_after_death").to_pylist()
    assert len(paid) == totals["people_paid_after_death"] > 0
    assert sum(r["months_paid_after"] for r in paid) == totals["months_paid_after_death"]
    assert f"{sum((r['overpaid'] for r in paid), Decimal(0)):.2f}" == totals["overpaid"]


def _typos(hub, month) -> list[tuple]:
    """Kind 5 as `jinbao report deaths` finds it (report.run's own steps)."""
    from jinbao.audit import report as report_module
    from jinbao.audit.deaths import find
    from jinbao.audit.findings import PROBABLE_TYPO
    from jinbao.audit.typos import probable_typos
    from jinbao.store.database import connect

    home, _ = hub
    with connect(home.store_url).connect() as conn:
        report = find(conn, month, audit_truth.TOLERANCE)
        lost = report_module.unplaced(conn, report)
        found = probable_typos(lost, report_module.pensioners(conn, month)) if lost.num_rows \
            else PROBABLE_TYPO.empty_table()
        return _found(found, "probable_typo", _batches(conn))


@pytest.mark.parametrize("month", MONTHS, ids=lambda m: f"{m:%Y-%m}")
def test_rejected_typos_are_linked_and_nothing_else(hub, month):
    """The gate's rejected lines (kept in rejected_death) one edit from exactly one pensioner: the
    planted `typo_invalid` records (a digit changed, the old check character kept) and the ordinary
    ID_CHECKSUM defects of pensioners' police records are all linked; every link found is expected
    (from the rejected lines, or from the unknown-ID records below)."""
    home, _ = hub
    rejected = _expected(home, "rejected", month)
    assert {"typo_invalid"} <= set(rejected.values())
    stored = _expected(home, "probable_typo", month)
    found = _typos(hub, month)
    wrong = _compare("probable_typo (rejected lines)", month, rejected, [r for r in found if r not in stored])
    assert not wrong, f"{len(wrong)} disagreement(s) with the expected report:\n" + "\n".join(wrong)


@pytest.mark.parametrize("month", MONTHS, ids=lambda m: f"{m:%Y-%m}")
def test_unknown_id_typos_are_linked(hub, month):
    """The planted `typo_valid` records: accepted under an ID nobody else has, one digit (or two adjacent
    digits) off a pensioner's, check character recomputed."""
    home, _ = hub
    stored = _expected(home, "probable_typo", month)
    assert stored and set(stored.values()) == {"typo_valid"}
    wrong = _compare("probable_typo (unknown IDs)", month, stored,
                     [r for r in _typos(hub, month) if r not in _expected(home, "rejected", month)])
    assert not wrong, f"{len(wrong)} disagreement(s) with the expected report:\n" + "\n".join(wrong)
