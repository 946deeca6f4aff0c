"""Citizen IDs never reach a log, an error or a partner unmasked.

Masking follows the receipts' form (first 6 and last 4 kept:
110105********002X), so an operator can still tell two people apart and find
the division.  This module is the one definition of each masking: `mask_id` for
a value known to be an ID (`mask_ids` for a column of them, vectorised),
`mask_name` for a person's name, `mask_text` for IDs wherever they stand in a
text (`mask_column`, `mask_table` for Arrow data).  `mask_text` is the one
definition of "shaped like a citizen ID"; it is applied
wherever the hub echoes a value, whichever column the value arrived in: the
gate's rejections (`mask_column`, through quality.judging.storable, so the
staged copy, quarantine, the receipt, the store's `rejection` table and
`jinbao mappings coverage` all read masked text), the receipt as it is written,
the batch's message in the ledger, and every console and log line.
`MaskingFilter` is installed on the handlers of the CLI and of Airflow task
logs as a last line of defence: whatever a library puts in an exception
message (a failed SQL statement's parameters, a parser's copy of a line)
leaves the process masked.
"""
from __future__ import annotations

import logging
import os
import re

import pyarrow as pa
import pyarrow.compute as pc

#: 18-character IDs (last may be X) and first-generation 15-digit IDs, not inside longer digit runs.
#: Digits are any decimal digits (full-width ones too: an ID typed on a Chinese keyboard is still an ID).
_ID = re.compile(r"(?<![\dA-Za-z])(?:\d{17}[\dXxＸｘ]|\d{15})(?![\dA-Za-z])")
#: What every text holding an ID also holds (Arrow's RE2 has no look-behind): only these rows of a
#: column are handed to `mask_text`, so masking a whole column costs one vectorised scan.
_ID_CANDIDATE = r"\p{Nd}{15}"


def mask_id(value: str | None) -> str | None:
    """First 6 and last 4 characters kept, the rest as asterisks (an ID of 10 or fewer: all asterisks),
    whatever the value's form, so a malformed ID as a source sent it is masked too."""
    if value is None:
        return None
    if len(value) <= 10:
        return "*" * len(value)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def mask_ids(ids: pa.Array) -> pa.Array:
    """`mask_id` over an Arrow column of IDs in one vectorised pass (receipts mask every rejected row)."""
    length = pc.utf8_length(ids)
    head = pc.utf8_slice_codeunits(ids, 0, 6)
    tail = pc.utf8_slice_codeunits(ids, -4)
    stars = pc.binary_repeat("*", pc.max_element_wise(pc.subtract(length, 10), 0))
    masked = pc.binary_join_element_wise(head, stars, tail, "")
    short = pc.less_equal(length, 10)
    return pc.if_else(short, pc.binary_repeat("*", length), masked)


def mask_name(text: str) -> str:
    """张三丰 -> 张**: enough to tell a record from its neighbours, not enough to name anyone."""
    return text[:1] + "*" * (len(text) - 1) if text else text


def mask_text(text: str) -> str:
    """Every citizen ID in `text` masked (110105********002X), full-width digits too, where it stands."""
    return _ID.sub(lambda m: mask_id(m[0]), text)


def mask_column(values):
    """`mask_text` over an Arrow string column (Array or ChunkedArray), element by element; nulls stay null."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if len(values) == 0 or not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
        return values
    found = pc.fill_null(pc.match_substring_regex(values, _ID_CANDIDATE), False)
    if not pc.any(found).as_py():
        return values
    where = pc.indices_nonzero(found)
    masked = pa.array([mask_text(v) for v in pc.take(values, where).to_pylist()], values.type)
    return pc.replace_with_mask(values, found, masked)


def mask_table(table: pa.Table) -> pa.Table:
    """Every text column of `table` through `mask_column` (rows written before masking was in force)."""
    return pa.table([mask_column(c) if pa.types.is_string(c.type) else c for c in table.columns],
                    names=table.column_names)


#: An absolute path on the hub's machine (the partner has no business knowing the hub's folders).
_PATH = re.compile(r"(?<![\w.])/(?:[\w.@+-]+/)+([\w.@+-]+)")
#: An absolute path in quotes, as Python's OSError and repr() show one: spaces and all, it ends at the quote.
_QUOTED_PATH = re.compile(r"""(['"])/([^'"\n]*/)?([^'"/\n]*)\1""")
#: Operator commands that only make sense on the hub.
_COMMAND = re.compile(r"`?jinbao [a-z]+[^`.;]*`?")
#: Stands for one of the hub's own folders while the path below it is cut to its last part.
_HUB = "/jinbao-hub"


def _hub_roots(hub_paths) -> list[str]:
    """The hub's folders as text may spell them (given and resolved), longest first."""
    roots = set()
    for p in hub_paths or ():
        for form in (os.fspath(p), os.path.realpath(os.fspath(p))):
            form = form.rstrip("/")
            if form:
                roots.add(form)
    return sorted(roots, key=len, reverse=True)


def partner_text(text: str | None, hub_paths=()) -> str | None:
    """Text for a partner's receipt: IDs masked, hub paths cut to the file's name, no hub commands.

    `hub_paths`: the hub's own folders (JINBAO_HOME): a path below one of them is cut to its file's
    name even when a folder's name holds spaces, and the folder itself never appears."""
    if text is None:
        return None
    text = mask_text(text)
    for root in _hub_roots(hub_paths):
        text = re.sub(re.escape(root) + r"(?=/)", _HUB, text)
        text = re.sub(re.escape(root) + r"(?![\w.@+-])", "the hub's folder", text)
    text = _QUOTED_PATH.sub(lambda m: m[1] + m[3] + m[1], text)
    return _COMMAND.sub("", _PATH.sub(lambda m: m[1], text)).strip()


class MaskingFilter(logging.Filter):
    """Masks IDs in the final text of every record that passes through a handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            text = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken format string is logged as it is
            return True
        masked = mask_text(text)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_text(record.exc_text)
        if masked != text:
            record.msg, record.args = masked, None
        return True


def install(logger: logging.Logger | None = None) -> None:
    """Add the filter to every handler of `logger` (the root logger by default), once."""
    for handler in (logger or logging.getLogger()).handlers:
        if not any(isinstance(f, MaskingFilter) for f in handler.filters):
            handler.addFilter(MaskingFilter())
