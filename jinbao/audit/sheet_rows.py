"""A finding sheet's rows as SpreadsheetML, written from its shown columns (jinbao/audit/shown.py) by
Arrow compute, then put into the workbook openpyxl saved with the sheet's layout and header alone.

A province's report has about a million and a half cells; openpyxl (and XlsxWriter) go through Python
code for every one (openpyxl write-only: ~80 s for 1.5M cells here, XlsxWriter constant_memory ~30 s).
Here each column becomes its cells' XML at once, and the rows are joined column by column.  The
cells are the ones openpyxl wrote: texts as text (inline strings: never a formula, whatever a
source sent), a text of several lines wrapped, IDs in the text format '@', amounts as numbers in
'#,##0.00' (the exact decimal as it is), dates as Excel serial days in 'yyyy-mm-dd' (months
'yyyy-mm'), a rejected roll row's count flagged; an empty amount, month or ID cell keeps its format,
any other empty cell is left out.  Column widths are computed from the same columns: the longest
line of what Excel shows, CJK characters counting double (jinbao.display.display_width), each
distinct text measured once.

Imports inside functions: none.
"""
from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from jinbao.audit.render import SOURCES_SEP, Column, month_text, yuan_text
from jinbao.display import display_width

#: Excel's day 0 is 1899-12-30 (serial 1 is 1900-01-01; it counts the 29th of February 1900 that never was).
EXCEL_EPOCH_DAYS = (dt.date(1970, 1, 1) - dt.date(1899, 12, 30)).days
#: Rows per block: each block's XML is made and compressed before the next.
BLOCK = 100_000


@dataclass(frozen=True)
class Styles:
    """The workbook's cell format indexes (cellXfs) the data cells use (render_excel.py makes them)."""
    yuan: int
    date: int
    month: int
    text: int            # '@' (IDs)
    text_wrap: int       # '@' and wrapped
    wrap: int            # wrapped (a text of several lines)
    flag: int            # a count of rejected roll rows
    flagged: bool        # whether this kind flags them (stop payment, paid after death)


def _escaped(text: pa.Array) -> pa.Array:
    text = pc.replace_substring(text, "&", "&amp;")
    text = pc.replace_substring(text, "<", "&lt;")
    text = pc.replace_substring(text, ">", "&gt;")
    return pc.replace_substring(text, "\r", "&#13;")


def _serial(values: pa.Array) -> pa.Array:
    """Dates as Excel serial days (openpyxl's to_excel: one less up to 1900-02-28)."""
    days = pc.add(values.cast(pa.int32()).cast(pa.int64()), EXCEL_EPOCH_DAYS)
    early = pc.and_(pc.greater(days, 0), pc.less_equal(days, 60))
    return pc.if_else(early, pc.subtract(days, 1), days).cast(pa.string())


def _cells(col: Column, values: pa.Array, ref: pa.Array, styles: Styles) -> pa.Array:
    """The <c> element of each row of one column ('' where the cell is left out)."""
    kind = values.type

    def cell(style: int | None, body: pa.Array | None, inline: bool = False) -> pa.Array:
        s = "" if style is None else f' s="{style}"'
        if body is None:                                            # an empty, formatted cell
            return pc.binary_join_element_wise('<c r="', ref, f'"{s}/>', "")
        if inline:
            return pc.binary_join_element_wise('<c r="', ref, f'"{s} t="inlineStr"><is><t xml:space="preserve">',
                                               body, "</t></is></c>", "")
        return pc.binary_join_element_wise('<c r="', ref, f'"{s}><v>', body, "</v></c>", "")

    present = pc.is_valid(values)
    if pa.types.is_decimal(kind):
        # as openpyxl writes a Decimal ('%.16g': 2000.2, 0): exact for 14 digits
        number = pc.replace_substring_regex(values.cast(pa.string()), r"\.?0+$", "")
        return pc.if_else(present, cell(styles.yuan, number), cell(styles.yuan, None))
    if pa.types.is_date(kind):
        style = styles.month if col.form == "month" else styles.date
        return pc.if_else(present, cell(style, _serial(values)), cell(style, None) if col.form == "month" else "")
    if pa.types.is_integer(kind):
        number = values.cast(pa.string())
        if styles.flagged and col.field == "roll_rows_rejected":
            flag = pc.fill_null(pc.not_equal(values, 0), False)
            return pc.if_else(flag, cell(styles.flag, number), cell(None, number))
        return cell(None, number)
    if pa.types.is_null(kind):
        return cell(styles.text, None) if col.form == "id" else pa.nulls(len(values), pa.string())
    text = values.cast(pa.string())
    if col.form in ("sources", "reasons"):
        text = pc.replace_substring(text, SOURCES_SEP, "\n")       # one source (reason) a line
    body = _escaped(text)
    lines = pc.fill_null(pc.match_substring(text, "\n"), False)
    # an empty text: an empty text cell, as openpyxl writes it (read back as no value)
    empty = pc.fill_null(pc.equal(text, ""), False)
    if col.form == "id":
        filled = pc.if_else(lines, cell(styles.text_wrap, body, True), cell(styles.text, body, True))
        return pc.if_else(present, pc.if_else(empty, _blank(ref, styles.text), filled), cell(styles.text, None))
    filled = pc.if_else(lines, cell(styles.wrap, body, True), cell(None, body, True))
    return pc.if_else(empty, _blank(ref, None), filled)


def _blank(ref: pa.Array, style: int | None) -> pa.Array:
    s = "" if style is None else f' s="{style}"'
    return pc.binary_join_element_wise('<c r="', ref, f'"{s} t="inlineStr"/>', "")


def _letter(j: int) -> str:
    name = ""
    while j:
        j, r = divmod(j - 1, 26)
        name = chr(65 + r) + name
    return name


def rows_xml(table: pa.Table, columns: list[Column], styles: Styles):
    """The sheet's data rows (from row 2) as XML, block by block (bytes)."""
    for start in range(0, table.num_rows, BLOCK):
        block = table.slice(start, BLOCK)
        number = pa.array(np.arange(start + 2, start + 2 + block.num_rows)).cast(pa.string())
        cells = []
        for j, col in enumerate(columns, 1):
            ref = pc.binary_join_element_wise(_letter(j), number, "")
            cells.append(pc.fill_null(_cells(col, block.column(col.field).combine_chunks(), ref, styles), ""))
        line = pc.binary_join_element_wise('<row r="', number, '">', *cells, "</row>", "")
        yield "".join(line.to_pylist()).encode("utf-8")


def widths(table: pa.Table, columns: list[Column]) -> dict[int, int]:
    """Per column (1-based), the display width of the longest line shown, the header's included."""
    out: dict[int, int] = {}
    for j, col in enumerate(columns, 1):
        values = table.column(col.field).combine_chunks()
        out[j] = max(display_width(col.zh), display_width(col.en), _widest(col, values))
    return out


def _widest(col: Column, values: pa.Array) -> int:
    kind = values.type
    present = values.drop_null()
    if len(present) == 0:
        return 0
    if pa.types.is_decimal(kind) or pa.types.is_integer(kind):
        low, high = pc.min_max(present).values()
        show = (lambda v: yuan_text(v)) if pa.types.is_decimal(kind) else str
        return max(display_width(show(low.as_py())), display_width(show(high.as_py())))
    if pa.types.is_date(kind):
        low, high = pc.min_max(present).values()
        show = month_text if col.form == "month" else dt.date.isoformat
        return max(display_width(show(low.as_py())), display_width(show(high.as_py())))
    text = pc.unique(present.cast(pa.string()))
    if col.form in ("sources", "reasons"):
        text = pc.replace_substring(text, SOURCES_SEP, "\n")
    plain = pc.and_(pc.string_is_ascii(text), pc.invert(pc.match_substring(text, "\n")))
    widest = pc.max(pc.utf8_length(text.filter(plain))).as_py() or 0
    for value in text.filter(pc.invert(plain)).to_pylist():
        widest = max(widest, *(display_width(t) for t in value.split("\n")))
    return widest


_SHEET_DATA_END = re.compile(rb"</sheetData>|<sheetData\s*/>")


def fill(saved: bytes, sheets: dict[str, tuple[pa.Table, list[Column], Styles]], out) -> None:
    """Copy the saved workbook into `out`, each sheet named in `sheets` (zip member path) with its
    data rows after its header row."""
    with zipfile.ZipFile(io.BytesIO(saved)) as src, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename not in sheets:
                dst.writestr(info.filename, data)
                continue
            table, columns, styles = sheets[info.filename]
            m = _SHEET_DATA_END.search(data)
            with dst.open(info.filename, "w", force_zip64=True) as fh:
                if m[0].startswith(b"<sheetData"):
                    fh.write(data[:m.start()] + b"<sheetData>")
                else:
                    fh.write(data[:m.start()])
                for xml in rows_xml(table, columns, styles):
                    fh.write(xml)
                fh.write(b"</sheetData>" + data[m.end():])
