"""Outbound files on a generated day, against an oracle computed in pandas from the generated deliveries.

The generator's contributions carry employers one to three months in arrears and employers that have
not paid the current month yet; its truth file says which lines the gate rejects.  The oracle reads
the delivery as written, drops those lines and applies the agreements' definitions row-wise in
pandas; only names, genders and who is alive are read from the store's register (tested elsewhere).
"""
from __future__ import annotations

import csv
import datetime as dt

import pandas as pd
import pytest
import sqlalchemy as sa

from jinbao.cli import main
from jinbao.exchange_zone import envelope
from jinbao.generator import generate
from jinbao.keys import init_keys, load_cert, load_key
from jinbao.store.database import connect

DAY = dt.date(2026, 11, 30)


def _accepted_contributions(cfg) -> pd.DataFrame:
    [delivery] = cfg.inbound("hrss").rglob("hrss.contribution_*.csv")         # (processed/<batch>/ by now)
    truth = cfg.generated / "truth" / delivery.name.replace(".csv", ".truth.csv")
    rejected = {int(r["line"]) for r in csv.DictReader(open(truth, encoding="utf-8"))}
    rows = pd.read_csv(delivery, dtype=str, keep_default_na=False)
    rows["line"] = range(2, len(rows) + 2)
    return rows[~rows["line"].isin(rejected)]


def _register(cfg) -> pd.DataFrame:
    with connect(cfg.store_url).connect() as conn:
        frame = pd.read_sql(sa.text("select aac002, aac003, aaa002, life_status from register"), conn)
    return frame.astype(object).where(frame.notna(), None)


def _police_oracle(rows: pd.DataFrame, register: pd.DataFrame) -> list[str]:
    recent = rows[(rows.JFNY <= "202611") & (rows.JFNY >= "202512")].copy()
    recent["unpaid"] = recent.JFBZ != "1"
    latest = recent.sort_values(["AAC002", "JFNY", "unpaid", "AAB998"], ascending=[True, False, True, True]) \
        .drop_duplicates("AAC002")
    paid = rows[(rows.JFBZ == "1") & (rows.JFNY <= "202611")].groupby("AAC002").JFNY.max()
    out = latest[["AAC002", "AAB998"]].merge(register, left_on="AAC002", right_on="aac002")
    out = out[out.life_status == "alive"].sort_values("AAC002")
    lines = []
    for r in out.itertuples():
        last = paid.get(r.AAC002, "")
        insured = "1" if last and last >= "202609" else "0"
        lines.append(",".join([r.AAC002, r.aac003 or "", r.aaa002 or "", insured, r.AAB998, last]))
    return lines


def _central_bank_oracle(rows: pd.DataFrame) -> list[str]:
    done = rows[rows.JFNY <= "202611"]
    unpaid = done[done.JFBZ == "0"]
    lines = []
    for employer, owed in sorted(unpaid.groupby("AAB998")):
        headcount = done[(done.AAB998 == employer) & (done.JFNY == "202611")].AAC002.nunique()
        lines.append(f"{employer},,{headcount},{owed.JFNY.nunique()},,")
        lines += [f"{employer},,,,{person},N" for person in sorted(owed.AAC002.unique())]  # staff are not pensioners
    return lines


@pytest.fixture
def generated_day(home):
    init_keys(home.home)
    generate(home, DAY, people=3000, feeds=["police.identity", "police.death", "hrss.pension_roll",
                                            "hrss.contribution"])
    assert main(["run", "all", "--date", DAY.isoformat()]) == 0
    return home


def _decrypted(cfg, partner: str, name: str, encoding: str) -> list[str]:
    data = envelope.decrypt((cfg.outbound(partner) / f"{name}.p7m").read_bytes(), load_cert(cfg.home, partner),
                            load_key(cfg.home, partner))
    return data.decode(encoding).splitlines()


def test_generated_month_end_files_equal_the_oracle(generated_day):
    cfg = generated_day
    rows = _accepted_contributions(cfg)
    assert (rows.JFBZ == "0").any() and (rows.JFBZ == "1").any()       # arrears and payments both planted
    assert main(["send", "all", "--as-of", DAY.isoformat()]) == 0
    police = _decrypted(cfg, "police", "police.insured_status_20261130_000001.csv", "gb18030")
    expected = _police_oracle(rows, _register(cfg))
    assert police[0] == "GMSFHM,XM,XB,CBBZ,DWTYSHXYDM,ZHJFNY" and police[1:] == expected
    flags = {line.split(",")[3] for line in expected}
    assert flags == {"0", "1"}                                         # insured and not, both present
    bank = _decrypted(cfg, "central_bank", "central_bank.contribution_status_20261130_000001.csv", "utf-8")
    assert bank[0] == "TYSHXYDM,DWMC,CBRS,QJYS,SFZH,SFLQDY" and bank[1:] == _central_bank_oracle(rows)
    assert {line.split(",")[3] for line in bank[1:] if line.split(",")[2]} >= {"1", "3"}   # 1 and 3 months behind
