"""Probable typos: death records the register cannot place, linked to the pensioner they probably
mean.  A suggestion with its evidence, never applied.

A record is linked when exactly one pensioner has its name and gender (and its birth date, where the
record carries one of its own: a health certificate's BIRTH_DATE, never one read out of the ID as
sent, whose birth-date digits may be the typo) and an ID one edit from the ID as sent: one of the
17 digits replaced or two adjacent ones swapped (birth-date digits included), with the check
character as typed or recomputed over the mistyped digits (a sender's system that stores 17 digits
does that), or only the check character differing (`X` is a character like the digits).  The
division, which only some sources carry as a household division, is evidence shown beside the
link (`division_agrees`), never a condition.

Never every pair: one edit changes at most two adjacent digits, so of the three parts of the 17
digits (1-6, 7-12, 13-17) at least one is the pensioner's exactly.  The pensioners are joined with
the records on name, gender and each part in turn (Arrow's hash join, built on the few records and
probed by the roll), and only the pairs sharing one have their IDs compared, as n x 18 byte
matrices with numpy.  Counting candidates:
  * a pensioner whose ID is the one sent is a candidate too, so a record whose ID is on the roll
    as it is gets no suggestion (it is not a typo; the record was unplaced for another reason);
  * a pensioner listed twice (two rows, one ID) counts once;
  * two or more candidates: no suggestion (the evidence does not say which).
GB 11643's check character catches every single substitution and every adjacent transposition, so a
typo as typed is an ID the gate rejects (kept in rejected_death); one whose check character was
recomputed passes the gate and reaches the search as an ID only the death sources name.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from jinbao.audit.findings import PROBABLE_TYPO
from jinbao.formats.fixed_width import byte_matrix

BLOCK = ("name", "gender")
#: The three parts of the 17 digits: one edit leaves at least one of them as it was.
PARTS = ((0, 6), (6, 12), (12, 17))
_KEY_TYPES = {"name": pa.string(), "gender": pa.string()}
#: Record columns copied to the finding (missing ones become nulls).
_CARRIED = ("source_feed", "death_date", "file_name", "line_no", "batch_id")
NOT_REPORTED = "not reported"
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


def _candidates(records: pa.Table, roll: pa.Table, use_threads: bool) -> tuple[np.ndarray, np.ndarray]:
    """(record row, pensioner row) of every pair sharing name, gender and one part of the 17 digits."""
    us, ps = [], []
    for i in range(len(PARTS)):
        keys = list(BLOCK) + [f"_k{i}"]
        pairs = roll.select(keys + ["_p"]).join(records.select(keys + ["_u"]), keys, join_type="inner",
                                                use_threads=use_threads)
        us.append(pairs["_u"].to_numpy())
        ps.append(pairs["_p"].to_numpy())
    u, p = np.concatenate(us).astype(np.int64), np.concatenate(ps).astype(np.int64)
    if not len(u):
        return u, p
    base = int(p.max()) + 1
    both = np.unique(u * base + p)
    return both // base, both % base


def _with_parts(table: pa.Table, ids: pa.Array) -> pa.Table:
    for i, (lo, hi) in enumerate(PARTS):
        table = table.append_column(f"_k{i}", pc.utf8_slice_codeunits(ids, lo, hi))
    return table


def _agrees(reported: pa.Array, held: pa.Array) -> pa.Array:
    same = pc.fill_null(pc.equal(reported, held), False)
    words = pc.if_else(same, pa.scalar("yes"), pa.scalar("no"))
    return pc.if_else(reported.is_null(), pa.scalar(NOT_REPORTED), words)


def probable_typos(unplaced: pa.Table, pensioners: pa.Table, *, id_column: str = "id_reported",
                   use_threads: bool = True) -> pa.Table:
    """Rows of `findings.PROBABLE_TYPO`, in the order of `unplaced`.

    `unplaced`: death records the register cannot place: `id_column` (the ID as sent), name, gender,
    own_birth_date (date32, only where the source carries a birth date of its own), division (only
    where the source carries the household division), and source_feed, death_date, file_name,
    line_no, batch_id if known.  `pensioners`: one row per person on the roll: aac002, name,
    birth_date, gender, division and last_month_paid if known.
    """
    if unplaced.num_rows == 0 or pensioners.num_rows == 0:
        return PROBABLE_TYPO.empty_table()
    reported_ids = _ids18(unplaced[id_column])
    keep = reported_ids.is_valid()
    records = _with_parts(pa.table({**{k: _column(unplaced, k, t) for k, t in _KEY_TYPES.items()},
                                    "_u": pa.array(np.arange(unplaced.num_rows, dtype=np.int64))}),
                          reported_ids).filter(keep)
    if records.num_rows == 0:
        return PROBABLE_TYPO.empty_table()
    roll_ids = _ids18(pensioners["aac002"])
    # only pensioners who share a name with some record can pair: the ID parts are cut for those alone
    names = _column(pensioners, "name", pa.string())
    near = np.flatnonzero(pc.fill_null(pc.is_in(names, value_set=pc.unique(records["name"])), False)
                          .to_numpy(zero_copy_only=False))
    rows = pa.array(near)
    roll = _with_parts(pa.table({**{k: _column(pensioners, k, t).take(rows) for k, t in _KEY_TYPES.items()},
                                 "_p": rows}), roll_ids.take(rows))
    u, p = _candidates(records, roll, use_threads)
    # a birth date of the record's own must be the pensioner's
    own = _column(unplaced, "own_birth_date", pa.date32()).take(pa.array(u))
    born = _column(pensioners, "birth_date", pa.date32()).take(pa.array(p))
    same_birth = pc.fill_null(pc.or_kleene(own.is_null(), pc.equal(own, born)), False).to_numpy(zero_copy_only=False)
    u, p = u[same_birth], p[same_birth]
    rep, rep_ok = byte_matrix(reported_ids.take(pa.array(u)), 18)
    kno, kno_ok = byte_matrix(roll_ids.take(pa.array(p)), 18)
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
    division = _column(pensioners, "division", pa.string()).take(pi)
    return pa.table({
        "id_reported": reported_ids.take(ui),
        "aac002": _column(pensioners, "aac002", pa.string()).take(pi),
        "difference": _difference(rep, kno, first, swapped),
        "name": _column(unplaced, "name", pa.string()).take(ui),
        "birth_date": _column(pensioners, "birth_date", pa.date32()).take(pi),
        "gender": _column(unplaced, "gender", pa.string()).take(ui),
        "division": division,
        "division_agrees": _agrees(_column(unplaced, "division", pa.string()).take(ui), division),
        **{k: _column(unplaced, k, PROBABLE_TYPO.field(k).type).take(ui) for k in _CARRIED},
        "last_month_paid": _column(pensioners, "last_month_paid", pa.date32()).take(pi),
    }, schema=PROBABLE_TYPO)
