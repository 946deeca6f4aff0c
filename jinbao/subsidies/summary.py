"""What a person reads about the subsidies of a year: per owing division and level, lines, due,
paid and still in arrears, to the fen.

Sums are made by the database over exact NUMERIC columns (never floats), so the
totals printed are the totals a finance officer can reconcile against.
"""
from __future__ import annotations

from decimal import Decimal

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from jinbao.schemas.store_tables import subsidy_line
from jinbao.subsidies.lines import ARREARS, PAID
from jinbao.subsidies.standards import AMOUNT

COLUMNS = ["AAB301", "subsidy_level", "lines", "due", "paid", "in_arrears"]
LEVEL_NAMES = {"1": "省 province", "2": "市 city", "3": "县 county"}


def summary(conn: Connection, year: int | str) -> pa.Table:
    """One row per owing division and level of `year`'s lines (ordered by division, level)."""
    s = subsidy_line
    zero = sa.literal(Decimal("0.00"), sa.Numeric(12, 2))
    q = (sa.select(s.c.aab301, s.c.subsidy_level, sa.func.count().label("lines"),
                   sa.func.sum(s.c.amount_due).label("due"),
                   sa.func.sum(sa.case((s.c.status == PAID, s.c.amount_due), else_=zero)).label("paid"),
                   sa.func.sum(sa.case((s.c.status == ARREARS, s.c.amount_due), else_=zero)).label("in_arrears"))
         .where(s.c.subsidy_year == f"{int(year):04d}").group_by(s.c.aab301, s.c.subsidy_level)
         .order_by(s.c.aab301, s.c.subsidy_level))
    rows = conn.execute(q).fetchall()
    cols = list(zip(*rows)) if rows else [[]] * 6
    cent = Decimal("0.01")
    money = [pa.array([Decimal(v).quantize(cent) for v in c], AMOUNT) for c in cols[3:]]
    return pa.table([pa.array(cols[0], pa.string()), pa.array(cols[1], pa.string()),
                     pa.array([int(v) for v in cols[2]], pa.int64()), *money], names=COLUMNS)


def render(table: pa.Table, year) -> str:
    """The console page: a row per division and level, then the totals."""
    head = f"{'division':<8} {'level':<12} {'lines':>8} {'due':>16} {'paid':>16} {'in arrears':>16}"
    out = [f"subsidies {year}: per owing division and level (yuan)", head, "-" * len(head)]
    for r in table.to_pylist():
        out.append(f"{r['AAB301']:<8} {LEVEL_NAMES.get(r['subsidy_level'], r['subsidy_level']):<12} "
                   f"{r['lines']:>8} {r['due']:>16} {r['paid']:>16} {r['in_arrears']:>16}")
    total = {c: sum(table[c].to_pylist(), Decimal("0.00")) for c in ("due", "paid", "in_arrears")}
    out += ["-" * len(head), f"{'total':<21} {sum(table['lines'].to_pylist()):>8} {total['due']:>16} "
            f"{total['paid']:>16} {total['in_arrears']:>16}"]
    return "\n".join(out)
