"""`jinbao report deaths` end to end: the store's findings, typos linked, files written and handed over."""
from __future__ import annotations


import datetime as dt

from jinbao.audit.report import ISSUED
from jinbao.cli import main
from jinbao.schemas.store_tables import rejected_death
from tests.jinbao.audit.test_deaths import HEALTH, _pid, _story
from tests.jinbao.register.conftest import Hub, death, person


def _typo_of(pid: str) -> str:
    """The pensioner's ID with two adjacent sequence digits swapped.  A single mistyped digit or swap
    always breaks the GB 11643 check character, so the gate rejects such a line (ID_CHECKSUM) and
    the record reaches the typo search from rejected_death (tests/jinbao/audit/test_rejected_deaths.py)."""
    return pid[:15] + pid[16] + pid[15] + pid[17:]


def test_report_deaths_writes_hands_over_and_links_a_typo(home, tmp_path, capsys):
    hub = Hub(home.store_url, tmp_path)
    _story(hub)
    typo = _typo_of(_pid(3))
    assert typo != _pid(3)
    held_back = hub.publish(HEALTH, [death(9, "2026-10-01")], day="2026-12-03")
    with hub.db.begin() as conn:
        conn.execute(rejected_death.insert().values(
            batch_id=held_back.batch_id, line_no=3, source_feed=HEALTH, id_sent=typo, aac003=person(3)["AAC003"],
            aaa002=person(3)["AAA002"], aac006=dt.date(1945, 3, 1), aab301="110105", aac060=dt.date(2026, 10, 11)))
    capsys.readouterr()

    assert main(["report", "deaths", "--month", "2026-11"]) == 0
    out = capsys.readouterr().out
    first, second = out.splitlines()[:2]
    assert first.startswith("stop payment") and "3 people still on the roll, 9,001.50 yuan a month" in first
    assert second.startswith("paid after death") and "3 people, 15,002.50 yuan overpaid" in second
    folder = home.reports / "deaths" / "2026-11"
    typos = (folder / "deaths-2026-11-probable_typo.csv").read_text(encoding="utf-8-sig").splitlines()
    assert len(typos) == 2 and "swapped" in typos[1] and _pid(3) not in typos[1] and typo not in typos[1]
    handed = home.outbound("audit") / "deaths-2026-11"
    assert sorted(p.name for p in handed.iterdir()) == sorted(      # full IDs stay on the hub
        p.name for p in folder.iterdir() if "full-ids" not in p.name and p.name != ISSUED)
    assert not (folder / "deaths-2026-11-full-ids.xlsx").exists()
    for path in handed.iterdir():
        data = path.read_bytes()
        assert _pid(1).encode() not in data and _pid(3).encode() not in data

    assert main(["report", "deaths", "--month", "2026-11", "--full-ids"]) == 2
    assert "--who" in capsys.readouterr().err
    assert main(["report", "deaths", "--month", "2026-11", "--full-ids", "--who", "审计处 auditor Wang"]) == 0
    assert (folder / "deaths-2026-11-full-ids.xlsx").exists()
    assert not (handed / "deaths-2026-11-full-ids.xlsx").exists()        # unmasked IDs stay on the hub
    from jinbao.store.database import connect
    import hashlib
    import sqlalchemy as sa
    with connect(home.store_url).connect() as conn:
        exports = conn.execute(sa.text("select partner, feed, file_name, sha256, records, who, purpose, business_date "
                                       "from exchange_log where direction = 'export'")).all()
    [export] = exports                                  # every full-ID export in the exchange log, with its purpose
    full = (folder / "deaths-2026-11-full-ids.xlsx").read_bytes()
    assert (export.partner, export.feed, export.file_name, export.who) == (
        "audit", "audit.death_mismatch", "deaths-2026-11-full-ids.xlsx", "审计处 auditor Wang")
    assert export.sha256 == hashlib.sha256(full).hexdigest() and export.records > 0 and "审计" in export.purpose
    assert str(export.business_date) == "2026-11-01"
    assert main(["audit", "verify"]) == 0


def test_month_on_month_against_the_report_as_issued(home, capsys):
    """November's report listed two dead pensioners to stop.  In December the police withdraw one death
    (CZBZ 2) and the bureau stops the other's pension: both are resolved, each for what happened; only
    November's list as issued can tell a withdrawn death, since the store keeps each source's newest
    record."""
    from jinbao.audit.deaths import find
    from jinbao.store.database import connect
    from tests.deliveries import POLICE_DEATH, death_row, pension_row, write_delivery, write_hrss

    write_hrss(home.inbound("hrss"), "hrss.pension_roll",
               [pension_row(i, month=m) for i in (1, 2) for m in ("2026-10", "2026-11")], date="20261125")
    write_delivery(home.inbound("police"), "police.death",
                   [death_row(i, SWRQ="20261005", ZXRQ="20261006") for i in (1, 2)], date="20261125")
    assert main(["run", "all"]) == 0
    assert main(["report", "deaths", "--month", "2026-11"]) == 0
    assert (home.reports / "deaths" / "2026-11" / ISSUED).is_file()
    assert not list((home.outbound("audit") / "deaths-2026-11").glob("*.parquet"))   # full IDs stay on the hub
    write_hrss(home.inbound("hrss"), "hrss.pension_roll", [pension_row(1, month="2026-12")], date="20261205", seq=2)
    write_delivery(home.inbound("police"), "police.death",
                   [death_row(1, SWRQ="20261005", ZXRQ="20261006", CZBZ="2")], date="20261205", seq=2,
                   columns=POLICE_DEATH + ["CZBZ"])
    assert main(["run", "all"]) == 0
    capsys.readouterr()
    assert main(["report", "deaths", "--month", "2026-12"]) == 0
    written = find_changes(home)
    assert written == [(death_row(1)["GMSFHM"], "resolved", "death withdrawn"),
                       (death_row(2)["GMSFHM"], "resolved", "payments stopped")]
    (home.reports / "deaths" / "2026-11" / ISSUED).unlink()             # no issued list: recomputed today
    with connect(home.store_url).connect() as conn:
        recomputed = find(conn, dt.date(2026, 12, 1), 3).table("changes").to_pylist()
    assert [(r["aac002"], r["status"], r["why"]) for r in recomputed] == [
        (death_row(2)["GMSFHM"], "resolved", "payments stopped")]


def find_changes(home) -> list[tuple]:
    import csv

    from jinbao.audit.deaths import find
    from jinbao.audit.report import issued
    from jinbao.store.database import connect

    with connect(home.store_url).connect() as conn:
        rows = find(conn, dt.date(2026, 12, 1), 3, issued=issued(home, dt.date(2026, 11, 1))).table("changes")
    with open(home.reports / "deaths" / "2026-12" / "deaths-2026-12-changes.csv", encoding="utf-8-sig") as fh:
        assert len(list(csv.reader(fh))) == 1 + rows.num_rows
    return [(r["aac002"], r["status"], r["why"]) for r in rows.to_pylist()]


def test_report_deaths_on_a_store_that_holds_no_one_yet(home, capsys):
    """A new hub's first report (no person, no death, no payment) says there is nothing to stop, instead
    of failing inside pandas (mapping IDs through an empty date column)."""
    assert main(["report", "deaths", "--month", "2026-11"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("stop payment") and "0 people still on the roll, 0.00 yuan a month" in first, first
    typos = (home.reports / "deaths" / "2026-11" / "deaths-2026-11-probable_typo.csv").read_text(encoding="utf-8-sig")
    assert len(typos.splitlines()) == 1          # the header only
