"""GB/T 2260 successions as data: which code replaced an abolished one, from when, and how.

Read from `mappings/reference/gbt2260_changes.csv` (one row per old code and successor, taken from
the change announcements as the areacodes project's diff files record them) and
`mappings/reference/divisions.yaml` (the grace period).  Two users: `reference.divisions()` makes
the validity list agree with the announced days (the list it is built from knows only years), and
`successions.py` translates or rejects abolished codes by the batch's business date.  Both files are
checked when read: a bad row names the file, its line and the column.
"""
from __future__ import annotations

import datetime as dt
import functools
from pathlib import Path

import pandas as pd

from jinbao import strict_yaml

HERE = Path(__file__).resolve().parent / "reference"
CHANGES, SETTINGS = HERE / "gbt2260_changes.csv", HERE / "divisions.yaml"
COLUMNS = ["old_code", "old_name", "new_code", "new_name", "effective", "precision", "kind", "grace_months",
           "source"]
#: rename: one code becomes another (county to city, ...); merge: the old area joins the successor with
#: others; split: the old area goes to several successors (one row per successor).
KINDS = ("rename", "merge", "split")
PRECISIONS = ("day", "year")


class DivisionChangesError(ValueError):
    """A row of the changes table or the divisions settings the hub cannot use."""


@functools.lru_cache(maxsize=1)
def default_grace_months() -> int:
    raw = strict_yaml.load_mapping(SETTINGS, DivisionChangesError, "the divisions settings")
    strict_yaml.refuse_unknown(SETTINGS, raw, ("grace_months",), DivisionChangesError)
    months = raw.get("grace_months")
    if not isinstance(months, int) or isinstance(months, bool) or months < 0:
        raise DivisionChangesError(f"{SETTINGS}: grace_months must be a whole number of months >= 0, "
                                   f"not {months!r}")
    return months


def _bad(path: Path, line: int, column: str, why: str) -> DivisionChangesError:
    return DivisionChangesError(f"{path}:{line}: {column}: {why}")


def read_changes(path: Path = CHANGES) -> pd.DataFrame:
    """The changes table, checked, with `effective` and `grace_end` (the last day the old code is
    translated) as dates and `line` the row's line in the file."""
    df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    if list(df.columns) != COLUMNS:
        raise DivisionChangesError(f"{path}:1: the header must be {','.join(COLUMNS)}")
    df["line"] = range(2, len(df) + 2)
    for column in ("old_code", "new_code"):
        bad = df[~df[column].str.fullmatch(r"[0-9]{6}")]
        if len(bad):
            raise _bad(path, bad.line.iloc[0], column, f"{bad[column].iloc[0]!r} is not a six-digit code")
    for column, allowed in (("kind", KINDS), ("precision", PRECISIONS)):
        bad = df[~df[column].isin(allowed)]
        if len(bad):
            raise _bad(path, bad.line.iloc[0], column, f"{bad[column].iloc[0]!r} is not one of {', '.join(allowed)}")
    effective = pd.to_datetime(df.effective, format="%Y-%m-%d", errors="coerce")
    if effective.isna().any():
        row = df[effective.isna()].iloc[0]
        raise _bad(path, row.line, "effective", f"{row.effective!r} is not a date YYYY-MM-DD")
    grace = df.grace_months.where(df.grace_months != "", str(default_grace_months()))
    bad = df[~grace.str.fullmatch(r"[0-9]{1,3}")]
    if len(bad):
        raise _bad(path, bad.line.iloc[0], "grace_months", f"{bad.grace_months.iloc[0]!r} is not a number of months")
    same = df[df.old_code == df.new_code]
    if len(same):
        raise _bad(path, same.line.iloc[0], "new_code", "a code that stays in force needs no row (renamed in place)")
    df["effective"] = effective.dt.date
    months = grace.astype(int)
    df["grace_months"] = months
    # the last day of the grace period: the day before effective + N months
    df["grace_end"] = [(e + pd.DateOffset(months=m) - pd.Timedelta(days=1)).date()
                       for e, m in zip(effective, months)]       # the table's rows (dozens), not records
    per_change = df.groupby(["old_code", "effective"])
    kinds = per_change.kind.transform("nunique")
    if (kinds > 1).any():
        row = df[kinds > 1].iloc[0]
        raise _bad(path, row.line, "kind", f"{row.old_code} has rows of different kinds for the change of {row.effective}")
    successors = per_change.new_code.transform("nunique")
    wrong = df[(df.kind == "split") != (successors > 1)]
    if len(wrong):
        row = wrong.iloc[0]
        raise _bad(path, row.line, "kind", f"{row.old_code} has {successors[wrong.index[0]]} successor(s) on "
                                     f"{row.effective}: kind split means more than one, rename or merge exactly one")
    return df


@functools.lru_cache(maxsize=1)
def changes() -> pd.DataFrame:
    return read_changes()


def refine(divisions: pd.DataFrame) -> pd.DataFrame:
    """The validity list (code, name, level, valid_from, valid_to as dates) made to agree with the
    changes table: an old code announced abolished on a day ends the day before, a successor whose
    list entry starts in that year starts on it, and a successor the list lacks is added from the
    effective date.  Year-precision rows were derived from the list itself and change nothing."""
    out = divisions.copy()
    day = changes()[changes().precision == "day"]
    for row in day.itertuples():                 # the announced changes (a handful), not records
        ends = (out.code == row.old_code) & (out.valid_from < row.effective) \
            & (out.valid_to.isna() | (out.valid_to >= row.effective))
        out.loc[ends, "valid_to"] = row.effective - dt.timedelta(days=1)
        starts = (out.code == row.new_code) & (out.valid_from < row.effective) \
            & (out.valid_from >= dt.date(row.effective.year, 1, 1)) & out.valid_to.isna()
        out.loc[starts, "valid_from"] = row.effective
    known = set(out.code)
    missing = changes()[~changes().new_code.isin(known)].drop_duplicates("new_code")
    if len(missing):
        out = pd.concat([out, pd.DataFrame({"code": missing.new_code, "name": missing.new_name, "level": "county",
                                            "valid_from": missing.effective, "valid_to": None})],
                        ignore_index=True)
    return out
