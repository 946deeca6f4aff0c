"""What every report must obey whatever the data: each row its own kind's definition, and no table
contradicting another (docs/audit.md, "What the report holds")."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from jinbao.audit.findings import KINDS, Report, month_end

POLICE = "police.death"


def check(report: Report) -> None:
    month, end = report.month, month_end(report.month)
    for kind, schema in KINDS.items():
        assert report.table(kind).schema == schema, kind
    paid = {r["aac002"]: r for r in report.table("paid_after_death").to_pylist()}
    assert len(paid) == report.table("paid_after_death").num_rows          # one row per person
    for r in paid.values():
        assert r["overpaid_low"] <= r["overpaid"] <= r["overpaid_high"] and r["overpaid_high"] > 0, r
        assert r["earliest_date"] <= r["death_date"] <= r["latest_date"] <= end, r
        assert r["last_month_paid"] <= month and r["months_paid_after"] >= 0
        assert (r["months_paid_after"] == 0) == (r["overpaid"] == 0) or r["overpaid"] == 0
    months = report.table("overpaid_months").to_pylist()
    assert {m["aac002"] for m in months} == set(paid)
    by_person: dict[str, list] = {}
    for m in months:
        by_person.setdefault(m["aac002"], []).append(m)
        assert m["month"] <= month
    for who, r in paid.items():
        assert sum((m["amount"] for m in by_person[who]), Decimal(0)) == r["overpaid_high"]
        assert sum((m["amount"] for m in by_person[who] if m["after_date_in_force"]), Decimal(0)) == r["overpaid"]
        assert sum(m["after_date_in_force"] for m in by_person[who]) == r["months_paid_after"]
        assert all(m["month"] > r["earliest_date"].replace(day=1) for m in by_person[who])
    stop = {r["aac002"]: r for r in report.table("stop_payment").to_pylist()}
    assert len(stop) == report.table("stop_payment").num_rows
    latest = {r["last_month_paid"] for r in stop.values()}
    assert len(latest) <= 1 and all(m <= month for m in latest)              # one latest roll month
    for r in stop.values():
        assert r["earliest_date"] <= r["death_date"] <= end and r["monthly_amount"] > 0
    evidence = report.table("death_evidence").to_pylist()
    assert {e["aac002"] for e in evidence} == set(paid) | set(stop)
    for who in set(paid) | set(stop):
        mine = [e for e in evidence if e["aac002"] == who]
        active = [e for e in mine if e["reported"] == "death"]
        assert active and all(e["death_date"] <= end for e in active)
        row = paid.get(who) or stop[who]
        assert row["sources"].split(", ") == [e["source_feed"] for e in active]
        assert min(e["death_date"] for e in active) == row["earliest_date"]
    for r in report.table("not_deregistered").to_pylist():
        assert POLICE not in r["sources"].split(", ") and r["aac002"] in stop
        assert r["death_date"] <= end
    for r in report.table("sources_disagree").to_pylist():
        dates = [d for d in (r["police_date"], r["health_date"], r["cremation_date"]) if d]
        assert all(d <= end for d in dates)
        if r["kind"] == "dates differ":
            assert r["spread_days"] == (max(dates) - min(dates)).days > report.tolerance_days
        else:
            assert r["withdrawn_by"] and r["still_reported_by"]
            assert not set(r["withdrawn_by"].split(", ")) & set(r["still_reported_by"].split(", "))
    for r in report.table("rejected_death").to_pylist():
        assert r["death_date"] <= end and r["reasons"] and r["line_no"] >= 2
        assert (r["months_at_risk"] == 0) == (r["amount_at_risk"] == 0)
    for r in report.table("identity_mismatch").to_pylist():
        assert r["registered_by"] and not r["registered_by"].startswith(("police.death", "health.", "civil_affairs.cr"))
        if r["kind"] == "name differs":
            assert r["name_reported"] != r["name_registered"]
        else:
            assert r["gender_reported"] != r["gender_registered"]
    unplaced = report.table("unplaced").to_pylist()
    assert len({u["aac002"] for u in unplaced}) == len(unplaced)             # one row per ID
    assert not {u["aac002"] for u in unplaced} & (set(paid) | set(stop))     # no payment at stake
    for t in report.table("probable_typo").to_pylist():
        assert t["id_reported"] != t["aac002"] and t["division_agrees"] in ("yes", "no", "not reported")
        assert t["death_date"] <= end and t["last_month_paid"] <= month
    changes = report.table("changes").to_pylist()
    assert {c["aac002"] for c in changes if c["status"] != "resolved"} == set(stop)
    trend = report.table("trend").to_pylist()
    assert trend[-1]["month"] == month and trend[-1]["people_to_stop"] == len(stop)
    assert trend[-1]["people_paid_after_death"] == len(paid)
    assert trend[-1]["overpaid"] == sum((r["overpaid"] for r in paid.values()), Decimal(0))
    assert [t["month"] for t in trend] == sorted(t["month"] for t in trend)
    assert isinstance(report.roll_rows_rejected, int) and report.roll_rows_rejected >= 0
    assert isinstance(month, dt.date)
