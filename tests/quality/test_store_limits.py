"""The gate rejects what the store could not hold, so SQLite, PostgreSQL and MariaDB agree on one hostile file."""
from __future__ import annotations

import sqlalchemy as sa

from jinbao.cli import main
from jinbao.quality.rules import store_length
from jinbao.store.database import connect
from tests.deliveries import death_row, write_delivery

CREMATION = ["SFZH", "XM", "SEX", "SWRQ", "HHRQ", "BYGMC"]


def _hostile_rows() -> list[dict]:
    rows = []
    for i in range(40):
        r = death_row(i)
        rows.append({"SFZH": r["GMSFHM"], "XM": r["XM"], "SEX": "1" if r["XB"] == "2" else "2",
                     "SWRQ": "2026-11-20", "HHRQ": "2026-11-21", "BYGMC": "八宝山殡仪馆"})
    rows[1]["XM"] = "王\x00五"                         # NUL: PostgreSQL cannot store it
    rows[2]["BYGMC"] = "殡" * 201                       # one longer than the store's column
    rows[3]["BYGMC"] = "东郊\x07殡仪馆"                  # another control character
    rows[4]["SEX"] = "\x00" * 300                       # a garbage code, echoed in the receipt
    rows[5]["SFZH"] = "1" * 400                         # an "ID" far wider than any column
    rows[6]["BYGMC"] = "殡" * 200                       # exactly the column's width: fine
    return rows


def _outcome(url: str) -> tuple:
    with connect(url).connect() as c:
        batch = tuple(c.execute(sa.text("select status, received, accepted, rejected, published from batch")).one())
        rejections = sorted(tuple(r) for r in c.execute(sa.text(
            "select line_no, field, reason_code from rejection")))
        stored = c.execute(sa.text("select count(*) from death_record")).scalar()
    return batch, rejections, stored


def _run(home_dir, monkeypatch, url: str) -> tuple:
    home_dir.mkdir()
    monkeypatch.setenv("JINBAO_HOME", str(home_dir))
    monkeypatch.setenv("JINBAO_STORE_URL", url)
    write_delivery(home_dir / "exchange_zone" / "civil_affairs" / "inbound", "civil_affairs.cremation",
                   _hostile_rows(), encoding="UTF-8", columns=CREMATION)
    assert main(["run", "civil_affairs.cremation"]) == 0
    return _outcome(url)


def test_one_hostile_file_gives_the_same_result_on_every_backend(tmp_path, monkeypatch, store_url, mariadb_url):
    here = _run(tmp_path / "a", monkeypatch, store_url)          # SQLite or PostgreSQL (the fixture's two)
    maria = _run(tmp_path / "b", monkeypatch, mariadb_url)
    assert here == maria
    batch, rejections, stored = here
    assert batch == ("published", 40, 35, 5, 35) and stored == 35
    assert rejections == [(3, "XM", "CONTROL_CHAR"), (4, "BYGMC", "TEXT_TOO_LONG"), (5, "BYGMC", "CONTROL_CHAR"),
                          (6, "SEX", "UNMAPPED_CODE"), (7, "SFZH", "ID_FORMAT")]


def test_text_limits_come_from_the_store_columns():
    assert store_length("funeral_home") == 200 and store_length("AAC003") == 50 and store_length("AAC002") == 18
    assert store_length("AAC060") is None                        # a date column: no text width
