"""What each kind of finding holds: one Arrow schema per kind, the contract between finding and rendering.

Amounts are exact decimals (decimal128(14, 2), yuan); dates are date32; months are the first day
of the month (date32).  `aac002` is the full citizen ID: renderers mask it.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pyarrow as pa

YUAN = pa.decimal128(14, 2)

#: 1. paid after death: pension paid for months after the month of death (withdrawn deaths excluded).
PAID_AFTER_DEATH = pa.schema([
    ("aac002", pa.string()), ("name", pa.string()), ("division", pa.string()),
    ("death_date", pa.date32()),             # the date in force (most trusted reporting source)
    ("sources", pa.string()),                # reporting feeds, most trusted first, joined with ", "
    ("months_paid_after", pa.int32()),
    ("overpaid", YUAN),                      # sum of the payments for those months
    ("last_month_paid", pa.date32()),
])

#: 2. sources disagree: death dates more than N days apart, or a death withdrawn by one source
#: while another still reports it.
SOURCES_DISAGREE = pa.schema([
    ("aac002", pa.string()), ("name", pa.string()), ("division", pa.string()),
    ("kind", pa.string()),                   # "dates differ" | "withdrawn but still reported"
    ("police_date", pa.date32()), ("health_date", pa.date32()), ("cremation_date", pa.date32()),
    ("spread_days", pa.int32()),             # latest minus earliest reported date
    ("withdrawn_by", pa.string()), ("still_reported_by", pa.string()),
])

#: 3. not deregistered: a death known to health or civil affairs, no police deregistration,
#: still on the pension roll.
NOT_DEREGISTERED = pa.schema([
    ("aac002", pa.string()), ("name", pa.string()), ("division", pa.string()),
    ("death_date", pa.date32()), ("sources", pa.string()), ("last_month_paid", pa.date32()),
])

#: 4. identity mismatch: a death record whose ID the register holds with another name or gender,
#: or whose ID the register does not know.
IDENTITY_MISMATCH = pa.schema([
    ("aac002", pa.string()), ("source_feed", pa.string()),
    ("kind", pa.string()),                   # "name differs" | "gender differs" | "unknown ID"
    ("name_reported", pa.string()), ("name_registered", pa.string()),
    ("gender_reported", pa.string()), ("gender_registered", pa.string()),
    ("death_date", pa.date32()), ("batch_id", pa.int64()), ("line_no", pa.int64()),
])

#: 5. probable typo: a death record rejected by the gate or unknown to the register that matches
#: exactly one pensioner on name, birth date, gender and division with an ID one digit change or
#: one adjacent transposition away.  A suggestion with its evidence, never applied.
PROBABLE_TYPO = pa.schema([
    ("id_reported", pa.string()),            # as the source sent it
    ("aac002", pa.string()),                 # the pensioner it probably means
    ("difference", pa.string()),             # "digit 12: 3 -> 8" | "digits 12-13 swapped"
    ("name", pa.string()), ("birth_date", pa.date32()), ("gender", pa.string()), ("division", pa.string()),
    ("source_feed", pa.string()), ("death_date", pa.date32()), ("batch_id", pa.int64()), ("line_no", pa.int64()),
    ("last_month_paid", pa.date32()),
])

KINDS = {"paid_after_death": PAID_AFTER_DEATH, "sources_disagree": SOURCES_DISAGREE,
         "not_deregistered": NOT_DEREGISTERED, "identity_mismatch": IDENTITY_MISMATCH,
         "probable_typo": PROBABLE_TYPO}
TITLES = {"paid_after_death": "死亡后仍发放 Paid after death",
          "sources_disagree": "来源不一致 Sources disagree",
          "not_deregistered": "未注销户籍 Not deregistered",
          "identity_mismatch": "身份不符 Identity mismatch",
          "probable_typo": "疑似录入错误 Probable typo"}


def month_end(month: dt.date) -> dt.date:
    """Last day of the month `month` (any day of it) belongs to."""
    nxt = dt.date(month.year + (month.month == 12), month.month % 12 + 1, 1)
    return nxt - dt.timedelta(days=1)


@dataclass
class Report:
    """One report month's findings, each a table of its kind's schema."""
    month: dt.date                           # first day of the report month
    generated_at: dt.datetime
    tolerance_days: int
    tables: dict[str, pa.Table] = field(default_factory=dict)

    def table(self, kind: str) -> pa.Table:
        return self.tables.get(kind) or KINDS[kind].empty_table()
