"""Subsidies over generated days against the generator's answer key, line for line (issue 15).

Four business days of one story (2026-11-29 .. 2026-12-02) are generated into one home and each
is run with `jinbao run all`; after the second day the monthly claim to finance is sent.  The
generator plants students enrolled through schools in other counties, late assistance records
that change a line's category after enrolment, and, among finance's exact payments, short and
misdirected county shares, payments for people who never enrolled and yesterday's payments sent
again (jinbao/generator/finance.py).  jinbao/generator/subsidy_truth.py replays the run; here the
store must hold exactly its lines (owing division, category, amount, status, payment date), the
receipts must refuse exactly its payments with its reason codes, the claim must send exactly its
lines in arrears of the second day, and the lines the claim sent must keep what was sent, with a
subsidy_difference for each that the hub now computes otherwise.  SQLite and PostgreSQL.
"""
from __future__ import annotations

import csv
import datetime as dt
from decimal import Decimal

import pytest
import sqlalchemy as sa

from jinbao.generator import generate, subsidy_truth

FIRST = dt.date(2026, 11, 29)
DAYS = [FIRST + dt.timedelta(days=i) for i in range(4)]
CLAIM_AFTER = DAYS[1]
PEOPLE = 20_000
LINE = ["aac002", "subsidy_year", "subsidy_level", "owing_division", "category", "amount_due", "status", "paid_on"]


def _key(home) -> dict[str, list[dict]]:
    out = {}
    for name, file in subsidy_truth.FILES.items():
        with open(home.generated / "truth" / file, encoding="utf-8", newline="") as fh:
            out[name] = list(csv.DictReader(fh))
    return out


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def hub(request, tmp_path_factory):
    """The four days generated and run into one home, the claim sent after the second:
    (settings, key after the claim day, key after the last day, the claim)."""
    from jinbao.cli import main
    from jinbao.declarations import get_feed
    from jinbao.keys import init_keys
    from jinbao.outbound.send import send
    from tests.conftest import home_on

    folder = tmp_path_factory.mktemp(f"subsidies-{request.param}")
    with home_on(request.param, folder) as home:
        init_keys(home.home)
        claimed, claim = None, None
        for on in DAYS:
            summary = generate(home, on, people=PEOPLE, since=FIRST, subsidy_key=True)
            assert main(["run", "all"]) == 0, on
            if on == CLAIM_AFTER:
                claimed = _key(home)
                claim = send(get_feed("finance.subsidy_claim", home), home, on)
        assert summary["subsidies"]["since"] == FIRST.isoformat()
        yield home, claimed, _key(home), claim


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    return str(value)


def _store_lines(home) -> dict[tuple, dict]:
    from jinbao.schemas.store_tables import subsidy_line
    from jinbao.store.database import connect

    with connect(home.store_url).connect() as conn:
        rows = conn.execute(sa.select(subsidy_line)).mappings().all()
    return {(r["aac002"], r["subsidy_year"], r["subsidy_level"]): {
        "aac002": r["aac002"], "subsidy_year": r["subsidy_year"], "subsidy_level": r["subsidy_level"],
        "owing_division": r["aab301"], "category": r["category"], "amount_due": _text(r["amount_due"]),
        "status": r["status"], "paid_on": _text(r["paid_date"]), "claimed": r["first_claim_seq"] is not None}
        for r in rows}


def _keyed(rows: list[dict]) -> dict[tuple, dict]:
    return {(r["aac002"], r["subsidy_year"], r["subsidy_level"]): r for r in rows}


def _expected_lines(claimed: list[dict], last: list[dict]) -> dict[tuple, dict]:
    """The last day's key, but a line the claim sent (in arrears on the claim day) keeps the
    division, category and amount it was sent with."""
    sent = {k: r for k, r in _keyed(claimed).items() if r["status"] == "arrears"}
    out = {}
    for k, r in _keyed(last).items():
        row = {c: r[c] for c in LINE}
        if k in sent:
            row.update({c: sent[k][c] for c in ("owing_division", "category", "amount_due")})
        out[k] = row
    return out


def test_every_line_as_planted(hub):
    home, claimed, last, _ = hub
    expected = _expected_lines(claimed["lines"], last["lines"])
    found = {k: {c: v[c] for c in LINE} for k, v in _store_lines(home).items()}
    missing = sorted(set(expected) - set(found))
    extra = sorted(set(found) - set(expected))
    wrong = sorted(k for k in set(expected) & set(found) if expected[k] != found[k])
    assert not (missing or extra or wrong), (
        f"{len(missing)} missing, {len(extra)} not expected, {len(wrong)} different; first: "
        f"{[(k, expected.get(k), found.get(k)) for k in (missing + extra + wrong)[:3]]}")
    statuses = {r["status"] for r in expected.values()}
    assert statuses == {"arrears", "paid"}


def test_the_planted_cases_happen(hub):
    """Not vacuous: each plant is in the key, out-of-division units and category changes too."""
    home, claimed, last, _ = hub
    plants = {r["plant"] for r in last["receipts"]}
    reasons = {r["reason_code"] for r in last["receipts"]}
    assert {"short", "misdirected", "no_line", "duplicate"} <= plants
    assert reasons == {"SUBSIDY_NO_LINE", "SUBSIDY_ALREADY_PAID", "SUBSIDY_WRONG_DIVISION", "SUBSIDY_WRONG_AMOUNT"}
    assert {r["category"] for r in last["lines"]} > {"00"}
    # a category changed after enrolment: computed as ordinary on the claim day, otherwise later
    before = _keyed(claimed["lines"])
    assert any(k in before and before[k]["category"] != r["category"] for k, r in _keyed(last["lines"]).items())


def test_receipts_refuse_exactly_the_planted_payments(hub):
    from jinbao.store.database import connect

    home, _, last, _ = hub
    expected = {(r["business_date"], int(r["line_no"]), r["reason_code"]) for r in last["receipts"]}
    with connect(home.store_url).connect() as conn:
        rows = conn.execute(sa.text(
            "select b.business_date, r.line_no, r.reason_code from rejection r join batch b on b.id = r.batch_id "
            "where b.feed = 'finance.subsidy_payment' and r.reason_code like 'SUBSIDY%'")).all()
    found = {(_text(d)[:10], n, c) for d, n, c in rows}
    assert len(rows) == len(found)
    assert found == expected, (sorted(expected - found)[:5], sorted(found - expected)[:5])


def test_the_claim_sends_the_lines_in_arrears_of_its_day(hub):
    from tests.jinbao.outbound.test_send import _as_partner

    home, claimed, _, claim = hub
    plain, _ = _as_partner(home, "finance", claim.file)
    lines = plain.decode("gb18030").splitlines()
    assert lines[0] == "SFZH,XZQH,BTJB,BTND,YBTJE"
    expected = sorted(f"{r['aac002']},{r['owing_division']},{r['subsidy_level']},{r['subsidy_year']},{r['amount_due']}"
                      for r in claimed["lines"] if r["status"] == "arrears")
    assert sorted(lines[1:]) == expected and claim.records == len(expected) > 0


def test_claimed_lines_changed_later_are_differences_not_edits(hub):
    from jinbao.schemas.store_tables import subsidy_difference
    from jinbao.store.database import connect

    home, claimed, last, _ = hub
    sent = {k: r for k, r in _keyed(claimed["lines"]).items() if r["status"] == "arrears"}
    now = _keyed(last["lines"])
    expected = {k: (sent[k]["category"], now[k]["category"], now[k]["amount_due"]) for k in sent
                if (now[k]["category"], now[k]["amount_due"]) != (sent[k]["category"], sent[k]["amount_due"])}
    with connect(home.store_url).connect() as conn:
        rows = conn.execute(sa.select(subsidy_difference).where(subsidy_difference.c.resolved_at.is_(None))).mappings()
        found = {(r["aac002"], r["subsidy_year"], r["subsidy_level"]): (r["line_category"], r["category"],
                                                                       _text(r["amount_due"])) for r in rows}
    assert found == expected
