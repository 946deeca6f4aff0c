"""Releasing a held death batch whose every record was rejected (issue 22, defect 5): the batch is published
with nothing in it, its rejected records are kept as evidence in `rejected_death`, the register and the
life statuses are untouched, and the partner gets an updated receipt; on each death feed, SQLite and PostgreSQL."""
from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from jinbao.cli import main
from jinbao.store.database import connect
from tests.deliveries import (
    CREMATION, HEALTH_DEATH, POLICE_DEATH, cremation_row, death_row, health_death_row, pension_row, write_delivery,
    write_hrss,
)

FEEDS = {   # feed: (partner, encoding, columns, row builder, ID column, name column)
    "police.death": ("police", "GB18030", POLICE_DEATH, death_row, "GMSFHM", "XM"),
    "health.death_certificate": ("health", "UTF-8", HEALTH_DEATH, health_death_row, "ID_NO", "NAME"),
    "civil_affairs.cremation": ("civil_affairs", "UTF-8", CREMATION, cremation_row, "SFZH", "XM"),
}
#: What reconciling or a death could change; none of it may move when nothing was accepted.
UNTOUCHED = ["register", "register_history", "conflict", "source_value", "life_status_history", "death_record"]
PEOPLE = range(6)


def _rows(cfg, sql: str) -> list[dict]:
    with connect(cfg.store_url).connect() as conn:
        return [dict(r) for r in conn.execute(sa.text(sql)).mappings()]


def _snapshot(cfg) -> dict[str, list[dict]]:
    return {t: sorted(_rows(cfg, f"select * from {t}"), key=repr) for t in UNTOUCHED}


def _bad_check_char(value: str) -> str:
    return value[:-1] + ("0" if value[-1] != "0" else "1")


def _on_the_roll(cfg) -> None:
    """Pensioners 0..5 in the register, alive: the people the rejected death records name."""
    write_hrss(cfg.inbound("hrss"), "hrss.pension_roll", [pension_row(i) for i in PEOPLE])
    assert main(["run", "hrss.pension_roll"]) == 0
    assert len(_rows(cfg, "select aac002 from register")) == len(PEOPLE)


def _held(cfg, feed: str, rows: list[dict], lines: list[str] | None = None) -> tuple[int, str]:
    """Deliver `rows` (and raw `lines` appended as they are), run the feed: held; returns (batch, file)."""
    partner, encoding, columns = FEEDS[feed][:3]
    path = write_delivery(cfg.inbound(partner), feed, rows, date="20261201", encoding=encoding, columns=columns)
    if lines:
        with open(path, "ab") as fh:
            fh.write("".join(line + "\n" for line in lines).encode(encoding))
    assert main(["run", feed]) == 2
    batch = _rows(cfg, f"select * from batch where feed = '{feed}'")[0]
    assert batch["status"] == "held" and batch["accepted"] == 0
    return batch["id"], path.name


def _receipt(cfg, feed: str, file_name: str) -> dict:
    base = file_name.rsplit(".", 1)[0]
    return json.loads((cfg.outbound(FEEDS[feed][0]) / f"{base}.receipt.json").read_text(encoding="utf-8"))


def _released(cfg, feed: str, batch_id: int, file_name: str, received: int) -> None:
    """Release succeeds: published with 0 records, the delivery acknowledged, the partner told."""
    assert _receipt(cfg, feed, file_name)["status"] == "held"
    assert main(["batches", "release", str(batch_id)]) == 0
    batch = _rows(cfg, f"select * from batch where id = {batch_id}")[0]
    assert (batch["status"], batch["received"], batch["accepted"], batch["rejected"], batch["published"]) == \
        ("published", received, 0, received, 0)
    receipt = _receipt(cfg, feed, file_name)
    assert (receipt["status"], receipt["received"], receipt["published"], receipt["rejected"]) == \
        ("published", received, 0, received)
    assert not (cfg.inbound(FEEDS[feed][0]) / file_name).exists()


@pytest.mark.parametrize("feed", list(FEEDS))
def test_releasing_a_death_batch_whose_every_record_was_rejected(home, feed):
    _, _, _, make, id_col, name_col = FEEDS[feed]
    _on_the_roll(home)
    rows = [make(i) for i in PEOPLE]
    for r in rows[:3]:
        r[id_col] = _bad_check_char(r[id_col])          # an ID with a wrong check character
    for r in rows[3:]:
        r[name_col] = r[name_col] + "3"                  # a digit in the name; the pensioner's ID is right
    batch_id, file_name = _held(home, feed, rows)
    before = _snapshot(home)

    _released(home, feed, batch_id, file_name, received=len(rows))
    assert _snapshot(home) == before                     # no death, no life status, no field, no conflict
    assert {r["life_status"] for r in _rows(home, "select life_status from register")} == {"alive"}
    kept = _rows(home, "select batch_id, source_feed, line_no, id_sent, aac003, aaa002, aac060 "
                       f"from rejected_death where batch_id = {batch_id} order by line_no")
    assert [(k["batch_id"], k["source_feed"], k["line_no"], k["id_sent"], k["aac003"], k["aaa002"], str(k["aac060"]))
            for k in kept] == [
        (batch_id, feed, i + 2, r[id_col], r[name_col], "1" if i % 2 == 0 else "2", f"2026-11-{1 + i % 20:02d}")
        for i, r in zip(PEOPLE, rows)]
    reasons = _rows(home, f"select distinct line_no from rejection where batch_id = {batch_id}")
    assert sorted(r["line_no"] for r in reasons) == [i + 2 for i in PEOPLE]


def test_releasing_a_death_batch_of_only_malformed_lines(home):
    """No well-formed record at all: the accepted file holds no column but line_no, and nothing translated."""
    _on_the_roll(home)
    batch_id, file_name = _held(home, "police.death", [], lines=["11010519500101001X,王五", "1,2,3"])
    before = _snapshot(home)
    _released(home, "police.death", batch_id, file_name, received=2)
    assert _snapshot(home) == before
    assert _rows(home, "select * from rejected_death") == []
    assert _rows(home, f"select line_no, reason_code from rejection where batch_id = {batch_id} order by line_no") \
        == [{"line_no": 2, "reason_code": "FIELD_COUNT"}, {"line_no": 3, "reason_code": "FIELD_COUNT"}]
