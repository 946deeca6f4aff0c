"""The subsidy standards, declared as data (schemas/subsidy_standards.yaml).

Standards change every year by decision of the finance and health-insurance
bureaus, not by a release of the hub, so they live in a data file; amounts are
read as exact decimals (strings in the file), because a line is matched to a
payment to the fen and a float would make 80.00 and 79.99999 two amounts.
"""
from __future__ import annotations

import decimal
import functools
from importlib import resources

import pyarrow as pa

from jinbao import strict_yaml

LEVELS = ("1", "2", "3")                     # province, city, county
CATEGORIES = ("00", "01", "02", "03", "04")
ORDINARY = "00"
AMOUNT = pa.decimal128(12, 2)


class StandardsError(ValueError):
    """The standards file is malformed; the message names the year, category and level."""


FILE = "subsidy_standards.yaml"


def _path():
    return resources.files("jinbao.schemas").joinpath(FILE)


@functools.lru_cache(maxsize=4)
def load(text: str | None = None) -> pa.Table:
    """(subsidy_year, category, subsidy_level, amount) for every year declared; `text`: another file's content."""
    name = FILE if text is not None else _path()
    raw = strict_yaml.load(name, StandardsError, text) or {}
    rows = {"subsidy_year": [], "category": [], "subsidy_level": [], "amount": []}
    for year, cats in raw.items():
        year = str(year)
        if len(year) != 4 or not year.isdigit():
            raise StandardsError(f"subsidy standards: year {year!r} is not YYYY")
        strict_yaml.refuse_unknown(name, {str(c): v for c, v in cats.items()}, CATEGORIES, StandardsError, f"{year}.")
        if set(cats) != set(CATEGORIES):
            raise StandardsError(f"subsidy standards {year}: categories must be exactly {', '.join(CATEGORIES)}")
        for cat, levels in cats.items():
            strict_yaml.refuse_unknown(name, {str(lv): v for lv, v in levels.items()}, LEVELS, StandardsError,
                                       f"{year}.{cat}.")
            if set(map(str, levels)) != set(LEVELS):
                raise StandardsError(f"subsidy standards {year}/{cat}: levels must be exactly 1, 2, 3")
            for level, amount in levels.items():
                try:
                    value = decimal.Decimal(str(amount))
                except decimal.InvalidOperation as exc:
                    raise StandardsError(f"subsidy standards {year}/{cat}/{level}: {amount!r} is no amount") from exc
                if not isinstance(amount, str) or value < 0 or value.as_tuple().exponent != -2:
                    raise StandardsError(f"subsidy standards {year}/{cat}/{level}: write the amount as a string "
                                         f"with two decimals, e.g. \"80.00\" (got {amount!r})")
                rows["subsidy_year"].append(year)
                rows["category"].append(str(cat))
                rows["subsidy_level"].append(str(level))
                rows["amount"].append(value)
    return pa.table({"subsidy_year": pa.array(rows["subsidy_year"], pa.string()),
                     "category": pa.array(rows["category"], pa.string()),
                     "subsidy_level": pa.array(rows["subsidy_level"], pa.string()),
                     "amount": pa.array(rows["amount"], AMOUNT)})


def rank(table: pa.Table | None = None) -> dict[tuple[str, str], int]:
    """(year, category) -> its place when several categories apply (the highest standard wins:
    the total of the three levels, ties to the lower code), 0 the best."""
    frame = (table or load()).to_pandas()
    frame["amount"] = frame["amount"].astype(object)
    totals = frame.groupby(["subsidy_year", "category"])["amount"].sum().reset_index()
    totals = totals.sort_values(["subsidy_year", "amount", "category"], ascending=[True, False, True])
    totals["rank"] = totals.groupby("subsidy_year").cumcount()
    return {(y, c): int(r) for y, c, r in zip(totals["subsidy_year"], totals["category"], totals["rank"])}
