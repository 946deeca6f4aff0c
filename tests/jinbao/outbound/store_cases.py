"""A store with planted contribution cases, built through the real feeds (the gate, publish, register).

As of 2026-11-30 (police: the twelve months 2025-12..2026-11, insured = a paid month in 2026-09..11;
central bank: months ended by then), person by person (tests.deliveries._person(i)):

  1  paid 09, 10, 11 at E0                        insured, last 202611, employer E0
  2  paid 08; 09, 10, 11 unpaid at E1             not insured, last 202608, employer E1; staff owed by E1
  3  paid 09; 10, 11 unpaid at E1                 insured (09 is within three months), last 202609
  4  11 paid at E2 and 11 unpaid at E1            insured, employer E2 (a paid row first); owed by E1
  5  paid 2025-11 only                            outside the twelve months: not sent
  6  paid 11 at E0, then dies (police, reason 1)  not sent: only the living
  7  10 paid at E0, 11 unpaid at E1, pensioner    insured; owed by E1, receives a pension (SFLQDY Y)
  8  11 paid at E0, no name or gender anywhere    sent with XM and XB empty
  9  paid 2026-12 only (delivered in December)    after the business date: not in November's file
 10  09 unpaid at E3 (paid 10, 11)               E3 one month in arrears

Names and genders: 1, 2, 3, 4, 10 from police identity; 7 from the pension roll; 6 from its death.
E1's name comes from the central bank's own employer status report.
"""
from __future__ import annotations

from jinbao.cli import main
from tests.deliveries import _employer, _person, contribution_row, death_row, pension_row, write_delivery, write_hrss

POLICE_IDENTITY = ["GMSFHM", "XM", "XB", "CSRQ", "MZ", "HJDZ_XZQH", "BGRQ"]
E0, E1, E2, E3 = (_employer(k) for k in (10, 11, 12, 13))

#: (person, month YYYYMM, employer, paid)
ROWS = [(1, "202609", E0, "1"), (1, "202610", E0, "1"), (1, "202611", E0, "1"),
        (2, "202608", E1, "1"), (2, "202609", E1, "0"), (2, "202610", E1, "0"), (2, "202611", E1, "0"),
        (3, "202609", E1, "1"), (3, "202610", E1, "0"), (3, "202611", E1, "0"),
        (4, "202611", E2, "1"), (4, "202611", E1, "0"),
        (5, "202511", E0, "1"),
        (6, "202611", E0, "1"),
        (7, "202610", E0, "1"), (7, "202611", E1, "0"),
        (8, "202611", E0, "1"),
        (10, "202609", E3, "0"), (10, "202610", E3, "1"), (10, "202611", E3, "1")]


def pid(i: int) -> str:
    return _person(i)[0]


def _identity_row(i: int) -> dict:
    aac002, name, male, birth = _person(i)
    from tests.deliveries import COUNTIES
    return {"GMSFHM": aac002, "XM": name, "XB": "1" if male else "2", "CSRQ": birth, "MZ": "01",
            "HJDZ_XZQH": COUNTIES[i % len(COUNTIES)], "BGRQ": "20261101"}


def contributions_for_november(cfg) -> None:
    """Deliver and publish everything above (exit code 0 for every run, or the test stops here)."""
    write_delivery(cfg.inbound("police"), "police.identity", [_identity_row(i) for i in (1, 2, 3, 4, 10)],
                   date="20261120", columns=POLICE_IDENTITY)
    write_hrss(cfg.inbound("hrss"), "hrss.pension_roll", [pension_row(7, month="2026-11")], date="20261125")
    write_hrss(cfg.inbound("hrss"), "hrss.contribution",
               [contribution_row(i, month=m, AAB998=e, JFBZ=f) for i, m, e, f in ROWS], date="20261128")
    aac002, name, male, _ = _person(6)
    write_delivery(cfg.inbound("police"), "police.death",
                   [death_row(6, GMSFHM=aac002, XM=name, XB="1" if male else "2", SWRQ="20261126",
                              ZXRQ="20261127")], date="20261127")
    write_delivery(cfg.inbound("central_bank"), "central_bank.employer_status",
                   [{"TYSHXYDM": E1, "DWMC": "金宝机械制造有限公司", "XZQH": "110105", "ZT": "2", "BGQ": "2026Q3"}],
                   date="20261015", encoding="UTF-8", columns=["TYSHXYDM", "DWMC", "XZQH", "ZT", "BGQ"])
    for feed in ("police.identity", "hrss.pension_roll", "hrss.contribution", "police.death",
                 "central_bank.employer_status"):
        assert main(["run", feed, "--date", "2026-11-30"]) == 0, feed


def december_contribution(cfg) -> None:
    """Person 9's only contribution, for December, delivered in December."""
    write_hrss(cfg.inbound("hrss"), "hrss.contribution", [contribution_row(9, month="202612", AAB998=E0, JFBZ="1")],
               date="20261228", seq=2)
    assert main(["run", "hrss.contribution"]) == 0
