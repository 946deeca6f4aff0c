"""mappings/translator.py: codes translated by the version in force, reversible, never a silent value."""
from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest
from stdnum.cn import ric

from jinbao.mappings.tables import CODES_DIR, code_table, feed_mapping, load_yaml
from jinbao.mappings.translator import translate, translate_codes, to_partner
from jinbao.quality.failures import Failures


def _all_versions():
    for path in sorted(CODES_DIR.glob("*.yaml")):
        raw = load_yaml(path)
        for v in raw["versions"]:
            yield path.stem, dt.date.fromisoformat(str(v["valid_from"]))


@pytest.mark.parametrize("name, on", list(_all_versions()))
def test_round_trip_partner_hub_partner(name, on):
    table = code_table(name, on)
    sent = pa.array(list(table.forward), pa.string())
    hub, unmapped = translate_codes(sent, table)
    back, blocked = translate_codes(hub, table, reverse=True)
    assert not any(unmapped.to_pylist()) and not any(blocked.to_pylist())
    for p, b in zip(sent.to_pylist(), back.to_pylist()):
        # Identity, except where the partner has two codes for one hub code (police 0 and 9
        # are both "unspecified" in the hub): those go back as the declared preferred code.
        assert b == p or (table.forward[p] in table.reverse and b == table.reverse[table.forward[p]]
                          and list(table.forward.values()).count(table.forward[p]) > 1)


def test_civil_affairs_gender_is_reversed():
    hub, _ = translate_codes(pa.array(["1", "2"]), code_table("civil_affairs.gender", dt.date(2026, 1, 1)))
    assert hub.to_pylist() == ["2", "1"]


def _assistance(jzlb: str) -> pa.RecordBatch:
    return pa.record_batch({"SFZH": ["11010519491231002X"], "XM": ["张三"], "SEX": ["2"], "JZLB": [jzlb],
                            "XZQH": ["110105"], "KSRQ": ["2023-06-01"], "ZZRQ": [""]})


def test_mapping_change_between_two_business_dates():
    before = feed_mapping("civil_affairs.assistance", dt.date(2023, 12, 31))
    after = feed_mapping("civil_affairs.assistance", dt.date(2024, 1, 1))
    assert "civil_affairs.assistance_category@2018.1" in before.label
    assert "civil_affairs.assistance_category@2024.1" in after.label
    f = Failures(1)
    translate(_assistance("04"), before, f)
    assert f.table().to_pylist()[0]["reason_code"] == "UNMAPPED_CODE"
    f = Failures(1)
    out = translate(_assistance("04"), after, f)
    assert f.table().num_rows == 0 and out.column("assistance_category").to_pylist() == ["04"]


def test_code_in_no_version_fails_naming_field_and_value():
    f = Failures(1)
    out = translate(_assistance("09"), feed_mapping("civil_affairs.assistance", dt.date(2026, 1, 1)), f)
    row = f.table().to_pylist()[0]
    assert (row["field"], row["reason_code"], row["value"]) == ("JZLB", "UNMAPPED_CODE", "09")
    assert "JZLB=09" in row["message"]
    assert out.column("assistance_category").to_pylist() == [None]   # never a silent value


def test_fifteen_digit_ids_are_upgraded_and_flagged():
    mapping = feed_mapping("police.death", dt.date(2026, 11, 22))
    batch = pa.record_batch({"GMSFHM": ["110105491231002", "11010519491231002x"], "XM": ["张三", "李四"],
                             "XB": ["2", "2"], "SWRQ": ["20261101"] * 2, "ZXRQ": [""] * 2, "ZXYY": ["1"] * 2,
                             "HJDZ_XZQH": ["110105"] * 2})
    out = translate(batch, mapping, Failures(2))
    upgraded = out.column("AAC002").to_pylist()[0]
    assert upgraded == "11010519491231002" + ric.calc_check_digit("11010519491231002?")  # stdnum wants a placeholder check char
    assert out.column("id_upgraded").to_pylist() == [True, False]
    assert out.column("AAC002").to_pylist()[1] == "11010519491231002X"       # x normalised to X


def test_outbound_blocks_values_without_reverse_mapping():
    mapping = feed_mapping("police.insured_status", dt.date(2026, 11, 1))
    hub = pa.table({"AAC002": ["11010519491231002X"] * 3, "AAC003": ["张三"] * 3, "AAA002": ["1", "9", "7"],
                    "insured_flag": ["1", "0", "1"], "AAB998": ["91350100M000100Y43"] * 3,
                    "last_contribution_month": pa.array([dt.date(2026, 10, 1)] * 3, pa.date32()),
                    "secret_field": ["never leaves"] * 3})
    out, blocked = to_partner(hub, mapping)
    assert out.column_names == ["GMSFHM", "XM", "XB", "CBBZ", "DWTYSHXYDM", "ZHJFNY"]   # agreed fields only
    assert out.column("XB").to_pylist()[:2] == ["1", "9"] and out.column("ZHJFNY").to_pylist()[0] == "202610"
    assert blocked.to_pylist() == [False, False, True]


@pytest.mark.parametrize("fmt, good, bad", [
    ("%Y-%m", ["2026-11", "1999-01", "2026-12"], ["2026-13", "2026-00", "2026-1", "202611", "2026-11-01", "x"]),
    ("%Y%m", ["202611", "199901", "202612"], ["202613", "202600", "20261", "2026-11", "2026111"]),
])
def test_a_month_becomes_its_first_day(fmt, good, bad):
    """hrss sends months (FFNY YYYY-MM, JFNY YYYYMM): the fast byte reader takes a format without a day,
    gives the first of the month, and reads exactly what strptime + the agreed width read."""
    from jinbao.formats.fixed_width import parse_numeric_date
    from jinbao.mappings.translator import parse_dates

    sent = pa.array(good + bad + [None], pa.string())
    dates, invalid = parse_dates(sent, fmt)
    expected = [dt.datetime.strptime(g, fmt).date() for g in good]
    assert dates.to_pylist() == expected + [None] * (len(bad) + 1)
    assert all(d.day == 1 for d in expected)
    assert invalid.to_pylist() == [False] * len(good) + [True] * len(bad) + [False]
    assert parse_numeric_date(sent, fmt) is not None             # not the strptime fallback
    assert parse_numeric_date(sent, "%m%d") is None               # a day without a year is not read here


@pytest.mark.parametrize("fmt, good, bad", [
    ("%Y年%m月%d日", ["2026年11月03日", "2024年02月29日"], ["2026年02月30日", "2026-11-03", "2026年1月3日", "2026年11月03"]),
    ("%Y年%m月%d", ["2026年11月03"], ["2026年02月30", "2026年11月3", "2026-11-03"]),
    ("%Y年%m月", ["2026年11月"], ["2026年13月", "2026-11"]),
])
def test_a_date_layout_with_chinese_literals_is_read(fmt, good, bad):
    """A partner writing 2026年11月03日 (date_format "%Y年%m月%d日"): the byte reader cannot take a
    literal wider than one byte, so strptime reads it, with the same strictness (no 02-30, no unpadded day)."""
    from jinbao.formats.fixed_width import parse_numeric_date
    from jinbao.mappings.translator import parse_dates

    sent = pa.array(good + bad + [None], pa.string())
    dates, invalid = parse_dates(sent, fmt)
    assert dates.to_pylist() == [dt.datetime.strptime(g, fmt).date() for g in good] + [None] * (len(bad) + 1)
    assert invalid.to_pylist() == [False] * len(good) + [True] * len(bad) + [False]
    assert parse_numeric_date(sent, fmt) is None                  # the strptime fallback


def test_an_absent_optional_column_is_null_and_a_present_one_is_translated():
    """CZBZ (corrections to deaths) is optional: a police.death delivery without it gives null
    death_action, with it 1/2 pass and any other value is UNMAPPED_CODE on CZBZ."""
    mapping = feed_mapping("police.death", dt.date(2026, 12, 1))
    base = {"GMSFHM": ["11010519491231002X"] * 4, "XM": ["张三"] * 4, "XB": ["1"] * 4, "SWRQ": ["20261120"] * 4,
            "ZXRQ": ["20261121"] * 4, "ZXYY": ["1"] * 4, "HJDZ_XZQH": ["110105"] * 4}
    f = Failures(4)
    hub = translate(pa.record_batch({k: pa.array(v) for k, v in base.items()}), mapping, f)
    assert hub.column("death_action").to_pylist() == [None] * 4 and f.table().num_rows == 0
    f = Failures(4)
    hub = translate(pa.record_batch({**{k: pa.array(v) for k, v in base.items()},
                                     "CZBZ": pa.array(["1", "2", "", "3"])}), mapping, f)
    assert hub.column("death_action").to_pylist() == ["1", "2", None, None]
    assert f.table().select(["row", "field", "reason_code", "value"]).to_pylist() == [
        {"row": 3, "field": "CZBZ", "reason_code": "UNMAPPED_CODE", "value": "3"}]
    # Before the agreement's 2026-12-01 the mapping in force has no CZBZ (version 2024.1).
    assert "CZBZ" not in {r.partner for r in feed_mapping("police.death", dt.date(2026, 11, 30)).fields}
    assert feed_mapping("police.death", dt.date(2026, 12, 1)).label.startswith("police.death@2026.12[")
