"""The /jinbao app serves JINBAO_HOME's receipts and reports read-only, and nothing else of the machine."""
from __future__ import annotations

import importlib.util
import os

import pytest
from fastapi.testclient import TestClient

from jinbao.cli import main
from jinbao.report_server import TYPES, make_app
from tests.airflow_env import REPO

RECEIPT = "receipts/police.death/1/police.death_20261122_000001.receipt.json"
PAGE = "reports/quality/police.death/1/index.html"


@pytest.fixture
def served(sqlite_home, tmp_path):
    home = sqlite_home.home
    for rel, text in ((RECEIPT, '{"status": "published"}'), (PAGE, "<!DOCTYPE html><p>quality</p>"),
                      ("reports/deaths/2026-10/findings.csv", "a,b\n1,2\n"), ("reports/.hidden", "no")):
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


@pytest.mark.parametrize("path", [
    "/reports/..%2Fstore.secret", "/reports/%2E%2E/store.secret", "/reports/quality/../../store.secret",
    "/receipts/%2Fetc%2Fpasswd", "/receipts//etc/passwd", "/store.secret", "/airflow/jwt_secret",
    "/reports/.hidden", "/reports/..%5Cstore.secret", "/reports/nothing-here.html", "/reports/%00"])
def test_nothing_outside_the_served_folders_is_reachable(served, path):
    _, client = served
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


def test_the_auditors_report_is_served_and_its_full_id_workbook_never(served, capsys):
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
