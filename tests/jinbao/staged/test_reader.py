"""jinbao/staged/reader.py: the header checked, every byte transcoded, every record with its own line number."""
from __future__ import annotations

import numpy as np
import pytest

from jinbao.staged import reader
from jinbao.staged.reader import open_csv
from jinbao.staged.refused import BadInput, DeliveryRefused
from tests.deliveries import POLICE_DEATH, death_row, write_delivery

COLUMNS = ["ID", "NAME", "CODE"]
NAME = "police.death_20261122_000001.csv"


def _file(tmp_path, data: bytes):
    path = tmp_path / NAME
    path.write_bytes(data)
    return path


def _read(path, encoding="UTF-8", expected=COLUMNS, required=("ID",)):
    stream = open_csv(path, encoding, list(expected), list(required))
    blocks = list(stream.blocks())
    rows, lines = [], []
    for block, block_lines in blocks:
        assert block.num_rows == len(block_lines)
        rows += block.to_pylist()
        lines += [int(n) for n in block_lines]
    return stream, rows, lines, blocks


def test_missing_required_column_names_file_line_and_field(tmp_path):
    path = _file(tmp_path, b"ID,CODE\n1,2\n")
    with pytest.raises(BadInput) as exc:
        open_csv(path, "UTF-8", COLUMNS, ["ID", "NAME"])
    err = exc.value
    assert isinstance(err, DeliveryRefused) and err.reason_code == "HEADER_MISMATCH"
    assert (err.line, err.field) == (1, "NAME")
    assert str(err).startswith(f"{NAME}, line 1, field NAME: HEADER_MISMATCH") and "'NAME'" in err.detail


def test_the_real_police_header_without_swrq(tmp_path):
    path = write_delivery(tmp_path, "police.death", [death_row(1)], columns=[c for c in POLICE_DEATH if c != "SWRQ"])
    with pytest.raises(BadInput) as exc:
        open_csv(path, "GB18030", POLICE_DEATH, POLICE_DEATH)
    assert (exc.value.line, exc.value.field, exc.value.reason_code) == (1, "SWRQ", "HEADER_MISMATCH")


@pytest.mark.parametrize("data", [b"", b"\n1,2,3\n"])
def test_empty_header_is_a_header_mismatch(tmp_path, data):
    with pytest.raises(BadInput) as exc:
        open_csv(_file(tmp_path, data), "UTF-8", COLUMNS, ["ID"])
    assert (exc.value.reason_code, exc.value.line, exc.value.field) == ("HEADER_MISMATCH", 1, "ID")


def test_quoted_header_and_values(tmp_path):
    stream, rows, lines, _ = _read(_file(tmp_path, b'"ID","NAME","CODE"\n"1","a,b",3\n'))
    assert stream.columns == COLUMNS
    assert rows == [{"ID": "1", "NAME": "a,b", "CODE": "3"}] and lines == [2]


def test_extra_columns_are_not_read_and_values_stay_strings(tmp_path):
    stream, rows, _, _ = _read(_file(tmp_path, b"ID,SECRET,NAME,CODE\n007,x,,2026-01-01\n"))
    assert stream.columns == ["ID", "SECRET", "NAME", "CODE"]
    assert rows == [{"ID": "007", "NAME": "", "CODE": "2026-01-01"}]      # no int, no date, no null


def test_gb18030_is_transcoded(tmp_path):
    data = "ID,NAME,CODE\n1,张三,甲\n2,欧阳娜娜,乙\n".encode("gb18030")
    _, rows, lines, _ = _read(_file(tmp_path, data), "GB18030")
    assert [r["NAME"] for r in rows] == ["张三", "欧阳娜娜"] and [r["CODE"] for r in rows] == ["甲", "乙"]
    assert lines == [2, 3]


@pytest.mark.parametrize("bad, expected", [(b"\xff", "\ufffd"),            # never a GB18030 byte
                                           (b"\x81", "\ufffd"),            # a lead byte cut short by the comma
                                           (b"\x81\x30", "\ufffd0")])      # a four-byte sequence cut short
def test_an_invalid_gb18030_byte_becomes_a_replacement_character_in_its_own_field(tmp_path, bad, expected):
    data = "ID,NAME,CODE\n1,张".encode("gb18030") + bad + ",甲\n2,李四,乙\n".encode("gb18030")
    stream, rows, lines, _ = _read(_file(tmp_path, data), "GB18030")
    assert rows == [{"ID": "1", "NAME": "张" + expected, "CODE": "甲"}, {"ID": "2", "NAME": "李四", "CODE": "乙"}]
    assert lines == [2, 3] and stream.malformed == []      # the damage stays in its field: the comma survives


def test_multibyte_characters_split_across_read_chunks(tmp_path, monkeypatch):
    monkeypatch.setattr(reader, "READ_CHUNK", 16)            # chunks end inside characters again and again
    text = "ID,NAME,CODE\n" + "".join(f"{i},欧阳{i}娜,€{i}\n" for i in range(300))
    _, rows, lines, _ = _read(_file(tmp_path, text.encode("gb18030")), "GB18030")
    assert rows == [{"ID": str(i), "NAME": f"欧阳{i}娜", "CODE": f"€{i}"} for i in range(300)]
    assert lines == list(range(2, 302))


@pytest.mark.parametrize("encoding, bom", [("UTF-8", b"\xef\xbb\xbf"), ("GB18030", "\ufeff".encode("gb18030"))])
def test_byte_order_mark(tmp_path, encoding, bom):
    data = bom + "ID,NAME,CODE\n1,张三,3\n".encode(encoding)
    stream, rows, lines, _ = _read(_file(tmp_path, data), encoding)
    assert stream.columns == COLUMNS
    assert rows == [{"ID": "1", "NAME": "张三", "CODE": "3"}] and lines == [2]


@pytest.mark.parametrize("encoding", ["UTF-8", "GB18030"])
def test_crlf_line_ends(tmp_path, encoding):
    data = "ID,NAME,CODE\r\n1,张三,3\r\n2,李四,4\r\n".encode(encoding)
    stream, rows, lines, _ = _read(_file(tmp_path, data), encoding)
    assert stream.columns == COLUMNS
    assert rows == [{"ID": "1", "NAME": "张三", "CODE": "3"}, {"ID": "2", "NAME": "李四", "CODE": "4"}]
    assert lines == [2, 3] and stream.malformed == []


def test_last_line_without_newline(tmp_path):
    _, rows, lines, _ = _read(_file(tmp_path, b"ID,NAME,CODE\n1,a,b\n2,c,d"))
    assert [r["ID"] for r in rows] == ["1", "2"] and lines == [2, 3]


def test_empty_lines_inside_the_file_are_malformed_lines_but_not_those_at_the_end(tmp_path):
    data = b"ID,NAME,CODE\n1,a,x\n\n2,b,y\n\r\n\n3,c,z\n\n\r\n"
    stream, rows, lines, _ = _read(_file(tmp_path, data))
    assert [r["ID"] for r in rows] == ["1", "2", "3"] and lines == [2, 4, 7]
    assert sorted(stream.malformed) == [(3, "FIELD_COUNT", "empty line"), (5, "FIELD_COUNT", "empty line"),
                                        (6, "FIELD_COUNT", "empty line")]


def test_a_row_of_empty_fields_is_a_record(tmp_path):
    _, rows, lines, _ = _read(_file(tmp_path, b"ID,NAME,CODE\n,,\n,a,\n"))
    assert rows == [{"ID": "", "NAME": "", "CODE": ""}, {"ID": "", "NAME": "a", "CODE": ""}] and lines == [2, 3]


def test_a_stray_quote_never_swallows_the_following_lines(tmp_path):
    data = 'ID,NAME,CODE\n1,"a,b",3\n2,"x,3\n4,5,6\n7,a"b,"c\n8,"O""Brien",9\n10, "sp",11\n12,13,14\n'.encode()
    stream, rows, lines, _ = _read(_file(tmp_path, data))
    assert [r["ID"] for r in rows] == ["1", "4", "8", "12"] and lines == [2, 4, 6, 8]
    assert rows[2]["NAME"] == 'O"Brien'
    assert sorted(stream.malformed) == [(3, "QUOTE_INVALID", "a double quote out of place"),
                                        (5, "QUOTE_INVALID", "a double quote out of place"),
                                        (7, "QUOTE_INVALID", "a double quote out of place")]


def test_lone_cr_line_ends(tmp_path):
    _, rows, lines, _ = _read(_file(tmp_path, b"ID,NAME,CODE\r1,a,x\r2,b,y\r"))
    assert [r["ID"] for r in rows] == ["1", "2"] and lines == [2, 3]


def test_a_column_named_twice_is_refused_naming_it(tmp_path):
    with pytest.raises(BadInput) as exc:
        _read(_file(tmp_path, b"ID,NAME,ID,CODE\n1,a,1,x\n"))
    assert exc.value.reason_code == "HEADER_MISMATCH" and exc.value.field == "ID" and exc.value.line == 1


def test_header_only_gives_no_records(tmp_path):
    stream, rows, lines, blocks = _read(_file(tmp_path, b"ID,NAME,CODE\n"))
    assert (rows, lines, blocks, stream.malformed) == ([], [], [], [])


def test_malformed_rows_come_back_with_their_line_numbers(tmp_path):
    data = b"ID,NAME,CODE\n1,a,x\n2,b\n3,c,z\n4,d,w,extra\n5,e,v\n"
    stream, rows, lines, _ = _read(_file(tmp_path, data))
    assert [r["ID"] for r in rows] == ["1", "3", "5"] and lines == [2, 4, 6]
    assert stream.malformed == [(3, "FIELD_COUNT", "expected 3 fields, got 2"),
                                (5, "FIELD_COUNT", "expected 3 fields, got 4")]


@pytest.mark.parametrize("encoding", ["UTF-8", "GB18030"])
def test_line_numbers_across_many_small_blocks(tmp_path, monkeypatch, encoding):
    monkeypatch.setattr(reader, "BLOCK_SIZE", 64)
    lines_out, expect_rows, expect_malformed = ["ID,NAME,CODE"], {}, []
    for i in range(1, 400):
        line = len(lines_out) + 1
        if i % 11 == 0:
            lines_out.append(f"{i},short")                            # wrong field count
            expect_malformed.append(line)
        elif i % 13 == 0:
            lines_out.append("")                                      # blank: a malformed line
            expect_malformed.append(line)
        else:
            lines_out.append(f"{i},名{i},{line}")                      # CODE carries its own line number
            expect_rows[line] = str(i)
    data = ("\n".join(lines_out) + "\n").encode(encoding)
    stream, rows, lines, blocks = _read(_file(tmp_path, data), encoding)
    assert len(blocks) > 20
    assert lines == sorted(expect_rows) and [r["ID"] for r in rows] == [expect_rows[n] for n in lines]
    assert [int(r["CODE"]) for r in rows] == lines
    assert sorted(m[0] for m in stream.malformed) == expect_malformed
    assert all(isinstance(b[1], np.ndarray) and b[1].dtype == np.int64 for b in blocks)


def test_rows_and_malformed_account_for_every_line(tmp_path, monkeypatch):
    """What the engine counts as received: every line after the header, exactly once."""
    monkeypatch.setattr(reader, "BLOCK_SIZE", 100)
    rows_in = [death_row(i) for i in range(120)]
    path = write_delivery(tmp_path, "police.death", rows_in)
    with open(path, "ab") as fh:
        fh.write("11010519500101001X,王五\n".encode("gb18030"))
    stream, rows, lines, _ = _read(path, "GB18030", POLICE_DEATH, POLICE_DEATH)
    assert rows == rows_in and lines == list(range(2, 122))
    assert stream.malformed == [(122, "FIELD_COUNT", "expected 7 fields, got 2")]


def test_a_header_longer_than_the_read_buffer(tmp_path):
    extra = [f"EXTRA_COLUMN_{i:04d}" for i in range(600)]        # a wide export: extra columns are allowed
    header = ",".join(extra + COLUMNS)
    assert len(header) > 8192
    data = (header + "\n" + ",".join(["x"] * len(extra) + ["1", "a", "b"]) + "\n").encode()
    stream, rows, lines, _ = _read(_file(tmp_path, data))
    assert rows == [{"ID": "1", "NAME": "a", "CODE": "b"}] and lines == [2]
