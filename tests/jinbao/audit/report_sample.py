"""A hand-built death-mismatch Report with every finding kind, for the renderers' tests.

Amounts are chosen so that float arithmetic would show (0.10 steps, a nine-digit amount beside a
fen); one name is hostile (a formula for Excel and CSV, markup for the page).
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pyarrow as pa

from jinbao.audit import findings
from quality.citizen_id import with_check_char

D = dt.date
M = lambda y, m: dt.date(y, m, 1)  # noqa: E731 - a month is its first day


def cid(first17: str) -> str:
    return with_check_char(pa.array([first17])).to_pylist()[0]


ZHANG = cid("11010519400315001")       # 110105 朝阳区
LI = cid("11010519410722002")
WANG = cid("31011519380101003")        # 310115 浦东新区
HOSTILE = cid("44030519500505004")     # 440305 南山区
CHEN = cid("11010519350909005")
ZHOU = cid("31011519420202006")
SUN = cid("11010519330303007")
WU = cid("44030519450405008")
UNKNOWN = cid("11010519600606009")
TYPO_MEANT = cid("11010519440404010")  # the pensioner a mistyped death record probably means
SWAP_MEANT = cid("31011519460212011")
HOSTILE_NAME = '=1+2<img src="x">赵六'

#: a one-digit change at position 12 (inside the masked part) and a swap of digits 15-16
TYPO_REPORTED = TYPO_MEANT[:11] + str((int(TYPO_MEANT[11]) + 5) % 10) + TYPO_MEANT[12:]
SWAP_REPORTED = SWAP_MEANT[:14] + SWAP_MEANT[15] + SWAP_MEANT[14] + SWAP_MEANT[16:]

PAID = [
    dict(aac002=ZHANG, name="张三", division="110105", death_date=D(2026, 5, 12),
         sources="police.death, health.death", months_paid_after=6, overpaid=Decimal("2000.20"),
         last_month_paid=M(2026, 11)),
    dict(aac002=LI, name="李四", division="110105", death_date=D(2026, 5, 30),
         sources="civil_affairs.cremation", months_paid_after=5, overpaid=Decimal("1000.10"),
         last_month_paid=M(2026, 10)),
    dict(aac002=WANG, name="王五", division="310115", death_date=D(2026, 8, 3),
         sources="police.death, health.death, civil_affairs.cremation", months_paid_after=3,
         overpaid=Decimal("9999999.99"), last_month_paid=M(2026, 11)),
    dict(aac002=HOSTILE, name=HOSTILE_NAME, division="440305", death_date=D(2026, 10, 1),
         sources="police.death", months_paid_after=1, overpaid=Decimal("0.01"), last_month_paid=M(2026, 11)),
]
DIVISIONS = {"110105": ("朝阳区", 2, Decimal("3000.30")), "310115": ("浦东新区", 1, Decimal("9999999.99")),
             "440305": ("南山区", 1, Decimal("0.01"))}
PEOPLE, TOTAL = 4, Decimal("10003000.30")
BY_MONTH = {"2026-05": Decimal("3000.30"), "2026-08": Decimal("9999999.99"), "2026-10": Decimal("0.01")}

DISAGREE = [
    dict(aac002=ZHANG, name="张三", division="110105", kind="dates differ", police_date=D(2026, 5, 12),
         health_date=D(2026, 5, 20), cremation_date=None, spread_days=8, withdrawn_by=None, still_reported_by=None),
    dict(aac002=CHEN, name="陈七", division="110105", kind="withdrawn but still reported", police_date=D(2026, 9, 1),
         health_date=None, cremation_date=D(2026, 9, 3), spread_days=2, withdrawn_by="health.death",
         still_reported_by="police.death, civil_affairs.cremation"),
]
NOT_DEREG = [
    dict(aac002=ZHOU, name="周八", division="310115", death_date=D(2026, 7, 7), sources="health.death",
         last_month_paid=M(2026, 11)),
]
IDENTITY = [
    dict(aac002=SUN, source_feed="police.death", kind="name differs", name_reported="孙九",
         name_registered="孙玖", gender_reported="1", gender_registered="1", death_date=D(2026, 6, 6),
         batch_id=3, line_no=17),
    dict(aac002=WU, source_feed="health.death", kind="gender differs", name_reported="吴十",
         name_registered="吴十", gender_reported="2", gender_registered="1", death_date=D(2026, 6, 7),
         batch_id=4, line_no=2),
    dict(aac002=UNKNOWN, source_feed="civil_affairs.cremation", kind="unknown ID", name_reported="郑一",
         name_registered=None, gender_reported="1", gender_registered=None, death_date=D(2026, 6, 8),
         batch_id=5, line_no=9),
]
TYPO = [
    dict(id_reported=TYPO_REPORTED, aac002=TYPO_MEANT, difference=f"digit 12: {TYPO_REPORTED[11]} -> {TYPO_MEANT[11]}",
         name="冯二", birth_date=D(1944, 4, 4), gender="1", division="110105", source_feed="police.death",
         death_date=D(2026, 4, 1), batch_id=6, line_no=5, last_month_paid=M(2026, 11)),
    dict(id_reported=SWAP_REPORTED, aac002=SWAP_MEANT, difference="digits 15-16 swapped",
         name="褚三", birth_date=D(1946, 2, 12), gender="2", division="310115", source_feed="health.death",
         death_date=D(2026, 3, 2), batch_id=7, line_no=11, last_month_paid=M(2026, 10)),
]

ALL_IDS = {ZHANG, LI, WANG, HOSTILE, CHEN, ZHOU, SUN, WU, UNKNOWN, TYPO_MEANT, SWAP_MEANT, TYPO_REPORTED,
           SWAP_REPORTED}


def report(empty: bool = False) -> findings.Report:
    data = {"paid_after_death": PAID, "sources_disagree": DISAGREE, "not_deregistered": NOT_DEREG,
            "identity_mismatch": IDENTITY, "probable_typo": TYPO}
    tables = {} if empty else {k: pa.Table.from_pylist(v, schema=findings.KINDS[k]) for k, v in data.items()}
    return findings.Report(month=D(2026, 11, 1),
                           generated_at=dt.datetime(2026, 12, 1, 1, 30, tzinfo=dt.timezone.utc),
                           tolerance_days=3, tables=tables)
