"""Finding 5 (probable typos) and the exact ID match that leaves the records it looks at.

IDs are built with the hub's own GB 11643 arithmetic (with_check_char), so "valid" here means what the
gate means; a typo'd ID is the valid one with one character replaced or two adjacent ones swapped.
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pytest

from jinbao.audit.findings import PROBABLE_TYPO
from jinbao.audit.matching import match_ids
from jinbao.audit.typos import probable_typos
from jinbao.formats.citizen_id import valid_checksum, with_check_char

BIRTH = dt.date(1950, 3, 7)
PAID = dt.date(2026, 10, 1)


def pid(first17: str) -> str:
    return with_check_char(pa.array([first17])).to_pylist()[0]


def replace(s: str, pos: int, char: str) -> str:
    """`s` with the character at 1-based position `pos` replaced."""
    return s[:pos - 1] + char + s[pos:]


def swap(s: str, pos: int) -> str:
    """`s` with the characters at 1-based positions pos and pos+1 swapped."""
    i = pos - 1
    return s[:i] + s[i + 1] + s[i] + s[i + 2:]


def other_digit(c: str) -> str:
    return "7" if c != "7" else "2"


def pensioner(aac002: str, name: str = "张伟", birth: dt.date = BIRTH, gender: str = "1",
              division: str = "110105", last_paid: dt.date = PAID) -> dict:
    return {"aac002": aac002, "name": name, "birth_date": birth, "gender": gender, "division": division,
            "last_month_paid": last_paid}


def record(id_reported: str | None, name: str = "张伟", birth: dt.date = BIRTH, gender: str = "1",
           division: str = "110105", line_no: int = 2) -> dict:
    return {"id_reported": id_reported, "name": name, "own_birth_date": birth, "gender": gender,
            "division": division, "source_feed": "police.death", "death_date": dt.date(2026, 6, 3),
            "batch_id": 41, "line_no": line_no}


ROLL_SCHEMA = pa.schema([("aac002", pa.string()), ("name", pa.string()), ("birth_date", pa.date32()),
                         ("gender", pa.string()), ("division", pa.string()), ("last_month_paid", pa.date32())])
RECORD_SCHEMA = pa.schema([("id_reported", pa.string()), ("name", pa.string()), ("own_birth_date", pa.date32()),
                           ("gender", pa.string()), ("division", pa.string()), ("source_feed", pa.string()),
                           ("death_date", pa.date32()), ("batch_id", pa.int64()), ("line_no", pa.int64())])


def typos(records: list[dict], pensioners: list[dict]) -> list[dict]:
    out = probable_typos(pa.Table.from_pylist(records, RECORD_SCHEMA), pa.Table.from_pylist(pensioners, ROLL_SCHEMA))
    assert out.schema == PROBABLE_TYPO
    return out.to_pylist()


ID = pid("11010519500307101")          # a man's ID (17th digit odd)


# --- probable typos -------------------------------------------------------------------------------------

def test_one_digit_replaced_is_linked_with_its_evidence():
    sent = replace(ID, 12, other_digit(ID[11]))
    [found] = typos([record(sent)], [pensioner(ID), pensioner(pid("11010519500307103"))])
    assert found == {"id_reported": sent, "aac002": ID, "difference": f"digit 12: {sent[11]} -> {ID[11]}",
                     "name": "张伟", "birth_date": BIRTH, "gender": "1", "division": "110105",
                     "division_agrees": "yes", "source_feed": "police.death", "death_date": dt.date(2026, 6, 3),
                     "file_name": None, "batch_id": 41, "line_no": 2, "last_month_paid": PAID}


@pytest.mark.parametrize("pos", [1, 6, 9, 17])
def test_a_digit_replaced_anywhere(pos):
    sent = replace(ID, pos, other_digit(ID[pos - 1]))
    [found] = typos([record(sent)], [pensioner(ID)])
    assert found["aac002"] == ID and found["difference"] == f"digit {pos}: {sent[pos - 1]} -> {ID[pos - 1]}"


def test_adjacent_digits_swapped():
    first17 = "11010519500307151"
    assert first17[12] != first17[13]
    real = pid(first17)
    sent = swap(real, 13)
    [found] = typos([record(sent)], [pensioner(real)])
    assert found["aac002"] == real and found["difference"] == "digits 13-14 swapped"


def test_two_edits_are_not_a_typo():
    first17 = "11010519500307151"
    real = pid(first17)
    a, b = real[12], real[13]                                              # "1", "5"
    for pair in (b + "9", "9" + a, "90"):                                  # "15" -> "59", "91", "90": not a swap
        assert typos([record(real[:12] + pair + real[14:])], [pensioner(real)]) == []
    assert real[12] != real[14]
    assert typos([record(real[:12] + real[14] + real[13] + real[12] + real[15:])], [pensioner(real)]) == []  # 13<->15
    assert typos([record(replace(replace(real, 2, "7"), 9, other_digit(real[8])))], [pensioner(real)]) == []


def test_the_check_character_swapped_with_the_17th_digit():
    real = next(i for i in (pid(f"1101051950030710{d}") for d in range(10)) if i[16] != i[17])
    [found] = typos([record(swap(real, 17))], [pensioner(real)])
    assert found["difference"] == "digits 17-18 swapped"


def test_wrong_check_digit():
    wrong = other_digit(ID[17]) if ID[17] != "X" else "3"
    sent = ID[:17] + wrong
    assert not valid_checksum(pa.array([sent]))[0]
    [found] = typos([record(sent)], [pensioner(ID)])
    assert found["aac002"] == ID and found["difference"] == f"digit 18: {wrong} -> {ID[17]}"


def x_id() -> str:
    """A valid ID whose check character is X."""
    for seq in range(100, 1000):
        candidate = pid(f"11010519500307{seq:03d}")
        if candidate.endswith("X"):
            return candidate
    raise AssertionError("no X in 900 sequence numbers")


def test_x_check_characters_count_like_digits():
    real = x_id()
    [found] = typos([record(real[:17] + "5")], [pensioner(real)])          # X sent as 5
    assert found["aac002"] == real and found["difference"] == "digit 18: 5 -> X"
    [found] = typos([record(swap(real, 17))], [pensioner(real)])           # ...dX sent as ...Xd
    assert found["aac002"] == real and found["difference"] == "digits 17-18 swapped"
    plain = pid("11010519500307101")
    assert not plain.endswith("X")
    [found] = typos([record(plain[:17] + "X")], [pensioner(plain)])        # a digit sent as X
    assert found["difference"] == f"digit 18: X -> {plain[17]}"
    [found] = typos([record(real[:17] + "x")], [pensioner(real)])          # lowercase x: one character off
    assert found["difference"] == "digit 18: x -> X"


def test_two_candidate_pensioners_no_suggestion():
    """The sent ID is one edit from two pensioners with the same name, birth date, gender and division."""
    sent = ID[:17] + other_digit(ID[17])                                    # invalid: wrong check digit
    # Another valid ID one digit away from `sent` (its check character is the one sent).
    twin = next(c for c in (replace(sent, p, str(d)) for p in range(1, 18) for d in range(10))
                if c != sent and valid_checksum(pa.array([c]))[0])
    assert typos([record(sent)], [pensioner(ID), pensioner(twin)]) == []
    # Either one alone would be suggested.
    assert [t["aac002"] for t in typos([record(sent)], [pensioner(twin)])] == [twin]


def test_another_pensioner_with_the_same_fields_but_a_distant_id_does_not_stop_the_suggestion():
    """Candidates are pensioners with the same four fields AND an ID one edit away; a namesake born
    the same day in the same division with an unrelated ID is no candidate."""
    sent = replace(ID, 12, other_digit(ID[11]))
    [found] = typos([record(sent)], [pensioner(ID), pensioner(pid("11010519500307999"))])
    assert found["aac002"] == ID


@pytest.mark.parametrize("field, value", [("name", "张玮"), ("birth", dt.date(1950, 3, 8)), ("gender", "2")])
def test_an_id_one_edit_away_but_another_field_differs_no_suggestion(field, value):
    sent = replace(ID, 12, other_digit(ID[11]))
    assert typos([record(sent)], [pensioner(ID, **{field: value})]) == []


def test_the_division_is_evidence_not_a_condition():
    """Health's place of death and a cremation (no division at all) are no household division."""
    sent = replace(ID, 12, other_digit(ID[11]))
    [other] = typos([record(sent)], [pensioner(ID, division="110106")])
    [unknown] = typos([record(sent, division=None)], [pensioner(ID)])
    assert (other["aac002"], other["division"], other["division_agrees"]) == (ID, "110106", "no")
    assert (unknown["aac002"], unknown["division_agrees"]) == (ID, "not reported")


@pytest.mark.parametrize("pos", [7, 10, 13, 14])
def test_a_typo_in_the_birth_date_digits_is_linked_when_the_record_has_no_birth_date_of_its_own(pos):
    """Police death records carry no birth date: the one inside the mistyped ID is not the person's."""
    sent = replace(ID, pos, other_digit(ID[pos - 1]))
    [found] = typos([record(sent, birth=None)], [pensioner(ID)])
    assert (found["aac002"], found["birth_date"]) == (ID, BIRTH)
    # a record that carries its own birth date (a health certificate) must carry the pensioner's
    assert typos([record(sent, birth=dt.date(1950, 3, 8))], [pensioner(ID)]) == []
    [found] = typos([record(sent, birth=BIRTH)], [pensioner(ID)])
    assert found["aac002"] == ID


def test_a_common_name_is_no_reason_to_compare_every_pair():
    """Many namesakes share the name and gender; only IDs sharing a third of the digits are compared,
    and the one a single edit away is found among them."""
    sent = replace(ID, 12, other_digit(ID[11]))
    namesakes = [pensioner(pid(f"{c}0105" + f"19{y}0101" + f"{s:03d}")) for c in ("44", "31") for y in range(30, 60)
                 for s in (1, 3)]
    [found] = typos([record(sent)], [pensioner(ID)] + namesakes)
    assert found["aac002"] == ID


def test_the_id_as_sent_is_on_the_roll_no_typo():
    assert typos([record(ID)], [pensioner(ID)]) == []
    # The roll may hold an invalid ID (legacy data) one edit from the one sent: the pensioner with the
    # very ID sent is a candidate too, so there are two and nothing is suggested ...
    neighbour = replace(ID, 12, other_digit(ID[11]))
    assert typos([record(ID)], [pensioner(ID), pensioner(neighbour)]) == []
    # ... while without it the neighbour would be.
    [found] = typos([record(ID)], [pensioner(neighbour)])
    assert found["aac002"] == neighbour and found["difference"] == f"digit 12: {ID[11]} -> {neighbour[11]}"


def test_one_pensioner_listed_twice_is_one_candidate():
    sent = replace(ID, 12, other_digit(ID[11]))
    [found] = typos([record(sent)], [pensioner(ID), pensioner(ID)])
    assert found["aac002"] == ID


def test_empty_inputs():
    sent = replace(ID, 12, other_digit(ID[11]))
    assert typos([], [pensioner(ID)]) == []
    assert typos([record(sent)], []) == []
    assert typos([], []) == []
    empty = probable_typos(pa.table({}), pa.table({}))
    assert empty.schema == PROBABLE_TYPO and empty.num_rows == 0


def test_ids_that_cannot_be_one_edit_away_and_missing_fields_are_skipped():
    sent = replace(ID, 12, other_digit(ID[11]))
    assert typos([record(None), record(sent[:17]), record(sent + "1"), record("１" + sent[1:]),
                  record(sent, name=None)], [pensioner(ID)]) == []


def test_several_records_in_their_order_and_only_the_fields_given():
    a, b = pid("11010519500307101"), pid("31011519611224202")
    sent_a, sent_b = replace(a, 3, other_digit(a[2])), swap(b, 9) if b[8] != b[9] else swap(b, 10)
    recs = [record(sent_b, name="李娜", birth=dt.date(1961, 12, 24), gender="2", division="310115", line_no=9),
            record("000000000000000000", line_no=10), record(sent_a, line_no=11)]
    roll = [pensioner(a), pensioner(b, name="李娜", birth=dt.date(1961, 12, 24), gender="2", division="310115",
                                    last_paid=dt.date(2026, 11, 1))]
    found = typos(recs, roll)
    assert [(t["line_no"], t["aac002"], t["last_month_paid"]) for t in found] == [
        (9, b, dt.date(2026, 11, 1)), (11, a, PAID)]
    # Only what the typo search needs: no source_feed / death_date / batch / line, no last month paid.
    bare = probable_typos(pa.Table.from_pylist(recs, RECORD_SCHEMA).select(["id_reported", "name", "own_birth_date",
                                                                            "gender", "division"]),
                          pa.Table.from_pylist(roll, ROLL_SCHEMA).drop_columns(["last_month_paid"]))
    assert bare.schema == PROBABLE_TYPO and bare["aac002"].to_pylist() == [b, a]
    assert bare["line_no"].null_count == 2 and bare["last_month_paid"].null_count == 2


def test_planted_typos_in_a_generated_roll_found_exactly(tmp_path):
    """The benchmark's generator at a small size: every planted typo linked to its pensioner, nothing else."""
    import pyarrow.parquet as pq

    from bench.death_match import ROLL_COLUMNS, build

    facts = build(people=30_000, deaths=4_000, share=0.25, folder=tmp_path, seed=3)
    roll, deaths = pq.read_table(tmp_path / "roll.parquet"), pq.read_table(tmp_path / "deaths.parquet")
    found = match_ids(deaths, roll, columns=ROLL_COLUMNS)
    assert found.matched.num_rows == facts["matched"]
    assert found.unmatched.num_rows == facts["typos"] + facts["strangers"]
    got = probable_typos(found.unmatched, roll, id_column="aac002").select(["line_no", "aac002"]).sort_by("line_no")
    assert got.equals(pq.read_table(tmp_path / "typos.parquet").sort_by("line_no"))


# --- the exact match ------------------------------------------------------------------------------------

def deaths_table(ids: list[str | None]) -> pa.Table:
    return pa.table({"aac002": pa.array(ids, pa.string()), "name": [f"n{i}" for i in range(len(ids))],
                     "line_no": pa.array(range(2, len(ids) + 2), pa.int64())})


def roll_table(ids: list[str]) -> pa.Table:
    return pa.table({"aac002": pa.array(ids, pa.string()), "name": [f"r{i}" for i in range(len(ids))],
                     "last_month_paid": pa.array([dt.date(2026, 1 + i % 12, 1) for i in range(len(ids))]),
                     "months_paid": pa.array([12 - i % 12 for i in range(len(ids))], pa.int8())})


IDS = [pid(f"1101051950030710{d}") for d in range(10)]


def test_match_ids_splits_in_order_with_the_roll_columns():
    deaths = deaths_table([IDS[3], IDS[0] + "", None, IDS[9], IDS[3], IDS[3][:17] + "x", "123"])
    roll = roll_table(IDS[:5])
    found = match_ids(deaths, roll)
    assert found.matched.column_names == ["aac002", "name", "line_no", "name_roll", "last_month_paid", "months_paid"]
    assert found.matched.select(["line_no", "name_roll", "months_paid"]).to_pylist() == [
        {"line_no": 2, "name_roll": "r3", "months_paid": 9}, {"line_no": 3, "name_roll": "r0", "months_paid": 12},
        {"line_no": 6, "name_roll": "r3", "months_paid": 9}]
    assert found.unmatched.equals(deaths.take([2, 3, 5, 6]))
    only = match_ids(deaths, roll, columns=["last_month_paid"])
    assert only.matched.column_names == ["aac002", "name", "line_no", "last_month_paid"]


def test_match_ids_chunked_inputs_and_ids_of_other_lengths():
    """Arrow tables come in chunks; a 15-digit ID on the roll (not 18 bytes) still matches exactly."""
    old = "110105500307101"
    deaths = pa.concat_tables([deaths_table([IDS[1], old]), deaths_table([IDS[7], IDS[2]])])
    roll = pa.concat_tables([roll_table(IDS[:3]), roll_table(IDS[5:8])])
    assert roll["aac002"].num_chunks == 2
    assert match_ids(deaths, roll).matched["aac002"].to_pylist() == [IDS[1], IDS[7], IDS[2]]
    with_old = pa.concat_tables([roll, roll_table([old])])
    assert match_ids(deaths, with_old).matched["aac002"].to_pylist() == [IDS[1], old, IDS[7], IDS[2]]


def test_match_ids_refuses_a_roll_with_an_id_twice():
    with pytest.raises(ValueError, match="one row per person"):
        match_ids(deaths_table([IDS[1], IDS[2]]), roll_table([IDS[1], IDS[1], IDS[2]]))
    # A duplicate no death record names is no matter.
    assert match_ids(deaths_table([IDS[2]]), roll_table([IDS[1], IDS[1], IDS[2]])).matched.num_rows == 1


def test_match_ids_empty():
    roll = roll_table(IDS)
    found = match_ids(deaths_table([]), roll)
    assert found.matched.num_rows == 0 and found.unmatched.num_rows == 0
    assert "last_month_paid" in found.matched.column_names
    found = match_ids(deaths_table([IDS[1]]), roll.slice(0, 0))
    assert found.matched.num_rows == 0 and found.unmatched.num_rows == 1
    found = match_ids(deaths_table([IDS[1], None]), roll_table(IDS[2:]))      # nothing in common
    assert found.matched.num_rows == 0 and found.unmatched.num_rows == 2


def test_match_ids_at_scale_agrees_with_a_dictionary():
    rng = np.random.default_rng(5)
    ids = with_check_char(pa.array([f"11010519{y:02d}0101{s:03d}" for y, s in
                                    zip(rng.integers(30, 70, 20_000), rng.integers(0, 1000, 20_000))])).to_pylist()
    ids = list(dict.fromkeys(ids))
    roll = roll_table(ids[:15_000])
    asked = [ids[i] for i in rng.integers(0, len(ids), 5_000)]
    found = match_ids(deaths_table(asked), roll, columns=["name"])
    where = {v: i for i, v in enumerate(ids[:15_000])}
    assert found.matched["name_roll"].to_pylist() == [f"r{where[a]}" for a in asked if a in where]
    assert found.unmatched["aac002"].to_pylist() == [a for a in asked if a not in where]
