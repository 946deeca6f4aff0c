"""Where things live, decided once from the environment.

Every path the hub writes is under JINBAO_HOME so a demo, a test and a
production node never see each other's files; the store defaults to an
embedded SQLite file there so a newcomer needs no database server.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

#: The checkout (editable install): DAGs, feed declarations and airflow.cfg live here.
REPO_ROOT = Path(__file__).resolve().parent.parent
#: Business dates and schedules are in China Standard Time whatever the server's zone.
TIMEZONE = "Asia/Shanghai"


@dataclass(frozen=True)
class Settings:
    home: Path
    store_url: str
    feeds_dir: Path

    @property
    def exchange_zone(self) -> Path:
        """Partner drop zones: <partner>/inbound (partner writes) and <partner>/outbound (hub writes)."""
        return self.home / "exchange_zone"

    @property
    def staging(self) -> Path:
        return self.home / "staging"

    @property
    def quarantine(self) -> Path:
        return self.home / "quarantine"

    @property
    def reports(self) -> Path:
        return self.home / "reports"

    @property
    def generated(self) -> Path:
        """Generator output that is not a partner delivery (population, truth files)."""
        return self.home / "generated"

    def inbound(self, partner: str) -> Path:
        return self.exchange_zone / partner / "inbound"

    def outbound(self, partner: str) -> Path:
        return self.exchange_zone / partner / "outbound"


def settings() -> Settings:
    """Read the environment now (not at import) so tests can point JINBAO_HOME elsewhere."""
    home = Path(os.environ.get("JINBAO_HOME", "var")).resolve()
    store_url = os.environ.get("JINBAO_STORE_URL") or f"sqlite:///{home / 'store.db'}"
    feeds_dir = Path(os.environ.get("JINBAO_FEEDS_DIR", REPO_ROOT / "dags" / "feeds"))
    return Settings(home=home, store_url=store_url, feeds_dir=feeds_dir)
