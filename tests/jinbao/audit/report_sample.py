"""A hand-built death-mismatch Report with rows of every finding kind, for the renderers' tests.

The rows agree with each other as the report's definitions say (docs/audit.md): the six people paid
after death, their overpaid months and death evidence, the stop-payment list (everyone dead and paid
for 2026-11), and so on.  Amounts are chosen so that float arithmetic would show (0.10 steps, a
nine-digit amount beside a fen); texts are hostile: a name that is a formula for Excel and CSV and
markup for the page, a delivery file name with a citizen ID, a formula and markup inside, a reported
name with a control character.  Feeds are named by their real codes, so the renderers' titles apply.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pyarrow as pa

from jinbao.audit import findings
from jinbao.quality.citizen_id import with_check_char

D = dt.date
M = lambda y, m: dt.date(y, m, 1)  # noqa: E731 - a month is its first day
Y = Decimal

POLICE, HEALTH, CREMATION = "police.death", "health.death_certificate", "civil_affairs.cremation"
#: The feeds' titles as the declarations (dags/feeds/*.yaml) give them.
TITLES = {POLICE: "公安死亡人员信息 Police death registrations",
          HEALTH: "卫健居民死亡医学证明 Health medical death certificates",
          CREMATION: "民政火化信息 Civil affairs cremations",
          "police.identity": "公安人口信息变更 Police identity changes",
          "hrss.pension_roll": "人社养老金发放名册 Pension roll (bureau)"}


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
QIAN = cid("11010519390808012")        # police and health months apart: overpaid 0 by the date in force
WEI = cid("44030519410101013")         # a pensioner whose death certificate the gate rejected
JIANG = cid("31011519360606014")
EMIGRANT = cid("11010519700707015")    # unplaced: deregistrations that are not deaths
DUPLICATE = cid("11010519710101016")
HAN = cid("11010519370303017")         # on last month's list, death withdrawn since
HOSTILE_NAME = '=1+2<img src="x">赵六'
HOSTILE_FILE = f'=cmd|{HOSTILE}<b>x</b>.csv'       # a partner's delivery name holding an ID
BELL_NAME = "蒋十三\x07"                            # a control character as a source sent it

#: a one-digit change at position 12 (inside the masked part) and a swap of digits 15-16
TYPO_REPORTED = TYPO_MEANT[:11] + str((int(TYPO_MEANT[11]) + 5) % 10) + TYPO_MEANT[12:]
SWAP_REPORTED = SWAP_MEANT[:14] + SWAP_MEANT[15] + SWAP_MEANT[14] + SWAP_MEANT[16:]


def _file(feed: str, day: dt.date, seq: int) -> str:
    return f"{feed}_{day:%Y%m%d}_{seq:06d}.csv"


def _months(first: dt.date, last: dt.date) -> list[dt.date]:
    out, m = [], first
    while m <= last:
        out.append(m)
        m = M(m.year + (m.month == 12), m.month % 12 + 1)
    return out


# The people paid after death: (id, name, division, monthly amount, last month paid,
# {source: (reported, date, file, line)} most trusted first, date in force, earliest, latest)
PEOPLE_PAID = [
    (ZHANG, "张三", "110105", Y("1000.10"), M(2026, 11),
     {POLICE: ("death", D(2026, 5, 12), _file(POLICE, D(2026, 5, 13), 1), 4),
      HEALTH: ("death", D(2026, 5, 20), _file(HEALTH, D(2026, 5, 21), 2), 9)}),
    (LI, "李四", "110105", Y("1000.10"), M(2026, 10),
     {POLICE: ("withdrawn", D(2026, 5, 29), _file(POLICE, D(2026, 6, 2), 3), 1),
      CREMATION: ("death", D(2026, 5, 30), _file(CREMATION, D(2026, 6, 1), 1), 12)}),
    (WANG, "王五", "310115", Y("3333333.33"), M(2026, 11),
     {POLICE: ("death", D(2026, 8, 3), _file(POLICE, D(2026, 8, 4), 7), 2),
      HEALTH: ("death", D(2026, 8, 5), _file(HEALTH, D(2026, 8, 6), 5), 3),
      CREMATION: ("death", D(2026, 7, 28), _file(CREMATION, D(2026, 7, 29), 4), 8)}),
    (HOSTILE, HOSTILE_NAME, "440305", Y("0.01"), M(2026, 11),
     {POLICE: ("death", D(2026, 10, 1), HOSTILE_FILE, 6),
      HEALTH: ("dated after the report month", D(2026, 12, 2), _file(HEALTH, D(2026, 12, 3), 1), 1)}),
    (QIAN, "钱十一", "110105", Y("1500.10"), M(2026, 11),
     {POLICE: ("death", D(2026, 11, 20), _file(POLICE, D(2026, 11, 21), 1), 5),
      HEALTH: ("death", D(2026, 8, 10), _file(HEALTH, D(2026, 8, 11), 3), 2)}),
    (ZHOU, "周八", "310115", Y("1000.10"), M(2026, 11),
     {POLICE: ("emigration", D(2026, 6, 1), _file(POLICE, D(2026, 6, 2), 3), 2),
      HEALTH: ("death", D(2026, 7, 7), _file(HEALTH, D(2026, 7, 8), 1), 4)}),
]
#: the people with a roll row the gate rejected (months up to 2026-11), and how many rows of the period
ROLL_REJECTED = {HOSTILE: 1}
ROLL_ROWS_REJECTED = 2


def _after(month_of: dt.date, last: dt.date) -> list[dt.date]:
    first = M(month_of.year + (month_of.month == 12), month_of.month % 12 + 1)
    return _months(first, last)


PAID, OVERPAID_MONTHS, EVIDENCE, STOP = [], [], [], []
for pid, name, division, monthly, last, records in PEOPLE_PAID:
    active = [(feed, r[1]) for feed, r in records.items() if r[0] == "death"]
    in_force = active[0][1]
    earliest, latest = min(d for _, d in active), max(d for _, d in active)
    paid_in_force, paid_high, paid_low = (_after(d, last) for d in (in_force, earliest, latest))
    PAID.append(dict(aac002=pid, name=name, division=division, death_date=in_force, earliest_date=earliest,
                     latest_date=latest, sources=", ".join(f for f, _ in active),
                     months_paid_after=len(paid_in_force), overpaid=monthly * len(paid_in_force),
                     overpaid_low=monthly * len(paid_low), overpaid_high=monthly * len(paid_high),
                     last_month_paid=last, roll_rows_rejected=ROLL_REJECTED.get(pid, 0)))
    OVERPAID_MONTHS += [dict(aac002=pid, name=name, month=m, amount=monthly, after_date_in_force=m in paid_in_force)
                        for m in paid_high]
    EVIDENCE += [dict(aac002=pid, source_feed=feed, reported=r[0], death_date=r[1], file_name=r[2], line_no=r[3],
                      batch_id=100 + i) for i, (feed, r) in enumerate(records.items())]
    if last == M(2026, 11):
        STOP.append(dict(aac002=pid, name=name, division=division, death_date=in_force, earliest_date=earliest,
                         sources=", ".join(f for f, _ in active), monthly_amount=monthly, last_month_paid=last,
                         roll_rows_rejected=ROLL_REJECTED.get(pid, 0)))

#: What the outputs must add up to, written out (not computed like the rows above).
PEOPLE, TOTAL = 6, Y("10015001.50")
LOW, HIGH = Y("10015001.50"), Y("13352835.13")
TO_STOP, MONTHLY = 5, Y("3336833.64")
FLAGGED = 1
#: division: (name, people to stop, monthly, people paid after death, overpaid)
DIVISIONS = {"110105": ("朝阳区", 2, Y("2500.20"), 3, Y("11001.10")),
             "310115": ("浦东新区", 2, Y("3334333.43"), 2, Y("10004000.39")),
             "440305": ("南山区", 1, Y("0.01"), 1, Y("0.01"))}
BY_MONTH = {"2026-05": Y("11001.10"), "2026-07": Y("4000.40"), "2026-08": Y("9999999.99"),
            "2026-10": Y("0.01"), "2026-11": Y("0.00")}

DISAGREE = [
    dict(aac002=ZHANG, name="张三", division="110105", kind="dates differ", police_date=D(2026, 5, 12),
         health_date=D(2026, 5, 20), cremation_date=None, spread_days=8, withdrawn_by=None, still_reported_by=None),
    dict(aac002=LI, name="李四", division="110105", kind="withdrawn but still reported", police_date=None,
         health_date=None, cremation_date=D(2026, 5, 30), spread_days=0, withdrawn_by=POLICE,
         still_reported_by=CREMATION),
    dict(aac002=WANG, name="王五", division="310115", kind="dates differ", police_date=D(2026, 8, 3),
         health_date=D(2026, 8, 5), cremation_date=D(2026, 7, 28), spread_days=8, withdrawn_by=None,
         still_reported_by=None),
    dict(aac002=QIAN, name="钱十一", division="110105", kind="dates differ", police_date=D(2026, 11, 20),
         health_date=D(2026, 8, 10), cremation_date=None, spread_days=102, withdrawn_by=None, still_reported_by=None),
    dict(aac002=CHEN, name="陈七", division="110105", kind="withdrawn but still reported", police_date=D(2026, 9, 1),
         health_date=None, cremation_date=D(2026, 9, 3), spread_days=2, withdrawn_by=HEALTH,
         still_reported_by=f"{POLICE}, {CREMATION}"),
]
NOT_DEREG = [
    dict(aac002=ZHOU, name="周八", division="310115", death_date=D(2026, 7, 7), sources=HEALTH,
         last_month_paid=M(2026, 11)),
]
REJECTED = [
    dict(aac002=WEI, name="卫十二", division="440305", name_reported="卫十二", source_feed=HEALTH,
         death_date=D(2026, 9, 15), reasons="USCC_CHECKSUM", file_name=_file(HEALTH, D(2026, 9, 16), 3),
         line_no=7, batch_id=31, months_at_risk=2, amount_at_risk=Y("2400.20"), last_month_paid=M(2026, 11)),
    dict(aac002=JIANG, name="蒋十三", division="310115", name_reported=BELL_NAME, source_feed=CREMATION,
         death_date=D(2026, 10, 30), reasons="CONTROL_CHAR,DATE_INVALID", file_name=_file(CREMATION, D(2026, 11, 2), 1),
         line_no=3, batch_id=32, months_at_risk=1, amount_at_risk=Y("0.10"), last_month_paid=M(2026, 11)),
]
IDENTITY = [
    dict(aac002=SUN, source_feed=POLICE, kind="name differs", name_reported="孙九",
         name_registered="孙玖", gender_reported="1", gender_registered="1", registered_by="police.identity",
         death_date=D(2026, 6, 6), file_name=_file(POLICE, D(2026, 6, 7), 2), line_no=17, batch_id=3),
    dict(aac002=WU, source_feed=HEALTH, kind="gender differs", name_reported="吴十",
         name_registered="吴十", gender_reported="2", gender_registered="1", registered_by="hrss.pension_roll",
         death_date=D(2026, 6, 7), file_name=_file(HEALTH, D(2026, 6, 8), 1), line_no=2, batch_id=4),
]
TYPO = [
    dict(id_reported=TYPO_REPORTED, aac002=TYPO_MEANT, difference=f"digit 12: {TYPO_REPORTED[11]} -> {TYPO_MEANT[11]}",
         name="冯二", birth_date=D(1944, 4, 4), gender="1", division="110105", division_agrees="yes",
         source_feed=POLICE, death_date=D(2026, 4, 1), file_name=_file(POLICE, D(2026, 4, 2), 1),
         line_no=5, batch_id=6, last_month_paid=M(2026, 11)),
    dict(id_reported=SWAP_REPORTED, aac002=SWAP_MEANT, difference="digits 15-16 swapped",
         name="褚三", birth_date=D(1946, 2, 12), gender="2", division="310115", division_agrees="not reported",
         source_feed=CREMATION, death_date=D(2026, 3, 2), file_name=_file(CREMATION, D(2026, 3, 3), 2),
         line_no=11, batch_id=7, last_month_paid=M(2026, 10)),
]
UNPLACED = [
    dict(aac002=UNKNOWN, name="郑一", reported="death", date=D(2026, 6, 8), sources=f"{HEALTH}, {CREMATION}",
         file_name=_file(HEALTH, D(2026, 6, 9), 4), line_no=9, batch_id=5),
    dict(aac002=EMIGRANT, name="冯十四", reported="emigration", date=D(2026, 9, 9), sources=POLICE,
         file_name=_file(POLICE, D(2026, 9, 10), 1), line_no=3, batch_id=8),
    dict(aac002=DUPLICATE, name="杨十五", reported="duplicate registration", date=D(2026, 10, 10), sources=POLICE,
         file_name=_file(POLICE, D(2026, 10, 11), 2), line_no=4, batch_id=9),
]
CHANGES = [
    dict(aac002=ZHANG, name="张三", division="110105", status="still open", why=None,
         overpaid_before=Y("5000.50"), overpaid_now=Y("6000.60")),
    dict(aac002=WANG, name="王五", division="310115", status="still open", why=None,
         overpaid_before=Y("6666666.66"), overpaid_now=Y("9999999.99")),
    dict(aac002=ZHOU, name="周八", division="310115", status="still open", why=None,
         overpaid_before=Y("3000.30"), overpaid_now=Y("4000.40")),
    dict(aac002=HOSTILE, name=HOSTILE_NAME, division="440305", status="new", why=None,
         overpaid_before=None, overpaid_now=Y("0.01")),
    dict(aac002=QIAN, name="钱十一", division="110105", status="new", why=None,
         overpaid_before=None, overpaid_now=Y("0.00")),
    dict(aac002=LI, name="李四", division="110105", status="resolved", why="payments stopped",
         overpaid_before=Y("5000.50"), overpaid_now=Y("5000.50")),
    dict(aac002=HAN, name="韩十六", division="110105", status="resolved", why="death withdrawn",
         overpaid_before=Y("800.80"), overpaid_now=None),
]
CHANGE_COUNTS = {"new": 2, "still open": 3, "resolved: payments stopped": 1, "resolved: death withdrawn": 1}
TREND = [
    dict(month=M(2026, 6), people_to_stop=2, people_paid_after_death=2, overpaid=Y("2000.20"), roll_rows_rejected=0),
    dict(month=M(2026, 7), people_to_stop=2, people_paid_after_death=2, overpaid=Y("4000.40"), roll_rows_rejected=0),
    dict(month=M(2026, 8), people_to_stop=4, people_paid_after_death=3, overpaid=Y("7001.20"), roll_rows_rejected=1),
    dict(month=M(2026, 9), people_to_stop=5, people_paid_after_death=4, overpaid=Y("3343344.13"), roll_rows_rejected=0),
    dict(month=M(2026, 10), people_to_stop=4, people_paid_after_death=4, overpaid=Y("6679677.46"),
         roll_rows_rejected=0),
    dict(month=M(2026, 11), people_to_stop=5, people_paid_after_death=6, overpaid=Y("10015001.50"),
         roll_rows_rejected=1),
]

DATA = {"stop_payment": STOP, "paid_after_death": PAID, "overpaid_months": OVERPAID_MONTHS,
        "death_evidence": EVIDENCE, "sources_disagree": DISAGREE, "not_deregistered": NOT_DEREG,
        "rejected_death": REJECTED, "identity_mismatch": IDENTITY, "probable_typo": TYPO, "unplaced": UNPLACED,
        "changes": CHANGES, "trend": TREND}
assert set(DATA) == set(findings.KINDS)

ALL_IDS = {ZHANG, LI, WANG, HOSTILE, CHEN, ZHOU, SUN, WU, UNKNOWN, TYPO_MEANT, SWAP_MEANT, TYPO_REPORTED,
           SWAP_REPORTED, QIAN, WEI, JIANG, EMIGRANT, DUPLICATE, HAN}
#: the columns that hold a partner's delivery name (which starts with the feed's code, as agreed)
FILE_FIELDS = {"file_name"}


def report(empty: bool = False) -> findings.Report:
    tables = {} if empty else {k: pa.Table.from_pylist(v, schema=findings.KINDS[k]) for k, v in DATA.items()}
    return findings.Report(month=D(2026, 11, 1),
                           generated_at=dt.datetime(2026, 12, 1, 1, 30, tzinfo=dt.timezone.utc),
                           tolerance_days=3, tables=tables, roll_rows_rejected=0 if empty else ROLL_ROWS_REJECTED)
