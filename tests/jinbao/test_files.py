"""jinbao/files.py: a file is replaced whole or not at all, and no temporary file is left behind."""
from __future__ import annotations

import os

import pytest

from jinbao.files import atomic_write, write_atomically


def test_the_old_file_stays_until_the_new_one_is_complete(tmp_path):
    path = tmp_path / "plan.json"
    path.write_text("old")
    with atomic_write(path) as tmp:
        tmp.write_text("new")
        assert path.read_text() == "old" and tmp.parent == path.parent and tmp.name.startswith(".")
    assert path.read_text() == "new" and os.listdir(tmp_path) == ["plan.json"]


def test_an_error_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "receipt.csv"
    path.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_write(path) as tmp:
            tmp.write_text("half")
            raise RuntimeError("disk full")
    assert path.read_text() == "old" and os.listdir(tmp_path) == ["receipt.csv"]


def test_nothing_written_changes_nothing_and_mode_is_set(tmp_path):
    with atomic_write(tmp_path / "held_back.parquet"):
        pass
    assert os.listdir(tmp_path) == []
    write_atomically(tmp_path / "key", b"secret", mode=0o600)
    assert (tmp_path / "key").read_bytes() == b"secret" and (tmp_path / "key").stat().st_mode & 0o777 == 0o600
