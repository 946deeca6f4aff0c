"""A file the partner protocol cannot seal for the partner.

Refusals of a delivery are in jinbao/staged/refused.py (the reader raises them
too), faults a retry may cure in jinbao/store/errors.py.
"""
from __future__ import annotations


class CannotSeal(Exception):
    """A file for a partner cannot be sealed to it: the hub holds no certificate of that partner
    (removed: the documented way to stop accepting a partner, docs/transport.md).

    Retrying cannot cure it until an operator installs a certificate, so the engine ends the batch
    anyway (quarantined if refused, acknowledged) and keeps the receipt on the hub, with a log line
    saying why no sealed receipt went out."""

    def __init__(self, partner: str, detail: str):
        self.partner = partner
        self.detail = detail
        super().__init__(f"no sealed file can be sent to {partner}: {detail}")
