"""The synthetic generator: reproducible, valid where it should be, defective where it says."""
from __future__ import annotations

import csv
import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from jinbao.config import settings
from jinbao.generator import generate
from jinbao.mappings.reference import division_valid
from jinbao.quality import citizen_id

DAY = dt.date(2026, 11, 22)


@pytest.fixture
def cfg(tmp_path, monkeypatch):
    monkeypatch.setenv("JINBAO_HOME", str(tmp_path / "home"))
    return settings()


def _files(cfg) -> dict[str, bytes]:
    return {str(p.relative_to(cfg.home)): p.read_bytes() for p in sorted(cfg.home.rglob("*")) if p.is_file()}


def test_same_seed_same_bytes_other_seed_differs(cfg, tmp_path, monkeypatch):
    generate(cfg, DAY, people=3000)
    first = _files(cfg)
    monkeypatch.setenv("JINBAO_HOME", str(tmp_path / "again"))
    generate(settings(), DAY, people=3000)
    assert _files(settings()) == first
    monkeypatch.setenv("JINBAO_HOME", str(tmp_path / "other"))
    generate(settings(), DAY, people=3000, seed=1)
    assert _files(settings()) != first


def test_population_ids_are_consistent(cfg):
    generate(cfg, DAY, people=20_000)
    pop = pq.read_table(cfg.generated / "population.parquet")
    ids = pop.column("aac002").combine_chunks()
    assert pop.num_rows == 20_000 and len(pc.unique(ids)) == 20_000
    assert citizen_id.valid_checksum(ids).all()
    inside = pc.strptime(citizen_id.birth_date_string(ids), format="%Y%m%d", unit="s").cast(pa.date32())
    assert pc.all(pc.equal(inside, pop.column("aac006").combine_chunks())).as_py()
    assert pc.all(pc.equal(citizen_id.gender_from_id(ids), pop.column("aaa002").combine_chunks())).as_py()
    assert division_valid(pc.utf8_slice_codeunits(ids, 0, 6), DAY).all()
    assert 0.3 < np.mean(pop.column("aaa002").to_numpy(zero_copy_only=False) == "1") < 0.7


def test_police_file_is_gb18030_with_the_declared_defects(cfg):
    summary = generate(cfg, DAY, people=40_000, defect_share=0.1)
    info = summary["feeds"]["police.death"]
    raw = (cfg.inbound("police") / info["file"]).read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    lines = raw.decode("gb18030").splitlines()
    assert lines[0] == "GMSFHM,XM,XB,SWRQ,ZXRQ,ZXYY,HJDZ_XZQH" and len(lines) == info["records"] + 1
    truth = list(csv.DictReader(open(cfg.generated / "truth" / info["file"].replace(".csv", ".truth.csv"))))
    assert len(truth) == info["defects"] and abs(len(truth) / info["records"] - 0.1) < 0.02
    header = lines[0].split(",")
    for t in truth:
        row = dict(zip(header, lines[int(t["line"]) - 1].split(",")))
        if t["reason_code"] == "ID_CHECKSUM":
            assert not citizen_id.valid_checksum(pa.array([row["GMSFHM"]]))[0]
        elif t["reason_code"] == "UNMAPPED_CODE":
            assert row[t["field"]] in ("5", "7")
        elif t["reason_code"] == "REQUIRED":
            assert row[t["field"]] == ""
        elif t["reason_code"] == "DIVISION_UNKNOWN":
            assert row["HJDZ_XZQH"] == "990101"
        elif t["reason_code"] == "ID_GENDER_MISMATCH":
            assert row["XB"] != citizen_id.gender_from_id(pa.array([row["GMSFHM"]])).to_pylist()[0]
    assert any(len(line.split(",")[0]) == 15 for line in lines[1:])      # first-generation IDs


def test_planted_pensions_continue_after_death(cfg):
    summary = generate(cfg, DAY, people=20_000)
    planted = list(csv.DictReader(open(cfg.generated / "truth" / "paid_after_death.csv")))
    assert len(planted) == summary["planted"] >= 3
    roll = pq.read_table(cfg.generated / "pension_roll.parquet").to_pandas()
    for p in planted:
        death_month = dt.date.fromisoformat(p["death_date"]).replace(day=1)
        months = roll.loc[roll["aac002"] == p["aac002"], "month"]
        assert int(p["months_paid_after"]) == sum(m > death_month for m in months) >= 1
