"""What each kind of finding holds: one Arrow schema per kind, the contract between finding and rendering.

Amounts are exact decimals (decimal128(14, 2), yuan); dates are date32; months are the first day
of the month (date32).  `aac002` is the full citizen ID: renderers mask it.  Feeds are named by
their codes (`police.death`); renderers show them as people say them (the feed's title).

Every kind's columns obey its own definition as of the report month M: a death counts when a source
reports it now (not withdrawn; police only with deregistration reason 1) and dates it on or before
the end of M; a payment counts when its month is M or earlier.  docs/audit.md gives each definition.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pyarrow as pa

YUAN = pa.decimal128(14, 2)

#: 1. stop payment: dead by any active source and paid in the roll's latest month up to M.
STOP_PAYMENT = pa.schema([
    ("aac002", pa.string()), ("name", pa.string()), ("division", pa.string()),
    ("death_date", pa.date32()),             # the date in force: the most trusted active source's
    ("earliest_date", pa.date32()),          # the earliest active source's date
    ("sources", pa.string()),                # active sources, most trusted first, joined with ", "
    ("monthly_amount", YUAN),                # paid for the latest roll month
    ("last_month_paid", pa.date32()),
    ("roll_rows_rejected", pa.int32()),      # the person's roll rows the gate rejected (months up to M)
])

#: 2. paid after death: paid for a month after the month of death by any active source's date.
PAID_AFTER_DEATH = pa.schema([
    ("aac002", pa.string()), ("name", pa.string()), ("division", pa.string()),
    ("death_date", pa.date32()),             # the date in force (most trusted active source)
    ("earliest_date", pa.date32()), ("latest_date", pa.date32()),   # over the active sources
    ("sources", pa.string()),
    ("months_paid_after", pa.int32()),       # after the month of the date in force
    ("overpaid", YUAN),                      # for those months
    ("overpaid_low", YUAN),                  # after the latest active source's month
    ("overpaid_high", YUAN),                 # after the earliest active source's month (> 0 always)
    ("last_month_paid", pa.date32()),
    ("roll_rows_rejected", pa.int32()),
])

#: 3. every month paid after the earliest active source's month of death, per person of kind 2.
OVERPAID_MONTHS = pa.schema([
    ("aac002", pa.string()), ("name", pa.string()), ("month", pa.date32()), ("amount", YUAN),
    ("after_date_in_force", pa.bool_()),     # also after the month of the date in force
])

#: 4. each death source's record of the people of kinds 1 and 2, and where it came from.
DEATH_EVIDENCE = pa.schema([
    ("aac002", pa.string()), ("source_feed", pa.string()),
    ("reported", pa.string()),               # "death" | "withdrawn" | "dated after the report month"
    ("death_date", pa.date32()), ("file_name", pa.string()), ("line_no", pa.int64()), ("batch_id", pa.int64()),
])

#: 5. sources disagree: active dates more than N days apart, or withdrawn by one source while
#: another still reports it.
SOURCES_DISAGREE = pa.schema([
    ("aac002", pa.string()), ("name", pa.string()), ("division", pa.string()),
    ("kind", pa.string()),                   # "dates differ" | "withdrawn but still reported"
    ("police_date", pa.date32()), ("health_date", pa.date32()), ("cremation_date", pa.date32()),
    ("spread_days", pa.int32()),             # latest minus earliest active date
    ("withdrawn_by", pa.string()), ("still_reported_by", pa.string()),
])

#: 6. not deregistered: reported by health or civil affairs, no active police death, on the latest roll.
NOT_DEREGISTERED = pa.schema([
    ("aac002", pa.string()), ("name", pa.string()), ("division", pa.string()),
    ("death_date", pa.date32()), ("sources", pa.string()), ("last_month_paid", pa.date32()),
])

#: 7. rejected death: a death record the gate rejected whose ID (as sent) is a pensioner's.
REJECTED_DEATH = pa.schema([
    ("aac002", pa.string()), ("name", pa.string()), ("division", pa.string()),
    ("name_reported", pa.string()), ("source_feed", pa.string()), ("death_date", pa.date32()),
    ("reasons", pa.string()),                # the gate's reason codes for the line
    ("file_name", pa.string()), ("line_no", pa.int64()), ("batch_id", pa.int64()),
    ("months_at_risk", pa.int32()), ("amount_at_risk", YUAN),   # paid after the reported death's month
    ("last_month_paid", pa.date32()),
])

#: 8. identity mismatch: a death record whose ID a non-death source holds with another name or gender.
IDENTITY_MISMATCH = pa.schema([
    ("aac002", pa.string()), ("source_feed", pa.string()),
    ("kind", pa.string()),                   # "name differs" | "gender differs"
    ("name_reported", pa.string()), ("name_registered", pa.string()),
    ("gender_reported", pa.string()), ("gender_registered", pa.string()),
    ("registered_by", pa.string()),          # the non-death source holding the other value
    ("death_date", pa.date32()), ("file_name", pa.string()), ("line_no", pa.int64()), ("batch_id", pa.int64()),
])

#: 9. probable typo: an unplaced or rejected death record that matches exactly one pensioner on name,
#: gender (and birth date where the record carries its own) with an ID one edit away in its 17 digits.
PROBABLE_TYPO = pa.schema([
    ("id_reported", pa.string()),            # as the source sent it
    ("aac002", pa.string()),                 # the pensioner it probably means
    ("difference", pa.string()),             # "digit 12: 3 -> 8" | "digits 12-13 swapped"
    ("name", pa.string()), ("birth_date", pa.date32()), ("gender", pa.string()),
    ("division", pa.string()),               # the pensioner's
    ("division_agrees", pa.string()),        # "yes" | "no" | "not reported": corroborating evidence only
    ("source_feed", pa.string()), ("death_date", pa.date32()),
    ("file_name", pa.string()), ("line_no", pa.int64()), ("batch_id", pa.int64()),
    ("last_month_paid", pa.date32()),
])

#: 10. unplaced: one row per ID that only the death sources know (data quality, no payment at stake).
UNPLACED = pa.schema([
    ("aac002", pa.string()), ("name", pa.string()),
    ("reported", pa.string()),               # "death" | "emigration" | "duplicate registration" | ...
    ("date", pa.date32()),                   # the date of what was reported (SWRQ, or ZXRQ for a deregistration)
    ("sources", pa.string()),                # every death source naming the ID, most trusted first
    ("file_name", pa.string()), ("line_no", pa.int64()), ("batch_id", pa.int64()),   # the most trusted's
])

#: 11. month on month: the stop-payment list of M against that of the month before.
CHANGES = pa.schema([
    ("aac002", pa.string()), ("name", pa.string()), ("division", pa.string()),
    ("status", pa.string()),                 # "new" | "still open" | "resolved"
    ("why", pa.string()),                    # resolved: "payments stopped" | "death withdrawn"
    ("overpaid_before", YUAN), ("overpaid_now", YUAN),
])

#: 12. trend: per month up to M, the people to stop and the overpaid totals as the store says now.
TREND = pa.schema([
    ("month", pa.date32()), ("people_to_stop", pa.int32()), ("people_paid_after_death", pa.int32()),
    ("overpaid", YUAN), ("roll_rows_rejected", pa.int32()),
])

KINDS = {"stop_payment": STOP_PAYMENT, "paid_after_death": PAID_AFTER_DEATH, "overpaid_months": OVERPAID_MONTHS,
         "death_evidence": DEATH_EVIDENCE, "sources_disagree": SOURCES_DISAGREE,
         "not_deregistered": NOT_DEREGISTERED, "rejected_death": REJECTED_DEATH,
         "identity_mismatch": IDENTITY_MISMATCH, "probable_typo": PROBABLE_TYPO, "unplaced": UNPLACED,
         "changes": CHANGES, "trend": TREND}
TITLES = {"stop_payment": "停发名单 Stop payment",
          "paid_after_death": "死亡后仍发放 Paid after death",
          "overpaid_months": "多发月份 Overpaid months",
          "death_evidence": "死亡证据 Death evidence",
          "sources_disagree": "来源不一致 Sources disagree",
          "not_deregistered": "未注销户籍 Not deregistered",
          "rejected_death": "被拒收的死亡记录 Rejected death records",
          "identity_mismatch": "身份不符 Identity mismatch",
          "probable_typo": "疑似录入错误 Probable typo",
          "unplaced": "无法匹配的记录 Unplaced records",
          "changes": "与上月比较 Since last month",
          "trend": "趋势 Trend"}


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
    roll_rows_rejected: int = 0              # roll rows of months up to M the gate rejected
    #: death feed -> spans (first, last business date) of its month's deliveries that never came
    #: (jinbao/expected/gaps.py); None: not checked (a report built from the store alone)
    missing_deliveries: dict | None = None

    def table(self, kind: str) -> pa.Table:
        return self.tables.get(kind) or KINDS[kind].empty_table()
