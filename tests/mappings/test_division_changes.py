"""Divisions that change: the successions table, the validity list exact to the announced day, and
the translation of abolished codes by business date (mappings/division_changes.py, successions.py).

The cases are the real ones the policy was written for: Chongqing abolished 江北区 500105 (all of it
into 两江新区 500157) and 渝北区 500112 (split between 两江新区 and 北碚区 500109) on 2025-11-07
(渝府发〔2025〕15号); 枳城区 511402 went into 涪陵区 500102 on 1997-12-20 and its number was given
to 东坡区 (Meishan) from 2000.
"""
from __future__ import annotations

import csv
import datetime as dt
import shutil

import numpy as np
import pyarrow as pa
import pytest

from jinbao.mappings import division_changes
from jinbao.mappings.check import check_division_changes
from jinbao.mappings.division_changes import CHANGES, DivisionChangesError, changes, read_changes
from jinbao.mappings.reference import ANY, division_ever_existed, division_valid
from jinbao.mappings.successions import resolved, succeed_column

D = dt.date
CHONGQING = D(2025, 11, 7)
ROWS = list(csv.DictReader(open(CHANGES, encoding="utf-8")))


def _valid(code: str, on: dt.date) -> bool:
    return bool(division_valid(pa.array([code]), on)[0])


# --- the table ----------------------------------------------------------------------------------

def test_every_row_names_where_it_came_from_and_the_chongqing_change_is_there():
    assert all(r["source"].startswith("areacodes diff/") for r in ROWS)
    chongqing = {(r["old_code"], r["new_code"], r["kind"], r["effective"], r["precision"])
                 for r in ROWS if r["old_code"] in ("500105", "500112")}
    assert chongqing == {("500105", "500157", "merge", "2025-11-07", "day"),
                         ("500112", "500157", "split", "2025-11-07", "day"),
                         ("500112", "500109", "split", "2025-11-07", "day")}
    assert all("渝府发〔2025〕15号" in r["source"] for r in ROWS if r["old_code"] in ("500105", "500112"))
    assert {r["effective"][:4] for r in ROWS} >= {"2020", "2021", "2022", "2023", "2025"}


def test_the_validity_list_agrees_with_every_change():
    """Each old code is in force the day before its change and not on the day; each successor is in
    force on the day (the list's years made exact by the announced days, missing successors added)."""
    for r in changes().itertuples():
        assert _valid(r.old_code, r.effective - dt.timedelta(days=1)), r
        assert not _valid(r.old_code, r.effective), r
        assert _valid(r.new_code, r.effective), r


@pytest.mark.parametrize("code,on,expected", [
    ("500105", D(2025, 11, 6), True), ("500105", CHONGQING, False),    # the list alone: until 2025-12-31
    ("500112", D(2025, 11, 6), True), ("500112", CHONGQING, False),
    ("500157", D(2025, 11, 6), False), ("500157", CHONGQING, True),    # the list alone: from 2025-01-01
    ("500109", D(2025, 11, 6), True), ("500109", CHONGQING, True),     # 北碚区 goes on, larger
    ("330114", D(2022, 1, 1), True),                                   # 钱塘区: missing from the list, added
    ("511402", D(1997, 12, 19), True), ("511402", D(1997, 12, 20), False),
    ("511402", D(1999, 6, 1), False), ("511402", D(2001, 1, 1), True),  # reused: 东坡区 from 2000
])
def test_codes_are_valid_on_their_days(code, on, expected):
    assert _valid(code, on) is expected
    assert bool(division_valid(pa.array([code]), pa.array([on], pa.date32()))[0]) is expected  # per-row dates


def test_an_id_address_code_stays_valid_forever():
    assert division_ever_existed(pa.array(["500112", "500105", "511402"])).tolist() == [True, True, True]


def _write(tmp_path, rows: list[list[str]]):
    path = tmp_path / "gbt2260_changes.csv"
    shutil.copy(CHANGES, path)
    with open(path, "a", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)
    return path


@pytest.mark.parametrize("row,says", [
    (["50010", "x", "500157", "y", "2025-11-07", "day", "merge", "", "s"], "old_code: '50010' is not a six-digit"),
    (["500105", "x", "500157", "y", "2025-13-07", "day", "merge", "", "s"], "effective: '2025-13-07' is not a date"),
    (["500105", "x", "500157", "y", "2025-11-07", "day", "moved", "", "s"], "kind: 'moved' is not one of"),
    (["500105", "x", "500157", "y", "2025-11-07", "day", "merge", "a", "s"], "grace_months: 'a' is not"),
    (["500105", "x", "500109", "y", "2025-11-07", "day", "merge", "", "s"], "kind: 500105 has 2 successor(s)"),
    (["500106", "x", "500106", "y", "2025-11-07", "day", "rename", "", "s"], "needs no row"),
])
def test_a_bad_row_names_the_file_line_and_column(tmp_path, row, says):
    path = _write(tmp_path, [row])
    with pytest.raises(DivisionChangesError) as err:
        read_changes(path)
    # the appended line; a change whose rows disagree is named at its first row
    line = next(i + 2 for i, r in enumerate(ROWS) if r["old_code"] == "500105") if "successor(s)" in says \
        else len(ROWS) + 2
    assert str(err.value).startswith(f"{path}:{line}: ") and says in str(err.value)


def test_grace_is_declared_per_change_or_by_default(tmp_path):
    path = _write(tmp_path, [["500106", "沙坪坝区", "500157", "两江新区", "2030-01-15", "day", "merge", "3", "test"]])
    df = read_changes(path)
    assert df[df.old_code == "500106"].grace_end.tolist() == [D(2030, 4, 14)]
    assert df[df.old_code == "500105"].grace_end.tolist() == [D(2026, 11, 6)]     # divisions.yaml: 12 months
    assert division_changes.default_grace_months() == 12


# --- translation by business date ---------------------------------------------------------------

def _succeed(codes, on, levels="county"):
    return succeed_column(pa.array(codes, pa.string()), on, levels)


def test_one_to_one_is_translated_within_grace_and_refused_after():
    codes = ["500105", "500106", None, "999999"]
    for on in (CHONGQING, D(2026, 1, 10), D(2026, 11, 6)):              # the last day of 12 months
        got = _succeed(codes, on)
        assert got.values.to_pylist() == ["500157", "500106", None, "999999"]
        assert got.translated.tolist() == [True, False, False, False] and not got.abolished.any()
        assert "500157 两江新区" in got.warning[0].as_py() and "2026-11-06" in got.warning[0].as_py()
    got = _succeed(codes, D(2026, 11, 7))
    assert got.abolished.tolist() == [True, False, False, False] and not got.translated.any()
    assert got.values.to_pylist() == [None, "500106", None, "999999"]
    assert "successor 500157 两江新区 (since 2025-11-07)" in got.refusal[0].as_py()


def test_a_split_is_never_guessed():
    for on in (CHONGQING, D(2026, 1, 10), D(2030, 1, 1)):
        got = _succeed(["500112"], on)
        assert got.split.tolist() == [True] and not got.translated.any() and got.values.to_pylist() == [None]
        assert "candidate successors 500109 北碚区, 500157 两江新区" in got.refusal[0].as_py()


def test_before_the_change_the_old_codes_are_left_alone():
    got = _succeed(["500112", "500105"], D(2025, 11, 6))
    assert got.values.to_pylist() == ["500112", "500105"]
    assert not (got.translated.any() or got.abolished.any() or got.split.any())


def test_a_reused_code_follows_its_dates():
    """511402: 枳城区 until 1997-12-19, then nothing (successor 涪陵区 500102), then 东坡区 from 2000."""
    assert _succeed(["511402"], D(1998, 6, 1)).values.to_pylist() == ["500102"]          # within grace
    late = _succeed(["511402"], D(1999, 6, 1))
    assert late.abolished.tolist() == [True] and "500102 涪陵区" in late.refusal[0].as_py()
    now = _succeed(["511402"], D(2001, 1, 1))                                            # 东坡区: itself
    assert now.values.to_pylist() == ["511402"] and not (now.translated.any() or now.abolished.any())


def test_an_owing_division_of_any_level_is_translated_too():
    got = _succeed(["500105", "500000", "500100"], D(2026, 1, 10), ANY)
    assert got.values.to_pylist() == ["500157", "500000", "500100"]


def test_a_whole_column_in_one_pass():
    """Vectorised: 300,000 rows of a mix, the same answer as row by row on a small sample."""
    rng = np.random.default_rng(7)
    pool = np.array(["500105", "500112", "500157", "110105", "330103", "330104", "540422", "bad"], dtype=object)
    codes = pool[rng.integers(0, len(pool), 300_000)].tolist()
    on = D(2026, 1, 10)
    got = _succeed(codes, on)
    single = {c: _succeed([c], on).values[0].as_py() for c in pool}
    assert got.values.to_pylist()[:1000] == [single[c] for c in codes[:1000]]
    assert int(got.translated.sum()) == codes.count("500105")   # 330103/540422: past grace (2022, 2023)
    assert int(got.abolished.sum()) == codes.count("330103") + codes.count("540422")
    assert int(got.split.sum()) == codes.count("500112") + codes.count("330104")


def test_resolved_holds_only_codes_abolished_on_the_date():
    r = resolved(D(2026, 1, 10))
    old = r.old.to_pylist()
    assert "500105" in old and "500112" in old and "511402" not in old and "500157" not in old


def test_mappings_check_holds_the_table_to_the_validity_list(tmp_path):
    """`jinbao mappings check`: a change whose old code is still in force, or whose successor is not,
    is named with its line; the shipped table has none."""
    assert check_division_changes() == []
    path = _write(tmp_path, [["500106", "沙坪坝区", "500157", "两江新区", "2024-01-01", "day", "merge", "", "t"]])
    [problem] = check_division_changes(path)
    assert problem.startswith(f"{path}:{len(ROWS) + 2}: 500106 -> 500157 on 2024-01-01: the old code is not")
    bad = _write(tmp_path, [["5001", "x", "500157", "y", "2025-11-07", "day", "merge", "", "t"]])
    assert check_division_changes(bad) == [f"{bad}:{len(ROWS) + 2}: old_code: '5001' is not a six-digit code"]
