"""finance.subsidy_claim: the subsidy lines still in arrears, claimed from finance (前个人后财政).

The lines are jinbao.subsidies' (`in_arrears`).  What is claimed is marked by the keys of the
records actually sent, in the transaction that logs the claim, never by re-running the query:
a line that fell into arrears while the file was being uploaded, or one held back, was not
claimed and must not look as if it had been.  From the claim on, a line keeps what finance
was told (jinbao.subsidies records a later difference instead of applying it).

Totals per owing division and level are what a finance officer checks a claim against; they
are logged with the claim and printed by `jinbao send`.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from jinbao.schemas.store_tables import subsidy_line
from jinbao.subsidies.lines import in_arrears

#: Lines updated per statement when marking a claim.
CHUNK = 5_000


def lines_in_arrears(conn: Connection, as_of: dt.date) -> pa.Table:
    return in_arrears(conn, as_of)


def mark_claimed(conn: Connection, sent: pa.Table, sequence: int, at: dt.datetime) -> int:
    """Mark the sent lines (AAC002, subsidy_year, subsidy_level) as claimed under `sequence`; only
    lines still in arrears (a payment published meanwhile wins)."""
    s = subsidy_line
    stmt = (sa.update(s).where(s.c.aac002 == sa.bindparam("k_id"), s.c.subsidy_year == sa.bindparam("k_year"),
                               s.c.subsidy_level == sa.bindparam("k_level"), s.c.status == "arrears")
            .values(claim_seq=sequence, claimed_at=at,
                    first_claim_seq=sa.func.coalesce(s.c.first_claim_seq, sequence)))
    keys = sent.select(["AAC002", "subsidy_year", "subsidy_level"]).to_pydict()
    rows = [{"k_id": i, "k_year": y, "k_level": lv}
            for i, y, lv in zip(keys["AAC002"], keys["subsidy_year"], keys["subsidy_level"])]
    done = 0
    for start in range(0, len(rows), CHUNK):
        done += conn.execute(stmt, rows[start:start + CHUNK], execution_options={"preserve_rowcount": True}).rowcount
    return done


def totals(sent: pa.Table) -> list[tuple[str, str, int, Decimal]]:
    """(owing division, level, lines, amount due) of a claim, exact."""
    grouped = sent.group_by(["AAB301", "subsidy_level"]).aggregate([("amount_due", "sum"), ("AAC002", "count")])
    rows = grouped.sort_by([("AAB301", "ascending"), ("subsidy_level", "ascending")]).to_pylist()
    return [(r["AAB301"], r["subsidy_level"], r["AAC002_count"], Decimal(r["amount_due_sum"]).quantize(Decimal("0.01")))
            for r in rows]


def after_send(conn: Connection, sent: pa.Table, sequence: int, at: dt.datetime) -> list[str]:
    """Mark the claim and say what it asks for, per owing division and level."""
    marked = mark_claimed(conn, sent, sequence, at)
    levels = {"1": "province", "2": "city", "3": "county"}
    lines = [f"claim {sequence}: {marked} lines marked claimed; per owing division and level:"]
    grand = Decimal("0.00")
    for division, level, count, amount in totals(sent):
        lines.append(f"  {division} {levels.get(level, level):<8} {count:>8} lines {amount:>16,.2f} yuan")
        grand += amount
    lines.append(f"  {'total':<15} {sent.num_rows:>8} lines {grand:>16,.2f} yuan")
    return lines
