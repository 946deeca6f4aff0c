"""A delivery too big to sort in memory (thresholds shrunk to a few records): the judge step leaves
the accepted file sorted by key, publish merges it chunk by chunk without sorting again, the register
takes its offers straight from it.  The store must come out exactly as from the in-memory paths."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from jinbao.cli import main
from jinbao.store.database import connect
from tests.conftest import home_on
from tests.deliveries import death_row, write_delivery

#: table -> (columns, order); the rejections' serial ids follow the order they were found in
TABLES = {"death_record": ("*", "aac002, source_feed"), "register": ("*", "aac002"),
          "life_status_history": ("*", "aac002"),
          "rejection": ("batch_id, line_no, masked_id, field, value, reason_code, message", "line_no, field")}


def _store_after_a_run(folder) -> dict:
    """The tables a police.death delivery fills, without the timestamps (each run has its own)."""
    folder.mkdir()
    with home_on("postgresql", folder) as home:
        rows = [death_row(i) for i in range(40)]
        rows += [dict(rows[1]), dict(rows[30])]              # two keys sent twice: rejected on every line
        write_delivery(home.inbound("police"), "police.death", rows)
        assert main(["run", "police.death"]) == 0
        with connect(home.store_url).connect() as c:
            return {t: [tuple(v for v in r if not isinstance(v, dt.datetime))
                        for r in c.execute(sa.text(f"select {cols} from {t} order by {order}"))]
                    for t, (cols, order) in TABLES.items()}


def test_big_paths_give_the_store_the_small_paths_give(tmp_path, monkeypatch):
    from jinbao.quality import judging
    from jinbao.register import reconcile
    from jinbao.store import publish

    in_memory = _store_after_a_run(tmp_path / "small")
    for module, name, value in ((judging, "KEYS_IN_MEMORY", 7), (judging, "KEYS_PER_PARTITION", 5),
                                (publish, "SORTED_IN_MEMORY", 5), (publish, "PUBLISH_CHUNK", 4),
                                (reconcile, "OFFERS_IN_MEMORY", 5), (reconcile, "OFFER_CHUNK", 4)):
        monkeypatch.setattr(module, name, value)
    seen, ordered, in_order = [], [], publish._in_key_order
    monkeypatch.setattr(reconcile, "key_order", lambda path: seen.append(key_order(path)) or seen[-1])
    monkeypatch.setattr(publish, "_in_key_order", lambda *a: ordered.append(in_order(*a)) or ordered[-1])
    by_key = _store_after_a_run(tmp_path / "big")
    assert seen == [["AAC002"]] and ordered == [True]      # both read the file as the judge step sorted it
    assert (len(in_memory["death_record"]), len(in_memory["register"]), len(in_memory["rejection"])) == (38, 38, 4)
    for table in TABLES:
        assert by_key[table] == in_memory[table], table


from jinbao.staged.key_order import key_order  # noqa: E402  (the original, wrapped above)
