"""finance.subsidy_claim: the lines still in arrears, claimed from finance in its names and codes,
marked claimed by what was sent (SQLite and PostgreSQL)."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from jinbao.cli import main
from jinbao.declarations import get_feed
from jinbao.keys import init_keys
from jinbao.outbound.send import SENT, UNCHANGED, send
from jinbao.schemas.store_tables import subsidy_line
from jinbao.store.database import connect
from tests.deliveries import _person, enrollment_row, write_delivery, write_hrss
from tests.jinbao.outbound.test_send import _as_partner

IDENTITY = ["GMSFHM", "XM", "XB", "CSRQ", "MZ", "HJDZ_XZQH", "BGRQ"]
PAYMENT = ["SFZH", "XZQH", "BTJB", "BTND", "BTJE", "DZRQ"]
#: person -> household county (police); each enrols through a unit in another county (enrollment_row)
HOME = {1: "440306", 2: "330106", 3: "510107", 4: "110105"}
ORDINARY = {"1": "200.00", "2": "120.00", "3": "80.00"}


def pid(i: int) -> str:
    return _person(i)[0]


def _owing(county: str, level: str) -> str:
    return {"1": county[:2] + "0000", "2": county[:4] + "00", "3": county}[level]


def _enrol(cfg, people, date: str, seq: int) -> None:
    rows = []
    for i in people:
        _, name, male, birth = _person(i)
        rows.append({"GMSFHM": pid(i), "XM": name, "XB": "1" if male else "2", "CSRQ": birth, "MZ": "01",
                     "HJDZ_XZQH": HOME[i], "BGRQ": "20261101"})
    write_delivery(cfg.inbound("police"), "police.identity", rows, date=date, seq=seq, columns=IDENTITY)
    write_hrss(cfg.inbound("hrss"), "hrss.resident_enrollment", [enrollment_row(i, JFRQ="2026-11-10") for i in people],
               date=date, seq=seq)
    assert main(["run", "police.identity"]) == 0 and main(["run", "hrss.resident_enrollment"]) == 0


def _expected(people, paid=()) -> list[str]:
    rows = [(_owing(HOME[i], level), level, "2026", pid(i), ORDINARY[level])
            for i in people for level in "123" if (i, level) not in paid]
    return [f"{p},{d},{lv},{y},{a}" for d, lv, y, p, a in sorted(rows)]


def _claims(cfg) -> dict:
    with connect(cfg.store_url).connect() as conn:
        return {(r.aac002, r.subsidy_level): (r.status, r.claim_seq, r.first_claim_seq)
                for r in conn.execute(sa.select(subsidy_line))}


def test_the_claim_sends_what_is_in_arrears_and_marks_exactly_that(home):
    cfg = home
    init_keys(cfg.home)
    _enrol(cfg, (1, 2, 3), "20261112", 1)
    # finance already paid person 1's county share, exactly
    write_delivery(cfg.inbound("finance"), "finance.subsidy_payment",
                   [{"SFZH": pid(1), "XZQH": "440306", "BTJB": "3", "BTND": "2026", "BTJE": "80.00",
                     "DZRQ": "20261120"}], date="20261121", columns=PAYMENT)
    assert main(["run", "finance.subsidy_payment"]) == 0
    spec = get_feed("finance.subsidy_claim", cfg)
    claim = send(spec, cfg, dt.date(2026, 11, 30))
    assert (claim.status, claim.file, claim.records) == (SENT, "finance.subsidy_claim_20261130_000001.csv", 8)
    plain, manifest = _as_partner(cfg, "finance", claim.file)
    assert plain.decode("gb18030").splitlines() == ["SFZH,XZQH,BTJB,BTND,YBTJE",
                                                    *_expected((1, 2, 3), paid={(1, "3")})]
    assert manifest["encoding"] == "GB18030"
    assert claim.notes[0] == "claim 1: 8 lines marked claimed; per owing division and level:"
    assert claim.notes[-1].split() == ["total", "8", "lines", "1,120.00", "yuan"]
    assert not any(n.split()[:2] == ["440306", "county"] for n in claim.notes)   # person 1's county share was paid
    state = _claims(cfg)
    assert state[(pid(1), "3")] == ("paid", None, None)
    assert all(state[(pid(i), lv)] == ("arrears", 1, 1) for i in (1, 2, 3) for lv in "123" if (i, lv) != (1, "3"))

    # nothing new: the same claim is not sent again
    assert send(spec, cfg, dt.date(2026, 11, 30)).status == UNCHANGED
    # December: person 4 enrols; the claim for December asks again for everything still in arrears
    _enrol(cfg, (4,), "20261205", 2)
    december = send(spec, cfg, dt.date(2026, 12, 31))
    assert (december.sequence, december.records) == (2, 11)
    assert _as_partner(cfg, "finance", december.file)[0].decode("gb18030").splitlines()[1:] == _expected(
        (1, 2, 3, 4), paid={(1, "3")})
    state = _claims(cfg)
    assert state[(pid(2), "3")] == ("arrears", 2, 1) and state[(pid(4), "2")] == ("arrears", 2, 2)
