"""Outbound feeds end to end on planted cases (store_cases.py): the exact files a partner decrypts,
re-runs, corrections, an agreement out of force, a value with no reverse mapping; SQLite and PostgreSQL."""
from __future__ import annotations

import datetime as dt
import json
import shutil

import pytest
import sqlalchemy as sa

from jinbao.cli import main
from jinbao.declarations import get_feed
from jinbao.exchange_zone import envelope
from jinbao.keys import hub_cert, init_keys, load_cert, load_key
from jinbao.outbound.send import OUTSIDE, SENT, UNCHANGED, send
from jinbao.store.database import connect
from tests.deliveries import contribution_row, write_hrss
from tests.jinbao.outbound.store_cases import E0, E1, E2, E3, contributions_for_november, december_contribution, pid

NOVEMBER = dt.date(2026, 11, 30)
POLICE_HEADER = "GMSFHM,XM,XB,CBBZ,DWTYSHXYDM,ZHJFNY"


def _police_rows() -> list[str]:
    """The November file as the agreement defines it, person by person (see store_cases.py)."""
    from tests.deliveries import _person

    def name(i):
        return _person(i)[1]

    def sex(i):
        return "1" if _person(i)[2] else "2"
    rows = {1: f"{pid(1)},{name(1)},{sex(1)},1,{E0},202611", 2: f"{pid(2)},{name(2)},{sex(2)},0,{E1},202608",
            3: f"{pid(3)},{name(3)},{sex(3)},1,{E1},202609", 4: f"{pid(4)},{name(4)},{sex(4)},1,{E2},202611",
            7: f"{pid(7)},{name(7)},{sex(7)},1,{E1},202610", 8: f"{pid(8)},,,1,{E0},202611",
            10: f"{pid(10)},{name(10)},{sex(10)},1,{E3},202611"}
    return [rows[i] for i in sorted(rows, key=pid)]


def _central_bank_rows() -> list[str]:
    staff = sorted([(pid(i), "Y" if i == 7 else "N") for i in (2, 3, 4, 7)])
    blocks = {E1: [f"{E1},金宝机械制造有限公司,4,3,,"] + [f"{E1},,,,{p},{y}" for p, y in staff],
              E3: [f"{E3},,1,1,,", f"{E3},,,,{pid(10)},N"]}
    return [row for employer in sorted(blocks) for row in blocks[employer]]


def _as_partner(cfg, partner: str, name: str) -> tuple[bytes, dict]:
    """Open a delivery in the partner's outbound/ as the partner does: verify the hub's signature on the
    manifest, decrypt with the partner's key, check the sha256."""
    folder = cfg.outbound(partner)
    base = name.removesuffix(".csv")
    manifest = (folder / f"{base}.manifest.json").read_bytes()
    assert envelope.verify(manifest, (folder / f"{base}.manifest.json.sig").read_bytes(), hub_cert(cfg.home))
    plain = envelope.decrypt((folder / f"{name}.p7m").read_bytes(), load_cert(cfg.home, partner),
                             load_key(cfg.home, partner))
    m = json.loads(manifest)
    assert m["sha256"] == __import__("hashlib").sha256(plain).hexdigest() and m["file"] == f"{name}.p7m"
    return plain, m


def _out_entries(cfg) -> list[tuple]:
    with connect(cfg.store_url).connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(
            "select feed, file_name, sequence, records, rejected, agreement, status from exchange_log "
            "where direction = 'out' order by seq"))]


@pytest.fixture
def planted(home):
    init_keys(home.home)
    contributions_for_november(home)
    return home


def test_the_partners_read_exactly_what_the_agreements_define(planted):
    cfg = planted
    assert main(["send", "all", "--as-of", "2026-11-30"]) == 0
    plain, m = _as_partner(cfg, "police", "police.insured_status_20261130_000001.csv")
    assert plain.decode("gb18030").splitlines() == [POLICE_HEADER, *_police_rows()]
    assert (m["feed"], m["sequence"], m["records"], m["encoding"]) == ("police.insured_status", 1, 7, "GB18030")
    plain, m = _as_partner(cfg, "central_bank", "central_bank.contribution_status_20261130_000001.csv")
    assert plain.decode("utf-8").splitlines() == ["TYSHXYDM,DWMC,CBRS,QJYS,SFZH,SFLQDY", *_central_bank_rows()]
    assert (m["sequence"], m["records"], m["encoding"]) == (1, 7, "UTF-8")
    # the hub's own copy is the plaintext, readable only by the hub's user
    copy = cfg.sent / "police.insured_status" / "police.insured_status_20261130_000001.csv"
    assert copy.read_bytes().decode("gb18030").splitlines()[0] == POLICE_HEADER
    assert copy.stat().st_mode & 0o077 == 0
    assert [e for e in _out_entries(cfg) if e[0] != "finance.subsidy_claim"] == [   # (no subsidy lines here)
        ("central_bank.contribution_status", "central_bank.contribution_status_20261130_000001.csv", 1, 7, 0,
         "central_bank.contribution_status", "sent"),
        ("police.insured_status", "police.insured_status_20261130_000001.csv", 1, 7, 0, "police.insured_status",
         "sent")]


def test_a_rerun_sends_nothing_and_changed_content_takes_the_next_sequence(planted, monkeypatch):
    cfg = planted
    # the hub's clock: 30 December, after the deliveries of the 28th and 29th below (a delivery dated
    # after the hub's day is refused)
    from jinbao import ledger
    monkeypatch.setattr(ledger, "now", lambda: dt.datetime(2026, 12, 30, 1, 0, tzinfo=dt.timezone.utc))
    spec = get_feed("police.insured_status", cfg)
    first = send(spec, cfg, NOVEMBER)
    again = send(spec, cfg, NOVEMBER)
    assert (first.status, again.status) == (SENT, UNCHANGED) and again.sha256 == first.sha256
    assert "with the same content: nothing sent" in again.message
    # December's contribution does not change November's state
    december_contribution(cfg)
    assert send(spec, cfg, NOVEMBER).status == UNCHANGED
    # a correction of November does: person 2's November is paid after all
    write_hrss(cfg.inbound("hrss"), "hrss.contribution",
               [contribution_row(2, month="202611", AAB998=E1, JFBZ="1")], date="20261229", seq=3)
    assert main(["run", "hrss.contribution"]) == 0
    corrected = send(spec, cfg, NOVEMBER)
    assert (corrected.status, corrected.file, corrected.sequence) == (SENT, "police.insured_status_20261130_000002.csv", 2)
    plain, _ = _as_partner(cfg, "police", corrected.file)
    expected = [r.replace(f",0,{E1},202608", f",1,{E1},202611") for r in _police_rows()]
    assert plain.decode("gb18030").splitlines() == [POLICE_HEADER, *expected]
    # the first file is untouched, byte for byte
    first_plain, _ = _as_partner(cfg, "police", "police.insured_status_20261130_000001.csv")
    assert first_plain == (cfg.sent / spec.name / first.file).read_bytes()
    # December: person 9 appears, sequence 3
    december = send(spec, cfg, dt.date(2026, 12, 31))
    assert december.sequence == 3 and pid(9) in _as_partner(cfg, "police", december.file)[0].decode("gb18030")
    # --resend uploads the same content again under the same name and sequence, and logs it
    (cfg.outbound("police") / f"{december.file}.p7m").unlink()
    resent = send(spec, cfg, dt.date(2026, 12, 31), resend=True)
    assert (resent.file, resent.sequence) == (december.file, 3)
    assert _as_partner(cfg, "police", december.file)[0] == _as_partner(cfg, "police", december.file)[0]
    assert [e[2] for e in _out_entries(cfg)] == [1, 2, 3, 3] and _out_entries(cfg)[-1][-1] == "resent"


def test_outside_its_agreement_a_feed_sends_nothing_and_says_so(planted, tmp_path, monkeypatch, capsys):
    cfg = planted
    result = send(get_feed("police.insured_status", cfg), cfg, dt.date(2028, 1, 31))
    assert result.status == OUTSIDE and "2026-01-01 to 2027-12-31" in result.message and "nothing is sent" in result.message
    # an agreement that expired before the business date, as declared in its own file
    feeds = tmp_path / "feeds"
    shutil.copytree(cfg.feeds_dir, feeds)
    agreement = feeds / "agreements" / "police.insured_status.yaml"
    agreement.write_text(agreement.read_text(encoding="utf-8").replace("to: 2027-12-31", "to: 2026-10-31"),
                         encoding="utf-8")
    monkeypatch.setenv("JINBAO_FEEDS_DIR", str(feeds))
    assert main(["send", "police.insured_status", "--as-of", "2026-11-30"]) == 2
    out = capsys.readouterr().out
    assert "in force from 2026-01-01 to 2026-10-31; business date 2026-11-30 is outside it" in out
    assert not list(cfg.outbound("police").glob("police.insured_status_*")) and _out_entries(cfg) == []


def test_a_value_with_no_reverse_mapping_is_held_back_whole(planted, tmp_path, monkeypatch, capsys):
    """A police gender table version from 2026-11-01 that (by an operator's mistake) lost female:
    women's records are held back and reported, never sent with an empty or hub-coded XB."""
    from jinbao.mappings import tables
    codes = tmp_path / "codes"
    shutil.copytree(tables.CODES_DIR, codes)
    (codes / "police.gender.yaml").write_text(
        'name: police.gender\nhub_field: AAA002\nversions:\n'
        '  - {version: "2000.1", valid_from: 2000-01-01, valid_to: 2026-10-31, map: {"1": "1", "2": "2", "9": "9"}}\n'
        '  - {version: "2026.11", valid_from: 2026-11-01, valid_to: null, map: {"1": "1", "9": "9"}}\n',
        encoding="utf-8")
    monkeypatch.setattr(tables, "CODES_DIR", codes)
    assert main(["send", "police.insured_status", "--as-of", "2026-11-30"]) == 2
    out = capsys.readouterr().out
    women = [r for r in _police_rows() if r.split(",")[2] == "2"]
    assert "4 records as of 2026-11-30" in out and f"{len(women)} held back" in out and len(women) == 3
    plain, m = _as_partner(planted, "police", "police.insured_status_20261130_000001.csv")
    assert plain.decode("gb18030").splitlines() == [POLICE_HEADER, *[r for r in _police_rows() if r not in women]]
    assert m["records"] == 4
    report = planted.sent / "police.insured_status" / "police.insured_status_20261130_000001.held_back.csv"
    lines = report.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "record,field,hub_field,hub_value,reason" and len(lines) == 4
    assert all(ln.endswith(",XB,AAA002,2,no reverse mapping in police.gender@2026.11") for ln in lines[1:])
    assert all(pid(i) not in report.read_text(encoding="utf-8") for i in range(1, 11))     # masked IDs only
    assert _out_entries(planted)[0][3:5] == (4, 3)
