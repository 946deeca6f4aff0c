"""Finding 5, probable typos: death records the register cannot place, linked to the pensioner they
probably mean.  A suggestion with its evidence, never applied.

A record is linked when exactly one pensioner has its name, birth date, gender and division and an
ID one edit from the ID as sent: one of the 17 digits replaced or two adjacent ones swapped, with the
check character as typed or recomputed over the mistyped digits (a sender's system that stores 17
digits does that), or only the check character differing (`X` is a character like the digits).

Never every pair: the pensioners are joined with the records on those four fields (Arrow's hash
join, built on the few records and probed by the roll), and only the pairs sharing all four have
their IDs compared, as n × 18 byte matrices with numpy.  Counting candidates:
  * a pensioner whose ID is the one sent is a candidate too, so a record whose ID is on the roll
    as it is gets no suggestion (it is not a typo; the record was unplaced for another reason);
  * a pensioner listed twice (two rows, one ID) counts once;
  * two or more candidates: no suggestion (the evidence does not say which).
GB 11643's check character catches every single substitution and every adjacent transposition, so a
typo as typed is an ID the gate rejects (kept in rejected_death); one whose check character was
recomputed passes the gate and reaches the search as a person only the death sources know.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from jinbao.audit.findings import PROBABLE_TYPO
from jinbao.quality.fixed_width import byte_matrix

BLOCK = ("name", "birth_date", "gender", "division")
_KEY_TYPES = {"name": pa.string(), "birth_date": pa.date32(), "gender": pa.string(), "division": pa.string()}
#: Record columns copied to the finding (missing ones become nulls).
_CARRIED = ("source_feed", "death_date", "batch_id", "line_no")
_POSITIONS = pa.array([str(i) for i in range(1, 20)])
_CHARS = pa.array([chr(b) for b in range(128)])


def _ids18(ids) -> pa.Array:
    """The IDs that can be one edit from an 18-character ID: 18 characters, all ASCII; others null."""
    ids = ids.combine_chunks() if isinstance(ids, pa.ChunkedArray) else ids
    ids = ids.cast(pa.string())
    ok = pc.and_(pc.equal(pc.binary_length(ids), 18), pc.equal(pc.utf8_length(ids), 18))
    return pc.if_else(pc.fill_null(ok, False), ids, pa.nulls(len(ids), pa.string()))


def _column(table: pa.Table, name: str, type_: pa.DataType):
    if name not in table.column_names:
        return pa.nulls(table.num_rows, type_)
    col = table[name]
    return col if col.type == type_ else col.cast(type_)


def _edits(reported: np.ndarray, known: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """For pairs of 18-byte rows: (identical, near, first differing position, swapped).

    Near: the 17 digits before the check character are one edit apart (one replaced, or two adjacent
    ones swapped), whatever the check character says (as typed, or recomputed by the sender's system
    over the mistyped digits); or only the check character differs.
    """
    diff = reported != known
    body = diff[:, :17]
    count = body.sum(axis=1)
    first = np.where(count > 0, body.argmax(axis=1), 17)
    last = 16 - body[:, ::-1].argmax(axis=1)
    rows = np.arange(len(diff))
    second = np.minimum(first + 1, 17)
    swapped = ((count == 2) & (last == first + 1)
               & (reported[rows, first] == known[rows, second]) & (reported[rows, second] == known[rows, first]))
    # the last digit swapped with the check character: two differences, one of them the check's
    last_two = ((count == 1) & (first == 16) & diff[:, 17]
                & (reported[:, 16] == known[:, 17]) & (reported[:, 17] == known[:, 16]))
    swapped |= last_two
    identical = ~diff.any(axis=1)
    near = (count == 1) | swapped | ((count == 0) & diff[:, 17])
    return identical, near, first, swapped


def _difference(reported: np.ndarray, known: np.ndarray, first: np.ndarray, swapped: np.ndarray) -> pa.Array:
    """'digit 12: 3 -> 8' for a substitution, 'digits 12-13 swapped' for a transposition (1-based)."""
    rows = np.arange(len(first))
    pos, nxt = _POSITIONS.take(pa.array(first)), _POSITIONS.take(pa.array(first + 1))
    sub = pc.binary_join_element_wise("digit ", pos, ": ", _CHARS.take(pa.array(reported[rows, first] & 0x7F)),
                                      " -> ", _CHARS.take(pa.array(known[rows, first] & 0x7F)), "")
    swap = pc.binary_join_element_wise("digits ", pos, "-", nxt, " swapped", "")
    return pc.if_else(pa.array(~swapped), sub, swap)


def probable_typos(unplaced: pa.Table, pensioners: pa.Table, *, id_column: str = "id_reported",
                   use_threads: bool = True) -> pa.Table:
    """Rows of `findings.PROBABLE_TYPO`, in the order of `unplaced`.

    `unplaced`: death records the register cannot place: `id_column` (the ID as sent), name,
    birth_date (date32), gender, division, and source_feed, death_date, batch_id, line_no if known.
    `pensioners`: one row per person on the roll: aac002, name, birth_date, gender, division and
    last_month_paid if known.
    """
    if unplaced.num_rows == 0 or pensioners.num_rows == 0:
        return PROBABLE_TYPO.empty_table()
    reported_ids = _ids18(unplaced[id_column])
    keep = reported_ids.is_valid()
    records = pa.table({**{k: _column(unplaced, k, t) for k, t in _KEY_TYPES.items()},
                        "_u": pa.array(np.arange(unplaced.num_rows, dtype=np.int64))}).filter(keep)
    if records.num_rows == 0:
        return PROBABLE_TYPO.empty_table()
    roll = pa.table({**{k: _column(pensioners, k, t) for k, t in _KEY_TYPES.items()},
                     "_p": pa.array(np.arange(pensioners.num_rows, dtype=np.int64))})
    # Hash table on the records (the right-hand side), probed by the roll: pairs sharing all four fields.
    pairs = roll.join(records, list(BLOCK), join_type="inner", use_threads=use_threads)
    u, p = pairs["_u"].to_numpy(), pairs["_p"].to_numpy()
    known_ids = _ids18(pensioners["aac002"].take(pa.array(p)))
    rep, rep_ok = byte_matrix(reported_ids.take(pa.array(u)), 18)
    kno, kno_ok = byte_matrix(known_ids, 18)
    identical, near, first, swapped = _edits(rep, kno)
    candidate = (identical | near) & rep_ok & kno_ok
    u, p, identical, first, swapped, rep, kno = (a[candidate] for a in (u, p, identical, first, swapped, rep, kno))
    # One pensioner listed twice is one candidate: the first row of each (record, ID).
    order = np.lexsort((p, *(kno[:, i] for i in range(17, -1, -1)), u))
    u, p, identical, first, swapped, rep, kno = (a[order] for a in (u, p, identical, first, swapped, rep, kno))
    new = np.ones(len(u), dtype=bool)
    new[1:] = (u[1:] != u[:-1]) | (kno[1:] != kno[:-1]).any(axis=1)
    u, p, identical, first, swapped, rep, kno = (a[new] for a in (u, p, identical, first, swapped, rep, kno))
    alone = np.bincount(u, minlength=unplaced.num_rows)[u] == 1
    keep = alone & ~identical                                  # already sorted by record
    u, p, first, swapped, rep, kno = (a[keep] for a in (u, p, first, swapped, rep, kno))
    ui, pi = pa.array(u), pa.array(p)
    return pa.table({
        "id_reported": reported_ids.take(ui),
        "aac002": _column(pensioners, "aac002", pa.string()).take(pi),
        "difference": _difference(rep, kno, first, swapped),
        **{k: _column(unplaced, k, t).take(ui) for k, t in _KEY_TYPES.items()},
        **{k: _column(unplaced, k, PROBABLE_TYPO.field(k).type).take(ui) for k in _CARRIED},
        "last_month_paid": _column(pensioners, "last_month_paid", pa.date32()).take(pi),
    }, schema=PROBABLE_TYPO)
