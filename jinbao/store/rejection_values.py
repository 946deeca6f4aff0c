"""The store's rejections keep the reason and the field, not the partner's value, once the receipt is out.

The gate stores every failed field (`rejection`: line, masked ID, field, value as sent, reason,
message) so that the receipt can be written and the hub can count what partners send.  IDs and
names are never stored (quality.judging.storable), but the other values are a person's data all the
same: a birth date or death date as sent, an amount, a text field, and a birth date beside the
masked ID (first 6 and last 4 kept) gives back the whole ID.  Once the partner has its receipt the
value has done its work, so it is cleared, and its echo in the message replaced, by one set-based
UPDATE: in the transaction that records the receipt (exchange_zone/finish.py, for that batch) and
by every purge (jinbao/purge.py, every batch whose receipt went out, for rows stored before).

Kept: values that are the hub's own words or a code from a code table (KEPT), which name no one
and which `jinbao mappings coverage` counts.  Held batches have no rows here (their rejections
are stored when they are published), so release, refuse and re-judge read only their staged files.
"""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from jinbao.schemas.store_tables import batch, rejection

#: Reasons whose value is kept: a partner code the code tables lack (`jinbao mappings coverage`), and the
#: reader's and gate's own text about a line (field counts, line lengths, the other lines of a duplicate key).
KEPT = ("UNMAPPED_CODE", "FIELD_COUNT", "QUOTE_INVALID", "LINE_TOO_LONG", "DUPLICATE_KEY")
#: What stands in the message where the value stood.
REMOVED = "***"
#: A value cut to the column's width may stand whole in the message only in part: such a message is replaced.
_WIDTH = rejection.c.value.type.length
CLEARED_MESSAGE = "值已于回执发出后删除 / the value was removed after the receipt went out"


def _holding_values(batch_id: int | None):
    """Rows still holding a value to clear: of `batch_id` (None: of every batch), once its receipt went out."""
    r = rejection.c
    receipted = sa.select(batch.c.id).where(batch.c.receipt_at.is_not(None))
    if batch_id is not None:
        receipted = receipted.where(batch.c.id == batch_id)
    return sa.and_(r.value.is_not(None), r.reason_code.not_in(KEPT), r.batch_id.in_(receipted))


def mask_after_receipt(conn: Connection, batch_id: int | None = None) -> int:
    """Clear the personal values of the rejections of `batch_id` (None: of every batch whose receipt went
    out); how many rows changed.  Idempotent: a cleared row is never matched again."""
    r = rejection.c
    # char_length: MariaDB's length() counts bytes, and a Chinese value is three per character
    message = sa.case((sa.func.char_length(r.value) >= _WIDTH, CLEARED_MESSAGE),
                      else_=sa.func.replace(r.message, r.value, REMOVED))
    # message first: MariaDB evaluates assignments in order, and it must still see the value
    stmt = (sa.update(rejection).where(_holding_values(batch_id))
            .ordered_values((r.message, message), (r.value, None)))
    return conn.execute(stmt).rowcount or 0


def holding_values(conn: Connection) -> int:
    """How many rows `mask_after_receipt` would clear now (a dry run's count)."""
    return conn.execute(sa.select(sa.func.count()).select_from(rejection).where(_holding_values(None))).scalar()
