"""jinbao/audit/render*.py and full_ids.py: the CSVs, the workbook, the page and the full-ID export of a hand-built Report
with rows of every kind (tests/jinbao/audit/report_sample.py).

Every file a person opens is read back (csv, openpyxl, an HTML parser) and checked for what it must
show (the stop-payment list first, exact amounts, totals by division, masked IDs, feeds by their
titles, formats) and what it must not (a full ID anywhere outside the full-ID workbook, a feed code
outside a partner's file name, a fetch from the network, a formula from a source's text).
tests/jinbao/audit/test_report_page.py opens the page in headless Chromium.
"""
from __future__ import annotations

import base64
import csv
import datetime as dt
import hashlib
import io
import re
import subprocess
import zipfile
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import openpyxl
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from jinbao.audit import findings
from jinbao.audit.full_ids import KEPT, SEALED, recipient_for, write_full_ids
from jinbao.audit.requester import AIRFLOW_LOGIN, OS_USER, ExportRefused, Requester
from jinbao.audit.render import (COLUMNS, DESCRIPTIONS, FULL_IDS, KIND_WORDS, PAGE, WORKBOOK, clean_text,
                                 feed_titles, headline, masked_difference, reason_text, source_names, stop_headline,
                                 write_report)
from jinbao.audit.render_excel import (DATE_FORMAT, FLAG_FILL, MONTH_FORMAT, MONTHLY, OVERPAID, OVERPAID_HIGH,
                                       OVERPAID_LOW, PEOPLE, ROLL_REJECTED, SUMMARY, TO_STOP, YUAN_FORMAT,
                                       sheet_title)
from jinbao.audit.render_html import CSS, SCRIPT
from jinbao.display import display_width
from jinbao.exchange_zone.cms import CMSError
from jinbao.exchange_zone.envelope import decrypt
from jinbao.keys import auditor_cert_path
from jinbao.privacy import mask_id
from tests.jinbao.audit import report_sample as s

#: An 18-character citizen ID in clear (as tests/conftest.py scans logs for).
UNMASKED_ID = re.compile(r"(?<![0-9A-Za-z*])[1-9]\d{16}[\dX](?![0-9A-Za-z])")
MASKED = re.compile(r"^\d{6}\*{8}[\dX]{4}$")


def _texts(path: Path) -> str:
    """Everything a file holds as text (an .xlsx: every XML part of the zip)."""
    if path.suffix == ".xlsx":
        with zipfile.ZipFile(path) as z:
            return "\n".join(z.read(n).decode("utf-8") for n in z.namelist())
    return path.read_bytes().decode("utf-8-sig")


def _assert_no_full_id(path: Path) -> None:
    text = _texts(path)
    found = UNMASKED_ID.search(text)
    assert found is None, f"{path.name} holds an unmasked ID at {found.start() if found else 0}"
    for cid in s.ALL_IDS:
        assert cid not in text, f"{path.name} holds a full ID"


@pytest.fixture
def written(tmp_path):
    folder = tmp_path / "reports" / "deaths" / "2026-11"
    return folder, write_report(s.report(), folder)


def _csv(path: Path) -> list[dict]:
    return list(csv.DictReader(io.StringIO(path.read_bytes().decode("utf-8-sig"))))


def _assert_no_feed_code(text: str, where: str) -> None:
    """Feeds appear by their titles; a code only inside a partner's delivery name (which starts with it)."""
    for row in (r for rows in s.DATA.values() for r in rows):
        name = row.get("file_name")
        if name:
            text = text.replace(clean_text(name), "")
    for code in s.TITLES:
        assert code not in text, f"{where} shows the feed code {code}"


# ---------------------------------------------------------------------------------------------------
# masking


def test_masking_keeps_six_and_four():
    assert mask_id("11010519400101002X") == "110105********002X"
    assert mask_id("11010519400101002") == "110105*******1002"      # a malformed ID as sent: masked too
    assert mask_id("123456") == "******" and mask_id(None) is None
    assert masked_difference("digit 12: 3 -> 8", 18) == "digit 12: * -> *"    # inside the masked part
    assert masked_difference("digit 16: 3 -> 8", 18) == "digit 16: 3 -> 8"    # shown anyway (last four)
    assert masked_difference("digits 12-13 swapped", 18) == "digits 12-13 swapped"
    assert display_width("张三 ab") == 7


def test_feeds_by_their_titles_and_reasons_with_words():
    titles = feed_titles()
    for code, title in s.TITLES.items():
        assert titles[code] == title, "the title of the feed's declaration"
    assert source_names("police.death, civil_affairs.cremation", titles) == \
        "公安死亡人员信息 Police death registrations; 民政火化信息 Civil affairs cremations"
    assert source_names("no.such_feed", titles) == "no.such_feed"            # an unknown code as it is
    assert source_names(None, titles) is None
    assert reason_text("USCC_CHECKSUM") == "统一社会信用代码校验位错误 USCC_CHECKSUM"
    assert reason_text(f"SOMETHING_NEW {s.ZHANG}") == f"SOMETHING_NEW {mask_id(s.ZHANG)}"


def test_every_kind_has_columns_words_and_a_description():
    assert list(COLUMNS) == list(findings.KINDS) and list(DESCRIPTIONS) == list(findings.KINDS)
    for kind, schema in findings.KINDS.items():
        fields = {c.field for c in COLUMNS[kind]} - {"division_name"}
        assert fields <= set(schema.names), kind
        assert set(schema.names) - fields <= {"batch_id"}, f"{kind} leaves out {set(schema.names) - fields}"
        if "file_name" in schema.names:
            assert {"file_name", "line_no"} <= fields, kind
    enums = {"reported": {"death", "withdrawn", "emigration", "duplicate registration", "other deregistration",
                          "dated after the report month"},
             "status": {"new", "still open", "resolved"}, "why": {"payments stopped", "death withdrawn"},
             "division_agrees": {"yes", "no", "not reported"},
             "kind": {"dates differ", "withdrawn but still reported", "name differs", "gender differs"}}
    for values in enums.values():
        assert values <= set(KIND_WORDS)


# ---------------------------------------------------------------------------------------------------
# CSV


def test_one_csv_per_kind_with_bom_header_masked_ids_and_exact_amounts(written):
    folder, paths = written
    assert set(paths) == set(findings.KINDS) | {WORKBOOK, PAGE}
    for kind in findings.KINDS:
        path = paths[kind]
        assert path.parent == folder and path.name == f"deaths-2026-11-{kind}.csv"
        data = path.read_bytes()
        assert data.startswith(b"\xef\xbb\xbf"), "UTF-8 with BOM, so Excel reads Chinese right"
        header = next(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
        assert header == [c.label for c in COLUMNS[kind]]
        assert len(_csv(path)) == len(s.DATA[kind]), kind
        _assert_no_full_id(path)
        _assert_no_feed_code(data.decode("utf-8-sig"), path.name)

    stop = _csv(paths["stop_payment"])
    assert [r["公民身份号码 citizen ID"] for r in stop] == [mask_id(r["aac002"]) for r in s.STOP]
    assert sum(Decimal(r["月发放金额(元) monthly amount (yuan)"]) for r in stop) == s.MONTHLY
    assert stop[1]["报告来源 reported by"] == "; ".join(s.TITLES[f] for f in (s.POLICE, s.HEALTH, s.CREMATION))
    assert [r["被拒收的发放行 roll rows rejected"] for r in stop] == ["0", "0", "1", "0", "0"]

    paid = _csv(paths["paid_after_death"])
    assert [r["公民身份号码 citizen ID"] for r in paid] == [mask_id(r["aac002"]) for r in s.PAID]
    assert all(MASKED.match(r["公民身份号码 citizen ID"]) for r in paid)
    assert [r["多发金额(元) overpaid (yuan)"] for r in paid] == \
        ["6000.60", "5000.50", "9999999.99", "0.01", "0.00", "4000.40"]
    assert sum(Decimal(r["多发金额(元) overpaid (yuan)"]) for r in paid) == s.TOTAL
    assert sum(Decimal(r["多发金额下限(元) overpaid at least (yuan)"]) for r in paid) == s.LOW
    assert sum(Decimal(r["多发金额上限(元) overpaid at most (yuan)"]) for r in paid) == s.HIGH
    assert paid[0]["姓名 name"] == "张三" and paid[0]["区划名称 division name"] == "朝阳区"
    assert paid[0]["采信死亡日期 death date in force"] == "2026-05-12" and paid[0]["最后发放月份 last month paid"] == "2026-11"
    assert paid[2]["最早死亡日期 earliest death date"] == "2026-07-28"
    assert paid[3]["姓名 name"] == "'" + s.HOSTILE_NAME          # Excel would run '=…' as a formula

    months = _csv(paths["overpaid_months"])
    assert {r["晚于采信死亡日期 after the date in force"] for r in months} == {"是 yes", "否 no"}
    assert months[0]["发放月份 month paid"] == "2026-06"
    evidence = _csv(paths["death_evidence"])
    assert {r["报告内容 reports"] for r in evidence} == {
        "死亡 death", "已撤销 withdrawn", "出国 emigration", "日期晚于报告月份 dated after the report month"}
    hostile = [r for r in evidence if r["行号 line"] == "6"]
    assert [r["文件 file"] for r in hostile] == ["'" + s.HOSTILE_FILE.replace(s.HOSTILE, mask_id(s.HOSTILE))]
    assert evidence[0]["文件 file"] == "police.death_20260513_000001.csv" and "批次 batch" not in evidence[0]
    disagree = _csv(paths["sources_disagree"])
    assert disagree[4]["撤销来源 withdrawn by"] == s.TITLES[s.HEALTH]
    assert disagree[4]["仍报告来源 still reported by"] == f"{s.TITLES[s.POLICE]}; {s.TITLES[s.CREMATION]}"
    rejected = _csv(paths["rejected_death"])
    assert rejected[0]["拒收原因 why rejected"] == "统一社会信用代码校验位错误 USCC_CHECKSUM"
    assert rejected[0]["风险金额(元) amount at risk (yuan)"] == "2400.20"
    assert rejected[1]["报告姓名 name reported"] == "蒋十三␇"      # a control character shown, never written
    typo = _csv(paths["probable_typo"])
    assert typo[0]["差异 difference"] == "digit 12: * -> *"      # the digits inside the masked part hidden
    assert typo[0]["出生日期 birth date"] == "1944"                # a full date beside a masked ID gives it back
    assert typo[1]["差异 difference"] == "digits 15-16 swapped"
    assert [r["区划一致 division agrees"] for r in typo] == ["是 yes", "未报告 not reported"]
    mismatch = _csv(paths["identity_mismatch"])
    assert [r["情形 what differs"] for r in mismatch] == ["姓名不符 name differs", "性别不符 gender differs"]
    assert mismatch[1]["报告性别 gender reported"] == "2 女 female"
    assert [r["登记来源 registered by"] for r in mismatch] == [s.TITLES["police.identity"],
                                                               s.TITLES["hrss.pension_roll"]]
    unplaced = _csv(paths["unplaced"])
    assert [r["报告内容 reports"] for r in unplaced] == ["死亡 death", "出国 emigration",
                                                         "重复登记 duplicate registration"]
    changes = _csv(paths["changes"])
    assert [(r["状态 status"], r["原因 why"]) for r in changes][-2:] == [
        ("已解决 resolved", "已停发 payments stopped"), ("已解决 resolved", "死亡已撤销 death withdrawn")]
    assert changes[3]["上月多发金额(元) overpaid last month (yuan)"] == ""
    trend = _csv(paths["trend"])
    assert [r["月份 month"] for r in trend] == ["2026-06", "2026-07", "2026-08", "2026-09", "2026-10", "2026-11"]
    assert trend[-1]["多发金额(元) overpaid (yuan)"] == str(s.TOTAL)


# ---------------------------------------------------------------------------------------------------
# Workbook


def _find(ws, text: str) -> tuple[int, int]:
    for row in ws.iter_rows():
        for cell in row:
            if cell.value == text:
                return cell.row, cell.column
    raise AssertionError(f"{text!r} not on {ws.title}")


def test_workbook_summary_stop_payment_first_with_exact_totals_by_division(written):
    _, paths = written
    _assert_no_full_id(paths[WORKBOOK])
    _assert_no_feed_code(_texts(paths[WORKBOOK]), "the workbook")
    wb = openpyxl.load_workbook(paths[WORKBOOK])
    assert wb.sheetnames == [SUMMARY] + [sheet_title(k) for k in findings.KINDS]
    assert wb.sheetnames[1] == "停发名单 Stop payment", "the stop-payment list right after the summary"
    ws = wb[SUMMARY]
    r, c = _find(ws, "报告月份 Report month")
    month = ws.cell(r, c + 1)
    assert month.value == dt.datetime(2026, 11, 1) and month.number_format == MONTH_FORMAT
    r, c = _find(ws, "生成时间 Generated at (UTC+08:00)")
    assert ws.cell(r, c + 1).value == dt.datetime(2026, 12, 1, 9, 30)            # 01:30 UTC on the hub's clock
    r, c = _find(ws, "日期容差(天) Tolerance (days)")
    assert ws.cell(r, c + 1).value == 3

    figures = {}
    for label in (TO_STOP, MONTHLY, PEOPLE, OVERPAID, OVERPAID_LOW, OVERPAID_HIGH, ROLL_REJECTED):
        r, c = _find(ws, label)
        figures[label] = (r, ws.cell(r, c + 1))
    assert [figures[k][0] for k in (TO_STOP, MONTHLY, PEOPLE, OVERPAID)] == \
        sorted(figures[k][0] for k in (TO_STOP, MONTHLY, PEOPLE, OVERPAID)), "the payments to stop first"
    assert figures[TO_STOP][0] < _find(ws, "生成时间 Generated at (UTC+08:00)")[0]
    assert figures[TO_STOP][1].value == s.TO_STOP and figures[PEOPLE][1].value == s.PEOPLE
    for label, amount in ((MONTHLY, s.MONTHLY), (OVERPAID, s.TOTAL), (OVERPAID_LOW, s.LOW), (OVERPAID_HIGH, s.HIGH)):
        cell = figures[label][1]
        assert Decimal(str(cell.value)) == amount and cell.number_format == YUAN_FORMAT, label
    r, cell = figures[ROLL_REJECTED]
    assert cell.value == s.ROLL_ROWS_REJECTED and cell.fill.fgColor.rgb == FLAG_FILL.fgColor.rgb
    assert "findings they touch are flagged" in ws.cell(r, 3).value and f"{s.FLAGGED} {'person' if s.FLAGGED == 1 else 'people'}" in ws.cell(r, 3).value

    r, _ = _find(ws, "类别 Finding")
    counts = {ws.cell(r + i, 1).value: ws.cell(r + i, 2).value for i in range(1, 1 + len(findings.KINDS))}
    assert list(counts) == [findings.TITLES[k] for k in findings.KINDS]
    assert counts == {findings.TITLES[k]: len(v) for k, v in s.DATA.items()}
    disagree = list(findings.KINDS).index("sources_disagree") + 1
    assert "3 天" in ws.cell(r + disagree, 3).value and "3 days" in ws.cell(r + disagree, 3).value

    r, _ = _find(ws, "上月名单的变化 Month on month")
    changes = {ws.cell(r + i, 1).value: ws.cell(r + i, 2).value for i in range(1, 5)}
    assert changes == {"新增 new": 2, "仍未解决 still open": 3, "已解决（已停发） resolved: payments stopped": 1,
                       "已解决（死亡已撤销） resolved: death withdrawn": 1}

    r, _ = _find(ws, "区划代码 Division")
    assert ws.cell(r, 1).font.b and ws.cell(r, 6).value == "多发金额(元) Overpaid (yuan)"
    divisions = {}
    for i in range(r + 1, r + 1 + len(s.DIVISIONS)):
        assert ws.cell(i, 4).number_format == YUAN_FORMAT and ws.cell(i, 6).number_format == YUAN_FORMAT
        divisions[ws.cell(i, 1).value] = (ws.cell(i, 2).value, ws.cell(i, 3).value, Decimal(str(ws.cell(i, 4).value)),
                                          ws.cell(i, 5).value, Decimal(str(ws.cell(i, 6).value)))
    assert divisions == s.DIVISIONS
    grand = [ws.cell(r + 1 + len(s.DIVISIONS), col).value for col in range(1, 7)]
    assert grand[0] == "合计 Total" and grand[2] == s.TO_STOP and Decimal(str(grand[3])) == s.MONTHLY
    assert grand[4] == s.PEOPLE and Decimal(str(grand[5])) == s.TOTAL
    assert sum(v[4] for v in divisions.values()) == s.TOTAL and sum(v[2] for v in divisions.values()) == s.MONTHLY

    r, _ = _find(ws, "死亡月份 Month of death")
    months = {ws.cell(i, 1).value.strftime("%Y-%m"): Decimal(str(ws.cell(i, 3).value))
              for i in range(r + 1, r + 1 + len(s.BY_MONTH))}
    assert months == s.BY_MONTH
    assert headline(s.report()) == (s.PEOPLE, s.TOTAL) and stop_headline(s.report()) == (s.TO_STOP, s.MONTHLY)


def _as_shown(cell) -> str:
    """The text Excel shows for a cell of ours (its longest line: the width it needs)."""
    if cell.value is None:
        return ""
    if cell.number_format == YUAN_FORMAT:
        return f"{Decimal(str(cell.value)):,.2f}"
    if isinstance(cell.value, dt.datetime):
        return cell.value.strftime("%Y-%m" if cell.number_format == MONTH_FORMAT else "%Y-%m-%d")
    return max(str(cell.value).split("\n"), key=display_width)


def test_workbook_finding_sheets_formatted(written):
    _, paths = written
    wb = openpyxl.load_workbook(paths[WORKBOOK])
    for kind in findings.KINDS:
        ws = wb[sheet_title(kind)]
        columns = COLUMNS[kind]
        assert ws.freeze_panes == "A2", kind
        assert ws.auto_filter.ref.startswith("A1:")
        assert ws.max_row == 1 + s.report().table(kind).num_rows
        for j, col in enumerate(columns, 1):
            head = ws.cell(1, j)
            assert head.value == f"{col.zh}\n{col.en}" and head.font.b, (kind, col.field)
            letter = openpyxl.utils.get_column_letter(j)
            width = ws.column_dimensions[letter].width
            shown = [display_width(_as_shown(ws.cell(i, j))) for i in range(2, ws.max_row + 1)]
            assert width >= max([display_width(col.zh), display_width(col.en), *shown]), (kind, col.field)
            for i in range(2, ws.max_row + 1):
                cell = ws.cell(i, j)
                assert cell.data_type != "f", "no formula, whatever a source sent"
                if cell.value is None:
                    continue
                if col.form == "yuan":
                    assert cell.number_format == YUAN_FORMAT and isinstance(cell.value, (int, float))
                elif col.form == "date":
                    assert cell.number_format == DATE_FORMAT and isinstance(cell.value, dt.datetime)
                elif col.form == "month":
                    assert cell.number_format == MONTH_FORMAT and cell.value.day == 1
                elif col.form == "id":
                    assert isinstance(cell.value, str) and MASKED.match(cell.value), (kind, col.field)
    paid = wb[sheet_title("paid_after_death")]
    assert [Decimal(str(paid.cell(i, 10).value)) for i in range(2, 8)] == [r["overpaid"] for r in s.PAID]
    assert paid.cell(5, 2).value == s.HOSTILE_NAME and paid.cell(5, 2).data_type == "s"
    # a CJK column is wider than an ASCII one of as many characters: 浦东新区 needs 8, not 4
    assert paid.column_dimensions["D"].width >= display_width("浦东新区") >= 8
    # several sources one per line (wrapped), the column as wide as the longest title
    sources = paid.cell(4, 8)
    assert sources.value == "\n".join(s.TITLES[f] for f in (s.POLICE, s.HEALTH, s.CREMATION))
    assert sources.alignment.wrap_text
    # a finding touched by a rejected roll row is flagged
    stop = wb[sheet_title("stop_payment")]
    assert stop.cell(1, 10).value == "被拒收的发放行\nroll rows rejected"
    assert [stop.cell(i, 10).fill.fgColor.rgb == FLAG_FILL.fgColor.rgb for i in range(2, 7)] == \
        [False, False, True, False, False]
    evidence = wb[sheet_title("death_evidence")]
    hostile = [evidence.cell(i, 5) for i in range(2, evidence.max_row + 1) if evidence.cell(i, 6).value == 6]
    assert [c.value for c in hostile] == [s.HOSTILE_FILE.replace(s.HOSTILE, mask_id(s.HOSTILE))]
    assert hostile[0].data_type == "s"


def test_an_empty_report_still_writes_every_file(tmp_path):
    paths = write_report(s.report(empty=True), tmp_path / "2026-11")
    for kind in findings.KINDS:
        assert len(paths[kind].read_bytes().decode("utf-8-sig").splitlines()) == 1    # the header alone
    wb = openpyxl.load_workbook(paths[WORKBOOK])
    ws = wb[SUMMARY]
    for label in (OVERPAID, MONTHLY):
        r, c = _find(ws, label)
        assert Decimal(str(ws.cell(r, c + 1).value)) == 0
    page = paths[PAGE].read_text(encoding="utf-8")
    assert "¥0.00" in page and "nobody paid after death" in page and "<svg" not in page
    assert 'id="people-to-stop">0<' in page and "roll-rows-note" not in page


# ---------------------------------------------------------------------------------------------------
# Full IDs: a separate workbook for one authenticated person with a purpose, recorded first, sealed or kept


class Recorded(list):
    """A recorder that keeps what it was asked to record (report.py's writes the exchange log)."""

    def __call__(self, export):
        self.append(export)


WANG = Requester("wang", OS_USER)


def auditor_keys(name: str = "alice", days: int = 365):
    """An auditor's key pair and certificate, as a CA would issue them (valid from ten days ago until `days` from now)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "审计处 Audit office"),
                         x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=10))
            .not_valid_after(now + dt.timedelta(days=days)).sign(key, hashes.SHA256()))
    return key, cert


def test_full_ids_need_a_purpose_and_a_record_and_write_nothing_without(tmp_path):
    folder = tmp_path / "exports" / "deaths" / "2026-11" / "wang"
    for purpose in ("", "   "):
        with pytest.raises(ExportRefused, match="purpose"):
            write_full_ids(s.report(), folder, WANG, purpose, record=Recorded())

    def refuse(export):
        raise OSError("store unreachable")
    with pytest.raises(OSError, match="store unreachable"):
        write_full_ids(s.report(), folder, WANG, "stop payments", record=refuse)
    assert not folder.exists() or not list(folder.iterdir()), "no file, not even a temporary one"


def test_the_masked_files_never_include_full_ids(tmp_path):
    folder = tmp_path / "reports" / "deaths" / "2026-11"
    folder.mkdir(parents=True)
    (folder / "deaths-2026-11-full-ids.xlsx").write_bytes(b"left by an earlier version")
    paths = write_report(s.report(), folder)
    assert FULL_IDS not in paths and not (folder / "deaths-2026-11-full-ids.xlsx").exists()
    for path in folder.iterdir():
        _assert_no_full_id(path)


def test_full_id_export_kept_on_the_hub_and_recorded(tmp_path):
    folder = tmp_path / "exports" / "deaths" / "2026-11" / "wang"
    recorded = Recorded()
    export = write_full_ids(s.report(), folder, WANG, "停发 stop payments", record=recorded)
    full = export.file
    assert full == folder / "deaths-2026-11-full-ids.xlsx" and full.stat().st_mode & 0o777 == 0o600
    assert export.status == KEPT and export.sealed_to is None and "kept on the hub only" in export.how_to_get(tmp_path)

    wb = openpyxl.load_workbook(full)
    paid = wb[sheet_title("paid_after_death")]
    assert [paid.cell(i, 1).value for i in range(2, 8)] == [r["aac002"] for r in s.PAID]
    assert all(paid.cell(i, 1).number_format == "@" for i in range(2, 8))       # text: 18 digits stay exact
    stop = wb[sheet_title("stop_payment")]
    assert [stop.cell(i, 1).value for i in range(2, 7)] == [r["aac002"] for r in s.STOP]
    typo = wb[sheet_title("probable_typo")]
    assert [typo.cell(2, j).value for j in (1, 2, 3)] == [s.TYPO_REPORTED, s.TYPO_MEANT, s.TYPO[0]["difference"]]
    assert typo.cell(2, 5).value == dt.datetime(1944, 4, 4)
    ws = wb[SUMMARY]
    r, c = _find(ws, "含完整身份号码 Contains full citizen IDs")
    assert "wang (os user on hub host)" in ws.cell(r, c + 1).value and "停发 stop payments" in ws.cell(r, c + 1).value

    [entry] = recorded                                  # recorded before the file existed, and exactly it
    assert entry is export and entry.sha256 == hashlib.sha256(full.read_bytes()).hexdigest()
    assert entry.people == len(s.ALL_IDS)
    assert entry.rows == sum(s.report().table(kind).num_rows for kind in findings.KINDS) > 0
    assert abs(dt.datetime.now(dt.timezone.utc) - entry.at) < dt.timedelta(minutes=5)


def test_full_id_export_sealed_to_the_auditor_opens_with_their_key_only(tmp_path):
    key, cert = auditor_keys("alice")
    alice = Requester("alice", AIRFLOW_LOGIN)
    folder = tmp_path / "exports" / "deaths" / "2026-11" / "alice"
    recorded = Recorded()
    export = write_full_ids(s.report(), folder, alice, "recover overpayments", record=recorded, recipient=cert)
    assert export.file == folder / "deaths-2026-11-full-ids.xlsx.p7m" and export.status == SEALED
    assert "CN=alice" in export.sealed_to and export.file.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in folder.iterdir()] == [export.file.name]           # the plaintext never reached the disk
    sealed = export.file.read_bytes()
    assert not any(cid.encode() in sealed for cid in s.ALL_IDS)

    # opened the way its instructions say, with openssl and the auditor's key
    assert "openssl cms -decrypt -binary -inform DER" in export.how_to_get(tmp_path)
    key_file = tmp_path / "alice.key"
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    plain = tmp_path / "opened.xlsx"
    done = subprocess.run(["openssl", "cms", "-decrypt", "-binary", "-inform", "DER", "-in", str(export.file),
                           "-inkey", str(key_file), "-out", str(plain)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert hashlib.sha256(plain.read_bytes()).hexdigest() == export.sha256 == recorded[0].sha256
    wb = openpyxl.load_workbook(plain)
    stop = wb[sheet_title("stop_payment")]
    assert [stop.cell(i, 1).value for i in range(2, 7)] == [r["aac002"] for r in s.STOP]

    other, _ = auditor_keys("bob")                     # anyone else's key opens nothing
    with pytest.raises(CMSError):
        decrypt(sealed, cert, other)


def test_a_certificate_not_valid_now_or_unreadable_is_refused(tmp_path):
    alice, now = Requester("alice", AIRFLOW_LOGIN), dt.datetime.now(dt.timezone.utc)
    assert recipient_for(tmp_path, alice, now) is None                 # none installed: kept on the hub
    path = auditor_cert_path(tmp_path, "alice")
    path.parent.mkdir(parents=True)
    _, good = auditor_keys("alice")
    path.write_bytes(good.public_bytes(serialization.Encoding.PEM))
    assert recipient_for(tmp_path, alice, now) == good
    _, expired = auditor_keys("alice", days=-2)         # expired two days ago
    path.write_bytes(expired.public_bytes(serialization.Encoding.PEM))
    with pytest.raises(ExportRefused, match="install a current one"):
        recipient_for(tmp_path, alice, now)
    path.write_bytes(b"-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n")
    with pytest.raises(ExportRefused, match="cannot be read"):
        recipient_for(tmp_path, alice, now)
    # a login name that cannot be a file name is looked up by its digest, never as a path
    assert auditor_cert_path(tmp_path, "../hub").parent == path.parent
    assert auditor_cert_path(tmp_path, "../hub").name.startswith("user-")


# ---------------------------------------------------------------------------------------------------
# The page


class _Page(HTMLParser):
    FETCHING = {"src", "href", "srcset", "data", "poster", "action", "background", "formaction", "xlink:href",
                "ping", "manifest", "codebase", "cite", "longdesc"}

    def __init__(self):
        super().__init__()
        self.tags: list[str] = []
        self.refs: list[tuple[str, str, str]] = []
        self.attrs: list[tuple[str, str]] = []
        self.metas: list[dict] = []
        self.scripts: list[str] = []
        self.styles: list[str] = []
        self.tables: dict[str, list[list[str]]] = {}
        self.sections: list[str] = []
        self._text_of = None
        self._table = None
        self._cell = None

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        a = dict(attrs)
        for name, value in attrs:
            self.attrs.append((tag, name))
            if name in self.FETCHING and value is not None:
                self.refs.append((tag, name, value))
        if tag == "meta":
            self.metas.append(a)
        if tag == "section":
            self.sections.append(a.get("id"))
        if tag in ("script", "style"):
            self._text_of = tag
            (self.scripts if tag == "script" else self.styles).append("")
        if tag == "table":
            self._table = self.tables.setdefault(a.get("id"), [])
        if tag == "tr" and self._table is not None:
            self._table.append([])
        if tag in ("td", "th") and self._table is not None:
            self._cell = ""

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._text_of = None
        if tag in ("td", "th") and self._table is not None and self._cell is not None:
            self._table[-1].append(self._cell.strip())
            self._cell = None
        if tag == "table":
            self._table = None

    def handle_data(self, data):
        if self._text_of == "script":
            self.scripts[-1] += data
        elif self._text_of == "style":
            self.styles[-1] += data
        if self._cell is not None:
            self._cell += data


def _sha(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


def test_the_page_is_self_contained_with_a_strict_csp(written):
    _, paths = written
    page = paths[PAGE].read_text(encoding="utf-8")
    _assert_no_full_id(paths[PAGE])
    p = _Page()
    p.feed(page)
    p.close()
    remote = [r for r in p.refs if not r[2].startswith("#")]
    assert remote == [], f"the page refers to something outside itself: {remote}"
    assert not re.search(r"https?://(?!www\.w3\.org/2000/svg\")", page), "no URL but the SVG namespace"
    assert not {"img", "iframe", "link", "object", "embed", "image", "use", "foreignobject"} & set(p.tags)
    assert not [a for a in p.attrs if a[1] == "style" or a[1].startswith("on")], "no inline style or handler"
    [csp] = [m["content"] for m in p.metas if m.get("http-equiv", "").lower() == "content-security-policy"]
    policy = dict((d.split()[0], d.split()[1:]) for d in csp.split(";") if d.strip())
    assert policy["default-src"] == ["'none'"]
    assert p.scripts == [SCRIPT] and p.styles == [CSS]
    assert policy["script-src"] == [f"'{_sha(p.scripts[0])}'"] and policy["style-src"] == [f"'{_sha(p.styles[0])}'"]
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert not re.search(r"url\(|@import", p.styles[0])


def test_the_page_shows_the_stop_list_first_then_every_kind_in_order(written):
    _, paths = written
    page = paths[PAGE].read_text(encoding="utf-8")
    p = _Page()
    p.feed(page)
    assert p.sections[0] == "stop_payment", "the stop-payment list is the page's first section"
    assert [x for x in p.sections if x in findings.KINDS] == list(findings.KINDS)
    assert p.sections.index("divisions") == p.sections.index("paid_after_death") + 1
    for kind in findings.KINDS:
        table = p.tables[f"t-{kind}"]
        assert len(table) == 1 + len(s.DATA[kind]), kind
        assert len(table[0]) == len(COLUMNS[kind]) and all(len(r) == len(COLUMNS[kind]) for r in table), kind
    _assert_no_feed_code(page, "the page")

    # the headline: the payments to stop first
    figures = re.findall(r'<div class="value" id="([a-z-]+)">', page)
    assert figures[:5] == ["people-to-stop", "monthly-to-stop", "people-paid-after-death", "total-overpaid",
                           "roll-rows-rejected"]
    assert '<div class="value" id="people-to-stop">5</div>' in page
    assert '<div class="value" id="monthly-to-stop">¥3,336,833.64</div>' in page
    assert '<div class="value" id="people-paid-after-death">6</div>' in page
    assert '<div class="value" id="total-overpaid">¥10,015,001.50</div>' in page
    assert '<span id="overpaid-range">¥10,015,001.50 – ¥13,352,835.13</span>' in page
    assert '<div class="value" id="roll-rows-rejected">2</div>' in page
    assert "roll rows rejected by the gate in the period: 2; findings they touch are flagged (1 person" in page
    assert "新增 new <b>2</b> · 仍未解决 still open <b>3</b> · 已解决（已停发） resolved: payments stopped <b>1</b>" in page
    assert "死亡人员比对报告" in page and "Death-record mismatch report" in page and "2026-12-01 09:30:00" in page

    stop = p.tables["t-stop_payment"]
    assert [r[0] for r in stop[1:]] == [mask_id(r["aac002"]) for r in s.STOP]
    assert stop[2][6] == "".join(s.TITLES[f] for f in (s.POLICE, s.HEALTH, s.CREMATION))   # one title a line
    assert page.count('<tr class="flagged">') == 2           # the person with a rejected roll row, in both lists
    divisions = p.tables["t-divisions"]
    assert divisions[1:4] == [["110105", "朝阳区", "2", "2,500.20", "3", "11,001.10"],
                              ["310115", "浦东新区", "2", "3,334,333.43", "2", "10,004,000.39"],
                              ["440305", "南山区", "1", "0.01", "1", "0.01"]]
    assert divisions[4] == ["合计 total", "", "5", "3,336,833.64", "6", "10,015,001.50"]
    paid = p.tables["t-paid_after_death"]
    assert [r[0] for r in paid[1:]] == [mask_id(r["aac002"]) for r in s.PAID]
    assert paid[4][1] == s.HOSTILE_NAME                   # shown as text, never as markup
    assert '&lt;img src=&quot;x&quot;&gt;' in page and '<img' not in page
    assert [r[9] for r in paid[1:]] == ["6,000.60", "5,000.50", "9,999,999.99", "0.01", "0.00", "4,000.40"]
    evidence = p.tables["t-death_evidence"]
    assert s.HOSTILE_FILE.replace(s.HOSTILE, mask_id(s.HOSTILE)) in [r[4] for r in evidence]
    assert "<b>x</b>" not in page
    svg = re.search(r'<svg[^>]*id="overpaid-chart".*?</svg>', page, re.S)[0]
    bars = re.findall(r'<g class="bar" data-month="([\d-]+)" data-v="([\d.]+)">', svg)
    assert {m: Decimal(v) for m, v in bars} == s.BY_MONTH
    trend = re.search(r'<svg[^>]*id="trend-chart".*?</svg>', page, re.S)[0]
    bars = re.findall(r'<g class="bar" data-month="([\d-]+)" data-v="([\d.]+)">', trend)
    assert {m: Decimal(v) for m, v in bars} == {f"{r['month']:%Y-%m}": r["overpaid"] for r in s.TREND}
    assert page.count("<svg") == 2 and "Overpaid amount by month of death" in page
    assert p.tables["t-probable_typo"][1][2] == "digit 12: * -> *" and p.tables["t-probable_typo"][1][4] == "1944"


def test_the_log_and_the_page_never_leak_through_json_or_markup(written, tmp_path):
    # the exchange-log entry names no ID even when the purpose (or a login name) holds one
    import sqlalchemy as sa

    from jinbao.audit.report import recorder
    from jinbao.settings import Settings
    from jinbao.store.database import connect
    _, paths = written
    cfg = Settings(home=tmp_path / "hub")
    write_full_ids(s.report(), tmp_path / "exports", Requester(s.ZHANG, OS_USER), f"for case {s.ZHANG}",
                   record=recorder(cfg, dt.date(2026, 11, 1)))
    with connect(cfg.store_url).connect() as conn:
        who, purpose = conn.execute(sa.text("select who, purpose from exchange_log")).one()
    assert s.ZHANG not in who and mask_id(s.ZHANG) in who
    assert s.ZHANG not in purpose and mask_id(s.ZHANG) in purpose