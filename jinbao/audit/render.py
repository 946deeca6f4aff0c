"""What a person opens from a death-mismatch `Report`: a CSV per finding kind, an Excel workbook and
one self-contained HTML page, all with citizen IDs masked; on request, and only then, a separate
workbook with full IDs whose every export is recorded (in the exchange log, by the caller's `record`).

    write_report(report, folder)                       # the masked files
    write_report(report, folder, full_ids=True, who=)  # the same, plus deaths-YYYY-MM-full-ids.xlsx

This module holds what the three forms share: the columns of each kind (bilingual labels, how a
value is shown), masking, the totals (exact decimals, to the fen) and the file names.
render_excel.py and render_html.py write the workbook and the page; docs/audit.md says what
each file contains.

Masking: an ID keeps its first 6 and last 4 characters (110105********002X, as on receipts and
jinbao.privacy.mask_text), whatever its form, so a malformed ID as a source sent it is masked too.
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
import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Callable

import pyarrow as pa

from jinbao.audit import findings
from jinbao.audit.findings import month_end
from jinbao.privacy import mask_text

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
    words), kind (the finding's own kind value with Chinese words), birth (a birth date: year only
    when masked), difference (a typo's ID difference: masked digits hidden when masked).
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
SOURCES = _c("sources", "报告来源", "reported by")
LAST_PAID = _c("last_month_paid", "最后发放月份", "last month paid", "month")
SOURCE_FEED = _c("source_feed", "来源", "source feed")
BATCH = _c("batch_id", "批次", "batch", "int")
LINE = _c("line_no", "行号", "line", "int")

COLUMNS: dict[str, list[Column]] = {
    "paid_after_death": [
        ID, NAME, DIVISION, DIVISION_NAME, DEATH_DATE, SOURCES,
        _c("months_paid_after", "死亡后发放月数", "months paid after death", "int"),
        _c("overpaid", "多发金额(元)", "overpaid (yuan)", "yuan"),
        LAST_PAID],
    "sources_disagree": [
        ID, NAME, DIVISION, DIVISION_NAME, _c("kind", "情形", "what differs", "kind"),
        _c("police_date", "公安死亡日期", "police date", "date"),
        _c("health_date", "卫健死亡日期", "health date", "date"),
        _c("cremation_date", "火化日期", "cremation date", "date"),
        _c("spread_days", "相差天数", "days apart", "int"),
        _c("withdrawn_by", "撤销来源", "withdrawn by"),
        _c("still_reported_by", "仍报告来源", "still reported by")],
    "not_deregistered": [ID, NAME, DIVISION, DIVISION_NAME, DEATH_DATE, SOURCES, LAST_PAID],
    "identity_mismatch": [
        ID, SOURCE_FEED, _c("kind", "情形", "what differs", "kind"),
        _c("name_reported", "报告姓名", "name reported"), _c("name_registered", "登记姓名", "name registered"),
        _c("gender_reported", "报告性别", "gender reported", "gender"),
        _c("gender_registered", "登记性别", "gender registered", "gender"),
        DEATH_DATE, BATCH, LINE],
    "probable_typo": [
        _c("id_reported", "报告的身份号码", "ID as reported", "id"),
        _c("aac002", "疑似应为", "probably meant", "id"),
        _c("difference", "差异", "difference", "difference"),
        NAME, _c("birth_date", "出生日期", "birth date", "birth"),
        _c("gender", "性别", "gender", "gender"), DIVISION, DIVISION_NAME,
        SOURCE_FEED, DEATH_DATE, BATCH, LINE, LAST_PAID],
}

#: What each kind means, for the summary sheet and the page ({tol}: the report's tolerance in days).
DESCRIPTIONS = {
    "paid_after_death": ("死亡月份之后仍发放养老金（已撤销的死亡不计；死亡次月即停发的不算多发）",
                         "pension paid for months after the month of death (withdrawn deaths excluded; "
                         "a payment stopped in the month after death is no overpayment)"),
    "sources_disagree": ("各来源的死亡日期相差超过 {tol} 天，或一个来源已撤销而另一个来源仍报告死亡",
                         "death dates more than {tol} days apart, or a death withdrawn by one source "
                         "while another still reports it"),
    "not_deregistered": ("卫健或民政报告死亡，公安未注销户籍，仍在养老金发放名册上",
                         "a death known to health or civil affairs with no police deregistration, "
                         "while the person is still on the pension roll"),
    "identity_mismatch": ("死亡记录的身份号码在登记簿中但姓名或性别不同，或登记簿中没有该号码",
                          "a death record whose ID the register holds with another name or gender, "
                          "or whose ID the register does not know"),
    "probable_typo": ("被拒收或无法匹配的死亡记录，与唯一一位养老金领取人的姓名、出生日期、性别和区划相同，"
                      "身份号码仅一位不同或相邻两位颠倒：仅为建议，从不自动采用",
                      "a death record rejected by the gate or unknown to the register that matches exactly "
                      "one pensioner on name, birth date, gender and division with an ID one digit or one "
                      "adjacent transposition away: a suggestion, never applied"),
}

KIND_WORDS = {"dates differ": "日期不一致", "withdrawn but still reported": "已撤销但仍有报告",
              "name differs": "姓名不符", "gender differs": "性别不符", "unknown ID": "登记簿无此号码"}
GENDER_WORDS = {"0": "未知 unknown", "1": "男 male", "2": "女 female", "9": "未说明 unspecified"}

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_DIGIT_CHANGE = re.compile(r"^digit (\d+): (\S+) -> (\S+)$")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


# ---------------------------------------------------------------------------------------------------
# Values as people see them


def mask_id(value: str | None) -> str | None:
    """First 6 and last 4 characters kept, the rest as asterisks (an ID of 10 or fewer: all asterisks)."""
    if value is None:
        return None
    if len(value) <= 10:
        return "*" * len(value)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def clean_text(value: str | None) -> str | None:
    """Any ID inside a text masked, control characters as visible symbols (no cell, CSV or page can hold them)."""
    if value is None:
        return None
    return _CONTROL.sub(lambda m: "␡" if m[0] == "\x7f" else chr(0x2400 + ord(m[0])), mask_text(value))


def masked_difference(value: str | None, id_length: int) -> str | None:
    """'digit 12: 3 -> 8' with the digits hidden when position 12 is in an ID's masked part."""
    if value is None:
        return None
    m = _DIGIT_CHANGE.match(value)
    if m and 6 < int(m[1]) <= id_length - 4:
        return f"digit {m[1]}: * -> *"
    return value


def display_width(text: str) -> int:
    """Width in a fixed-width grid: CJK (wide and full-width) characters count double."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


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
    from jinbao.mappings.reference import divisions
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
    with their words; dates stay dates and amounts exact Decimals, each writer formats them.
    """
    columns = COLUMNS[kind]
    on = month_end(report.month)
    out = []
    for raw in _table(report, kind).to_pylist():
        row: dict = {}
        for col in columns:
            if col.field == "division_name":
                row[col.field] = division_name(raw.get("division"), on)
                continue
            value = raw.get(col.field)
            if col.form == "id":
                row[col.field] = value if full_ids else mask_id(value)
            elif col.form == "birth":
                row[col.field] = value if full_ids or value is None else value.year
            elif col.form == "difference":
                ref = raw.get("id_reported") or raw.get("aac002") or ""
                row[col.field] = clean_text(value if full_ids else masked_difference(value, len(ref)))
            elif col.form == "gender":
                row[col.field] = None if value is None else f"{value} {GENDER_WORDS.get(value, '')}".strip()
            elif col.form == "kind":
                row[col.field] = None if value is None else f"{KIND_WORDS.get(value, '')} {value}".strip()
            elif col.form == "yuan":
                row[col.field] = None if value is None else Decimal(value).quantize(FEN)
            elif col.form in ("text", "division"):
                row[col.field] = clean_text(value)
            else:
                row[col.field] = value
        out.append(row)
    return out


# ---------------------------------------------------------------------------------------------------
# Totals (exact: Decimal sums of decimal128(14, 2) values, to the fen)


@dataclass(frozen=True)
class DivisionTotal:
    code: str
    name: str
    people: int
    overpaid: Decimal


@dataclass(frozen=True)
class MonthTotal:
    month: dt.date                      # first day of the month of death
    people: int
    overpaid: Decimal


def _paid(report: findings.Report) -> list[dict]:
    return _table(report, "paid_after_death").select(["aac002", "division", "death_date", "overpaid"]).to_pylist()


def headline(report: findings.Report) -> tuple[int, Decimal]:
    """(people paid after death, total overpaid) over the whole report."""
    paid = _paid(report)
    return len({r["aac002"] for r in paid}), sum((r["overpaid"] or Decimal(0) for r in paid), Decimal("0.00"))


def division_totals(report: findings.Report) -> list[DivisionTotal]:
    """People paid after death and the overpaid amount per division, in code order."""
    people: dict[str, set] = {}
    amount: dict[str, Decimal] = {}
    for r in _paid(report):
        code = r["division"] or ""
        people.setdefault(code, set()).add(r["aac002"])
        amount[code] = amount.get(code, Decimal("0.00")) + (r["overpaid"] or Decimal(0))
    on = month_end(report.month)
    return [DivisionTotal(code, division_name(code, on), len(people[code]), amount[code].quantize(FEN))
            for code in sorted(people)]


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


# ---------------------------------------------------------------------------------------------------
# Files


def file_names(month: dt.date) -> dict[str, str]:
    """The name of each file of a report month (FULL_IDS only written on request)."""
    stem = f"deaths-{month_text(month)}"
    names = {kind: f"{stem}-{kind}.csv" for kind in findings.KINDS}
    names.update({WORKBOOK: f"{stem}.xlsx", PAGE: f"{stem}.html", FULL_IDS: f"{stem}-full-ids.xlsx"})
    return names


def atomic_write(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write `path` whole or not at all (a copy to the outbound folder never takes half a file)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _csv_cell(col: Column, value) -> str:
    if value is None:
        return ""
    if col.form == "yuan":
        return yuan_text(value, grouped=False)
    if col.form == "month":
        return month_text(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value)
    # a text cell Excel would read as a formula (=, +, -, @ first) is quoted as text (CSV injection)
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_bytes(report: findings.Report, kind: str) -> bytes:
    """One kind's findings as CSV: UTF-8 with a BOM (Excel then reads Chinese right), a header row,
    IDs masked, amounts with exactly two decimals, dates YYYY-MM-DD, months YYYY-MM."""
    columns = COLUMNS[kind]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([c.label for c in columns])
    for row in rows(report, kind):
        writer.writerow([_csv_cell(c, row[c.field]) for c in columns])
    return buf.getvalue().encode("utf-8-sig")


#: record(file, data, people, when): enter a full-ID export in the exchange log before the file exists.
Recorder = Callable[[Path, bytes, int, dt.datetime], None]


def write_report(report: findings.Report, folder: Path, full_ids: bool = False, who: str | None = None,
                 *, record: Recorder | None = None) -> dict[str, Path]:
    """Write the report month's files into `folder` (created if missing) and say where each went.

    Keys: each finding kind (its CSV), "workbook" (.xlsx), "page" (.html), and with `full_ids`
    "full_ids" (the separate full-ID workbook).  `full_ids` needs `who` (the person the export is
    for or by) and `record`, which enters the export in the exchange log before the file appears
    (report.py's recorder does); a record that fails leaves no file.  A full-ID workbook left in
    `folder` by an earlier run is removed by a run without `full_ids`, so the folder never holds
    full IDs the masked files beside it no longer match.
    """
    from jinbao.audit.render_excel import workbook_bytes
    from jinbao.audit.render_html import page

    if full_ids and (who is None or not who.strip()):
        raise ValueError("a full-ID export needs who (the person it is for or by): it is recorded")
    if full_ids and record is None:
        raise ValueError("a full-ID export must be recorded: pass record")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    names = file_names(report.month)
    written: dict[str, Path] = {}
    for kind in findings.KINDS:
        written[kind] = folder / names[kind]
        atomic_write(written[kind], csv_bytes(report, kind))
    written[WORKBOOK] = folder / names[WORKBOOK]
    atomic_write(written[WORKBOOK], workbook_bytes(report))
    written[PAGE] = folder / names[PAGE]
    atomic_write(written[PAGE], page(report).encode("utf-8"))

    full = folder / names[FULL_IDS]
    if not full_ids:
        full.unlink(missing_ok=True)
        return written
    when = dt.datetime.now(dt.timezone.utc)
    data = workbook_bytes(report, full_ids=True, exported=(who.strip(), when))
    # recorded first: a failed record leaves no file behind, a failed write leaves a record of an attempt
    record(full, data, _people(report), when)
    atomic_write(full, data, mode=0o600)
    written[FULL_IDS] = full
    return written


def _people(report: findings.Report) -> int:
    """How many distinct full IDs a full-ID workbook holds (every ID column of every kind)."""
    ids: set[str] = set()
    for kind, columns in COLUMNS.items():
        table = _table(report, kind)
        for col in columns:
            if col.form == "id":
                ids.update(v for v in table.column(col.field).to_pylist() if v)
    return len(ids)
