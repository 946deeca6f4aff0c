"""jinbao/staged/key_order.sort_by_key on its own: every record either kept once (in key order when the
key is text) or held as a repeat, whatever the ranges, key widths and types."""
from __future__ import annotations

import random

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from jinbao.staged.key_order import key_order, sort_by_key


def _staged(path, keys: list, extra: dict | None = None):
    cols = {"K": keys, "line_no": pa.array(range(2, len(keys) + 2), pa.int64()), **(extra or {})}
    pq.write_table(pa.table(cols), path)
    return path


@pytest.mark.parametrize("per_part", [1, 3, 50, 10_000])
@pytest.mark.parametrize("width", ["fixed", "varying"])
def test_text_keys_come_out_sorted_once_and_repeats_are_held(tmp_path, per_part, width):
    rng = random.Random(per_part)
    keys = [f"{rng.randrange(60):018d}" if width == "fixed" else "7" * rng.randrange(1, 12) + str(rng.randrange(9))
            for _ in range(200)]
    path = _staged(tmp_path / "a.parquet", pa.array(keys, pa.string()), {"V": pa.array(range(200))})
    held = sort_by_key(path, ["K"], per_part)
    kept = pq.read_table(path)
    counts = {k: keys.count(k) for k in keys}
    assert kept.column("K").to_pylist() == sorted(k for k, n in counts.items() if n == 1)
    assert sorted(held.column("line_no").to_pylist()) == [i + 2 for i, k in enumerate(keys) if counts[k] > 1]
    assert kept.num_rows + held.num_rows == 200                 # every record kept or held, once
    assert [keys[v] for v in kept.column("V").to_pylist()] == kept.column("K").to_pylist()   # rows intact
    assert key_order(path) == ["K"]
    assert not list(tmp_path.glob(".key-order-*"))


def test_a_key_that_is_not_text_is_deduplicated_but_not_claimed_in_order(tmp_path):
    path = _staged(tmp_path / "a.parquet", pa.array([5, 3, 9, 3, 10, 1] * 3 + [77], pa.int64()))
    held = sort_by_key(path, ["K"], 4)
    assert pq.read_table(path).column("K").to_pylist() == [77]
    assert held.num_rows == 18 and key_order(path) == []
