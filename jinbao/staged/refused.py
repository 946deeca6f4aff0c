"""Why a whole delivery is refused.

A DeliveryRefused refuses the whole delivery: it is moved to quarantine, a
receipt tells the partner why (reason code from quality.reasons.BATCH_REASONS)
and nothing from it is published.  A BadInput names file, line and field so a
person can find the problem without opening a debugger.

Refusals are raised while the delivery is opened (the envelope,
exchange_zone/) and while its staged CSV is read (reader.py), and the engine
sorts both the same way; they are defined here, under both, so that reading a
staged file needs nothing of the partner protocol.
"""
from __future__ import annotations


class DeliveryRefused(Exception):
    def __init__(self, reason_code: str, detail: str, file: str | None = None):
        self.reason_code = reason_code
        self.detail = detail
        self.file = file
        where = f"{file}: " if file else ""
        super().__init__(f"{where}{reason_code}: {detail}")


class BadInput(DeliveryRefused):
    """Unparseable input, located as precisely as the parser allows."""

    def __init__(self, reason_code: str, detail: str, file: str, line: int | None = None,
                 field: str | None = None):
        self.line = line
        self.field = field
        loc = file + (f", line {line}" if line else "") + (f", field {field}" if field else "")
        super().__init__(reason_code, detail, file=loc)
