"""CZBZ 操作标志 on the three death feeds (agreements §2, corrections to deaths), end to end on SQLite
and PostgreSQL: an optional last column; `1`, empty or absent register or correct the death
(death_action '1' or NULL), `2` withdraws it, anything else is rejected on that record only."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from jinbao.cli import main
from jinbao.store.database import connect as engine
from tests.deliveries import (
    CREMATION, HEALTH_DEATH, POLICE_DEATH, cremation_row, death_row, health_death_row, write_delivery,
)

FEEDS = {   # feed: (partner, encoding, columns, row builder, ID column)
    "police.death": ("police", "GB18030", POLICE_DEATH, death_row, "GMSFHM"),
    "health.death_certificate": ("health", "UTF-8", HEALTH_DEATH, health_death_row, "ID_NO"),
    "civil_affairs.cremation": ("civil_affairs", "UTF-8", CREMATION, cremation_row, "SFZH"),
}


def _deliver(cfg, feed: str, rows: list[dict], with_czbz: bool, seq: int = 1, date: str = "20261201"):
    partner, encoding, columns, _, _ = FEEDS[feed]
    write_delivery(cfg.inbound(partner), feed, rows, date=date, seq=seq, encoding=encoding,
                   columns=columns + (["CZBZ"] if with_czbz else []))


def _actions(cfg, feed: str) -> dict[str, str | None]:
    with engine(cfg.store_url).connect() as conn:
        return dict(conn.execute(sa.text("select aac002, death_action from death_record where source_feed = :f"),
                                 {"f": feed}).all())


def _rejections(cfg) -> list[tuple]:
    with engine(cfg.store_url).connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(
            "select line_no, field, reason_code, value from rejection order by line_no")).all()]


@pytest.mark.parametrize("feed", list(FEEDS))
def test_a_delivery_without_the_column_registers_every_death(home, feed):
    make, id_col = FEEDS[feed][3], FEEDS[feed][4]
    rows = [make(i) for i in range(8)]
    _deliver(home, feed, rows, with_czbz=False)
    assert main(["run", feed]) == 0
    assert _actions(home, feed) == {r[id_col]: None for r in rows}
    assert _rejections(home) == []


@pytest.mark.parametrize("feed", list(FEEDS))
def test_czbz_registers_corrects_withdraws_and_a_bad_value_is_rejected(home, feed):
    make, id_col = FEEDS[feed][3], FEEDS[feed][4]
    rows = [make(i, CZBZ=("1", "", "2")[i % 3]) for i in range(12)] + [make(20, CZBZ="3")]    # line 14
    _deliver(home, feed, rows, with_czbz=True)
    assert main(["run", feed]) == 0
    assert _actions(home, feed) == {r[id_col]: (r["CZBZ"] or None) for r in rows[:12]}
    assert _rejections(home) == [(14, "CZBZ", "UNMAPPED_CODE", "3")]
    # A later delivery without the column registers again: the withdrawn deaths are reported once more.
    withdrawn = [r for r in rows[:12] if r["CZBZ"] == "2"]
    _deliver(home, feed, [{k: v for k, v in r.items() if k != "CZBZ"} for r in withdrawn], with_czbz=False,
             seq=2, date="20261202")
    assert main(["run", feed]) == 0
    assert {k: v for k, v in _actions(home, feed).items() if k in {r[id_col] for r in withdrawn}} == \
        {r[id_col]: None for r in withdrawn}
