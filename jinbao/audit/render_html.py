"""The report as one self-contained HTML page: opens from a file, on a machine without network.

Everything is inside the file: the CSS, the charts (SVGs drawn here: the overpaid amount by month of
death, and the trend) and a small script that sorts the tables when a column header is clicked.  The
page's Content-Security-Policy is `default-src 'none'` and allows only that style and that script,
by their sha256 hashes: a browser fetches nothing and runs nothing else, whatever a value holds.
Without the script (a browser with scripts off) the page is the same, only not sortable.

Headline figures, the payments to stop first (people on the stop-payment list and their monthly
amount), then people paid after death and the overpaid amount with its range, the roll rows the
gate rejected (the findings they touch flagged) and month on month; then one section per finding
kind in findings.KINDS order, the stop-payment list first, with the totals by division and the
chart by month of death after the paid-after-death table.  Labels in Chinese and English; IDs
masked, names shown, feeds by their titles; amounts formatted from exact decimals.
"""
from __future__ import annotations

import base64
import hashlib
import html
import math
from decimal import Decimal

import pyarrow as pa
import pyarrow.compute as pc

from jinbao.audit import findings
from jinbao.audit.render import (COLUMNS, DESCRIPTIONS, FLAGGED_KINDS, SOURCES_SEP, Column, MonthTotal,
                                 by_death_month, change_counts, change_label, division_totals, figures,
                                 generated_text, missing_lines, month_text, trend_months, yuan_text)
from jinbao.audit.shown import per_value, shown

CSS = """
:root { color-scheme: light; }
body { font-family: "Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC", sans-serif;
       margin: 0 auto; padding: 24px 32px 48px; max-width: 1400px; color: #1f2328; background: #fff;
       font-size: 14px; line-height: 1.45; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 32px 0 6px; border-bottom: 1px solid #d0d7de; padding-bottom: 4px; }
.en { color: #57606a; font-weight: normal; }
.meta { color: #57606a; margin: 0 0 16px; }
.desc { color: #3d444d; margin: 0 0 10px; max-width: 1100px; }
.figures { display: flex; flex-wrap: wrap; gap: 12px; margin: 16px 0; }
.figure { border: 1px solid #d0d7de; border-radius: 6px; padding: 10px 16px; min-width: 150px; }
.figure.main { border-color: #cf222e; background: #fff5f5; }
.figure .label { color: #57606a; font-size: 12px; }
.figure .value { font-size: 22px; font-weight: 600; font-variant-numeric: tabular-nums; }
.figure.main .value { color: #a40e26; }
.figure.stop { border-color: #a40e26; background: #ffebe9; border-width: 2px; }
.figure.stop .value { color: #82071e; font-size: 26px; }
.figure.flag { border-color: #bf8700; background: #fff8c5; }
.figure .sub { color: #57606a; font-size: 12px; font-variant-numeric: tabular-nums; }
.note { margin: 4px 0; }
.note.flag { background: #fff8c5; border-left: 4px solid #bf8700; padding: 4px 10px; max-width: 1100px; }
section#stop_payment h2 { color: #82071e; border-bottom-color: #cf222e; }
.figure a { color: inherit; text-decoration: none; }
table { border-collapse: collapse; margin: 4px 0 8px; font-size: 13px; }
th, td { border: 1px solid #d0d7de; padding: 3px 8px; text-align: left; vertical-align: top; white-space: nowrap; }
thead th { background: #eef2f7; position: sticky; top: 0; }
th button { all: unset; cursor: pointer; display: block; }
th button:focus-visible { outline: 2px solid #0969da; }
th .en { display: block; font-size: 11px; }
th[aria-sort="ascending"] button::after { content: " ▲"; }
th[aria-sort="descending"] button::after { content: " ▼"; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
td.id { font-family: "Noto Sans Mono", "DejaVu Sans Mono", monospace; }
tbody tr:nth-child(even) { background: #f6f8fa; }
tbody tr.flagged, tbody tr.flagged:nth-child(even) { background: #fff8c5; }
td.src { white-space: nowrap; }
tfoot td { font-weight: 600; background: #f2f2f2; }
.none { color: #57606a; }
.chart { max-width: 100%; height: auto; }
footer { margin-top: 40px; color: #57606a; font-size: 12px; }
"""

SCRIPT = """
(function () {
  "use strict";
  function key(cell) {
    var v = cell.getAttribute("data-v");
    return v === null ? cell.textContent.trim() : v;
  }
  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (table) {
    var heads = table.tHead.rows[0].cells;
    Array.prototype.forEach.call(heads, function (th, col) {
      var button = th.querySelector("button");
      if (!button) { return; }
      button.addEventListener("click", function () {
        var up = th.getAttribute("aria-sort") !== "ascending";
        var numeric = th.getAttribute("data-type") === "num";
        Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", up ? "ascending" : "descending");
        var body = table.tBodies[0];
        var list = Array.prototype.map.call(body.rows, function (row, i) { return [key(row.cells[col]), i, row]; });
        list.sort(function (a, b) {
          if (a[0] === "" || b[0] === "") { return ((a[0] === "") - (b[0] === "")) || a[1] - b[1]; }
          var d = numeric ? Number(a[0]) - Number(b[0]) : a[0].localeCompare(b[0], "zh-CN");
          return (up ? d : -d) || a[1] - b[1];
        });
        var frag = document.createDocumentFragment();
        list.forEach(function (x) { frag.appendChild(x[2]); });
        body.appendChild(frag);
      });
    });
  });
})();
"""

NUMERIC = {"int", "yuan"}
LISTS = {"sources", "reasons"}          # several feeds or reasons in a cell: one a line


def _e(text) -> str:
    return html.escape("" if text is None else str(text), quote=True)


def _hash(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


def csp() -> str:
    """default-src 'none'; only the page's own style and script, by hash."""
    return (f"default-src 'none'; style-src '{_hash(CSS)}'; script-src '{_hash(SCRIPT)}'; "
            "img-src 'none'; base-uri 'none'; form-action 'none'")


def _bilingual(zh: str, en: str) -> str:
    return f'{_e(zh)} <span class="en">{_e(en)}</span>'


def _head(col_label: tuple[str, str], numeric: bool) -> str:
    zh, en = col_label
    kind = "num" if numeric else "text"
    return f'<th scope="col" data-type="{kind}"><button type="button">{_e(zh)}<span class="en">{_e(en)}</span></button></th>'


def _cell(col: Column, value) -> str:
    if value is None:
        return '<td class="n"></td>' if col.form in NUMERIC else "<td></td>"
    if col.form == "yuan":
        return f'<td class="n" data-v="{yuan_text(value, grouped=False)}">{yuan_text(value)}</td>'
    if col.form == "int":
        return f'<td class="n" data-v="{int(value)}">{int(value):,}</td>'
    if col.form == "month":
        return f"<td>{month_text(value)}</td>"
    if col.form == "id":
        return f'<td class="id">{_e(value)}</td>'
    if col.form in LISTS:
        return '<td class="src">' + "<br>".join(_e(v) for v in str(value).split(SOURCES_SEP)) + "</td>"
    if hasattr(value, "isoformat"):
        return f"<td>{value.isoformat()}</td>"
    return f"<td>{_e(value)}</td>"


def _escaped(text: pa.Array) -> pa.Array:
    """html.escape(quote=True) over a column."""
    for raw, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&quot;"), ("'", "&#x27;")):
        text = pc.replace_substring(text, raw, entity)
    return text


def _cells(col: Column, values: pa.Array) -> pa.Array:
    """_cell over a column: a text or an ID escaped by Arrow, anything else once per distinct value."""
    values = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    if pa.types.is_string(values.type) and col.form not in LISTS:
        opening = '<td class="id">' if col.form == "id" else "<td>"
        return pc.fill_null(pc.binary_join_element_wise(opening, _escaped(values), "</td>", ""), _cell(col, None))
    return pc.fill_null(per_value(values, lambda v: _cell(col, v)), _cell(col, None))


def _body(kind: str, columns: list[Column], table: pa.Table) -> list[str]:
    """The table's rows as <tr> lines (flagged where a rejected roll row touches the finding)."""
    cells = [_cells(c, table.column(c.field)) for c in columns]
    if kind in FLAGGED_KINDS and "roll_rows_rejected" in table.column_names:
        flagged = pc.fill_null(pc.not_equal(table.column("roll_rows_rejected").combine_chunks(), 0), False)
        opening = pc.if_else(flagged, '<tr class="flagged">', "<tr>")
    else:
        opening = pa.array(["<tr>"] * table.num_rows, pa.string())
    return pc.binary_join_element_wise(opening, *cells, "</tr>", "").to_pylist()


def _kind_table(report: findings.Report, kind: str, table: pa.Table | None = None) -> str:
    columns = COLUMNS[kind]
    table = shown(report, kind) if table is None else table
    found = table.num_rows
    zh, en = DESCRIPTIONS[kind]
    tol = report.tolerance_days
    title_zh, title_en = findings.TITLES[kind].split(" ", 1)
    out = [f'<section id="{kind}"><h2>{_bilingual(title_zh, title_en)} '
           f'<span class="en">({found:,})</span></h2>',
           f'<p class="desc">{_e(zh.format(tol=tol))}<br><span class="en">{_e(en.format(tol=tol))}</span></p>']
    if not found:
        out.append('<p class="none">无 none</p></section>')
        return "\n".join(out)
    out.append(f'<table class="sortable" id="t-{kind}"><thead><tr>'
               + "".join(_head((c.zh, c.en), c.form in NUMERIC) for c in columns) + "</tr></thead><tbody>")
    out += _body(kind, columns, table)
    out.append("</tbody></table>")
    if kind == "trend":
        out.append(chart(trend_months(report), "trend-chart", "按月份的多发金额（按采信死亡日期）",
                         "Overpaid by month (date in force)", "月份 month", empty=""))
    out.append("</section>")
    return "\n".join(out)


def _division_table(report: findings.Report) -> str:
    totals = division_totals(report)
    f = figures(report)
    out = ['<section id="divisions"><h2>按行政区划合计 <span class="en">Totals by division</span></h2>',
           '<p class="desc">应停发的人数与每月发放金额，死亡后仍发放的人数与多发金额（按采信死亡日期）'
           '<br><span class="en">people to stop and what they are paid each month, people paid after death '
           'and the overpaid amount (date in force), per division</span></p>']
    if not totals:
        out.append('<p class="none">无 none</p></section>')
        return "\n".join(out)
    heads = [(("区划代码", "division"), False), (("区划名称", "division name"), False),
             (("应停发人数", "people to stop"), True), (("每月发放金额(元)", "paid each month (yuan)"), True),
             (("死亡后仍发放人数", "people paid after death"), True), (("多发金额(元)", "overpaid (yuan)"), True)]
    out.append('<table class="sortable" id="t-divisions"><thead><tr>'
               + "".join(_head(label, num) for label, num in heads) + "</tr></thead><tbody>")

    def n(v: int) -> str:
        return f'<td class="n" data-v="{v}">{v:,}</td>'

    def y(v: Decimal) -> str:
        return f'<td class="n" data-v="{yuan_text(v, grouped=False)}">{yuan_text(v)}</td>'
    for t in totals:
        out.append(f"<tr><td>{_e(t.code)}</td><td>{_e(t.name)}</td>{n(t.to_stop)}{y(t.monthly)}{n(t.people)}"
                   f"{y(t.overpaid)}</tr>")
    out.append(f'</tbody><tfoot><tr><td>合计 <span class="en">total</span></td><td></td>'
               f'<td class="n">{f.to_stop:,}</td><td class="n">{yuan_text(f.monthly)}</td>'
               f'<td class="n">{f.people:,}</td><td class="n">{yuan_text(f.overpaid)}</td></tr></tfoot>'
               "</table></section>")
    return "\n".join(out)


def _nice_step(top: Decimal) -> Decimal:
    """A step of 1, 2 or 5 times a power of ten giving at most five gridlines up to `top`."""
    raw = top / 5
    power = Decimal(1).scaleb(math.floor(math.log10(raw)) if raw > 0 else 0)
    for m in (1, 2, 5, 10):
        if power * m >= raw:
            return power * m
    return power * 10


def chart(months: list[MonthTotal], chart_id: str = "overpaid-chart", title_zh: str = "按死亡月份的多发金额",
          title_en: str = "Overpaid amount by month of death", axis: str = "死亡月份 month of death",
          empty: str = '<p class="none">无死亡后发放 <span class="en">nobody paid after death</span></p>') -> str:
    """Overpaid amounts by month as an inline SVG bar chart (amounts exact in labels and titles)."""
    if not months:
        return empty
    width, height, left, right, top, bottom = 900, 340, 96, 16, 28, 64
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max(m.overpaid for m in months)
    step = _nice_step(peak if peak > 0 else Decimal(1))
    n_steps = max(1, math.ceil(peak / step)) if peak > 0 else 1
    ceiling = step * n_steps
    scale = plot_h / float(ceiling)
    slot = plot_w / len(months)
    bar = min(56.0, slot * 0.62)
    many = len(months) > 12
    name = _e(f"{title_zh} {title_en}")
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{chart_id}" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="{name}">',
             f"<title>{name}</title>"]
    for k in range(n_steps + 1):
        value = step * k
        y = top + plot_h - float(value) * scale
        label = f"{value:,.0f}" if step >= 1 else yuan_text(value)
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="#d0d7de" '
                     'stroke-width="1"/>')
        parts.append(f'<text x="{left - 8}" y="{y + 4:.1f}" text-anchor="end" font-size="12" fill="#57606a">'
                     f"{label}</text>")
    parts.append(f'<text x="{left - 8}" y="{top - 12}" text-anchor="end" font-size="12" fill="#57606a">'
                 "元 yuan</text>")
    for i, m in enumerate(months):
        x = left + slot * i + (slot - bar) / 2
        h = float(m.overpaid) * scale
        y = top + plot_h - h
        tip = f"{month_text(m.month)}: {m.people} 人 people, ¥{yuan_text(m.overpaid)}"
        parts.append(f'<g class="bar" data-month="{month_text(m.month)}" data-v="{yuan_text(m.overpaid, grouped=False)}">'
                     f"<title>{_e(tip)}</title>"
                     f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" fill="#cf222e"/></g>')
        cx = x + bar / 2
        if not many:
            parts.append(f'<text x="{cx:.1f}" y="{y - 5:.1f}" text-anchor="middle" font-size="11" fill="#1f2328">'
                         f"{yuan_text(m.overpaid)}</text>")
        ly = top + plot_h + 16
        rotate = f' transform="rotate(-45 {cx:.1f} {ly:.1f})"' if many else ""
        anchor = "end" if many else "middle"
        parts.append(f'<text x="{cx:.1f}" y="{ly:.1f}" text-anchor="{anchor}" font-size="12" fill="#1f2328"{rotate}>'
                     f"{month_text(m.month)}</text>")
    parts.append(f'<line x1="{left}" y1="{top + plot_h}" x2="{width - right}" y2="{top + plot_h}" stroke="#57606a"/>')
    parts.append(f'<text x="{left + plot_w / 2:.1f}" y="{height - 6}" text-anchor="middle" font-size="12" '
                 f'fill="#57606a">{_e(axis)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _figure(zh: str, en: str, value: str, value_id: str, cls: str = "", sub: str = "") -> str:
    sub = f'<div class="sub">{sub}</div>' if sub else ""
    return (f'<div class="figure{" " + cls if cls else ""}"><div class="label">{_e(zh)}<br>{_e(en)}</div>'
            f'<div class="value" id="{value_id}">{value}</div>{sub}</div>')


def _headline(report: findings.Report) -> str:
    """The figures, the payments to stop first; the rows of each kind; rejected roll rows; month on month."""
    f = figures(report)
    cards = [
        _figure("应停发人数", "people to stop paying", f"{f.to_stop:,}", "people-to-stop", "stop"),
        _figure("每月发放金额合计", "paid to them each month", f"¥{yuan_text(f.monthly)}", "monthly-to-stop", "stop"),
        _figure("死亡后仍发放人数", "people paid after death", f"{f.people:,}", "people-paid-after-death", "main"),
        _figure("多发金额合计（按采信死亡日期）", "total overpaid (date in force)", f"¥{yuan_text(f.overpaid)}",
                "total-overpaid", "main",
                f'范围 <span class="en">range</span> <span id="overpaid-range">¥{yuan_text(f.overpaid_low)} – '
                f'¥{yuan_text(f.overpaid_high)}</span>'),
        _figure("被拒收的发放行", "roll rows rejected", f"{f.roll_rows_rejected:,}", "roll-rows-rejected",
                "flag" if f.roll_rows_rejected else ""),
    ]
    counts = []
    for kind in findings.KINDS:
        zh, en = findings.TITLES[kind].split(" ", 1)
        counts.append(f'<div class="figure"><a href="#{kind}"><div class="label">{_e(zh)}<br>{_e(en)}</div>'
                      f'<div class="value">{report.table(kind).num_rows:,}</div></a></div>')
    out = [f'<div class="figures" id="headline">{"".join(cards)}</div>']
    if f.roll_rows_rejected:
        out.append(f'<p class="note flag" id="roll-rows-note">本期被交换网关拒收的发放名册行：{f.roll_rows_rejected:,} 条；'
                   f'涉及的发现已标注（{f.flagged:,} 人，“被拒收的发放行”列）<br><span class="en">roll rows '
                   f'rejected by the gate in the period: {f.roll_rows_rejected:,}; findings they touch are flagged '
                   f'({f.flagged:,} {"person" if f.flagged == 1 else "people"}, column "roll rows rejected")</span></p>')
    gaps = missing_lines(report)
    if gaps is not None:
        said = ("<br>".join(_e(g) for g in gaps) if gaps
                else '无 <span class="en">none: every death delivery of the month came</span>')
        out.append(f'<p class="note{" flag" if gaps else ""}" id="missing-deliveries">本月未收到的死亡数据交付 '
                   f'<span class="en">death deliveries of the month that never came</span>:<br>{said}</p>')
    changes = change_counts(report)
    if changes:
        out.append('<p class="note" id="changes-note">与上月比较 <span class="en">since last month</span>: '
                   + " · ".join(f"{_e(change_label(k))} <b>{n:,}</b>" for k, n in changes) + "</p>")
    out.append(f'<div class="figures" id="counts">{"".join(counts)}</div>')
    return "\n".join(out)


def page(report: findings.Report, tables: dict[str, pa.Table] | None = None) -> str:
    """The whole page as text (UTF-8 when written); `tables`: each kind's shown columns (shown.py)
    when the caller has them already."""
    month = month_text(report.month)
    sections = []
    for kind in findings.KINDS:
        sections.append(_kind_table(report, kind, (tables or {}).get(kind)))
        if kind == "paid_after_death":
            sections += [_division_table(report),
                         f'<section id="by-month"><h2>{_bilingual("按死亡月份的多发金额", "Overpaid by month of death")}'
                         "</h2>", chart(by_death_month(report)), "</section>"]
    body = [
        f"<header><h1>{_bilingual('死亡人员比对报告', 'Death-record mismatch report')} {month}</h1>",
        f'<p class="meta">报告月份 <span class="en">report month</span> <b>{month}</b> · '
        f'生成时间 <span class="en">generated</span> {_e(generated_text(report))} · '
        f'日期容差 <span class="en">tolerance</span> {report.tolerance_days} 天 <span class="en">days</span> · '
        '身份号码已脱敏 <span class="en">citizen IDs masked</span></p>',
        _headline(report), "</header>",
        *sections,
        '<footer>金保交换 Jinbao Exchange · 点击列标题排序 <span class="en">click a column header to sort</span> · '
        '完整身份号码仅见于单独导出并登记的工作簿 <span class="en">full IDs only in a separate, recorded '
        'export</span></footer>',
    ]
    return (
        "<!DOCTYPE html>\n"
        '<html lang="zh-CN"><head><meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{csp()}">\n'
        '<meta name="referrer" content="no-referrer">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>死亡人员比对报告 Death-record mismatch report {month}</title>\n"
        f"<style>{CSS}</style>\n</head>\n<body>\n" + "\n".join(body) + f"\n<script>{SCRIPT}</script>\n</body></html>\n"
    )
