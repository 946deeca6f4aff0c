"""The /jinbao app serves JINBAO_HOME's receipts and reports read-only, and nothing else of the machine;
given a reader (the plugin passes Airflow's, tests/dags/test_access_live.py asks it for real), each file
only to those who may read its DAG."""
from __future__ import annotations

import importlib.util
import os
import re

import pytest
from fastapi.testclient import TestClient

from jinbao.audit import REPORT_DAG
from jinbao.cli import main
from jinbao.report_links import Governed, governed
from jinbao.report_server import TYPES, make_app
from tests.airflow_env import REPO

RECEIPT = "receipts/police.death/1/police.death_20261122_000001.receipt.json"
PAGE = "reports/quality/police.death/1/index.html"
#: Another partner's receipt and quality page, for the feed's readers not to see.
OTHER_RECEIPT = "receipts/pension.payment/2/pension.payment_20261122_000001.receipt.json"
OTHER_PAGE = "reports/quality/pension.payment/2/index.html"
DEATHS = "reports/deaths/2026-10/findings.csv"
#: Under a served folder but in no DAG's folder.
NOBODYS = ("reports/stray.html", "receipts/loose.json", "reports/quality/notes.txt")


@pytest.fixture
def served(sqlite_home, tmp_path):
    home = sqlite_home.home
    for rel, text in ((RECEIPT, '{"status": "published"}'), (PAGE, "<!DOCTYPE html><p>quality</p>"),
                      (DEATHS, "a,b\n1,2\n"), ("reports/.hidden", "no"),
                      (OTHER_RECEIPT, "{}"), (OTHER_PAGE, "<p>other</p>"), *((rel, "x") for rel in NOBODYS)):
        (home / rel).parent.mkdir(parents=True, exist_ok=True)
        (home / rel).write_text(text, encoding="utf-8")
    (home / "store.secret").write_text("the store", encoding="utf-8")   # in JINBAO_HOME, not served
    (tmp_path / "outside.txt").write_text("outside", encoding="utf-8")
    return home, TestClient(make_app(sqlite_home))


def test_files_are_served_with_their_content_type(served):
    home, client = served
    r = client.get("/" + RECEIPT)
    assert r.status_code == 200 and r.json() == {"status": "published"}
    assert r.headers["content-type"] == "application/json"
    r = client.get("/" + PAGE)
    assert r.status_code == 200 and r.text.endswith("<p>quality</p>")
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert r.headers["content-security-policy"].startswith("default-src 'none'")
    assert r.headers["x-content-type-options"] == "nosniff"
    r = client.get("/reports/deaths/2026-10/findings.csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv") and r.text == "a,b\n1,2\n"
    assert client.head("/" + RECEIPT).status_code == 200


def test_folders_are_listed_with_links_and_without_hidden_files(served):
    _, client = served
    index = client.get("/")
    assert 'href="/jinbao/receipts/"' in index.text and 'href="/jinbao/reports/"' in index.text
    listing = client.get("/reports/")
    assert listing.status_code == 200
    assert 'href="/jinbao/reports/deaths/"' in listing.text and ".hidden" not in listing.text
    inner = client.get("/receipts/police.death/1/")
    assert 'href="/jinbao/receipts/police.death/1/police.death_20261122_000001.receipt.json"' in inner.text


@pytest.fixture
def reading(served, sqlite_home):
    """A client for someone who may read the DAGs named (every DAG: None), as the plugin's reader says."""
    asked = []

    def reader(*dags: str, every: bool = False) -> TestClient:
        def may_read(dag: str) -> bool:
            asked.append(dag)
            return every or dag in dags
        return TestClient(make_app(sqlite_home, reader=lambda: may_read))
    reader.asked = asked
    return reader


def links(response) -> list[str]:
    assert response.status_code == 200, response.text
    return re.findall(r'href="([^"]+)"', response.text)


@pytest.mark.parametrize("area, parts, owner", [
    ("receipts", (), Governed(None, True)),
    ("receipts", ("police.death",), Governed("police.death", True)),
    ("receipts", ("police.death", "1", "x.receipt.json"), Governed("police.death", False)),
    ("reports", (), Governed(None, True)),
    ("reports", ("quality",), Governed(None, True)),
    ("reports", ("quality", "police.death"), Governed("police.death", True)),
    ("reports", ("quality", "police.death", "1", "index.html"), Governed("police.death", False)),
    ("reports", ("deaths",), Governed(REPORT_DAG, True)),
    ("reports", ("deaths", "2026-10", "deaths-2026-10.html"), Governed(REPORT_DAG, False)),
    ("reports", ("stray.html",), None),
    ("reports", ("police.death", "1"), None),
    ("exports", ("deaths",), None),
])
def test_each_served_folder_is_a_dags(area, parts, owner):
    assert governed(area, parts) == owner


def test_an_auditor_opens_the_death_reports_and_nothing_else(reading):
    auditor = reading(REPORT_DAG)
    assert links(auditor.get("/")) == ["/jinbao/reports/"]
    assert links(auditor.get("/reports/")) == ["/jinbao/reports/deaths/"]
    assert links(auditor.get("/reports/deaths/2026-10/")) == ["/jinbao/" + DEATHS]
    assert auditor.get("/" + DEATHS).text == "a,b\n1,2\n"
    missing = auditor.get("/receipts/no-such-feed/")
    assert missing.status_code == 404
    for path in (RECEIPT, PAGE, "receipts/", "receipts/police.death/", "receipts/police.death/1/",
                 "reports/quality/", "reports/quality/police.death/1/", OTHER_RECEIPT):
        r = auditor.get("/" + path)
        assert (r.status_code, r.json()) == (404, missing.json()), path    # as if it did not exist
        assert auditor.head("/" + path).status_code == 404


def test_a_feeds_reader_opens_its_receipts_and_pages_not_anothers(reading):
    engineer = reading("police.death")
    assert links(engineer.get("/")) == ["/jinbao/receipts/", "/jinbao/reports/"]
    assert links(engineer.get("/receipts/")) == ["/jinbao/receipts/police.death/"]
    assert links(engineer.get("/reports/")) == ["/jinbao/reports/quality/"]
    assert links(engineer.get("/reports/quality/")) == ["/jinbao/reports/quality/police.death/"]
    assert engineer.get("/" + RECEIPT).json() == {"status": "published"}
    assert engineer.get("/" + PAGE).text.endswith("<p>quality</p>")
    for path in (OTHER_RECEIPT, OTHER_PAGE, "receipts/pension.payment/", DEATHS, "reports/deaths/"):
        assert engineer.get("/" + path).status_code == 404, path
    # each DAG is asked once a request, however many folders name it
    reading.asked.clear()
    engineer.get("/")
    assert sorted(reading.asked) == sorted(set(reading.asked))


def test_with_both_the_engineers_see_the_report_too(reading):
    engineer = reading("police.death", "pension.payment", REPORT_DAG)
    assert links(engineer.get("/reports/")) == ["/jinbao/reports/deaths/", "/jinbao/reports/quality/"]
    for path in (RECEIPT, OTHER_RECEIPT, PAGE, OTHER_PAGE, DEATHS):
        assert engineer.get("/" + path).status_code == 200, path


def test_what_is_no_dags_is_nobodys(served, reading):
    _, anyone = served                                     # no reader: every served file, as before
    everyone = reading(every=True)                         # a reader of every DAG (Airflow's Viewer, Admin)
    for path in NOBODYS:
        assert anyone.get("/" + path).status_code == 200, path
        assert everyone.get("/" + path).status_code == 404, path
    shown = links(everyone.get("/reports/")) + links(everyone.get("/receipts/")) \
        + links(everyone.get("/reports/quality/"))
    assert not [path for path in NOBODYS if "/jinbao/" + path in shown]
    assert "/jinbao/reports/quality/police.death/" in shown and "/jinbao/receipts/pension.payment/" in shown
    assert reading(every=True).get("/" + OTHER_PAGE).status_code == 200


def test_a_symlink_is_judged_where_it_leads(served, reading):
    home, _ = served
    os.symlink(home / PAGE, home / "reports" / "deaths" / "2026-10" / "peek.html")
    os.symlink(home / "reports", home / "reports" / "quality" / "up")          # a loop back up
    auditor, engineer = reading(REPORT_DAG), reading("police.death")
    assert auditor.get("/reports/deaths/2026-10/peek.html").status_code == 404
    assert "peek.html" not in auditor.get("/reports/deaths/2026-10/").text
    assert engineer.get("/reports/deaths/2026-10/peek.html").text.endswith("<p>quality</p>")
    assert links(auditor.get("/reports/")) == ["/jinbao/reports/deaths/"]
    # the loop ends: up/ is reports/ itself, which the engineer opens (their quality pages are in it)
    assert links(engineer.get("/reports/quality/")) == ["/jinbao/reports/quality/police.death/",
                                                        "/jinbao/reports/quality/up/"]
    assert auditor.get("/reports/quality/").status_code == 404
    assert auditor.get("/reports/quality/up/deaths/2026-10/findings.csv").status_code == 200  # = reports/deaths
    assert auditor.get("/reports/quality/up/quality/police.death/1/index.html").status_code == 404


@pytest.mark.parametrize("path", [
    "/reports/..%2Fstore.secret", "/reports/%2E%2E/store.secret", "/reports/quality/../../store.secret",
    "/receipts/%2Fetc%2Fpasswd", "/receipts//etc/passwd", "/store.secret", "/airflow/jwt_secret",
    "/reports/.hidden", "/reports/..%5Cstore.secret", "/reports/nothing-here.html", "/reports/%00"])
def test_nothing_outside_the_served_folders_is_reachable(served, reading, path):
    _, client = served
    for client in (client, reading(every=True)):
        r = client.get(path)
        assert r.status_code == 404 and "the store" not in r.text and "root:" not in r.text


def test_a_symlink_out_of_the_folder_is_refused_one_inside_is_followed(served, tmp_path):
    home, client = served
    os.symlink(tmp_path / "outside.txt", home / "reports" / "out.txt")
    os.symlink(home, home / "reports" / "home")
    os.symlink(home / PAGE, home / "reports" / "latest.html")
    assert client.get("/reports/out.txt").status_code == 404
    assert client.get("/reports/home/store.secret").status_code == 404
    assert client.get("/reports/latest.html").text.endswith("<p>quality</p>")
    listing = client.get("/reports/").text
    assert "out.txt" not in listing and "latest.html" in listing


def test_read_only(served):
    home, client = served
    for method in ("post", "put", "delete", "patch"):
        assert getattr(client, method)("/" + RECEIPT).status_code == 405
    assert (home / RECEIPT).read_text(encoding="utf-8") == '{"status": "published"}'


def test_the_plugin_serves_only_to_someone_airflow_signed_in(served):
    spec = importlib.util.spec_from_file_location("jinbao_plugin", REPO / "plugins" / "jinbao_plugin.py")
    plugin = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(plugin)
    [app] = plugin.JinbaoPlugin.fastapi_apps
    assert app["url_prefix"] == "/jinbao"
    client = TestClient(app["app"])
    assert client.get("/" + RECEIPT).status_code == 401
    assert client.get("/").status_code == 401
    assert plugin.JinbaoPlugin.external_views[0]["href"] == "/jinbao/"


def test_resolve_refuses_any_way_out(served):
    from jinbao.report_server import resolve
    home, _ = served
    root = home / "reports"
    assert resolve(root, "quality/police.death/1/index.html") == (home / PAGE).resolve()
    for rel in ("../store.secret", "quality/../../store.secret", str(home / "store.secret"), "/etc/passwd",
                "..\\store.secret", ".hidden", "./quality", "missing.html"):
        assert resolve(root, rel) is None, rel


def test_the_auditors_report_is_served_and_its_full_id_workbook_never(served, reading, capsys):
    home, client = served
    assert main(["report", "deaths", "--month", "2026-10", "--full-ids", "--purpose", "审计 stop payments"]) == 0
    capsys.readouterr()
    month = home / "reports" / "deaths" / "2026-10"
    [full] = (home / "exports").rglob("deaths-2026-10-full-ids.xlsx")      # kept on the hub, outside what is served
    assert full.is_file() and (month / "deaths-2026-10.html").is_file()
    assert not list(month.glob("*full-ids*"))
    assert client.get("/reports/deaths/2026-10/deaths-2026-10.html").status_code == 200
    workbook = client.get("/reports/deaths/2026-10/deaths-2026-10.xlsx")
    assert workbook.status_code == 200 and workbook.content[:2] == b"PK"
    assert workbook.headers["content-type"] == TYPES[".xlsx"]
    rel = full.relative_to(home).as_posix()
    for url in ("/reports/deaths/2026-10/deaths-2026-10-full-ids.xlsx", f"/{rel}", f"/reports/../{rel}",
                f"/reports/%2E%2E/{rel}", f"/reports/..%2F{rel}", "/exports/", "/reports/../exports/"):
        assert client.get(url).status_code == 404, url
    listing = client.get("/reports/deaths/2026-10/").text
    assert "deaths-2026-10.html" in listing and "full-ids" not in listing
    assert "exports" not in client.get("/").text
    # and were a copy ever put among the reports, it is private (0600) and still neither served nor listed
    copy = month / full.name
    copy.write_bytes(full.read_bytes())
    copy.chmod(0o600)
    assert client.get(f"/reports/deaths/2026-10/{full.name}").status_code == 404
    assert "full-ids" not in client.get("/reports/deaths/2026-10/").text
    auditor = reading(REPORT_DAG)                              # nor to the auditors, whose report it is
    assert auditor.get(f"/reports/deaths/2026-10/{full.name}").status_code == 404
    assert "full-ids" not in auditor.get("/reports/deaths/2026-10/").text
    assert auditor.get("/reports/deaths/2026-10/deaths-2026-10.html").status_code == 200
