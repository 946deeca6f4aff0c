"""jinbao/expected/missing.py and `jinbao deliveries missing`: late deliveries are listed and reminded once."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from jinbao import exchange_log, ledger
from jinbao.cli import main
from jinbao.declarations import load_feeds
from jinbao.expected.missing import REMINDER, check
from jinbao.store.database import upgrade
from tests.deliveries import death_row, write_delivery

CST = ZoneInfo("Asia/Shanghai")
D = dt.date


@pytest.fixture
def clock(monkeypatch):
    """Set the hub's clock (China Standard Time)."""
    def set_to(*args):
        monkeypatch.setattr(ledger, "now", lambda: dt.datetime(*args, tzinfo=CST).astimezone(dt.timezone.utc))
    return set_to


def _reminders(home, partner="police"):
    out = home.outbound(partner)
    return sorted(p.name for p in out.iterdir() if p.name.endswith(".reminder.txt")) if out.exists() else []


def _logged(home, feed="police.death"):
    with upgrade(home.store_url).connect() as conn:
        return sorted((e["business_date"], e["file_name"]) for e in exchange_log.entries(conn, feed=feed)
                      if e["status"] == REMINDER and e["direction"] == exchange_log.OUT)


def test_a_late_delivery_is_reminded_once_and_taken_or_waiting_ones_are_not(home, clock, capsys):
    clock(2026, 10, 6, 12, 0)
    write_delivery(home.inbound("police"), "police.death", [], date="20261001")            # header only: taken
    assert main(["run", "police.death"]) == 0
    write_delivery(home.inbound("police"), "police.death", [death_row(1)], date="20261002")  # waiting, not run
    capsys.readouterr()

    args = ["deliveries", "missing", "--from", "2026-10-01", "--to", "2026-10-06", "--feed", "police.death"]
    assert main(args) == 2
    out = capsys.readouterr().out
    rows = [line.split() for line in out.splitlines() if line.startswith("police.death ")]
    assert [r[2] for r in rows] == ["2026-10-03", "2026-10-04", "2026-10-05"]      # 6 Oct: due tomorrow
    assert out.count("sent now") == 3
    names = ["police.death_20261003.reminder.txt", "police.death_20261004.reminder.txt",
             "police.death_20261005.reminder.txt"]
    assert _reminders(home) == names
    assert _logged(home) == [(D(2026, 10, 3), names[0]), (D(2026, 10, 4), names[1]), (D(2026, 10, 5), names[2])]

    text = (home.outbound("police") / names[0]).read_text(encoding="utf-8")
    assert "police.death" in text and "2026-10-03" in text and "2026-10-04 02:00" in text
    assert "催报" in text and "Reminder" in text and "header only" in text
    assert str(home.home) not in text and "jinbao" not in text               # no hub path, no command

    # A second check lists them again but sends nothing new.
    assert main(args) == 2
    again = capsys.readouterr().out
    assert "sent now" not in again and again.count("sent 2026-10-06 12:00") == 3
    assert _reminders(home) == names and len(_logged(home)) == 3
    assert main(["log", "verify"]) == 0                 # the reminders are sealed in the chain like any entry


def test_a_delivery_is_not_late_before_due_plus_grace(home, clock):
    feeds = load_feeds(home)
    db = upgrade(home.store_url)
    clock(2026, 10, 6, 3, 59)           # 5 Oct's delivery was due 6 Oct 02:00: late at 04:00
    assert [m.due.business_date for m in check(home, db, feeds, D(2026, 10, 5), D(2026, 10, 5),
                                               "police.death").missing] == []
    clock(2026, 10, 6, 4, 0)
    found = check(home, db, feeds, D(2026, 10, 5), D(2026, 10, 5), "police.death", send=False).missing
    assert [(m.due.business_date, m.reminded) for m in found] == [(D(2026, 10, 5), None)]
    assert _reminders(home) == []                                              # listed only


def test_the_front_end_databases_pull_counts_for_the_months_file(sqlite_home, clock):
    home = sqlite_home
    feeds = load_feeds(home)
    db = upgrade(home.store_url)
    clock(2026, 11, 20, 12, 0)
    late = check(home, db, feeds, D(2026, 9, 1), D(2026, 10, 31), "finance.subsidy_payment", send=False).missing
    assert [m.due.business_date for m in late] == [D(2026, 9, 30), D(2026, 10, 31)]
    with db.begin() as conn:                # finance put September's confirmations in its front-end table
        ledger.insert(conn, status=ledger.Status.PUBLISHED, feed="finance.subsidy_payment_frontend",
                      file_name="finance.subsidy_payment_frontend_20261009_000001.csv", sha256="0" * 64,
                      sequence=1, business_date=D(2026, 10, 9), encoding="GB18030")
    late = check(home, db, feeds, D(2026, 9, 1), D(2026, 10, 31), "finance.subsidy_payment").missing
    assert [m.due.business_date for m in late] == [D(2026, 10, 31)]
    assert _reminders(home, "finance") == ["finance.subsidy_payment_20261031.reminder.txt"]
    assert check(home, db, feeds, D(2026, 9, 1), D(2026, 10, 31), "finance.subsidy_payment_frontend").missing == []


def test_nothing_missing_exits_0(sqlite_home, clock, capsys):
    clock(2026, 10, 6, 12, 0)
    assert main(["deliveries", "missing", "--from", "2026-10-06", "--to", "2026-10-06"]) == 0
    assert "no delivery missing" in capsys.readouterr().out
