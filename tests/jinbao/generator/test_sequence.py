"""Several generated days into one home tell one story: a person dies once, the dead stay dead,
every delivery is new, and the hub takes every day with exactly the planted rejections."""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import shutil

import pyarrow.parquet as pq
import pytest

from jinbao.generator import FEEDS, generate, story
from jinbao.generator import civil_affairs, finance, health, hrss, subsidy_truth
from jinbao.settings import load_settings

DAYS = [dt.date(2026, 11, 22) + dt.timedelta(days=i) for i in range(3)]
#: The partner field a subsidy refusal names (the key's three fields otherwise).
SUBSIDY_FIELD = {"SUBSIDY_WRONG_DIVISION": "XZQH", "SUBSIDY_WRONG_AMOUNT": "BTJE"}
DEATH_FEEDS = ("police.death", "health.death_certificate", "civil_affairs.cremation")
#: Feeds that only name living people, and the column holding the ID.
LIVING = {"police.identity": "GMSFHM", "civil_affairs.assistance": "SFZH", "finance.subsidy_payment": "SFZH",
          "hrss.resident_enrollment": "AAC002", "hrss.contribution": "AAC002"}
ID_COLUMN = {"police.death": "GMSFHM", "health.death_certificate": "ID_NO", "civil_affairs.cremation": "SFZH"}


def person(value: str) -> str:
    """The first 17 characters of the 18-digit ID (a planted ID_CHECKSUM only changes the 18th)."""
    return value[:6] + "19" + value[6:15] if len(value) == 15 else value[:17]


def rows(cfg, info) -> tuple[list[dict], set[int]]:
    """Records of a delivery as dicts, and the lines the truth file says are defective."""
    text = (cfg.inbound(info["partner"]) / info["file"]).read_bytes().decode(info["encoding"].lower())
    records = list(csv.DictReader(text.split("\n")[:-1]))
    truth = {int(t["line"]) for t in csv.DictReader(open(cfg.generated / "truth" / info["truth"], encoding="utf-8"))}
    return records, truth


@pytest.fixture(scope="module")
def days(tmp_path_factory):
    """Three consecutive days generated into one home, with what each day left behind."""
    home = tmp_path_factory.mktemp("days")
    mp = pytest.MonkeyPatch()
    mp.setenv("JINBAO_HOME", str(home))
    cfg = load_settings()
    out = []
    for on in DAYS:
        summary = generate(cfg, on, people=20_000, defect_share=0.05)
        kept = home.parent / f"{home.name}-{on:%Y%m%d}"
        shutil.copytree(cfg.generated, kept)
        out.append((on, summary, kept))
    mp.undo()
    return cfg, out


def test_the_days_belong_to_one_story(days):
    cfg, out = days
    assert {(s["story"]["first"], s["story"]["last"]) for _, s, _ in out} == {("2026-10-01", "2026-12-31")}
    population = {(kept / "population.parquet").read_bytes() for _, _, kept in out}
    assert len(population) == 1                                  # the same people every day


def planted_register(kept) -> set[str]:
    """The planted register cases' people (first 17 characters), as one day's key lists them."""
    with open(kept / "truth" / "register_planted.csv", encoding="utf-8") as fh:
        return {r["aac002"][:17] for r in csv.DictReader(fh)}


def test_nobody_is_reported_dead_twice_by_one_source(days):
    """... but the planted register cases' corrections and withdrawals (register_cases.py)."""
    cfg, out = days
    planted = set().union(*(planted_register(kept) for _, _, kept in out))
    for feed in DEATH_FEEDS:
        seen: dict[str, dt.date] = {}
        for on, summary, _ in out:
            records, _ = rows(cfg, summary["feeds"][feed])
            today = [person(r[ID_COLUMN[feed]]) for r in records]
            assert len(set(today)) == len(today), (feed, on)
            twice = {p: seen[p] for p in today if p in seen and p not in planted}
            assert not twice, (feed, on, twice)
            seen.update(dict.fromkeys(today, on))
        assert len(seen) >= 3 * 30


def test_the_dead_appear_alive_in_no_delivery(days):
    """Death dates from the police (clean lines); nobody dead by a day is in that day's living feeds."""
    cfg, out = days
    died: dict[str, dt.date] = {}
    for _, summary, _ in out:
        records, bad = rows(cfg, summary["feeds"]["police.death"])
        died.update({person(r["GMSFHM"]): dt.datetime.strptime(r["SWRQ"], "%Y%m%d").date()
                     for line, r in enumerate(records, start=2)
                     if line not in bad and r.get("CZBZ") != "2"})     # (a withdrawn report: alive after all)
    assert len(died) >= 3 * 100 * 0.9
    for on, summary, _ in out:
        for feed, column in LIVING.items():
            records, _ = rows(cfg, summary["feeds"][feed])
            dead = [r[column] for r in records if died.get(person(r[column]), dt.date.max) <= on]
            assert not dead, (feed, on, len(dead))


def test_the_roll_stops_for_good_and_pensions_keep_their_amount(days):
    cfg, out = days
    rolls = [pq.read_table(kept / "pension_roll.parquet").to_pandas() for _, _, kept in out]
    amount = {}
    for roll in rolls:
        for (aac002, month), value in roll.set_index(["aac002", "month"])["amount"].items():
            assert amount.setdefault((aac002, month), value) == value
    stopped: dict[str, dt.date] = {}
    for (on, summary, kept), roll in zip(out, rolls):
        records, bad = rows(cfg, summary["feeds"]["police.death"])
        planted = {r["aac002"] for r in csv.DictReader(open(kept / "truth" / "paid_after_death.csv"))}
        # register cases: corrected dates, withdrawn reports, emigrations (still paid), ...
        planted |= {r["GMSFHM"] for r in records if r["GMSFHM"][:17] in planted_register(kept)}
        stopped.update({r["GMSFHM"]: dt.datetime.strptime(r["SWRQ"], "%Y%m%d").date().replace(day=1)
                        for line, r in enumerate(records, start=2)
                        if line not in bad and len(r["GMSFHM"]) == 18 and r["GMSFHM"] not in planted})
        last = roll.groupby("aac002")["month"].max()
        paid_on = [a for a, month in stopped.items() if a in last.index and last[a] > month]
        assert not paid_on, (on, paid_on[:3])                  # reported on an earlier day: still stopped


def test_every_delivery_is_new_and_its_sequence_grows(days):
    cfg, out = days
    for feed in FEEDS:
        files = [summary["feeds"][feed]["file"] for _, summary, _ in out]
        digests = [hashlib.sha256(cfg.inbound(summary["feeds"][feed]["partner"]).joinpath(f).read_bytes())
                   .hexdigest() for f, (_, summary, _) in zip(files, out)]
        assert len(set(digests)) == len(DAYS), feed
        sequences = [int(f.removesuffix(".csv").rsplit("_", 1)[1]) for f in files]
        assert sequences == sorted(set(sequences)), (feed, sequences)
        assert [f.rsplit("_", 2)[1] for f in files] == [f"{on:%Y%m%d}" for on in DAYS]


def test_a_story_is_a_quarter_a_month_or_what_fits():
    day = dt.date(2026, 11, 22)
    assert story.stretch(day, 128) == (dt.date(2026, 10, 1), dt.date(2026, 12, 31))
    assert story.stretch(day, 38) == (dt.date(2026, 11, 1), dt.date(2026, 11, 30))
    assert story.stretch(dt.date(2026, 12, 31), 92) == (dt.date(2026, 10, 1), dt.date(2026, 12, 31))
    assert story.stretch(dt.date(2026, 12, 31), 31) == (dt.date(2026, 12, 1), dt.date(2026, 12, 31))
    first, last = story.stretch(day, 7)
    assert (last - first).days == 6 and first <= day <= last and story.day_number(first) % 7 == 0
    for on in (first + dt.timedelta(days=i) for i in range(7)):      # every day of it finds the same story
        assert story.stretch(on, 7) == (first, last)


def test_feed_numbers_name_their_streams():
    """The modules that keep a lasting or planning stream use their own feed's number."""
    for module, feed in ((civil_affairs, "civil_affairs.assistance"), (health, "health.death_certificate"),
                         (finance, "finance.subsidy_payment")):
        assert FEEDS.index(feed) + 1 == module.NUMBER
    for number, feed in ((hrss.ROLL_NUMBER, hrss.ROLL), (hrss.ENROLLMENT_NUMBER, hrss.ENROLLMENT),
                         (hrss.CONTRIBUTION_NUMBER, hrss.CONTRIBUTION)):
        assert FEEDS.index(feed) + 1 == number


def test_the_bureau_s_feeds_over_the_days(days):
    """A resident enrols once in a story, in the same unit; a month's contribution only turns from due (0)
    to paid (1), never back; each day restates the roll, the same amount for a person every month."""
    cfg, out = days
    units: dict[str, tuple] = {}
    flags: dict[tuple, str] = {}
    amounts: dict[str, str] = {}
    for on, summary, _ in out:
        records, bad = rows(cfg, summary["feeds"]["hrss.resident_enrollment"])
        today = [r for line, r in enumerate(records, start=2) if line not in bad]
        assert not {r["AAC002"] for r in today} & set(units), on
        units.update({r["AAC002"]: (r["DWBH"], r["DWMC"], r["DW_XZQH"]) for r in today})
        records, bad = rows(cfg, summary["feeds"]["hrss.contribution"])
        for line, r in enumerate(records, start=2):
            if line in bad:
                continue
            key = (r["AAC002"], r["AAB998"], r["JFNY"])
            assert not (flags.get(key) == "1" and r["JFBZ"] == "0"), (on, r["JFNY"])
            flags[key] = r["JFBZ"]
        records, bad = rows(cfg, summary["feeds"]["hrss.pension_roll"])
        for line, r in enumerate(records, start=2):
            if line not in bad:
                assert amounts.setdefault(r["AAC002"], r["FFJE"]) == r["FFJE"]
    assert len(units) >= 3 * 200 * 0.9
    months = {k[2] for k in flags}
    assert months == {"202609", "202610", "202611"}


def test_the_hub_takes_every_day_and_rejects_exactly_the_truth(home):
    """`jinbao run all` after each generated day: every delivery published, none refused as a
    duplicate or a replayed sequence, and each batch's rejections are the day's truth file."""
    import sqlalchemy as sa

    from jinbao.cli import main
    from jinbao.store.database import connect

    for on in DAYS:
        generate(home, on, people=3000, since=DAYS[0], subsidy_key=on == DAYS[-1])
        assert main(["run", "all"]) == 0, on
    # finance's payments the subsidy check refuses (what the hub holds decides: the subsidies' key)
    refused = {}
    with open(home.generated / "truth" / subsidy_truth.FILES["receipts"], encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            refused.setdefault(r["business_date"].replace("-", ""), set()).add(
                (int(r["line_no"]), SUBSIDY_FIELD.get(r["reason_code"], "SFZH+BTND+BTJB"), r["reason_code"]))
    with connect(home.store_url).connect() as conn:
        batches = conn.execute(sa.text("select id, feed, file_name, status, reason_code, sequence from batch")).all()
        assert sorted((b.feed, b.file_name.split("_")[-2]) for b in batches) \
            == sorted((f, f"{on:%Y%m%d}") for f in FEEDS for on in DAYS)
        assert {(b.status, b.reason_code) for b in batches} == {("published", None)}
        for b in batches:
            truth_file = home.generated / "truth" / (b.file_name.split(".csv")[0] + ".truth.csv")
            truth = {(int(r["line"]), r["field"], r["reason_code"]) for r in csv.DictReader(open(truth_file))}
            if b.feed == "finance.subsidy_payment":
                truth |= refused.get(b.file_name.split("_")[-2], set())
            got = {tuple(r) for r in conn.execute(sa.text(
                "select line_no, field, reason_code from rejection where batch_id = :b"), {"b": b.id})}
            assert got == truth and truth, b.file_name
