"""A cross-field rule's reason of the declaration's own (quality/cross.py): a comparison no hub code describes is
declared with its code and the words the partner reads, judged through `jinbao run` from a copy of the
declarations, and it reaches the receipt, the GE suite and the held-batch question like a hub code."""
from __future__ import annotations

import datetime as dt
import json
import shutil

import numpy as np
import pyarrow as pa
import pytest

from jinbao.cli import main
from jinbao.declarations import FeedError, get_feed, load_feeds
from jinbao.held_question import reason_text
from jinbao.mappings.tables import feed_mapping
from jinbao.quality.verdict import Gate, judge
from jinbao.schemas.dictionary import partner_schema
from jinbao.settings import load_settings, shipped_feeds_dir
from tests.conftest import private_home
from tests.deliveries import death_row, write_delivery

FEED = "police.death"
WORDS = "注销日期不得早于死亡日期 the deregistration date must not be before the death date"
SHIPPED_RULE = "    - {rule: not_before, field: AAC060, than: AAC006, reason: DEATH_BEFORE_BIRTH}\n"


def _declare(tmp_path, monkeypatch, rule: str):
    """A copy of the shipped declarations whose police.death also has `rule` (a YAML flow mapping)."""
    feeds = tmp_path / "feeds"
    shutil.copytree(shipped_feeds_dir(), feeds)
    path = feeds / f"{FEED}.yaml"
    text = path.read_text(encoding="utf-8")
    assert SHIPPED_RULE in text
    path.write_text(text.replace(SHIPPED_RULE, SHIPPED_RULE + f"    - {rule}\n"), encoding="utf-8")
    monkeypatch.setenv("JINBAO_FEEDS_DIR", str(feeds))
    return path


def test_a_declared_reason_is_judged_through_jinbao_run_and_reaches_the_receipt(tmp_path, monkeypatch):
    _declare(tmp_path, monkeypatch, "{rule: not_before, field: dereg_date, than: AAC060, "
                                    f"reason: DEREG_BEFORE_DEATH, expected: \"{WORDS}\"}}")
    cfg = private_home(tmp_path, monkeypatch)
    rows = [death_row(i) for i in range(10)]
    rows[3]["ZXRQ"] = "20261025"                                   # deregistered before the death (20261104)
    write_delivery(cfg.inbound("police"), FEED, rows)
    assert main(["run", FEED]) == 0
    receipt = json.loads((cfg.outbound("police") / "police.death_20261122_000001.receipt.json").read_text())
    assert (receipt["status"], receipt["accepted"], receipt["rejected"]) == ("published", 9, 1)
    csv_text = (cfg.outbound("police") / "police.death_20261122_000001.receipt.csv").read_bytes().decode("gb18030")
    (line,) = [ln for ln in csv_text.splitlines() if "DEREG_BEFORE_DEATH" in ln]
    assert f"{WORDS}：ZXRQ=20261025 / ZXRQ=20261025: {WORDS}" in line
    # the held-batch question words it as the receipt does, from the declaration
    rules = get_feed(FEED, cfg).quality.rules
    assert reason_text("DEREG_BEFORE_DEATH", "ZXRQ", rules) == f"ZXRQ: {WORDS}"
    assert reason_text("DEATH_BEFORE_BIRTH", "SWRQ", rules).startswith("death date SWRQ=… is before birth")


def test_a_declared_reason_agrees_with_its_great_expectations_form(tmp_path, monkeypatch):
    ge_check = pytest.importorskip("jinbao.quality.ge_check")
    _declare(tmp_path, monkeypatch, "{rule: not_before, field: dereg_date, than: AAC060, "
                                    f"reason: DEREG_BEFORE_DEATH, expected: \"{WORDS}\"}}")
    day = dt.date(2026, 11, 22)
    rules = get_feed(FEED, load_settings()).quality.rules
    rows = [death_row(i, ZXRQ=z) for i, z in enumerate(["20261121", "20261025", "20261102", "20261121"])]
    cols = {k: pa.array([r[k] for r in rows], pa.string()) for k in rows[0]}
    gate = Gate(feed_mapping(FEED, day), partner_schema(FEED), day, rules)
    lines = np.arange(2, len(rows) + 2)
    verdict = judge(pa.record_batch(cols), lines, gate)
    fast = {(r["reason_code"], r["field"], r["line_no"]) for r in verdict.rejected.to_pylist()}
    assert fast == {("DEREG_BEFORE_DEATH", "ZXRQ", 3), ("DEREG_BEFORE_DEATH", "ZXRQ", 4)}
    _, ge = ge_check.run(ge_check.ge_frame(pa.record_batch(cols), lines, gate), gate)
    assert {k: sorted(v) for k, v in ge.items() if v} == {("DEREG_BEFORE_DEATH", "ZXRQ"): [3, 4]}


@pytest.mark.parametrize("rule, key", [
    ("{rule: not_before, field: dereg_date, than: AAC060, reason: DEREG_BEFORE_DEATH}",
     "quality.rules[1].expected is missing: DEREG_BEFORE_DEATH is not one of the hub's reason codes"),
    (f"{{rule: not_before, field: dereg_date, than: AAC060, reason: dereg-early, expected: \"{WORDS}\"}}",
     "quality.rules[1].reason 'dereg-early' must be a code of capital letters, digits and _"),
    ("{rule: not_before, field: dereg_date, than: AAC060, reason: DEREG_BEFORE_DEATH, expected: [a, b]}",
     "quality.rules[1].expected must say in words what was agreed"),
])
def test_a_declared_reason_without_its_words_or_with_a_bad_code_is_refused_naming_file_and_key(
        tmp_path, monkeypatch, rule, key):
    path = _declare(tmp_path, monkeypatch, rule)
    with pytest.raises(FeedError) as exc:
        load_feeds(load_settings())
    assert str(path) in str(exc.value) and key in str(exc.value), str(exc.value)
