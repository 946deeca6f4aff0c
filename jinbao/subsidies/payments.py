"""Finance's payments against the subsidy lines: judged before publishing, settled while publishing.

A payment is only good if it pays a line the hub holds: same person, year and
level, the owing division, exactly the amount due, and the line still in
arrears.  Anything else is a failed record the partner must see in its receipt
by line number, so the check runs when the delivery is judged (reading the
store) and moves those records from accepted to rejected with their own reason
codes; the ledger's counts then hold as for any rejection.  Between judging and
publishing another batch may have paid a line (two runs of two feeds of the
same payments), so the publish transaction flips the lines with a conditional
UPDATE and refuses the batch if any accepted payment found no line in arrears:
a line is never paid twice, whatever ran in between.
"""
from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from jinbao.privacy import mask_ids
from jinbao.quality.judging import ACCEPTED, REJECTED, _rewrite, storable
from jinbao.quality.reasons import message
from jinbao.quality.verdict import REJECTION_SCHEMA
from jinbao.schemas.store_tables import subsidy_line, subsidy_payment
from jinbao.store import scratch
from jinbao.subsidies.lines import ARREARS, PAID

#: The division a payment names as owing the line (mapping 2026.1 of finance.subsidy_payment).
OWING = "owing_division"
#: What the county-only mapping 2024.1 called it: a batch judged with it is read the same way.
OWING_BEFORE_2026 = "AAB301"
HUB = ["AAC002", "subsidy_year", "subsidy_level", OWING, "amount"]
#: The temporary table of a delivery's payments while they are checked against the lines.
PAYING = "subsidy_paying"


class SubsidyRace(RuntimeError):
    """Lines changed between judging and publishing: the batch is refused, nothing is paid twice."""


def _failures(keyed: pa.Table) -> pa.Table:
    """(line_no, reason, which field) for every payment joined to the line its key names (`status` null:
    none), one row per failure."""
    no_line = pc.is_null(keyed["status"])
    paid = pc.and_not(pc.equal(keyed["status"], PAID), no_line)
    open_ = pc.invert(pc.or_(no_line, paid))
    division = pc.and_(open_, pc.not_equal(keyed[OWING], keyed["aab301"]))
    amount = pc.and_(open_, pc.not_equal(keyed["amount"], keyed["amount_due"]))
    parts = []
    for mask, code, field in ((no_line, "SUBSIDY_NO_LINE", "key"), (paid, "SUBSIDY_ALREADY_PAID", "key"),
                              (division, "SUBSIDY_WRONG_DIVISION", OWING),
                              (amount, "SUBSIDY_WRONG_AMOUNT", "amount")):
        hit = keyed.filter(pc.fill_null(mask, False))
        parts.append(pa.table({"line_no": hit["line_no"], "AAC002": hit["AAC002"],
                               "subsidy_year": hit["subsidy_year"], "subsidy_level": hit["subsidy_level"],
                               "sent_division": hit[OWING], "sent_amount": hit["amount"].cast(pa.string()),
                               "reason_code": pa.array([code] * hit.num_rows, pa.string()),
                               "hub_field": pa.array([field] * hit.num_rows, pa.string())}))
    return pa.concat_tables(parts).sort_by([("line_no", "ascending"), ("reason_code", "ascending")])


def _unpaying(conn: Connection, pay: pa.Table) -> pa.Table:
    """The payments that do not pay a line in arrears exactly, each with the line its key names (aab301,
    amount_due, status; null: no line).  The payments go into a temporary table (COPY on PostgreSQL) and
    one outer join in the store finds them, so only the failures come back to Python, never the lines."""
    s, key = subsidy_line, ("aac002", "subsidy_year", "subsidy_level")
    p = scratch.create(conn, PAYING, sa.Column("line_no", sa.Integer), *[sa.Column(k, s.c[k].type) for k in key],
                       sa.Column("owing_division", sa.String(6)), sa.Column("amount", s.c.amount_due.type),
                       key="line_no")
    try:
        scratch.fill(conn, p, pa.table({"line_no": pay["line_no"], "aac002": pay["AAC002"],
                                        "subsidy_year": pay["subsidy_year"], "subsidy_level": pay["subsidy_level"],
                                        "owing_division": pay[OWING], "amount": pay["amount"]}))
        rows = conn.execute(sa.select(p.c.line_no, s.c.aab301, s.c.amount_due, s.c.status)
                            .select_from(p.outerjoin(s, sa.and_(*[s.c[k] == p.c[k] for k in key])))
                            .where(sa.or_(s.c.status.is_(None), s.c.status != ARREARS,
                                          s.c.aab301 != p.c.owing_division, s.c.amount_due != p.c.amount))).fetchall()
    finally:
        scratch.drop(conn, PAYING)
    cols = list(zip(*rows)) if rows else [[], [], [], []]
    met = pa.table({"line_no": pa.array(cols[0], pay["line_no"].type), "aab301": pa.array(cols[1], pa.string()),
                    "amount_due": pa.array(cols[2], pa.decimal128(12, 2)), "status": pa.array(cols[3], pa.string())})
    return pay.filter(pc.is_in(pay["line_no"], value_set=met["line_no"])).join(met, "line_no")


def rejections(failures: pa.Table, partner: dict[str, str]) -> pa.Table:
    """The failures as the gate's rejection rows (REJECTION_SCHEMA): partner column names, masked IDs,
    bilingual messages; a missing or paid line is named by year and level, never by the ID."""
    key_name = "+".join(partner.get(k, k) for k in ("AAC002", "subsidy_year", "subsidy_level"))
    owing = partner.get(OWING) or partner.get(OWING_BEFORE_2026, OWING)
    names = {"key": key_name, OWING: owing, "amount": partner.get("amount", "amount")}
    which = failures["hub_field"]
    field = pc.if_else(pc.equal(which, "key"), names["key"],
                       pc.if_else(pc.equal(which, OWING), names[OWING], names["amount"]))
    value = pc.if_else(pc.equal(which, "key"),
                       pc.binary_join_element_wise(failures["subsidy_year"], failures["subsidy_level"], "+"),
                       pc.if_else(pc.equal(which, OWING), failures["sent_division"], failures["sent_amount"]))
    # the failed records of one delivery, not the delivery: a comprehension over them is cheap
    texts = [message(c, f, v) for c, f, v in zip(failures["reason_code"].to_pylist(), field.to_pylist(),
                                                 value.to_pylist())]
    return pa.table({"line_no": failures["line_no"], "masked_id": mask_ids(failures["AAC002"].combine_chunks()),
                     "field": field, "value": value, "reason_code": failures["reason_code"],
                     "message": pa.array(texts, pa.string())}, schema=REJECTION_SCHEMA)


def check(conn: Connection, staging: Path, partner: dict[str, str]) -> int:
    """Move the payments that pay no line in arrears from accepted.parquet to rejected.parquet
    (their own reason codes, by line number); returns how many records were moved."""
    accepted = staging / ACCEPTED
    names = pq.read_schema(accepted).names
    # a delivery of a business date before 2026 is translated with mapping 2024.1, which names it AAB301
    owing = OWING if OWING in names else OWING_BEFORE_2026
    wanted = [owing if c == OWING else c for c in HUB]
    if not set(wanted) <= set(names):                 # nothing judged good: nothing to check
        return 0
    pay = pq.read_table(accepted, columns=wanted + ["line_no"]).rename_columns(HUB + ["line_no"])
    if pay.num_rows == 0:
        return 0
    amount_type = pa.decimal128(12, 2)
    pay = pay.set_column(pay.schema.get_field_index("amount"), "amount",
                         pc.cast(pay["amount"], amount_type) if not pa.types.is_decimal(pay["amount"].type)
                         else pay["amount"].cast(amount_type))
    keyed = _unpaying(conn, pay)
    if keyed.num_rows == 0:
        return 0
    failures = _failures(keyed)
    moved = pc.unique(failures["line_no"])
    _rewrite(staging / REJECTED, lambda t: t, append=storable(rejections(failures, partner)))
    _rewrite(accepted, lambda t: t.filter(pc.invert(pc.is_in(t["line_no"], value_set=moved))))
    return len(moved)


def settle(conn: Connection, batch_id: int, published: int) -> int:
    """Flip to paid the lines the batch's payments pay (date and batch of the payment), inside the
    publish transaction; raises SubsidyRace unless every published payment flipped exactly one line."""
    s, p = subsidy_line, subsidy_payment.alias("p")
    # one join (UPDATE ... FROM; MariaDB's multi-table UPDATE), not an EXISTS and two subqueries per line:
    # a payment's key is unique in its batch (the gate rejects a repeated one), so a line meets one payment
    exact = sa.and_(p.c.batch_id == batch_id, p.c.aac002 == s.c.aac002, p.c.subsidy_year == s.c.subsidy_year,
                    p.c.subsidy_level == s.c.subsidy_level, p.c.owing_division == s.c.aab301,
                    p.c.amount == s.c.amount_due)
    # the payments were written in this transaction, unseen by the planner's statistics: no nested loop over them
    with scratch.filling_what_it_checks(conn, "subsidy_line", published):
        res = conn.execute(sa.update(s).where(s.c.status == ARREARS, exact).values(
            status=PAID, paid_batch=batch_id, paid_date=p.c.arrival_date, paid_line=p.c.line_no))
    if res.rowcount != published:
        raise SubsidyRace(f"batch {batch_id}: {published} payments published but {res.rowcount} subsidy lines "
                          "were in arrears to take them; the lines changed after the batch was judged "
                          "(another batch paid them?). Nothing was published; resend or rerun the feed.")
    return res.rowcount
