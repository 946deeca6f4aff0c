"""Every setting of the hub, declared once.

The environment is read here and nowhere else, so a test, the demo or a
production node can pass a `Settings` object explicitly and two of them never
see each other's files.  Every path the hub writes is under `home`; the store
defaults to an embedded SQLite file there so a newcomer needs no database
server.  The README's configuration table is checked against `DECLARED`.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Callable, Mapping

#: Business dates and schedules are in China Standard Time whatever the server's zone.
TIMEZONE = "Asia/Shanghai"
#: Transport overrides accepted in JINBAO_TRANSPORT (docs/transport.md).
TRANSPORT_OVERRIDES = ("local", "local+cms", "sftp+cms")


class SettingsError(ValueError):
    """A JINBAO_* variable holds a value the hub cannot use; the message names it."""


@dataclass(frozen=True)
class Declared:
    """One environment variable: its name, field, default as documented, and meaning."""

    env: str
    field: str
    default: str
    meaning: str
    parse: Callable[[str], object]


def shipped_feeds_dir() -> Path:
    """The feed declarations installed with the package (dags/feeds in a checkout)."""
    return Path(str(resources.files("jinbao.declared_feeds")))


def shipped_tables_dir() -> Path:
    """The feed target tables declared with the package (schemas/tables in a checkout)."""
    return Path(str(resources.files("jinbao.schemas"))) / "tables"


def shipped_schemas_dir() -> Path:
    """The hub dictionary and partner file schemas shipped with the package (schemas/ in a checkout)."""
    return Path(str(resources.files("jinbao.schemas")))


def shipped_mappings_dir() -> Path:
    """The feed mappings and code tables shipped with the package (mappings/ in a checkout)."""
    return Path(str(resources.files("jinbao.mappings")))


def shipped_migrations_dir() -> Path:
    """The store's migrations shipped with the package (schemas/migrations/versions in a checkout)."""
    return Path(str(resources.files("jinbao.schemas.migrations"))) / "versions"


def _default_threads() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def _threads(text: str) -> int:
    n = int(text)
    if n < 1:
        raise ValueError("must be at least 1")
    return n


def _allowance(text: str) -> dt.timedelta:
    minutes = int(text)
    if not 0 <= minutes <= 24 * 60:
        raise ValueError("must be whole minutes from 0 to 1440")
    return dt.timedelta(minutes=minutes)


#: How far a partner's clock may run ahead of the hub's when dating a delivery (docs/reliability.md).
CLOCK_ALLOWANCE = dt.timedelta(minutes=60)


def _transport(text: str) -> str | None:
    if text and text not in TRANSPORT_OVERRIDES:
        raise ValueError(f"must be one of {', '.join(TRANSPORT_OVERRIDES)}")
    return text or None


DECLARED: tuple[Declared, ...] = (
    Declared("JINBAO_HOME", "home", "`./var`",
             "exchange zone folders, staging, quarantine, receipts, reports, the SQLite store, Airflow metadata "
             "and logs", lambda s: Path(s).resolve()),
    Declared("JINBAO_STORE_URL", "store_url", "`sqlite:///$JINBAO_HOME/store.db`",
             "the shared store, e.g. `postgresql+psycopg://postgres@127.0.0.1/jinbao`", str),
    Declared("JINBAO_FEEDS_DIR", "feeds_dir", "the shipped declarations (`dags/feeds`)",
             "where feed declarations are read", lambda s: Path(s).resolve()),
    Declared("JINBAO_TABLES_DIR", "tables_dir", "the shipped table declarations (`schemas/tables`)",
             "where feed target tables are declared (read once per process, when the store's tables load)",
             lambda s: Path(s).resolve()),
    Declared("JINBAO_MIGRATIONS_DIR", "migrations_dir", "the shipped migrations (`schemas/migrations/versions`)",
             "the store's migrations: `jinbao db upgrade` applies them, `jinbao db revision` writes the next one "
             "there", lambda s: Path(s).resolve()),
    Declared("JINBAO_SCHEMAS_DIR", "schemas_dir", "the shipped schemas (`schemas`)",
             "where the hub dictionary (`hub_dictionary.yaml`), the partners' file schemas (`partners/`) and the "
             "register's authority (`register.yaml`) are read (once per process)", lambda s: Path(s).resolve()),
    Declared("JINBAO_MAPPINGS_DIR", "mappings_dir", "the shipped mappings (`mappings`)",
             "where feed mappings (`feeds/`) and code tables (`codes/`) are read (once per process)",
             lambda s: Path(s).resolve()),
    Declared("JINBAO_TRANSPORT", "transport", "the declarations'",
             "`local`, `local+cms` or `sftp+cms` for every feed (docs/transport.md)", _transport),
    Declared("JINBAO_GATE_THREADS", "gate_threads", "cores, at most 4",
             "threads judging record blocks in parallel", _threads),
    Declared("JINBAO_CLOCK_ALLOWANCE", "clock_allowance", "`60`",
             "minutes a partner's clock may run ahead of the hub's: a delivery dated after the hub's day (China "
             "Standard Time) is refused unless the day begins within them", _allowance),
)


@dataclass(frozen=True)
class Settings:
    home: Path
    store_url: str = ""
    feeds_dir: Path = field(default_factory=shipped_feeds_dir)
    tables_dir: Path = field(default_factory=shipped_tables_dir)
    migrations_dir: Path = field(default_factory=shipped_migrations_dir)
    schemas_dir: Path = field(default_factory=shipped_schemas_dir)
    mappings_dir: Path = field(default_factory=shipped_mappings_dir)
    #: Overrides every feed's declared transport; None keeps the declarations'.
    transport: str | None = None
    gate_threads: int = field(default_factory=_default_threads)
    #: A delivery whose business date is after the hub's day is refused, unless that day begins within this.
    clock_allowance: dt.timedelta = CLOCK_ALLOWANCE
    #: SFTP endpoints given directly (partner -> Airflow-style connection dict), ahead of
    #: Airflow connections; the demo uses this for its local sshd.
    sftp_endpoints: Mapping[str, dict] = field(default_factory=dict)
    #: Partners' front-end exchange databases given directly (partner -> SQLAlchemy URL), ahead of
    #: the Airflow connection jinbao_frontend_<partner> (connectors/frontend_db.py).
    frontend_dbs: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self):
        object.__setattr__(self, "home", Path(self.home).resolve())
        if not self.store_url:
            object.__setattr__(self, "store_url", f"sqlite:///{self.home / 'store.db'}")

    def replace(self, **changes) -> "Settings":
        return dataclasses.replace(self, **changes)

    @property
    def drop_zones(self) -> Path:
        """Partner drop zones as local folders: <partner>/inbound (partner writes), <partner>/outbound."""
        return self.home / "exchange_zone"

    @property
    def staging(self) -> Path:
        return self.home / "staging"

    @property
    def quarantine(self) -> Path:
        return self.home / "quarantine"

    @property
    def receipts(self) -> Path:
        """The hub's own copy of every receipt it sent, readable (never sealed)."""
        return self.home / "receipts"

    @property
    def sent(self) -> Path:
        """The hub's copy of every outbound file (plaintext, owner-only) and of the records it held back."""
        return self.home / "sent"

    @property
    def reports(self) -> Path:
        return self.home / "reports"

    @property
    def exports(self) -> Path:
        """Exports of unmasked personal data (the auditors' full-ID workbooks): owner-only, never served
        by the Airflow plugin (jinbao/report_links.py serves receipts and reports), never a drop zone."""
        return self.home / "exports"

    @property
    def generated(self) -> Path:
        """Generator output that is not a partner delivery (population, truth files)."""
        return self.home / "generated"

    def inbound(self, partner: str) -> Path:
        return self.drop_zones / partner / "inbound"

    def outbound(self, partner: str) -> Path:
        return self.drop_zones / partner / "outbound"


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Settings from the environment (read now, not at import, so tests can point elsewhere)."""
    env = os.environ if env is None else env
    values = {}
    for d in DECLARED:
        raw = env.get(d.env)
        if raw is None or raw == "":
            continue
        try:
            values[d.field] = d.parse(raw)
        except ValueError as exc:
            raise SettingsError(f"{d.env}={raw!r}: {exc}") from exc
    values.setdefault("home", Path("var"))
    return Settings(**values)


def load_setting(name: str, env: Mapping[str, str] | None = None):
    """One setting (a `Settings` field) from the environment, or its default: for what is read at
    import (the store's tables, schemas/store_tables.py), where a mistake in another variable must not
    stop the import (it is reported where that variable is used)."""
    declared = next(d for d in DECLARED if d.field == name)
    raw = (os.environ if env is None else env).get(declared.env)
    if raw:
        try:
            return declared.parse(raw)
        except ValueError as exc:
            raise SettingsError(f"{declared.env}={raw!r}: {exc}") from exc
    default = next(f for f in dataclasses.fields(Settings) if f.name == name)
    return default.default_factory() if default.default_factory is not dataclasses.MISSING else default.default
