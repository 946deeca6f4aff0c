"""Citizen IDs never reach a log, an error or a partner unmasked.

Masking follows the receipts' form (first 6 and last 4 kept:
110105********002X, as quality.citizen_id.mask does for whole columns), so
an operator can still tell two people apart and find the division.
`MaskingFilter` is installed on the handlers of the CLI and of Airflow task
logs as a last line of defence: whatever a library puts in an exception
message (a failed SQL statement's parameters, a parser's copy of a line)
leaves the process masked.
"""
from __future__ import annotations

import logging
import re

#: 18-character IDs (last may be X) and first-generation 15-digit IDs, not inside longer digit runs.
_ID = re.compile(r"(?<![0-9A-Za-z])(?:\d{17}[0-9Xx]|\d{15})(?![0-9A-Za-z])")


def mask_text(text: str) -> str:
    """Every citizen ID in `text` masked (110105********002X)."""
    return _ID.sub(lambda m: m[0][:6] + "*" * (len(m[0]) - 10) + m[0][-4:], text)


#: An absolute path on the hub's machine (the partner has no business knowing the hub's folders).
_PATH = re.compile(r"(?<![\w.])/(?:[\w.@+-]+/)+([\w.@+-]+)")
#: Operator commands that only make sense on the hub.
_COMMAND = re.compile(r"`?jinbao [a-z]+[^`.;]*`?")


def partner_text(text: str | None) -> str | None:
    """Text for a partner's receipt: IDs masked, hub paths cut to the file's name, no hub commands."""
    if text is None:
        return None
    return _COMMAND.sub("", _PATH.sub(lambda m: m[1], mask_text(text))).strip()


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
