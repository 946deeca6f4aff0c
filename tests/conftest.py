"""Shared fixtures: a private JINBAO_HOME per test and the store on every backend.

PostgreSQL and MariaDB are real servers (127.0.0.1); each test gets its own
fresh database and drops it afterwards.  With CI=true a missing server fails
the test instead of skipping it, so CI can never go green by skipping.
"""
from __future__ import annotations

import contextlib
import os
import uuid

import pytest
import sqlalchemy as sa

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PG_ADMIN = os.environ.get("JINBAO_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
MARIA_ADMIN = os.environ.get("JINBAO_TEST_MARIADB", "mysql+pymysql://root@127.0.0.1:3306/mysql")


def unavailable(what: str, exc: Exception | None = None):
    msg = f"{what} not available" + (f": {exc}" if exc else "")
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{msg} (CI=true: required)")
    pytest.skip(msg)


def _server_db(admin_url: str, kind: str):
    name = f"jinbao_t_{uuid.uuid4().hex[:10]}"
    try:
        admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f"CREATE DATABASE {name}"))
    except Exception as exc:  # noqa: BLE001 - any connection problem means "not available"
        unavailable(kind, exc)
    url = admin_url.rsplit("/", 1)[0] + "/" + name
    if kind == "MariaDB":
        url += "?charset=utf8mb4"
    return admin, name, url


@contextlib.contextmanager
def server_database(kind: str):
    """A fresh database on the real PostgreSQL or MariaDB server, dropped afterwards."""
    admin_url, force = {"PostgreSQL": (PG_ADMIN, " WITH (FORCE)"), "MariaDB": (MARIA_ADMIN, "")}[kind]
    admin, name, url = _server_db(admin_url, kind)
    try:
        yield url
    finally:
        from jinbao.store.database import forget_connections
        forget_connections()
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name}{force}"))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path):
    """The store on SQLite and on PostgreSQL (a fresh database per test)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    with server_database("PostgreSQL") as url:
        yield url


@pytest.fixture
def mariadb_url():
    with server_database("MariaDB") as url:
        yield url


def private_home(tmp_path, monkeypatch, store_url: str | None = None):
    """Settings for a JINBAO_HOME of the test's own, on `store_url` (None: the embedded SQLite),
    local transport whatever the calling environment says."""
    h = tmp_path / "home"
    h.mkdir()
    monkeypatch.setenv("JINBAO_HOME", str(h))
    if store_url:
        monkeypatch.setenv("JINBAO_STORE_URL", store_url)
    else:
        monkeypatch.delenv("JINBAO_STORE_URL", raising=False)
    monkeypatch.delenv("JINBAO_TRANSPORT", raising=False)
    from jinbao.settings import load_settings
    return load_settings()


@contextlib.contextmanager
def home_on(backend: str, folder):
    """A private home on `backend` ("sqlite" or "postgresql", a fresh database) for a module-scoped
    fixture, which cannot use the function-scoped monkeypatch; undone on exit."""
    mp = pytest.MonkeyPatch()
    with contextlib.ExitStack() as stack:
        stack.callback(mp.undo)
        url = f"sqlite:///{folder / 'store.db'}" if backend == "sqlite" \
            else stack.enter_context(server_database("PostgreSQL"))
        yield private_home(folder, mp, url)


@pytest.fixture
def home(tmp_path, monkeypatch, store_url):
    """A private JINBAO_HOME on each store backend."""
    return private_home(tmp_path, monkeypatch, store_url)


@pytest.fixture
def sqlite_home(tmp_path, monkeypatch):
    return private_home(tmp_path, monkeypatch)


# ---------------------------------------------------------------------------------------------------
# No personal data in logs, errors or output: every test's captured log, stderr and stdout is scanned
# for an unmasked 18-character citizen ID; one found fails the whole run, naming the test (not the ID).
# (A test that reads stdout with capsys checks what it read itself: tests/hostile `no_unmasked_id`.)
_UNMASKED_ID = __import__("re").compile(r"(?<![0-9A-Za-z*])[1-9]\d{16}[\dX](?![0-9A-Za-z])")
_LEAKS: list[str] = []


def pytest_runtest_logreport(report):
    for where, text in (("log", report.caplog), ("stderr", report.capstderr), ("stdout", report.capstdout)):
        if text and _UNMASKED_ID.search(text):
            _LEAKS.append(f"{report.nodeid} ({report.when}, {where})")


def pytest_sessionfinish(session, exitstatus):
    if _LEAKS:
        print("\nUnmasked citizen IDs in captured logs, stderr or stdout of:\n  " + "\n  ".join(_LEAKS))
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
