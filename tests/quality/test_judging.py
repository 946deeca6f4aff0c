"""quality/judging.py through the engine: a key twice in one delivery is rejected on every line that holds it."""
from __future__ import annotations

import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from jinbao.cli import main
from jinbao.staged.key_order import key_order
from jinbao.store.database import connect
from tests.deliveries import death_row, write_delivery


def test_duplicate_keys_are_rejected_naming_the_other_lines(home):
    rows = [death_row(i) for i in range(20)]
    rows += [dict(rows[1]), dict(rows[1])]          # lines 3, 22 and 23 hold the same person
    write_delivery(home.inbound("police"), "police.death", rows)
    assert main(["run", "police.death"]) == 0
    with connect(home.store_url).connect() as c:
        b = c.execute(sa.text("select received, accepted, rejected, published from batch")).one()
        rej = c.execute(sa.text("select line_no, field, value, reason_code, masked_id from rejection "
                                "order by line_no")).all()
        stored = c.execute(sa.text("select count(*) from death_record")).scalar()
    assert tuple(b) == (22, 19, 3, 19) and stored == 19          # accepted = published = stored
    assert [(r.line_no, r.field, r.value, r.reason_code) for r in rej] == [
        (3, "GMSFHM", "also on line(s) 22, 23", "DUPLICATE_KEY"),
        (22, "GMSFHM", "also on line(s) 3, 23", "DUPLICATE_KEY"),
        (23, "GMSFHM", "also on line(s) 3, 22", "DUPLICATE_KEY")]
    assert all(r.masked_id.count("*") == 8 for r in rej)


@pytest.mark.parametrize("in_memory", [1_000_000, 7], ids=["in-memory", "partitioned"])
def test_duplicate_keys_are_the_same_whether_counted_in_memory_or_in_partitions(home, monkeypatch, in_memory):
    """Beyond KEYS_IN_MEMORY records the delivery is sorted by key on disk, in ranges (bounded memory
    for a 10M-record delivery), and the accepted file comes out in key order; the rejections and what
    is published must not depend on it."""
    from jinbao.quality import judging

    monkeypatch.setattr(judging, "KEYS_IN_MEMORY", in_memory)
    monkeypatch.setattr(judging, "KEYS_PER_PARTITION", 5)
    rows = [death_row(i) for i in range(40)]
    rows += [dict(rows[1]), dict(rows[1]), dict(rows[30])]     # lines 3, 42, 43 and 32, 44
    write_delivery(home.inbound("police"), "police.death", rows)
    assert main(["run", "police.death"]) == 0
    with connect(home.store_url).connect() as c:
        b = c.execute(sa.text("select received, accepted, rejected, published from batch")).one()
        rej = c.execute(sa.text("select line_no, value from rejection order by line_no")).all()
    assert tuple(b) == (43, 38, 5, 38)
    assert [tuple(r) for r in rej] == [(3, "also on line(s) 42, 43"), (32, "also on line(s) 44"),
                                       (42, "also on line(s) 3, 43"), (43, "also on line(s) 3, 42"),
                                       (44, "also on line(s) 32")]
    assert not list((home.home / "staging").rglob(".key-order-*"))     # the ranges are gone
    accepted = next((home.home / "staging").rglob("accepted.parquet"))
    ids = pq.read_table(accepted).column("AAC002").to_pylist()
    assert len(ids) == len(set(ids)) == 38
    assert key_order(accepted) == (["AAC002"] if in_memory == 7 else [])
    assert ids == sorted(ids) or in_memory != 7
    with connect(home.store_url).connect() as c:
        assert sorted(c.execute(sa.text("select aac002 from death_record")).scalars()) == sorted(ids)
