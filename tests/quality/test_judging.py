"""quality/judging.py through the engine: a key twice in one delivery is rejected on every line that holds it."""
from __future__ import annotations

import sqlalchemy as sa

from jinbao.cli import main
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
