"""What a person opens from a death-mismatch `Report`: a CSV per finding kind, an Excel workbook and
one self-contained HTML page, all with citizen IDs masked.  The workbook with full IDs, written only
for an authenticated person and recorded, is full_ids.py's (render_excel.py makes its bytes).

    write_report(report, folder)                       # the masked files

This module holds what the three forms share: the columns of each kind in findings.KINDS order
(the stop-payment list first; bilingual labels, how a value is shown: feeds by their declared
titles, never their codes), the headline figures and totals (exact decimals, to the fen;
the payments to stop first) and the file names.
render_excel.py and render_html.py write the workbook and the page; docs/audit.md says what
each file contains.

Masking (jinbao.privacy.mask_id, as on receipts): an ID keeps its first 6 and last 4 characters
(110105********002X), whatever its form, so a malformed ID as a source sent it is masked too.
The last four characters include the sequence number and the check character, so a full birth date
next to a masked ID would give the whole ID back: the masked outputs show a probable typo's birth
date as its year only and hide the digits of an ID difference that fall in the masked part; the
full-ID workbook shows both in full.
"""
from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pyarrow as pa

from jinbao.audit import findings
from jinbao.audit.findings import month_end
from jinbao.declarations import declared
from jinbao.display import visible_controls
from jinbao.expected.gaps import gaps_text
from jinbao.files import write_atomically
from jinbao.mappings.reference import divisions
from jinbao.privacy import mask_id, mask_text
from jinbao.quality.reasons import REASONS

#: The hub's clock for people (China Standard Time, no daylight saving); the findings carry UTC.
HUB_TZ = dt.timezone(dt.timedelta(hours=8), "UTC+08:00")
FEN = Decimal("0.01")

#: Keys of write_report's answer besides the kind names (one CSV per kind).
WORKBOOK, PAGE, FULL_IDS = "workbook", "page", "full_ids"


@dataclass(frozen=True)
class Column:
    """One column of a finding table as people read it.

    form: id (citizen ID, masked), text, division (code; a division name column follows it),
    date, month (first day of a month, shown YYYY-MM), int, yuan (exact decimal), gender (code and
    words), kind (an enum-like value of the finding with Chinese words), bool (是 yes / 否 no),
    sources (feed codes joined with ", ", shown as the feeds' titles), file (a partner's delivery
    name: IDs inside masked), reasons (the gate's reason codes with their words), birth (a birth
    date: year only when masked), difference (a typo's ID difference: masked digits hidden when
    masked).
    """
    field: str
    zh: str
    en: str
    form: str = "text"

    @property
    def label(self) -> str:
        return f"{self.zh} {self.en}"


def _c(field: str, zh: str, en: str, form: str = "text") -> Column:
    return Column(field, zh, en, form)


ID = _c("aac002", "公民身份号码", "citizen ID", "id")
NAME = _c("name", "姓名", "name")
DIVISION = _c("division", "行政区划", "division", "division")
DIVISION_NAME = _c("division_name", "区划名称", "division name", "text")     # derived from DIVISION
DEATH_DATE = _c("death_date", "死亡日期", "death date", "date")
DATE_IN_FORCE = _c("death_date", "采信死亡日期", "death date in force", "date")
EARLIEST = _c("earliest_date", "最早死亡日期", "earliest death date", "date")
SOURCES = _c("sources", "报告来源", "reported by", "sources")
LAST_PAID = _c("last_month_paid", "最后发放月份", "last month paid", "month")
SOURCE_FEED = _c("source_feed", "来源", "source", "sources")
FILE = _c("file_name", "文件", "file", "file")
LINE = _c("line_no", "行号", "line", "int")
ROLL_REJECTED = _c("roll_rows_rejected", "被拒收的发放行", "roll rows rejected", "int")

#: The columns of each kind, in findings.KINDS order.  batch_id is left out where the file and the
#: line say where a record came from (the partner knows its file, not the hub's batch number).
COLUMNS: dict[str, list[Column]] = {
    "stop_payment": [
        ID, NAME, DIVISION, DIVISION_NAME, DATE_IN_FORCE, EARLIEST, SOURCES,
        _c("monthly_amount", "月发放金额(元)", "monthly amount (yuan)", "yuan"),
        LAST_PAID, ROLL_REJECTED],
    "paid_after_death": [
        ID, NAME, DIVISION, DIVISION_NAME, DATE_IN_FORCE, EARLIEST,
        _c("latest_date", "最晚死亡日期", "latest death date", "date"), SOURCES,
        _c("months_paid_after", "死亡后发放月数", "months paid after death", "int"),
        _c("overpaid", "多发金额(元)", "overpaid (yuan)", "yuan"),
        _c("overpaid_low", "多发金额下限(元)", "overpaid at least (yuan)", "yuan"),
        _c("overpaid_high", "多发金额上限(元)", "overpaid at most (yuan)", "yuan"),
        LAST_PAID, ROLL_REJECTED],
    "overpaid_months": [
        ID, NAME, _c("month", "发放月份", "month paid", "month"),
        _c("amount", "发放金额(元)", "amount (yuan)", "yuan"),
        _c("after_date_in_force", "晚于采信死亡日期", "after the date in force", "bool")],
    "death_evidence": [
        ID, SOURCE_FEED, _c("reported", "报告内容", "reports", "kind"), DEATH_DATE, FILE, LINE],
    "sources_disagree": [
        ID, NAME, DIVISION, DIVISION_NAME, _c("kind", "情形", "what differs", "kind"),
        _c("police_date", "公安死亡日期", "police date", "date"),
        _c("health_date", "卫健死亡日期", "health date", "date"),
        _c("cremation_date", "火化日期", "cremation date", "date"),
        _c("spread_days", "相差天数", "days apart", "int"),
        _c("withdrawn_by", "撤销来源", "withdrawn by", "sources"),
        _c("still_reported_by", "仍报告来源", "still reported by", "sources")],
    "not_deregistered": [ID, NAME, DIVISION, DIVISION_NAME, DEATH_DATE, SOURCES, LAST_PAID],
    "rejected_death": [
        ID, NAME, DIVISION, DIVISION_NAME, _c("name_reported", "报告姓名", "name reported"),
        SOURCE_FEED, _c("death_date", "报告死亡日期", "death date reported", "date"),
        _c("reasons", "拒收原因", "why rejected", "reasons"), FILE, LINE,
        _c("months_at_risk", "死亡后发放月数", "months paid after", "int"),
        _c("amount_at_risk", "风险金额(元)", "amount at risk (yuan)", "yuan"),
        LAST_PAID],
    "identity_mismatch": [
        ID, SOURCE_FEED, _c("kind", "情形", "what differs", "kind"),
        _c("name_reported", "报告姓名", "name reported"), _c("name_registered", "登记姓名", "name registered"),
        _c("gender_reported", "报告性别", "gender reported", "gender"),
        _c("gender_registered", "登记性别", "gender registered", "gender"),
        _c("registered_by", "登记来源", "registered by", "sources"),
        DEATH_DATE, FILE, LINE],
    "probable_typo": [
        _c("id_reported", "报告的身份号码", "ID as reported", "id"),
        _c("aac002", "疑似应为", "probably meant", "id"),
        _c("difference", "差异", "difference", "difference"),
        NAME, _c("birth_date", "出生日期", "birth date", "birth"),
        _c("gender", "性别", "gender", "gender"), DIVISION, DIVISION_NAME,
        _c("division_agrees", "区划一致", "division agrees", "kind"),
        SOURCE_FEED, DEATH_DATE, FILE, LINE, LAST_PAID],
    "unplaced": [
        ID, NAME, _c("reported", "报告内容", "reports", "kind"), _c("date", "日期", "date", "date"),
        SOURCES, FILE, LINE],
    "changes": [
        ID, NAME, DIVISION, DIVISION_NAME, _c("status", "状态", "status", "kind"),
        _c("why", "原因", "why", "kind"),
        _c("overpaid_before", "上月多发金额(元)", "overpaid last month (yuan)", "yuan"),
        _c("overpaid_now", "本月多发金额(元)", "overpaid now (yuan)", "yuan")],
    "trend": [
        _c("month", "月份", "month", "month"),
        _c("people_to_stop", "应停发人数", "people to stop", "int"),
        _c("people_paid_after_death", "死亡后仍发放人数", "people paid after death", "int"),
        _c("overpaid", "多发金额(元)", "overpaid (yuan)", "yuan"),
        _c("roll_rows_rejected", "被拒收的发放行", "roll rows rejected", "int")],
}

#: What each kind means (docs/audit.md's definitions), for the summary sheet and the page
#: ({tol}: the report's tolerance in days).  M is the report month; a death counts when a source
#: reports it now and dates it on or before M's last day.
DESCRIPTIONS = {
    "stop_payment": ("任一来源现报告死亡、且在最新一期发放名册上的人员：应首先停发。列出采信的死亡日期、最早死亡日期、"
                     "报告来源、最新一期的发放金额，以及其被拒收的发放行",
                     "dead by any source that reports it now and still on the latest pension roll: the "
                     "payments to stop first.  The death date in force, the earliest date, the sources, "
                     "the latest month's amount and the person's roll rows the gate rejected"),
    "paid_after_death": ("死亡月份之后仍发放养老金：多发金额按采信的死亡日期计算（可为 0），范围从最晚来源的日期"
                         "（下限）到最早来源的日期（上限，从不为 0）；死亡当月的发放属应发",
                         "pension paid for months after the month of death: overpaid by the date in force "
                         "(may be 0), ranging from the latest source's date (at least) to the earliest "
                         "(at most, never 0); the payment for the month of death itself is due"),
    "overpaid_months": ("死亡后仍发放人员在最早死亡日期所在月之后的每一个发放月份及金额，并注明是否也晚于采信死亡日期",
                        "every month paid after the month of the earliest death date, its amount, and "
                        "whether it is after the date in force too"),
    "death_evidence": ("上述人员每个死亡来源的记录：现在报告的内容（死亡、已撤销、非死亡的注销或日期晚于报告月份）、"
                       "日期，以及来自哪个文件的哪一行",
                       "every death source's record of the people above: what it says now (a death, "
                       "withdrawn, a deregistration that is not a death, or dated after the report "
                       "month), its date, and the delivery file and line it came from"),
    "sources_disagree": ("各来源的死亡日期相差超过 {tol} 天，或一个来源已撤销而另一个来源仍报告死亡",
                         "death dates more than {tol} days apart, or a death withdrawn by one source "
                         "while another still reports it"),
    "not_deregistered": ("卫健或民政报告死亡，公安未注销户籍，仍在最新一期发放名册上",
                         "a death reported by health or civil affairs with no police death registration, "
                         "while the person is still on the latest pension roll"),
    "rejected_death": ("被交换网关拒收（无论哪个字段）的死亡记录，其报送的身份号码属于养老金领取人：拒收原因、"
                       "文件和行号，以及该死亡月份之后发放的月数与金额（风险金额）",
                       "a death record the gate rejected (for whatever field) whose ID as sent is a "
                       "pensioner's: the reasons, the file and line, and the months and amount paid "
                       "after its month (at risk)"),
    "identity_mismatch": ("死亡记录的身份号码在非死亡来源中登记为另一姓名或性别：列出该值及登记它的来源",
                          "a death record whose ID a source other than the death feeds holds with another "
                          "name or gender: the value and the source that holds it"),
    "probable_typo": ("无法匹配或被拒收的死亡记录，与唯一一位养老金领取人的姓名、性别（及记录自带的出生日期）相同，"
                      "身份号码前 17 位仅一位不同或相邻两位颠倒（或仅校验位不同）；区划一致仅作佐证。仅为建议，从不自动采用",
                      "an unplaced or rejected death record that matches exactly one pensioner on name and "
                      "gender (and birth date where the record carries its own) with an ID one digit or "
                      "one adjacent transposition away in its first 17 (or differing only in the check "
                      "character); the division agreeing is evidence, never required.  A suggestion, "
                      "never applied"),
    "unplaced": ("只有死亡来源提到、其他来源都不知道的身份号码，每人一行：最可信记录报告的内容（死亡、撤销或非死亡的注销）、"
                 "日期及所有提到它的来源。属数据质量问题，不涉及发放",
                 "one row per ID that only the death sources name: what the most trusted record "
                 "reports (a death, a withdrawal, or a deregistration that is not a death), its date, "
                 "every source naming it.  Data quality: no payment is at stake"),
    "changes": ("本月停发名单与上月相比：新增、仍未解决、已解决（死亡已撤销，或已停发），及两个月的多发金额",
                "this month's stop-payment list against last month's: new, still open, or resolved "
                "(death withdrawn, else payments stopped), with the overpaid amounts of both months"),
    "trend": ("本月及前五个月：应停发人数、死亡后仍发放人数、多发金额（按采信死亡日期）及当月被拒收的发放行",
              "this month and the five before it: people to stop, people paid after death, the amount "
              "overpaid (date in force) and the roll rows of that month the gate rejected"),
}

#: Chinese words for the findings' enum-like values (shown "words value": 姓名不符 name differs).
KIND_WORDS = {
    # sources disagree, identity mismatch
    "dates differ": "日期不一致", "withdrawn but still reported": "已撤销但仍有报告",
    "name differs": "姓名不符", "gender differs": "性别不符", "unknown ID": "登记簿无此号码",
    # what a death source's record reports (evidence, unplaced)
    "death": "死亡", "withdrawn": "已撤销", "emigration": "出国", "duplicate registration": "重复登记",
    "other deregistration": "其他注销", "dated after the report month": "日期晚于报告月份",
    # month on month
    "new": "新增", "still open": "仍未解决", "resolved": "已解决",
    "payments stopped": "已停发", "death withdrawn": "死亡已撤销",
    # a probable typo's division
    "yes": "是", "no": "否", "not reported": "未报告",
}
BOOL_WORDS = {True: "是 yes", False: "否 no"}
GENDER_WORDS = {"0": "未知 unknown", "1": "男 male", "2": "女 female", "9": "未说明 unspecified"}
#: The findings a roll row the gate rejected can touch (their roll_rows_rejected column flags them).
FLAGGED_KINDS = ("stop_payment", "paid_after_death")
#: How a cell joins several feeds' titles (CSV and page; the workbook puts each on its own line).
SOURCES_SEP = "; "

_DIGIT_CHANGE = re.compile(r"^digit (\d+): (\S+) -> (\S+)$")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


# ---------------------------------------------------------------------------------------------------
# Values as people see them


def clean_text(value: str | None) -> str | None:
    """Any ID inside a text masked, control characters as visible symbols (no cell, CSV or page can hold them)."""
    if value is None:
        return None
    return visible_controls(mask_text(value), keep_layout=True)


def masked_difference(value: str | None, id_length: int) -> str | None:
    """'digit 12: 3 -> 8' with the digits hidden when position 12 is in an ID's masked part."""
    if value is None:
        return None
    m = _DIGIT_CHANGE.match(value)
    if m and 6 < int(m[1]) <= id_length - 4:
        return f"digit {m[1]}: * -> *"
    return value


def yuan_text(amount: Decimal | None, grouped: bool = True) -> str:
    """An exact amount with exactly two decimals (never through a float)."""
    if amount is None:
        return ""
    q = Decimal(amount).quantize(FEN)
    return f"{q:,.2f}" if grouped else f"{q:.2f}"


def local_time(moment: dt.datetime) -> dt.datetime:
    """`moment` on the hub's clock, without a zone (a naive datetime is taken as already local)."""
    return moment.astimezone(HUB_TZ).replace(tzinfo=None) if moment.tzinfo else moment


def generated_text(report: findings.Report) -> str:
    return local_time(report.generated_at).strftime("%Y-%m-%d %H:%M:%S") + " (UTC+08:00)"


def month_text(month: dt.date) -> str:
    return f"{month.year:04d}-{month.month:02d}"


def feed_titles() -> dict[str, str]:
    """Each declared feed's title as people say it ({'police.death': '公安死亡人员信息 Police death
    registrations', ...}); empty when the declarations cannot be read (the codes are shown then).
    The declarations are parsed once per folder (jinbao.declarations caches them)."""
    try:
        return {name: spec.title for name, spec in declared().feeds.items()}
    except (ValueError, OSError):            # FeedError, SettingsError: show the codes rather than fail
        return {}


def source_names(codes: str | None, titles: dict[str, str]) -> str | None:
    """Feed codes joined with ', ' ('police.death, health.death_certificate') as the feeds' titles,
    joined with SOURCES_SEP; an unknown code as it is."""
    if codes is None:
        return None
    parts = [c.strip() for c in codes.split(",") if c.strip()]
    return clean_text(SOURCES_SEP.join(titles.get(c, c) for c in parts))


_REASON = re.compile(r"^([A-Z][A-Z0-9_]*)(.*)$", re.S)


def reason_text(reasons: str | None) -> str | None:
    """The gate's reason codes (joined with ',') each with its Chinese words, as in the receipts:
    'USCC_CHECKSUM' -> '统一社会信用代码校验位错误 USCC_CHECKSUM'."""
    if reasons is None:
        return None
    out = []
    for part in (p.strip() for p in reasons.split(",")):
        m = _REASON.match(part)
        if m and m[1] in REASONS:
            words = REASONS[m[1]][0].split("：")[0]
            out.append(f"{words} {part}")
        elif part:
            out.append(part)
    return clean_text(SOURCES_SEP.join(out))


@functools.lru_cache(maxsize=4096)
def division_name(code: str | None, on: dt.date) -> str:
    """The GB/T 2260 name of `code` in force on `on` (else its latest name; '' when unknown)."""
    rows = _division_rows().get(code or "")
    if not rows:
        return ""
    for valid_from, valid_to, name in rows:
        if (valid_from is None or valid_from <= on) and (valid_to is None or on <= valid_to):
            return name
    return rows[-1][2]


@functools.lru_cache(maxsize=1)
def _division_rows() -> dict[str, list[tuple]]:
    out: dict[str, list[tuple]] = {}
    for row in divisions().to_pylist():
        out.setdefault(row["code"], []).append((row["valid_from"], row["valid_to"], row["name"]))
    for rows in out.values():
        rows.sort(key=lambda r: r[0] or dt.date.min)
    return out


# ---------------------------------------------------------------------------------------------------
# The rows of each kind, values typed (str, int, Decimal, date) and masked unless full_ids


def _table(report: findings.Report, kind: str) -> pa.Table:
    table = report.table(kind)
    missing = [f for f in findings.KINDS[kind].names if f not in table.schema.names]
    if missing:
        raise ValueError(f"report table {kind} lacks the fields {missing} of findings.{kind.upper()}")
    return table


def rows(report: findings.Report, kind: str, full_ids: bool = False) -> list[dict]:
    """The findings of `kind` as people read them: one dict per row keyed by Column.field.

    Texts are cleaned (IDs inside masked, controls visible), IDs masked unless `full_ids`, codes
    with their words, feeds by their titles; dates stay dates and amounts exact Decimals, each
    writer formats them.  The rows of shown.shown(), the columns the writers share.
    """
    # cycle: shown.py takes COLUMNS and the value helpers from this module
    from jinbao.audit.shown import shown
    return shown(report, kind, full_ids).to_pylist()


# ---------------------------------------------------------------------------------------------------
# Totals (exact: Decimal sums of decimal128(14, 2) values, to the fen)


@dataclass(frozen=True)
class DivisionTotal:
    code: str
    name: str
    people: int                         # paid after death
    overpaid: Decimal                   # by the date in force
    to_stop: int = 0                    # on the stop-payment list
    monthly: Decimal = Decimal("0.00")  # their latest month's amount


@dataclass(frozen=True)
class MonthTotal:
    month: dt.date                      # first day of the month (of death, or of the trend)
    people: int
    overpaid: Decimal


@dataclass(frozen=True)
class Figures:
    """The report's headline, stop-payment list first."""
    to_stop: int                        # people on the stop-payment list
    monthly: Decimal                    # their latest month's amounts: what stopping saves each month
    people: int                         # people paid after death
    overpaid: Decimal                   # by the date in force
    overpaid_low: Decimal               # by the latest active source's date
    overpaid_high: Decimal              # by the earliest active source's date
    roll_rows_rejected: int             # roll rows of the period the gate rejected
    flagged: int                        # people to stop or paid after death with such a row


def _sum(values) -> Decimal:
    return sum((v for v in values if v is not None), Decimal("0.00")).quantize(FEN)


def _paid(report: findings.Report) -> list[dict]:
    return _table(report, "paid_after_death").select(["aac002", "division", "death_date", "overpaid"]).to_pylist()


def _stop(report: findings.Report) -> list[dict]:
    return _table(report, "stop_payment").select(["aac002", "division", "monthly_amount"]).to_pylist()


def headline(report: findings.Report) -> tuple[int, Decimal]:
    """(people paid after death, total overpaid by the date in force) over the whole report."""
    paid = _paid(report)
    return len({r["aac002"] for r in paid}), _sum(r["overpaid"] for r in paid)


def stop_headline(report: findings.Report) -> tuple[int, Decimal]:
    """(people to stop paying, their latest month's amount): the payments to stop first."""
    stop = _stop(report)
    return len({r["aac002"] for r in stop}), _sum(r["monthly_amount"] for r in stop)


def figures(report: findings.Report) -> Figures:
    to_stop, monthly = stop_headline(report)
    people, overpaid = headline(report)
    paid = _table(report, "paid_after_death")
    flagged = set()
    for kind in FLAGGED_KINDS:
        for r in _table(report, kind).select(["aac002", "roll_rows_rejected"]).to_pylist():
            if r["roll_rows_rejected"]:
                flagged.add(r["aac002"])
    return Figures(to_stop, monthly, people, overpaid,
                   _sum(paid.column("overpaid_low").to_pylist()), _sum(paid.column("overpaid_high").to_pylist()),
                   int(report.roll_rows_rejected or 0), len(flagged))


def headline_text(report: findings.Report) -> list[str]:
    """The figures as lines for a terminal (`jinbao report deaths`, `make demo`): stop payment first."""
    f = figures(report)
    lines = [f"stop payment      {f.to_stop} people still on the roll, {yuan_text(f.monthly)} yuan a month",
             f"paid after death  {f.people} people, {yuan_text(f.overpaid)} yuan overpaid by the date in force "
             f"({yuan_text(f.overpaid_low)} to {yuan_text(f.overpaid_high)} by the sources' dates)"]
    if f.roll_rows_rejected:
        lines.append(f"roll rows rejected by the gate in the period: {f.roll_rows_rejected}; "
                     f"findings they touch are flagged ({f.flagged} {'person' if f.flagged == 1 else 'people'})")
    gaps = missing_lines(report)
    if gaps is not None:
        lines.append("death deliveries that never came: " + ("; ".join(gaps) or "none, every one came"))
    return lines


def missing_lines(report: findings.Report) -> list[str] | None:
    """"police.death: 3–5 Nov" per death feed with deliveries of the month that never came; None when
    the report was not checked against the expected deliveries."""
    if report.missing_deliveries is None:
        return None
    return gaps_text(report.missing_deliveries)


#: The CSV of the month's death deliveries that never came (one row per span), beside the findings'.
MISSING = "missing_deliveries"
MISSING_HEADER = ["数据项 feed", "首个业务日期 first business date", "末个业务日期 last business date"]


def missing_csv_bytes(report: findings.Report) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(MISSING_HEADER)
    for feed, spans in (report.missing_deliveries or {}).items():
        for first, last in spans:
            writer.writerow([feed, first.isoformat(), last.isoformat()])
    return buf.getvalue().encode("utf-8-sig")


def change_counts(report: findings.Report) -> list[tuple[str, int]]:
    """Month on month: how many of the stop-payment list are new, still open, resolved (and why)."""
    counts: dict[str, int] = {}
    for r in _table(report, "changes").select(["status", "why"]).to_pylist():
        key = r["status"] if r["status"] != "resolved" or not r["why"] else f"resolved: {r['why']}"
        counts[key] = counts.get(key, 0) + 1
    order = ["new", "still open", "resolved: payments stopped", "resolved: death withdrawn", "resolved"]
    return sorted(counts.items(), key=lambda kv: (order.index(kv[0]) if kv[0] in order else len(order), kv[0]))


def change_label(key: str) -> str:
    """'resolved: payments stopped' -> '已解决（已停发） resolved: payments stopped'."""
    status, _, why = key.partition(": ")
    zh = KIND_WORDS.get(status, "") + (f"（{KIND_WORDS.get(why, why)}）" if why else "")
    return clean_text(f"{zh} {key}".strip())


def division_totals(report: findings.Report) -> list[DivisionTotal]:
    """Per division, in code order: people to stop and their monthly amount, people paid after death
    and the overpaid amount (date in force)."""
    people: dict[str, set] = {}
    amount: dict[str, Decimal] = {}
    stop: dict[str, set] = {}
    monthly: dict[str, Decimal] = {}
    for r in _paid(report):
        code = r["division"] or ""
        people.setdefault(code, set()).add(r["aac002"])
        amount[code] = amount.get(code, Decimal("0.00")) + (r["overpaid"] or Decimal(0))
    for r in _stop(report):
        code = r["division"] or ""
        stop.setdefault(code, set()).add(r["aac002"])
        monthly[code] = monthly.get(code, Decimal("0.00")) + (r["monthly_amount"] or Decimal(0))
    on = month_end(report.month)
    return [DivisionTotal(code, division_name(code, on), len(people.get(code, ())),
                          amount.get(code, Decimal(0)).quantize(FEN), len(stop.get(code, ())),
                          monthly.get(code, Decimal(0)).quantize(FEN))
            for code in sorted(set(people) | set(stop))]


def by_death_month(report: findings.Report) -> list[MonthTotal]:
    """Overpaid amount (and people) by month of death, in month order (months without any left out)."""
    people: dict[dt.date, set] = {}
    amount: dict[dt.date, Decimal] = {}
    for r in _paid(report):
        if r["death_date"] is None:
            continue
        m = r["death_date"].replace(day=1)
        people.setdefault(m, set()).add(r["aac002"])
        amount[m] = amount.get(m, Decimal("0.00")) + (r["overpaid"] or Decimal(0))
    return [MonthTotal(m, len(people[m]), amount[m].quantize(FEN)) for m in sorted(people)]


def trend_months(report: findings.Report) -> list[MonthTotal]:
    """The trend's months in order: people paid after death and the amount overpaid (date in force)."""
    out = [MonthTotal(r["month"].replace(day=1), r["people_paid_after_death"] or 0,
                      Decimal(r["overpaid"] or 0).quantize(FEN))
           for r in _table(report, "trend").to_pylist() if r["month"] is not None]
    return sorted(out, key=lambda m: m.month)


# ---------------------------------------------------------------------------------------------------
# Files


def file_names(month: dt.date) -> dict[str, str]:
    """The name of each file of a report month (FULL_IDS only written on request)."""
    stem = f"deaths-{month_text(month)}"
    names = {kind: f"{stem}-{kind}.csv" for kind in findings.KINDS}
    names.update({WORKBOOK: f"{stem}.xlsx", PAGE: f"{stem}.html", FULL_IDS: f"{stem}-full-ids.xlsx",
                  MISSING: f"{stem}-missing-deliveries.csv"})
    return names


def csv_bytes(report: findings.Report, kind: str, table: pa.Table | None = None) -> bytes:
    """One kind's findings as CSV: UTF-8 with a BOM (Excel then reads Chinese right), a header row,
    IDs masked, amounts with exactly two decimals, dates YYYY-MM-DD, months YYYY-MM (render_csv.py);
    `table`: its shown columns when the caller has them already."""
    # cycle: render_csv.py and shown.py import COLUMNS and the value helpers from this module
    from jinbao.audit.render_csv import csv_text
    from jinbao.audit.shown import shown
    return csv_text(shown(report, kind) if table is None else table, kind)


def write_report(report: findings.Report, folder: Path) -> dict[str, Path]:
    """Write the report month's masked files into `folder` (created if missing) and say where each went.

    Keys: each finding kind (its CSV), "missing_deliveries", "workbook" (.xlsx), "page" (.html).  The
    full-ID workbook is never written here: jinbao/audit/full_ids.py writes it, for one authenticated
    person, outside every folder that is served or handed over.  A full-ID workbook an earlier version
    left in `folder` is removed, so the folder never holds full IDs.
    """
    # cycle: render_excel.py and render_html.py import COLUMNS, DESCRIPTIONS... from this module
    from jinbao.audit.render_excel import workbook_bytes
    from jinbao.audit.render_html import page
    from jinbao.audit.shown import shown

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    names = file_names(report.month)
    written: dict[str, Path] = {}
    tables = {kind: shown(report, kind) for kind in findings.KINDS}     # one conversion for the three forms
    for kind in findings.KINDS:
        written[kind] = folder / names[kind]
        write_atomically(written[kind], csv_bytes(report, kind, tables[kind]), mode=0o644)
    if report.missing_deliveries is not None:
        written[MISSING] = folder / names[MISSING]
        write_atomically(written[MISSING], missing_csv_bytes(report), mode=0o644)
    written[WORKBOOK] = folder / names[WORKBOOK]
    write_atomically(written[WORKBOOK], workbook_bytes(report, tables=tables), mode=0o644)
    written[PAGE] = folder / names[PAGE]
    write_atomically(written[PAGE], page(report, tables).encode("utf-8"), mode=0o644)
    (folder / names[FULL_IDS]).unlink(missing_ok=True)
    return written


def people(report: findings.Report) -> int:
    """How many distinct full IDs a full-ID workbook holds (every ID column of every kind)."""
    ids: set[str] = set()
    for kind, columns in COLUMNS.items():
        table = _table(report, kind)
        for col in columns:
            if col.form == "id":
                ids.update(v for v in table.column(col.field).to_pylist() if v)
    return len(ids)


def finding_rows(report: findings.Report) -> int:
    """The rows of every kind's sheet together (a workbook's size, as the exchange log records an export)."""
    return sum(_table(report, kind).num_rows for kind in findings.KINDS)
