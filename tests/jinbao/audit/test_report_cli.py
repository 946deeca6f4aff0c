"""`jinbao report deaths` end to end: the store's findings, typos linked, files written and handed over."""
from __future__ import annotations

import datetime as dt
import getpass
import hashlib
import re

import openpyxl
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from fastapi.testclient import TestClient

from jinbao.audit.report import ISSUED
from jinbao.cli import main
from jinbao.exchange_zone.envelope import decrypt
from jinbao.keys import auditor_cert_path
from jinbao.report_server import make_app
from jinbao.store.database import connect
from jinbao.schemas.store_tables import rejected_death
from tests.jinbao.audit.test_deaths import HEALTH, _pid, _story
from tests.jinbao.audit.test_render import auditor_keys
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



def _exports(home) -> list:
    with connect(home.store_url).connect() as conn:
        return conn.execute(sa.text("select partner, feed, file_name, sha256, status, records, accepted, who, "
                                    "purpose, business_date from exchange_log where direction = 'export' "
                                    "order by seq")).all()


def test_full_ids_on_the_host_for_the_os_user_with_a_purpose(home, tmp_path, capsys):
    """On the hub's host the identity is the login (the OS user), never a name typed in; a purpose is required;
    the workbook is kept on the hub (0600, under exports/, not served, not handed over) or, once the auditor's
    certificate is installed, sealed to it; every export is in the exchange log with its digest."""
    hub = Hub(home.store_url, tmp_path)
    _story(hub)
    me = getpass.getuser()
    month_folder = home.exports / "deaths" / "2026-11" / me
    handed = home.outbound("audit") / "deaths-2026-11"

    assert main(["report", "deaths", "--month", "2026-11", "--full-ids", "--who", "审计处 auditor Wang"]) == 2
    err = capsys.readouterr().err
    assert "--who is no longer accepted" in err and "login on the hub's host" in err
    assert main(["report", "deaths", "--month", "2026-11", "--full-ids"]) == 2
    assert "needs its purpose" in capsys.readouterr().err
    assert main(["report", "deaths", "--month", "2026-11", "--full-ids", "--purpose", "  "]) == 2
    assert main(["report", "deaths", "--month", "2026-11", "--purpose", "why"]) == 2
    capsys.readouterr()
    assert not home.exports.exists() and not (home.reports / "deaths").exists() and _exports(home) == []

    assert main(["report", "deaths", "--month", "2026-11", "--full-ids", "--purpose", "停发核查 stop payments"]) == 0
    out = capsys.readouterr().out
    full = month_folder / "deaths-2026-11-full-ids.xlsx"
    assert full.is_file() and full.stat().st_mode & 0o777 == 0o600 and home.exports.stat().st_mode & 0o777 == 0o700
    assert f"full IDs for {me} (os user on hub host)" in out and "kept on the hub only" in out and str(full) in out
    [export] = _exports(home)
    assert (export.partner, export.feed, export.file_name, export.status) == (
        "audit", "audit.death_mismatch", "deaths-2026-11-full-ids.xlsx", "kept on hub")
    assert export.who == f"{me} (os user on hub host)" and export.purpose == "停发核查 stop payments"
    assert export.sha256 == hashlib.sha256(full.read_bytes()).hexdigest() and str(export.business_date) == "2026-11-01"
    wb = openpyxl.load_workbook(full)
    ids = {c.value for ws in wb.worksheets[1:] for row in ws.iter_rows(min_row=2) for c in row
           if isinstance(c.value, str) and re.fullmatch(r"\d{17}[\dX]", c.value)}
    assert _pid(1) in ids and export.records == len(ids)          # people: the distinct full IDs it holds
    assert export.accepted == sum(ws.max_row - 1 for ws in wb.worksheets[1:]) > export.records
    _never_handed_over_nor_served(home, handed)

    # the auditor's certificate installed where the hub looks for it: the next export is sealed to it
    key, cert = auditor_keys(me)
    auditor_cert_path(home.home, me).parent.mkdir(parents=True)
    auditor_cert_path(home.home, me).write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    assert main(["report", "deaths", "--month", "2026-11", "--full-ids", "--purpose", "recover overpayments"]) == 0
    assert "sealed to" in capsys.readouterr().out
    sealed = month_folder / "deaths-2026-11-full-ids.xlsx.p7m"
    assert [p.name for p in month_folder.iterdir()] == [sealed.name]        # the earlier plaintext is gone
    opened = decrypt(sealed.read_bytes(), cert, key)
    second = _exports(home)[-1]
    assert (second.file_name, second.status, second.purpose) == (sealed.name, "sealed", "recover overpayments")
    assert second.sha256 == hashlib.sha256(opened).hexdigest()
    _never_handed_over_nor_served(home, handed)

    assert main(["log", "list", "--direction", "export"]) == 0
    listed = capsys.readouterr().out
    assert listed.count(f"{me} (os user on hub host)") == 2 and "recover overpayments" in listed
    assert main(["log", "verify"]) == 0
    with connect(home.store_url).begin() as conn:                   # an export's entry rewritten: noticed
        conn.execute(sa.text("update exchange_log set who = 'someone else (airflow login)' "
                             "where direction = 'export' and status = 'sealed'"))
    capsys.readouterr()
    assert main(["log", "verify"]) == 1
    assert "was edited" in capsys.readouterr().out


def _never_handed_over_nor_served(home, handed) -> None:
    """No file with a full ID in the auditors' drop zone, and nothing of exports/ reachable at /jinbao/."""
    for path in handed.iterdir():
        assert "full-ids" not in path.name and _pid(1).encode() not in path.read_bytes()
    client = TestClient(make_app(home))
    listing = client.get("/reports/deaths/2026-11/")
    assert listing.status_code == 200 and "full-ids" not in listing.text and "deaths-2026-11.xlsx" in listing.text
    for path in [p for p in home.exports.rglob("*") if p.is_file()]:
        rel = path.relative_to(home.home).as_posix()
        for url in (f"/reports/{path.name}", f"/reports/deaths/2026-11/{path.name}", f"/reports/../{rel}",
                    f"/reports/%2E%2E/{rel}", f"/{rel}"):
            assert client.get(url).status_code == 404, url


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
