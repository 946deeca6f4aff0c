"""Dates from the future (issue 23, class 4), on SQLite and PostgreSQL.

The business date in a delivery's name is never after the day it is delivered (agreements §5): the hub
judges that by its own clock (China's day, `jinbao.ledger.now`, injected here), with a small allowance
for a partner's clock that runs ahead (Settings.clock_allowance).  A delivery dated later is refused
whole, with a receipt, and its sequence stays free; so a file dated 2099 can never mark a living person
dead as of 2090, nor outrank the source's later deliveries that withdraw or correct it.  A record's
"not in the future" dates are held to the earlier of the business date and the hub's day.
The end-to-end cases run over the plain local folder and, sealed, over the real sshd (`transport`).
"""
from __future__ import annotations

import datetime as dt

import pytest

from jinbao.cli import main
from tests.deliveries import POLICE_DEATH, death_row, pension_row, write_delivery, write_hrss
from tests.faults.invariants import assert_accounted
from tests.hostile.partner_view import CST, assert_partner_terms, life, query, receipt, set_hub_clock
from tests.hostile.sealed_zone import LOCAL_AND_SFTP, zone_for

FEED = "police.death"
#: The hub's clock in these tests: the police's delivery for 5 December is due at 02:00 on the 6th.
NOW = dt.datetime(2026, 12, 6, 2, 30, tzinfo=CST)


@pytest.fixture(params=LOCAL_AND_SFTP)
def transport(request):
    return request.param


def _police(cfg, rows: list[dict], date: str, seq: int, czbz: bool = False, zone=None):
    """The police's delivery: written into the local zone, or (`zone`) uploaded to it as the police would."""
    columns = POLICE_DEATH + (["CZBZ"] if czbz else [])
    if zone is None:
        return write_delivery(cfg.inbound("police"), FEED, rows, date=date, seq=seq, columns=columns)
    plain = write_delivery(cfg.home / "police-side" / f"{seq}-{date}", FEED, rows, date=date, seq=seq,
                           columns=columns)
    return zone.put(plain)


def _over(zone, cfg, batch: dict) -> None:
    """The batch was fetched from the zone (over SFTP: the sshd's chroot) and acknowledged there."""
    assert (zone.inbound / "processed" / str(batch["id"]) / batch["file_name"]).is_file()
    if zone.sealed:
        assert any(p.name.endswith(".receipt.json.p7m") for p in zone.outbound.iterdir())
    if zone.owner:
        assert not cfg.inbound("police").exists()           # nothing went through the local folder


def _batch(cfg, batch_id: int) -> dict:
    (row,) = query(cfg, "select * from batch where id = :i", i=batch_id)
    return row


def _living(cfg) -> None:
    """Persons 0 to 3 are on the pension roll, alive."""
    write_hrss(cfg.inbound("hrss"), "hrss.pension_roll", [pension_row(i) for i in range(4)], date="20261130")
    assert main(["run", "hrss.pension_roll"]) == 0


def test_a_file_dated_2099_never_marks_a_living_person_dead_and_the_withdrawal_counts(home, monkeypatch, transport,
                                                                                      request):
    """The issue's case: a file dated 2099 said person 1 died in 2090 (published, outranking everything the
    police would ever send), and the police's withdrawal the next morning changed nothing."""
    set_hub_clock(monkeypatch, NOW)
    _living(home)                                          # the bureau's own roll, from the local folder
    zone = zone_for(transport, home, request, monkeypatch, "police")
    person = death_row(1)["GMSFHM"]
    _police(home, [death_row(1, SWRQ="20900101", ZXRQ="20900102"), death_row(3)], date="20990101", seq=1,
            zone=zone)
    assert main(["run", FEED]) == 2
    (first,) = assert_accounted(home, zone.inbound, sources=zone.sources)
    assert (first["status"], first["reason_code"], first["published"]) == \
        ("refused", "BUSINESS_DATE_IN_FUTURE", None)
    assert life(home, person) == ("alive", None, None)
    _over(zone, home, first)
    said = receipt(home, FEED, first["id"])
    assert (said["status"], said["reason_code"]) == ("refused", "BUSINESS_DATE_IN_FUTURE")
    assert "20990101" in said["message"] and "20261206" in said["message"]

    # the police withdraw what they sent, dated as it should be
    _police(home, [death_row(1, SWRQ="20261130", ZXRQ="20261201", CZBZ="2")], date="20261205", seq=2, czbz=True,
            zone=zone)
    assert main(["run", FEED]) == 0
    assert life(home, person)[0] == "alive"
    assert query(home, "select death_action from death_record where aac002 = :p", p=person) == \
        [{"death_action": "2"}]
    rows = assert_accounted(home, zone.inbound, sources=zone.sources)
    assert [(r["status"], r["received"], r["accepted"], r["published"]) for r in rows] == \
        [("refused", None, None, None), ("published", 1, 1, 1)]
    _over(zone, home, rows[1])
    assert_partner_terms(home, "police", zone.outbound)


def test_a_refused_future_delivery_leaves_its_sequence_free_and_later_corrections_win(home, monkeypatch, transport,
                                                                                 request):
    set_hub_clock(monkeypatch, NOW)
    _living(home)
    zone = zone_for(transport, home, request, monkeypatch, "police")
    alive, dead, corrected = (death_row(i)["GMSFHM"] for i in (0, 1, 3))
    _police(home, [death_row(1, SWRQ="20900101", ZXRQ="20900102"), death_row(3)], date="20990101", seq=1,
            zone=zone)
    assert main(["run", FEED]) == 2

    # sent again under the right date with the same sequence: a refused delivery's is not used up
    _police(home, [death_row(1, SWRQ="20261130", ZXRQ="20261201"), death_row(3, SWRQ="20261120")],
            date="20261205", seq=1, zone=zone)
    assert main(["run", FEED]) == 0
    assert life(home, dead) == ("deceased", "2026-11-30", FEED)
    assert life(home, corrected) == ("deceased", "2026-11-20", FEED)

    # next day they withdraw person 1's death and correct person 3's date: both take effect
    set_hub_clock(monkeypatch, NOW + dt.timedelta(days=1))
    _police(home, [death_row(1, SWRQ="20261130", ZXRQ="20261201", CZBZ="2"),
                   death_row(3, SWRQ="20261119", CZBZ="1")], date="20261206", seq=2, czbz=True, zone=zone)
    assert main(["run", FEED]) == 0
    assert life(home, dead) == ("alive", None, FEED)
    assert life(home, corrected) == ("deceased", "2026-11-19", FEED)
    assert life(home, alive) == ("alive", None, None)

    rows = assert_accounted(home, zone.inbound, sources=zone.sources,
                            overlapping_keys=True)   # the corrections replace rows
    assert [(r["status"], r["sequence"], r["received"], r["published"]) for r in rows] == \
        [("refused", 1, None, None), ("published", 1, 2, 2), ("published", 2, 2, 2)]
    assert query(home, "select count(*) as n from death_record")[0]["n"] == 2       # nothing twice
    for batch in rows:
        _over(zone, home, batch)
    assert_partner_terms(home, "police", zone.outbound)


def test_the_clock_allowance_is_small_and_the_day_is_chinas(home, monkeypatch):
    """Tomorrow's delivery is refused at 22:00 China time, taken at 23:30 (default allowance: an hour);
    at 01:00 China time (17:00 UTC the day before) the hub's day is already China's."""
    rows = [death_row(i) for i in range(3)]
    set_hub_clock(monkeypatch, dt.datetime(2026, 12, 6, 22, 0, tzinfo=CST))
    _police(home, rows, date="20261207", seq=1)
    assert main(["run", FEED]) == 2
    set_hub_clock(monkeypatch, dt.datetime(2026, 12, 6, 23, 30, tzinfo=CST))
    _police(home, rows, date="20261207", seq=1)                        # the same file, sent again
    assert main(["run", FEED]) == 0
    set_hub_clock(monkeypatch, dt.datetime(2026, 12, 7, 17, 0, tzinfo=dt.timezone.utc))
    _police(home, [death_row(i) for i in range(3, 5)], date="20261208", seq=2)
    assert main(["run", FEED]) == 0
    monkeypatch.setenv("JINBAO_CLOCK_ALLOWANCE", "0")                  # a setting: none at all
    set_hub_clock(monkeypatch, dt.datetime(2026, 12, 8, 23, 59, tzinfo=CST))
    _police(home, [death_row(5)], date="20261209", seq=3)
    assert main(["run", FEED]) == 2

    batches = assert_accounted(home, home.inbound("police"))
    assert [(b["status"], b["reason_code"], b["published"]) for b in batches] == [
        ("refused", "BUSINESS_DATE_IN_FUTURE", None), ("published", None, 3), ("published", None, 2),
        ("refused", "BUSINESS_DATE_IN_FUTURE", None)]
    assert "20261206" in receipt(home, FEED, batches[0]["id"])["message"]
    assert_partner_terms(home, "police")


def test_a_refused_future_delivery_tells_the_operator_what_to_do(home, monkeypatch, caplog):
    set_hub_clock(monkeypatch, NOW)
    _police(home, [death_row(1)], date="20270106", seq=1)
    with caplog.at_level("WARNING"):
        assert main(["run", FEED]) == 2
    (batch,) = assert_accounted(home, home.inbound("police"))
    assert batch["reason_code"] == "BUSINESS_DATE_IN_FUTURE"
    told = [r.getMessage() for r in caplog.records if "BUSINESS_DATE_IN_FUTURE" in r.getMessage()]
    assert any("ask police" in m and "clock" in m for m in told), told


def test_not_in_the_future_is_held_to_the_hubs_day_as_well(tmp_path):
    """A record's death date is judged against the earlier of the business date and the hub's day (plus the
    allowance), so a business date the hub has not reached yet never makes a later date acceptable."""
    import pyarrow.parquet as pq

    from jinbao.declarations import get_feed
    from jinbao.quality.judging import ACCEPTED, REJECTED, gate_for, judge_delivery
    from jinbao.settings import Settings

    spec = get_feed(FEED, Settings(home=tmp_path))
    path = write_delivery(tmp_path, FEED, [death_row(1, SWRQ="20261206", ZXRQ="20261206"),
                                           death_row(2, SWRQ="20261207", ZXRQ="20261206"),
                                           death_row(3, SWRQ="20261205", ZXRQ="20261208")], date="20261208")
    gate = gate_for(spec, dt.date(2026, 12, 8), not_after=dt.date(2026, 12, 6))
    judged = judge_delivery(path, spec.format.encoding, gate, tmp_path, 1)
    assert (judged.received, judged.accepted, judged.rejected) == (3, 1, 2)
    assert pq.read_table(tmp_path / ACCEPTED)["line_no"].to_pylist() == [2]
    assert sorted((r["line_no"], r["field"], r["reason_code"]) for r in pq.read_table(tmp_path / REJECTED).to_pylist()) \
        == [(3, "SWRQ", "DATE_IN_FUTURE"), (4, "ZXRQ", "DATE_IN_FUTURE")]
    # without the hub's day, the business date alone
    judged = judge_delivery(path, spec.format.encoding, gate_for(spec, dt.date(2026, 12, 8)), tmp_path, 1)
    assert judged.rejected == 0
