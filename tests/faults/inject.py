"""`python -m tests.faults.inject POINT -- <jinbao arguments>`: the real CLI with one fault armed.

A `kill:*` point SIGKILLs the process at that spot (nothing flushed, no finally, no atexit: what
the OOM killer or a power cut does); a `raise:*` point raises there an error whose text carries a
citizen ID, as a careless library would; `none` runs the CLI untouched.  The store, the files and
the other process see exactly what they would after a real crash.
"""
from __future__ import annotations

import os
import signal
import sys

#: A citizen ID (valid check character) that an injected error message carries.
LEAKY_ID = "11010519491231002X"


def die() -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def _after(owner, name: str, when=lambda *a, **k: True):
    """Patch owner.name to run, then die (when `when(*args)` holds)."""
    original = getattr(owner, name)

    def wrapper(*args, **kwargs):
        result = original(*args, **kwargs)
        if when(*args, **kwargs):
            die()
        return result
    setattr(owner, name, wrapper)


def _before(owner, name: str, when=lambda *a, **k: True):
    original = getattr(owner, name)

    def wrapper(*args, **kwargs):
        if when(*args, **kwargs):
            die()
        return original(*args, **kwargs)
    setattr(owner, name, wrapper)


class _Proxy:
    """A module stand-in: every attribute from `module`, `name` replaced."""

    def __init__(self, module, **replaced):
        self._module, self._replaced = module, replaced

    def __getattr__(self, attr):
        return self._replaced.get(attr) or getattr(self._module, attr)


def arm(point: str) -> None:
    import shutil
    from pathlib import Path

    from jinbao import engine, feed_lock, ledger
    from jinbao.connectors import local
    from jinbao.exchange_zone import finish, receive
    from jinbao.quality import judging
    from jinbao.store import publish

    if point == "none":
        return
    # ------------------------------------------------------------------ receive
    if point == "kill:receive.fetch":              # half of the data file copied into staging
        def copyfile(src, dst, follow_symlinks=True):
            data = Path(src).read_bytes()
            Path(dst).write_bytes(data[: len(data) // 2])
            die()
        local.shutil = _Proxy(shutil, copyfile=copyfile)
    elif point == "kill:receive.after_insert":     # batch row committed, staging folder not in place
        def replace(src, dst):
            if Path(src).name.startswith("incoming-"):
                die()
            return os.replace(src, dst)
        receive.os = _Proxy(os, replace=replace)
    elif point == "kill:receive.before_staging_recorded":   # staging in place, its path not yet committed
        _before(ledger, "update", lambda conn, batch_id, **v: "staging_dir" in v and "quarantine" not in
                str(v["staging_dir"]))
    # -------------------------------------------------------------------- judge
    elif point == "kill:judge.mid_write":          # one block in accepted.parquet.tmp, the rest not judged
        from jinbao.staged import reader
        reader.BLOCK_SIZE = 4096                   # many small blocks, so there is a middle to die in
        original = judging.judge_stream

        def judge_stream(*args, **kwargs):
            for n, item in enumerate(original(*args, **kwargs)):
                if n == 1:
                    die()
                yield item
        judging.judge_stream = judge_stream
    elif point == "kill:judge.before_status":      # accepted/rejected Parquet complete, status still received
        _after(judging, "judge_delivery")
    # ------------------------------------------------------------------ publish
    elif point == "kill:publish.in_transaction":   # every row upserted, rejections stored, no commit
        _after(publish, "store_rejections")
    elif point == "kill:publish.after_commit":     # published, no receipt, no acknowledgement
        _before(engine.Engine, "_finish")
    # ------------------------------------------------------------------- finish
    elif point == "kill:finish.after_receipt":     # receipt sent, delivery still in inbound/
        _after(finish, "send_receipt")
    elif point == "kill:finish.after_ack":         # delivery moved to processed/, acked_at not recorded
        _after(local.LocalTransport, "ack")
    elif point == "kill:finish.after_quarantine":  # refused delivery in quarantine, new place not recorded
        _after(finish, "quarantine")
    # ------------------------------------- errors whose text holds an ID, for the first delivery only
    elif point == "raise:judge":                   # a parser echoing a value
        original_judge = judging.judge_delivery

        def judge_delivery(path, *args, **kwargs):
            if Path(path).name.endswith("_000001.csv"):
                raise ValueError(f"could not convert {LEAKY_ID} on line 3")
            return original_judge(path, *args, **kwargs)
        judging.judge_delivery = judge_delivery
    elif point in ("raise:publish", "raise:publish.transient"):   # the store quoting a key (DETAIL: ...)
        import sqlalchemy.exc
        error = sqlalchemy.exc.IntegrityError if point == "raise:publish" else sqlalchemy.exc.OperationalError
        original_store = publish.store_rejections

        def store_rejections(conn, rejected, batch_id):
            if batch_id == 1:
                raise error("INSERT INTO rejection (masked_id) VALUES (%(masked_id)s)", {"masked_id": LEAKY_ID},
                            Exception(f"duplicate key value violates unique constraint\nDETAIL:  Key (aac002)="
                                      f"({LEAKY_ID}) already exists."))
            return original_store(conn, rejected, batch_id)
        publish.store_rejections = store_rejections
    # ------------------------------------------------------------- rendezvous
    elif point.startswith("meet:upgrade:"):        # meet:upgrade:<folder>:<n>: n processes migrate together
        _, _, folder, n = point.split(":")
        original = engine.upgrade

        def upgrade(url):
            _meet(Path(folder), int(n), timeout=10, strict=False)
            return original(url)
        engine.upgrade = upgrade
    elif point.startswith("meet:migrate:"):       # meet:migrate:<folder>:<n>: whoever is about to migrate
        from alembic import command                # waits (up to 10 s) for the others to get there too

        _, _, folder, n = point.split(":")
        original_upgrade = command.upgrade

        def migrate(*args, **kwargs):
            _meet(Path(folder), int(n), timeout=10, strict=False)
            return original_upgrade(*args, **kwargs)
        command.upgrade = migrate
    elif point.startswith("lock-wait:"):           # lock-wait:<seconds>: give up on a busy feed sooner
        lock = feed_lock.feed_lock.__wrapped__                               # defaults: (wait, shared, ...)
        lock.__defaults__ = (float(point.split(":")[1]), *lock.__defaults__[1:])
    else:
        raise SystemExit(f"unknown fault {point!r}")


def _meet(folder, n: int, timeout: float = 30, strict: bool = True) -> None:
    """Wait until n processes have arrived in `folder` (one file each), so they go on together
    (after `timeout`: fail, or with strict=False go on alone)."""
    import time

    folder.mkdir(parents=True, exist_ok=True)
    (folder / str(os.getpid())).touch()
    deadline = time.monotonic() + timeout
    while len(list(folder.iterdir())) < n:
        if time.monotonic() > deadline:
            if not strict:
                return
            raise SystemExit(f"only {len(list(folder.iterdir()))} of {n} processes arrived")
        time.sleep(0.001)


def main(argv: list[str]) -> int:
    point, sep, *args = argv
    assert sep == "--", "usage: python -m tests.faults.inject POINT -- ARGS"
    arm(point)
    from jinbao.cli import main as cli
    return cli(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
