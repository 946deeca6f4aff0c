"""The hub over several generated days against the generator's planted register truth.

Five business days of one story (2026-11-29 .. 2026-12-03, so the death feeds' CZBZ
column begins mid-way) are generated into one home and each is run with `jinbao run all`;
then the store's register, life-status history and conflicts must equal the answer key the
generator wrote (jinbao/generator/register_truth.py, docs/generator.md "The register's
answer key"), on SQLite and PostgreSQL.  Re-running deliveries must change nothing: each
published batch reconciled again, and the last day's deliveries dropped again.

8 000 people: the smallest population whose story is a calendar quarter (so November and
December are one world); every planted case kind occurs on most of the days.
"""
from __future__ import annotations

import collections
import csv
import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa

from jinbao.generator import generate

FIRST = dt.date(2026, 11, 29)
DAYS = [FIRST + dt.timedelta(days=i) for i in range(5)]
PEOPLE = 8000
TABLES = ("register", "register_history", "conflict", "life_status_history", "death_record")


def _truth(home, name: str) -> list[dict]:
    with open(home.generated / "truth" / name, encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _text(value) -> str:
    return "" if value is None else str(value)


def _rows(conn, sql: str) -> list[tuple]:
    return [tuple(r) for r in conn.execute(sa.text(sql))]


def _snapshot(conn) -> dict:
    return {t: sorted(_rows(conn, f"select * from {t}"), key=repr) for t in TABLES}


def _disagreements(conn, home) -> list[str]:
    """Every difference between the store and the truth files, one line each (person, expected, found)."""
    out = []
    status = {r["aac002"]: r for r in _truth(home, "register_status.csv")}
    case = {p: r["case"] for p, r in status.items()}
    planted = {r["aac002"]: r["case"] for r in _truth(home, "register_planted.csv")}
    case.update(planted)

    # Life status: every person the death feeds touched, and nobody else off the default.
    found = {r[0]: (r[1], _text(r[2]), _text(r[3])) for r in _rows(
        conn, "select aac002, life_status, life_status_date, life_status_source from register")}
    for p, r in status.items():
        want = (r["life_status"], r["life_status_date"], r["life_status_source"])
        if found.get(p) != want:
            out.append(f"status {r['case']} {p}: expected {want}, found {found.get(p)}")
    for p, got in found.items():
        if p not in status and got != ("alive", "", ""):
            out.append(f"status {case.get(p, 'unplanned')} {p}: expected alive (no death record), found {got}")

    # Life-status history: per person, in the order the hub wrote it.
    want_h, got_h = collections.defaultdict(list), collections.defaultdict(list)
    for r in _truth(home, "register_history.csv"):
        want_h[r["aac002"]].append((r["from_status"], r["to_status"], r["effective_date"], r["source_feed"],
                                    r["business_date"]))
    for r in _rows(conn, "select h.aac002, h.from_status, h.to_status, h.effective_date, h.source_feed, "
                         "b.business_date from life_status_history h join batch b on b.id = h.batch_id "
                         "order by h.aac002, h.id"):
        got_h[r[0]].append((_text(r[1]), r[2], _text(r[3]), r[4], _text(r[5])))
    for p in sorted(set(want_h) | set(got_h)):
        if want_h.get(p, []) != got_h.get(p, []):
            out.append(f"history {case.get(p, 'unplanned')} {p}: expected {want_h.get(p, [])}, "
                       f"found {got_h.get(p, [])}")

    # Conflicts: the planted people's exactly; anyone else's only the unplanted gender ones (police
    # XB 0/9, health U: hub 9 against another source's 1/2).
    conflicts = {(r[0], r[1], r[2]): (r[3], r[4], r[5], r[6]) for r in _rows(
        conn, "select aac002, field, offered_source, value_offered, value_held, held_source, resolved_at "
              "from conflict")}
    for name, is_open in (("register_conflicts.csv", True), ("register_conflicts_resolved.csv", False)):
        for r in _truth(home, name):
            key = (r["aac002"], r["field"], r["offered_source"])
            want = (r["value_offered"], r["value_held"], r["held_source"], "open" if is_open else "resolved")
            got = conflicts.get(key)
            got = got and (*got[:3], "open" if got[3] is None else "resolved")
            if got != want:
                out.append(f"conflict {r['case']} {key}: expected {want}, found {got}")
    listed = {(r["aac002"], r["field"], r["offered_source"]) for name in ("register_conflicts.csv",
                                                                         "register_conflicts_resolved.csv")
              for r in _truth(home, name)}
    for key, (offered, held, held_source, resolved) in conflicts.items():
        if key in listed:
            continue
        if key[0] in planted:
            out.append(f"conflict {planted[key[0]]} {key}: not planted, found {(offered, held, held_source)}")
        elif resolved is None and not (key[1] == "aaa002" and "9" in (offered, held)):
            out.append(f"conflict unplanned {key}: found {(offered, held, held_source)}")

    # The register holds the police's value where a planted conflict says so.
    for r in _truth(home, "register_conflicts.csv") + _truth(home, "register_conflicts_resolved.csv"):
        got = _rows(conn, f"select {r['field']}, {r['field']}_source from register where aac002 = '{r['aac002']}'")
        if got != [(r["value_held"], r["held_source"])]:
            out.append(f"register {r['case']} {r['aac002']} {r['field']}: expected "
                       f"{(r['value_held'], r['held_source'])}, found {got}")
    return out


def _published(conn) -> list[tuple]:
    from jinbao.register.authority import authority
    return [b for b in _rows(conn, "select id, feed, business_date, sequence, staging_dir from batch "
                                   "where status = 'published' order by id") if authority().takes_part(b[1])]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def hub(request, tmp_path_factory):
    """The five days generated and run into one home on one backend: (settings, last summary)."""
    from jinbao.cli import main
    from tests.conftest import home_on

    folder = tmp_path_factory.mktemp(f"planted-{request.param}")
    with home_on(request.param, folder) as home:
        for on in DAYS:
            summary = generate(home, on, people=PEOPLE, since=FIRST)
            assert summary["story"] == {"first": "2026-10-01", "last": "2026-12-31"}
            assert main(["run", "all"]) == 0, on
        yield home, summary


def test_the_register_equals_the_planted_truth(hub):
    from jinbao.store.database import connect

    home, summary = hub
    assert summary["register"]["since"] == FIRST.isoformat()
    assert all(n > 0 for n in summary["register"]["cases"].values()), summary["register"]["cases"]
    assert summary["register"]["resolved"] > 0 and summary["register"]["conflicts"] > 0
    with connect(home.store_url).connect() as conn:
        assert _rows(conn, "select status, count(*) from batch group by status") \
            == [("published", len(DAYS) * len(summary["feeds"]))]
        wrong = _disagreements(conn, home)
    assert not wrong, f"{len(wrong)} disagreement(s) between the hub and the planted truth:\n" + "\n".join(wrong)


def test_the_last_day_dropped_again_changes_nothing(hub):
    """The same deliveries byte for byte: refused (already taken), the register untouched."""
    from jinbao.cli import main
    from jinbao.store.database import connect

    home, _ = hub
    with connect(home.store_url).connect() as conn:
        before = _snapshot(conn)
    generate(home, DAYS[-1], people=PEOPLE, since=FIRST)
    assert main(["run", "all"]) == 2
    with connect(home.store_url).connect() as conn:
        assert {r[0] for r in _rows(conn, "select reason_code from batch where status = 'refused'")} \
            == {"ALREADY_TAKEN"}                          # this exact delivery was already taken
        assert _snapshot(conn) == before


def test_reconciling_any_batch_again_changes_nothing(hub):
    """Each published batch reconciled once more (as a re-run publish would), on its own, after
    every later batch: the store must not move.  Each re-run is rolled back, so each is judged alone."""
    from jinbao import ledger
    from jinbao.quality.judging import ACCEPTED
    from jinbao.register.reconcile import Offered, reconcile
    from jinbao.store.database import connect

    home, _ = hub
    db = connect(home.store_url)
    with db.connect() as conn:
        before = _snapshot(conn)
        batches = _published(conn)
    assert len(batches) == len(DAYS) * len({b[1] for b in batches}) >= len(DAYS) * 9
    moved = []
    for batch_id, feed, business_date, sequence, staging in batches:
        business = business_date if isinstance(business_date, dt.date) else dt.date.fromisoformat(str(business_date))
        with db.connect() as conn:
            tx = conn.begin()
            reconcile(conn, Path(staging) / ACCEPTED, Offered(feed, batch_id, business, sequence, ledger.now()))
            after = _snapshot(conn)
            tx.rollback()
        for t in TABLES:
            if after[t] != before[t]:
                gone = sorted(set(before[t]) - set(after[t]), key=repr)
                new = sorted(set(after[t]) - set(before[t]), key=repr)
                moved.append(f"batch {batch_id} ({feed}, {business}) again: {t}: was {gone}, now {new}")
    assert not moved, f"{len(moved)} re-run(s) changed the store:\n" + "\n".join(moved)
