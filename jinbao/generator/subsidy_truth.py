"""The subsidies' answer key (issue 15): every line and every refused payment after a run of days.

For a business date D the files describe the hub after the days `since`..D were generated and
each run with `jinbao run all` (register_truth.run_days): the subsidy lines it must hold, each
with its owing division, category, amount due and status, and the payments it must refuse, by
delivery and line, with the reason codes.  Whether a payment pays a line depends on what the
hub holds when the payment arrives, which a single day's truth file cannot know, so the key
replays the run: each day's enrolment, assistance and payment deliveries (those the day owes, on
the calendar: timetable.py) are built again from their own streams with their planted defects (as generate writes them), and the hub's rules
(jinbao.subsidies) are applied to what the gate accepts, day by day:

* an accepted enrolment gives its person one line per level for the year, in arrears, owed by
  the household county (the population's; police, the roll and the ID agree on it) — never by
  the enrolling unit's division;
* a line's category is the person's assistance case's when civil affairs sent that case during
  the run and it was in force on 1 January, else 00 (ordinary); the amount is the standard's
  (schemas/subsidy_standards.yaml); until a line is paid, a later assistance record changes it;
* a payment the gate accepts pays its line when the line exists, is in arrears, names the owing
  division and the exact amount; otherwise it is refused with SUBSIDY_NO_LINE,
  SUBSIDY_ALREADY_PAID, or SUBSIDY_WRONG_DIVISION and/or SUBSIDY_WRONG_AMOUNT.

Claims are the caller's: the lines a claim sent keep what they held when it was sent (a later
change is a subsidy_difference), so a test that sends a claim after day d compares with the key
written for d (tests/jinbao/subsidies/test_planted_subsidies.py).

The key replays every day of the run, so `generate` writes it only when asked
(`subsidy_key=True`, `jinbao generate --subsidy-key`): a million-person day does not pay for it.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pandas as pd

from jinbao.generator import civil_affairs, finance, hrss, story
from jinbao.generator.defects import plant
from jinbao.generator.register_truth import run_days
from jinbao.subsidies import standards

FILES = {"lines": "expected_subsidy_lines.csv", "receipts": "expected_subsidy_receipts.csv"}
LINE_COLUMNS = ["aac002", "subsidy_year", "subsidy_level", "owing_division", "category", "amount_due", "status",
                "paid_on", "enrolled_day"]
RECEIPT_COLUMNS = ["business_date", "line_no", "aac002", "subsidy_level", "reason_code", "plant"]
ARREARS, PAID = "arrears", "paid"
ASSISTANCE_NUMBER, FINANCE_NUMBER = 3, finance.NUMBER


def _accepted(builders: dict, feed: str, number: int, w, seed: int, defect_share: float):
    """The day's delivery of `feed` as generate writes it, and a mask of the rows the gate accepts."""
    rng = np.random.default_rng([seed, number, story.day_number(w.on)])
    d = builders[feed](rng, w)
    good = np.ones(d.records, dtype=bool)
    good[[row for row, _, _ in plant(rng, d, defect_share, w.on)]] = False
    return d, good


def _standards() -> dict[tuple[str, str, str], Decimal]:
    t = standards.load().to_pandas()
    return {(y, c, lv): Decimal(str(a)) for y, c, lv, a in
            zip(t["subsidy_year"], t["category"], t["subsidy_level"], t["amount"])}


def answer(world, on: dt.date, seed: int, people: int, defect_share: float, builders: dict,
           since: dt.date | None = None) -> dict[str, pd.DataFrame]:
    """{"lines": ..., "receipts": ...} after the run since..on (frames, persons as population rows)."""
    due = _standards()
    n = len(world.ids)
    case = civil_affairs.cases(world)
    known = np.zeros(n, dtype=bool)                 # civil affairs sent the person's case in the run
    lines = pd.DataFrame({c: pd.Series(dtype=object) for c in LINE_COLUMNS}).assign(
        person=pd.Series(dtype=np.int64))
    receipts = []
    for day in run_days(world, on, since):
        w = world.on_day(day)
        year = str(day.year)
        enrolled = hrss.accepted_enrollees(w, seed, people, defect_share)
        fresh = np.setdiff1d(enrolled, lines.loc[lines["subsidy_year"] == year, "person"].to_numpy())
        if len(fresh) and any(k[0] == year for k in due):
            county = w.county[fresh].astype(str)
            per_level = [pd.DataFrame({"person": fresh, "subsidy_year": year, "subsidy_level": lv,
                                       "owing_division": finance._owing(county, np.full(len(fresh), lv)),
                                       "status": ARREARS, "paid_on": "", "enrolled_day": day.isoformat()})
                         for lv in finance.LEVELS]
            lines = pd.concat([lines, *per_level], ignore_index=True)
        if w.delivers(civil_affairs.ASSISTANCE):
            d, good = _accepted(builders, civil_affairs.ASSISTANCE, ASSISTANCE_NUMBER, w, seed, defect_share)
            known[d.person[good]] = True
        lines = _categorise(lines, w, known, case, due)
        if w.delivers(finance.FEED):
            d, good = _accepted(builders, finance.FEED, FINANCE_NUMBER, w, seed, defect_share)
            lines, refused = _pay(lines, d, good, day)
            receipts.append(refused)
    ids = world.ids
    lines = lines.assign(aac002=ids[lines["person"].to_numpy(dtype=np.int64)] if len(lines) else [])
    lines["amount_due"] = lines["amount_due"].map(lambda a: f"{a:.2f}")
    out = pd.concat(receipts, ignore_index=True) if receipts else pd.DataFrame(columns=RECEIPT_COLUMNS + ["person"])
    out = out.assign(aac002=ids[out["person"].to_numpy(dtype=np.int64)] if len(out) else [])
    return {"lines": lines.sort_values(["aac002", "subsidy_year", "subsidy_level"])[LINE_COLUMNS]
            .reset_index(drop=True),
            "receipts": out.sort_values(["business_date", "line_no", "reason_code"])[RECEIPT_COLUMNS]
            .reset_index(drop=True)}


def _categorise(lines: pd.DataFrame, w, known: np.ndarray, case: dict, due: dict) -> pd.DataFrame:
    """Category and amount of every unpaid line as the hub recomputes them (paid lines keep theirs)."""
    if lines.empty:
        return lines
    open_ = (lines["status"] == ARREARS).to_numpy()
    p = lines["person"].to_numpy(dtype=np.int64)
    jan1 = pd.to_datetime(lines["subsidy_year"] + "-01-01").to_numpy().astype("datetime64[D]")
    start, end = case["start"][p], case["end"][p]
    in_force = known[p] & (start <= jan1) & (np.isnat(end) | (end >= jan1))
    category = np.where(in_force, case["category"][p].astype(str), "00")
    lines.loc[open_, "category"] = category[open_]
    lines.loc[open_, "amount_due"] = [due[(y, c, lv)] for y, c, lv in zip(
        lines.loc[open_, "subsidy_year"], lines.loc[open_, "category"], lines.loc[open_, "subsidy_level"])]
    return lines


def _pay(lines: pd.DataFrame, d, good: np.ndarray, day: dt.date) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The day's accepted payments against the lines as they stood before the delivery: the lines
    paid, and the refused payments' (line, reason) rows."""
    rows = np.flatnonzero(good)
    pay = pd.DataFrame({"row": rows, "person": d.person[rows], "subsidy_year": d.cols["BTND"][rows],
                        "subsidy_level": d.cols["BTJB"][rows], "division": d.cols["XZQH"][rows],
                        "amount": [Decimal(a) for a in d.cols["BTJE"][rows]], "paid_on": d.cols["DZRQ"][rows],
                        "plant": d.extra["plant"][rows]})
    keyed = pay.merge(lines[["person", "subsidy_year", "subsidy_level", "owing_division", "amount_due", "status"]]
                      .reset_index(), on=["person", "subsidy_year", "subsidy_level"], how="left")
    no_line = keyed["status"].isna()
    paid = keyed["status"] == PAID
    open_ = ~no_line & ~paid
    wrong_division = open_ & (keyed["division"] != keyed["owing_division"])
    wrong_amount = open_ & (keyed["amount"] != keyed["amount_due"])
    refused = [keyed[mask].assign(reason_code=code) for mask, code in (
        (no_line, "SUBSIDY_NO_LINE"), (paid, "SUBSIDY_ALREADY_PAID"), (wrong_division, "SUBSIDY_WRONG_DIVISION"),
        (wrong_amount, "SUBSIDY_WRONG_AMOUNT"))]
    refused = pd.concat(refused, ignore_index=True)
    refused = refused.assign(business_date=day.isoformat(), line_no=refused["row"] + 2)
    good_pay = keyed[open_ & ~wrong_division & ~wrong_amount]
    at = good_pay["index"].astype(np.int64).to_numpy()
    lines.loc[at, "status"] = PAID
    lines.loc[at, "paid_on"] = [f"{s[:4]}-{s[4:6]}-{s[6:]}" for s in good_pay["paid_on"]]
    return lines, refused[["business_date", "line_no", "person", "subsidy_level", "reason_code", "plant"]]


def write(truth_dir, world, on: dt.date, seed: int, people: int, defect_share: float, builders: dict,
          since: dt.date | None = None) -> dict:
    """Write the key for the run since..on; returns the summary's `subsidies` part."""
    key = answer(world, on, seed, people, defect_share, builders, since)
    truth_dir.mkdir(parents=True, exist_ok=True)
    key["lines"].to_csv(truth_dir / FILES["lines"], index=False, lineterminator="\n")
    key["receipts"].to_csv(truth_dir / FILES["receipts"], index=False, lineterminator="\n")
    lines, receipts = key["lines"], key["receipts"]
    days = run_days(world, on, since)
    return {"since": days[0].isoformat() if days else None, "files": FILES,
            "lines": {s: int((lines["status"] == s).sum()) for s in (ARREARS, PAID)},
            "categories": {c: int(k) for c, k in lines["category"].value_counts().sort_index().items()},
            "refused": {c: int(k) for c, k in receipts["reason_code"].value_counts().sort_index().items()},
            "plants": {c: int(k) for c, k in receipts.drop_duplicates(["business_date", "line_no"])["plant"]
                       .value_counts().sort_index().items()}}
