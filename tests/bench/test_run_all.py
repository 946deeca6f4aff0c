"""`make bench`'s one table from the benchmarks' BENCH-JSON lines (no benchmark is run here)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bench.run_all import table
from bench.summary import PREFIX, parse

ROOT = Path(__file__).resolve().parents[2]


def _e2e(records: int, seconds: float, peak: float, ok: bool = True) -> dict:
    stages = {"fetch": 0.1, "decrypt": 0.4, "judge": 3.0, "publish": seconds - 3.5, "other": 0.0}
    return {"records": records, "accepted": records, "rejected": 0, "seconds": seconds,
            "records_per_s": records / seconds, "stages": stages, "stage_peak_mb": {"judge": peak, "publish": peak / 2},
            "peak_mb": peak, "base_mb": 160.0, "checks": {"published": ok}, "ok": ok}


SUMMARIES = {
    "end_to_end": {"bench": "end_to_end", "ok": True, "runs": [_e2e(1_000_000, 50, 500), _e2e(10_000_000, 600, 550)]},
    "translate_codes": {"bench": "translate_codes", "ok": True, "values": 10_000_000,
                        "seconds": {"arrow index_in+take": 0.13, "pandas Series.map": 0.58,
                                    "python dict loop (1/10, scaled)": 1.43}},
    "gate_vs_ge": {"bench": "gate_vs_ge", "ok": False, "records": 1_000_000, "threads": 2,
                   "seconds": {"fast_1": 0.5, "fast_n": 0.3, "ge_complete": 60, "ge_boolean": 44, "ge_prep": 17},
                   "builtin": {"expect_column_values_to_match_regex": 3},
                   "custom": {"expect_column_values_to_pass_citizen_id_stage": 3}},
}


def _long(shape: str, mib: int, peak: int, ok: bool = True) -> dict:
    return {"shape": shape, "mib": mib, "bytes": mib << 20, "seconds": 6.0, "mib_per_s": mib / 6,
            "judge_seconds": 0.5, "judge_mib_per_s": mib / 0.5, "peak_mb": peak, "growth_mb": peak - 125,
            "judge_peak_mb": peak, "judge_growth_mb": peak - 125, "ok": ok, "within_aim": peak <= 300,
            "outcome": "published: 11 received, line 7 LINE_TOO_LONG" if ok else "published: line 7 QUOTE_INVALID"}


def test_the_long_line_rows():
    text = table({"long_line": {"bench": "long_line", "ok": False, "aim_mb": 300, "runs": [
        _long("records only", 0, 210), _long("line", 1024, 215), _long("no line end", 1024, 161), _long("line", 200, 1236),
        _long("line", 300, 220, ok=False), {"shape": "no line end", "mib": 200, "ok": False, "error": "no end"}]}})
    rows = [line for line in text.splitlines() if line.startswith("one ")]
    assert rows[0].startswith("one 1,024 MiB line among 10 (police.death)") and "peak 215 MB" in rows[0]
    assert "the 10 alone 210 MB" in rows[0] and len(rows) == 5
    assert "judge 2,048 MiB/s" in rows[0] and "aim peak <= 300 MB" in rows[0] and rows[0].rstrip().endswith("ok")
    assert "no line end" in rows[1] and "judge 0.50 s" in rows[1]
    assert rows[2].rstrip().endswith("over the aim") and "QUOTE_INVALID" in rows[3]
    assert "did not finish" in rows[4] and "no end" in rows[4]


def test_parse_takes_the_last_summary_line():
    text = f"noise\n{PREFIX}{json.dumps({'bench': 'a', 'ok': False})}\nmore\n{PREFIX}{json.dumps({'bench': 'a', 'ok': True})}\n"
    assert parse(text) == {"bench": "a", "ok": True} and parse("nothing") is None


def test_one_table_with_stages_peers_and_checks():
    text = table(SUMMARIES)
    assert "end to end, 1,000,000 sealed police.identity" in text and "20,000 rec/s" in text
    assert "peak memory 10,000,000 / 1,000,000" in text and "1.10x" in text
    assert "publish" in text and "decrypt" in text
    assert "pandas map" in text and "dict loop" in text and "4.5x / 11.0x" in text
    gate = next(line for line in text.splitlines() if line.startswith("gate (verdict)"))
    assert "GE COMPLETE" in gate and gate.rstrip().endswith("FAILED")
    assert "1 custom" not in text and "3 custom: expect_column_values_to_pass_citizen_id_stage" in text


def test_a_failed_check_fails_the_run(tmp_path):
    for name, summary in SUMMARIES.items():
        (tmp_path / f"{name}.json").write_text(json.dumps(summary))
    res = subprocess.run([sys.executable, str(ROOT / "bench" / "run_all.py"), "--table-from", str(tmp_path)],
                         capture_output=True, text=True)
    assert res.returncode == 1 and "FAILED: gate_vs_ge" in res.stderr and "stage share of the time" in res.stdout
    (tmp_path / "gate_vs_ge.json").unlink()
    res = subprocess.run([sys.executable, str(ROOT / "bench" / "run_all.py"), "--table-from", str(tmp_path)],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr


def test_the_small_delivery_rows():
    text = table({"small_delivery": {"bench": "small_delivery", "ok": False, "records": 2000, "runs": 3,
                                     "transport": "local", "aim_s": 2.0, "feeds": {
                                         "police.death": {"ok": True, "seconds": [1.4, 1.2, 1.3], "median_s": 1.3,
                                                          "best_s": 1.2, "within_aim": True},
                                         "hrss.pension_roll": {"ok": True, "seconds": [2.5, 2.4, 2.6], "median_s": 2.5,
                                                               "best_s": 2.4, "within_aim": False},
                                         "civil_affairs.cremation": {"ok": False, "error": "exit 1"}}}})
    rows = [line for line in text.splitlines() if line.startswith("small delivery")]
    assert "2,000 police.death" in rows[0] and "1.30 s median" in rows[0] and "best 1.20 s of 3" in rows[0]
    assert rows[0].rstrip().endswith("ok") and rows[1].rstrip().endswith("over the aim")
    assert "did not finish" in rows[2] and "exit 1" in rows[2]


def test_the_airflow_row_takes_the_steady_run_and_names_the_first():
    def row(second: float, ok: bool = True) -> str:
        text = table({"airflow_overhead": {"bench": "airflow_overhead", "ok": ok, "records": 2000, "plain_s": 2.0,
                                           "airflow_s": 14.0, "ratio": 7.0,
                                           "second": {"state": "success", "trigger_to_success_s": second}}})
        return next(line for line in text.splitlines() if line.startswith("small delivery under Airflow"))

    steady = row(5.8)
    assert "5.8 s trigger to success" in steady and "first run after the scheduler starts 14.0 s" in steady
    assert "2.9x (aim <= 3x)" in steady and steady.rstrip().endswith("ok")
    assert row(6.4).rstrip().endswith("over the aim")
    assert row(5.8, ok=False).rstrip().endswith("FAILED: run not green")


def test_the_registered_scripts_exist_and_the_small_delivery_is_one():
    from bench.run_all import BENCHES

    assert "small_delivery" in BENCHES and all((ROOT / "bench" / script).exists() for script, _, _ in BENCHES.values())


def _feed(feed: str, records: int, seconds: float, peak: float, dlt_seconds: float | None, ok: bool = True) -> dict:
    hub = {"records": records, "accepted": records, "rejected": 0, "seconds": seconds,
           "records_per_s": records / seconds, "peak_mb": peak, "checks": {"published": True, "received": ok}}
    run = {"feed": feed, "records": records, "hub": hub, "ok": ok}
    if dlt_seconds is not None:
        run["dlt"] = {"seconds": dlt_seconds, "records_per_s": records / dlt_seconds, "ok": True}
    return run


def test_one_row_per_feed_beside_dlt_and_the_big_runs_against_their_peak():
    text = table({"feeds": {"bench": "feeds", "ok": False, "runs": [
        _feed("police.identity", 1_000_000, 8.0, 560, 20.0), _feed("police.death", 1_000_000, 50.0, 600, 25.0),
        _feed("hrss.pension_roll", 1_000_000, 9.0, 500, 14.0, ok=False)],
        "big": [_feed("hrss.pension_roll", 10_000_000, 80.0, 550, None)]}})
    rows = {line.split("  ")[0]: line for line in text.splitlines() if line.startswith("end to end, ")}
    identity = rows["end to end, 1,000,000 police.identity"]
    assert "125,000 rec/s" in identity and "2.50x dlt" in identity and identity.rstrip().endswith("ok")
    assert "0.50x dlt" in rows["end to end, 1,000,000 police.death"]
    assert rows["end to end, 1,000,000 police.death"].rstrip().endswith("below the aim")
    assert rows["end to end, 1,000,000 hrss.pension_roll"].rstrip().endswith("FAILED: received")
    big = rows["end to end, 10,000,000 hrss.pension_roll"]
    assert "1.10x the 1M" in big and big.rstrip().endswith("ok")
