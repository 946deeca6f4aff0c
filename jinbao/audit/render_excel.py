"""The report's Excel workbook (openpyxl): a summary sheet, then one sheet per finding kind.

Summary 汇总: report month; the payments to stop first (people on the stop-payment list and their
monthly amount), then people paid after death and the overpaid amount by the date in force with its
range by the sources' dates, the roll rows the gate rejected in the period (the findings they touch
are flagged); generated at (UTC+08:00) and the tolerance; the rows of each kind with what the kind
means; month on month (new, still open, resolved); per division the people to stop and paid after
death with the amounts and the grand total; the overpaid amount by month of death.  Then one sheet
per kind in findings.KINDS order (the stop-payment list first): one bold header row (Chinese over
English), frozen and filterable, columns as wide as their content (CJK characters count double),
amounts in yuan ('#,##0.00', exact decimals written as they are), dates as dates ('yyyy-mm-dd'),
months as dates shown 'yyyy-mm', IDs as text, several sources (or reasons) one per line.  No cell is ever a
formula: a text that starts with '=' is written as text.
"""
from __future__ import annotations

import datetime as dt
import io

import pyarrow as pa
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from jinbao.audit import findings, sheet_rows
from jinbao.audit.render import (COLUMNS, DESCRIPTIONS, FLAGGED_KINDS, SOURCES_SEP, Column, by_death_month,
                                 change_counts, change_label, division_totals, figures, local_time, missing_lines,
                                 month_text, yuan_text)
#: The summary sheet's line on the month's death deliveries that never came (jinbao/expected/gaps.py).
MISSING_LABEL = "未收到的死亡数据交付 Death deliveries that never came"
from jinbao.audit.sheet_rows import Styles
from jinbao.audit.shown import shown
from jinbao.display import display_width

YUAN_FORMAT = "#,##0.00"
DATE_FORMAT = "yyyy-mm-dd"
MONTH_FORMAT = "yyyy-mm"
TIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
SUMMARY = "汇总 Summary"
BOLD = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="DDE5F0")
TOTAL_FILL = PatternFill("solid", fgColor="F2F2F2")
FLAG_FILL = PatternFill("solid", fgColor="FFE2E0")     # a finding touched by a rejected roll row
STOP_FILL = PatternFill("solid", fgColor="FFF5F5")
MAX_WIDTH = 60


def sheet_title(kind: str) -> str:
    return findings.TITLES[kind][:31]          # Excel's limit


def _set(ws, value, number_format: str | None = None, bold: bool = False) -> WriteOnlyCell:
    """A cell of a write-only sheet: the workbook streams its rows (a province's report holds hundreds
    of thousands), so cells are made, styled, then appended row by row."""
    cell = WriteOnlyCell(ws, value=value)
    if isinstance(value, str) and value.startswith("="):
        cell.data_type = "s"                   # never a formula, whatever a source sent
    if number_format:
        cell.number_format = number_format
    if bold:
        cell.font = BOLD
    return cell


def _fit(ws, widths: dict[int, int]) -> None:
    for col, width in widths.items():
        ws.column_dimensions[get_column_letter(col)].width = min(MAX_WIDTH, width + 2)


def _style(ws, number_format: str | None = None, fill: PatternFill | None = None, wrap: bool = False) -> int:
    """The index of a cell format in the workbook's styles (the data rows are written by sheet_rows.py)."""
    cell = WriteOnlyCell(ws)
    if number_format:
        cell.number_format = number_format
    if fill:
        cell.fill = fill
    if wrap:
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    return cell.style_id


def _kind_sheet(wb: Workbook, kind: str, table: pa.Table) -> tuple[object, Styles]:
    """The kind's sheet with its layout and header row; its data rows (`table`: the shown columns) are
    put in after the save (sheet_rows.fill)."""
    ws = wb.create_sheet(sheet_title(kind))
    columns = COLUMNS[kind]
    # a write-only sheet takes its layout before its rows
    ws.row_dimensions[1].height = 30
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{table.num_rows + 1}"
    _fit(ws, sheet_rows.widths(table, columns))
    header = []
    for col in columns:
        cell = _set(ws, f"{col.zh}\n{col.en}", bold=True)
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        header.append(cell)
    ws.append(header)
    styles = Styles(yuan=_style(ws, YUAN_FORMAT), date=_style(ws, DATE_FORMAT), month=_style(ws, MONTH_FORMAT),
                    text=_style(ws, "@"), text_wrap=_style(ws, "@", wrap=True), wrap=_style(ws, wrap=True),
                    flag=_style(ws, fill=FLAG_FILL), flagged=kind in FLAGGED_KINDS)
    return ws, styles


#: Summary labels (the tests find the figures by them).
TO_STOP = "应停发人数 People to stop paying"
MONTHLY = "每月发放金额合计(元) Paid to them each month (yuan)"
PEOPLE = "死亡后仍发放人数 People paid after death"
OVERPAID = "多发金额合计(元) Total overpaid (yuan, date in force)"
OVERPAID_LOW = "多发金额下限(元) Overpaid at least (yuan, latest source's date)"
OVERPAID_HIGH = "多发金额上限(元) Overpaid at most (yuan, earliest source's date)"
ROLL_REJECTED = "被拒收的发放行 Roll rows rejected by the gate in the period"


def _summary(wb: Workbook, report: findings.Report, exported: tuple[str, dt.datetime] | None) -> None:
    ws = wb.create_sheet(SUMMARY)
    widths = {1: 0, 2: 0, 3: 0, 4: 0, 5: 0, 6: 0}
    grid: dict[tuple[int, int], WriteOnlyCell] = {}     # laid out here, appended row by row at the end

    def put(r: int, c: int, value, fmt: str | None = None, bold: bool = False, shown: str | None = None):
        cell = grid[r, c] = _set(ws, value, fmt, bold)
        text = shown if shown is not None else ("" if value is None else str(value))
        widths[c] = max(widths[c], max((display_width(t) for t in text.split("\n")), default=0))
        return cell

    title = "死亡人员比对报告 Death-record mismatch report"
    put(1, 1, title, bold=True).font = Font(bold=True, size=14)
    widths[1] = 0                                   # the title may run over the next columns
    f = figures(report)
    flagged = (f"涉及的发现已标注（“被拒收的发放行”列）：{f.flagged} 人\n"
               f"findings they touch are flagged (column \"roll rows rejected\"): {f.flagged} "
               f"{'person' if f.flagged == 1 else 'people'}")
    facts = [("报告月份 Report month", report.month.replace(day=1), MONTH_FORMAT, month_text(report.month), None),
             (TO_STOP, f.to_stop, None, None, None),
             (MONTHLY, f.monthly, YUAN_FORMAT, yuan_text(f.monthly), None),
             (PEOPLE, f.people, None, None, None),
             (OVERPAID, f.overpaid, YUAN_FORMAT, yuan_text(f.overpaid), None),
             (OVERPAID_LOW, f.overpaid_low, YUAN_FORMAT, yuan_text(f.overpaid_low), None),
             (OVERPAID_HIGH, f.overpaid_high, YUAN_FORMAT, yuan_text(f.overpaid_high), None),
             (ROLL_REJECTED, f.roll_rows_rejected, None, None, flagged if f.roll_rows_rejected else None),
             ("生成时间 Generated at (UTC+08:00)", local_time(report.generated_at), TIME_FORMAT,
              "0000-00-00 00:00:00", None),
             ("日期容差(天) Tolerance (days)", report.tolerance_days, None, None, None)]
    gaps = missing_lines(report)
    if gaps is not None:
        facts.append((MISSING_LABEL, "\n".join(gaps) or "无 none: every death delivery of the month came", None,
                      None, "本月未收到，相关发现可能不完整 not received: findings may be incomplete" if gaps else None))
    if exported:
        who, when = exported
        facts.append(("含完整身份号码 Contains full citizen IDs",
                      f"导出 exported {local_time(when):%Y-%m-%d %H:%M:%S} (UTC+08:00) 给/由 for/by {who}; "
                      "已记入交换日志 recorded in the exchange log", None, None, None))
    r = 3
    for label, value, fmt, shown, note in facts:
        put(r, 1, label, bold=True)
        cell = put(r, 2, value, fmt, shown=shown)
        cell.alignment = Alignment(horizontal="left")
        if label in (TO_STOP, MONTHLY):
            cell.font = Font(bold=True, color="A40E26")
            cell.fill = STOP_FILL
        if note:
            cell.fill = FLAG_FILL
            put(r, 3, note, shown="").alignment = Alignment(wrap_text=True, vertical="top")
            ws.row_dimensions[r].height = 30
        r += 1

    r += 1
    for c, head in enumerate(["类别 Finding", "条数 Rows", "说明 What it is"], 1):
        put(r, c, head, bold=True).fill = HEADER_FILL
    for kind in findings.KINDS:
        r += 1
        zh, en = DESCRIPTIONS[kind]
        put(r, 1, findings.TITLES[kind])
        put(r, 2, report.table(kind).num_rows)
        text = f"{zh.format(tol=report.tolerance_days)}\n{en.format(tol=report.tolerance_days)}"
        put(r, 3, text, shown="").alignment = Alignment(wrap_text=True, vertical="top")
    widths[3] = MAX_WIDTH

    changes = change_counts(report)
    if changes:
        r += 2
        for c, head in enumerate(["上月名单的变化 Month on month", "人数 People"], 1):
            put(r, c, head, bold=True).fill = HEADER_FILL
        for key, n in changes:
            r += 1
            put(r, 1, change_label(key))
            put(r, 2, n)

    r += 2
    heads = ["区划代码 Division", "区划名称 Division name", "应停发人数 People to stop",
             "每月发放金额(元) Paid each month (yuan)", "死亡后仍发放人数 People paid after death",
             "多发金额(元) Overpaid (yuan)"]
    for c, head in enumerate(heads, 1):
        put(r, c, head, bold=True).fill = HEADER_FILL
    for t in division_totals(report):
        r += 1
        put(r, 1, t.code, "@")
        put(r, 2, t.name)
        put(r, 3, t.to_stop)
        put(r, 4, t.monthly, YUAN_FORMAT, shown=yuan_text(t.monthly))
        put(r, 5, t.people)
        put(r, 6, t.overpaid, YUAN_FORMAT, shown=yuan_text(t.overpaid))
    r += 1
    for c, value in enumerate(["合计 Total", None, f.to_stop, f.monthly, f.people, f.overpaid], 1):
        amount = c in (4, 6)
        cell = put(r, c, value, YUAN_FORMAT if amount else None, bold=True,
                   shown=yuan_text(value) if amount else None)
        cell.fill = TOTAL_FILL

    months = by_death_month(report)
    if months:
        r += 2
        for c, head in enumerate(["死亡月份 Month of death", "人数 People", "多发金额(元) Overpaid (yuan)"], 1):
            put(r, c, head, bold=True).fill = HEADER_FILL
        for m in months:
            r += 1
            put(r, 1, m.month, MONTH_FORMAT, shown=month_text(m.month)).alignment = Alignment(horizontal="left")
            put(r, 2, m.people)
            put(r, 3, m.overpaid, YUAN_FORMAT, shown=yuan_text(m.overpaid))
    _fit(ws, widths)
    for i in range(1, max(r for r, _ in grid) + 1):
        ws.append([grid.get((i, c)) for c in range(1, max(widths) + 1)])


def workbook_bytes(report: findings.Report, full_ids: bool = False,
                   exported: tuple[str, dt.datetime] | None = None,
                   tables: dict[str, pa.Table] | None = None) -> bytes:
    """The workbook as .xlsx bytes; `full_ids` with `exported` (who, when) for the full-ID export;
    `tables`: each kind's shown columns (shown.py, as `full_ids` asks) when the caller has them."""
    wb = Workbook(write_only=True)
    _summary(wb, report, exported if full_ids else None)
    sheets = []
    for kind in findings.KINDS:
        table = tables[kind] if tables else shown(report, kind, full_ids)
        ws, styles = _kind_sheet(wb, kind, table)
        sheets.append((ws, table, COLUMNS[kind], styles))
    wb.properties.title = f"死亡人员比对报告 Death-record mismatch report {month_text(report.month)}"
    wb.properties.creator = "Jinbao Exchange 金保交换"
    saved = io.BytesIO()
    wb.save(saved)
    out = io.BytesIO()
    sheet_rows.fill(saved.getvalue(), {ws.path.lstrip("/"): (table, columns, styles)
                                       for ws, table, columns, styles in sheets}, out)
    return out.getvalue()

