"""Helpers for the partitioned-publish tests: a feed declared with `partitions: N`, and the store's
content in a form two stores (two homes, two backends, two ways of running) can be compared by."""
from __future__ import annotations

import shutil
from pathlib import Path

import sqlalchemy as sa

#: What a publish writes: the feed tables, the ledger, rejections and every table of the register.
TABLES = ("batch", "rejection", "person", "death_record", "rejected_death", "register", "register_history",
          "source_value", "conflict", "life_status_history")
#: Where two runs of the same delivery rightly differ: the folder it was staged in, surrogate row ids.
NOT_COMPARED = {"staging_dir", "id"}


def partitioned_feeds(tmp_path: Path, feed: str, count: int, syntax: str | None = None) -> Path:
    """The shipped declarations, copied, with `feed` published in `count` partitions."""
    feeds = tmp_path / "feeds-partitioned"
    if not feeds.exists():
        from jinbao.settings import shipped_feeds_dir
        shutil.copytree(shipped_feeds_dir(), feeds)
    path = feeds / f"{feed}.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text + "\n" + (f"partitions: {count}" if syntax is None else syntax) + "\n", encoding="utf-8")
    return feeds


def snapshot(url: str, tables=TABLES) -> dict[str, list[tuple]]:
    """Every row of `tables`, sorted, without timestamps (the moment it ran) and NOT_COMPARED columns;
    values as text, so SQLite's and PostgreSQL's rows compare too."""
    from jinbao.schemas import store_tables
    from jinbao.store.database import connect

    out = {}
    with connect(url).connect() as conn:
        for name in tables:
            table = getattr(store_tables, name)
            cols = [c for c in table.columns if c.name not in NOT_COMPARED and not _stamp(c.type)]
            rows = conn.execute(sa.select(*cols)).all()
            out[name] = sorted(tuple(_plain(v) for v in r) for r in rows)
    return out


def timestamps(url: str, table: str) -> list[tuple]:
    """The rows of `table` with everything, timestamps included: a re-run that changes nothing keeps them."""
    from jinbao.schemas import store_tables
    from jinbao.store.database import connect

    with connect(url).connect() as conn:
        return sorted(tuple(_plain(v) for v in r) for r in conn.execute(sa.select(getattr(store_tables, table))).all())


def _stamp(kind) -> bool:
    return isinstance(kind, sa.DateTime) or isinstance(getattr(kind, "impl", None), sa.DateTime)


def _plain(v) -> str | None:
    if v is None:
        return None
    if isinstance(v, bool):
        return str(int(v))
    return str(v)
