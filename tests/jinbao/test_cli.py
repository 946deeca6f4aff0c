"""jinbao/cli.py as a person meets it: help on every option, a version, a readable batch list."""
from __future__ import annotations

import argparse

import pytest

from jinbao.cli import main, parser
from jinbao.demo import fresh_home, MARKER
from tests.deliveries import death_row, write_delivery


def _all_actions(p: argparse.ArgumentParser):
    for action in p._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from _all_actions(sub)
        else:
            yield p.prog, action


def test_every_option_and_argument_has_help():
    missing = [f"{prog} {a.dest}" for prog, a in _all_actions(parser()) if not a.help]
    assert missing == []


def test_version(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0 and capsys.readouterr().out.startswith("jinbao 0.")


def test_batches_list_has_a_header_aligned_columns_and_receipts(home, capsys):
    write_delivery(home.inbound("police"), "police.death", [death_row(i) for i in range(5)])
    assert main(["run", "police.death"]) == 0
    capsys.readouterr()
    assert main(["batches", "list"]) == 0
    header, row = capsys.readouterr().out.splitlines()
    assert header.split()[:4] == ["batch", "feed", "file", "status"] and "receipt" in header
    assert row.index("police.death_20261122_000001.csv") == header.index("file")       # aligned
    receipt = row.split()[-1]
    assert receipt.endswith("police.death_20261122_000001.receipt.json") and __import__("os").path.exists(receipt)


@pytest.mark.parametrize("args, says", [(["--status", "hold"], "unknown status 'hold'"),
                                        (["--feed", "police.deaths"], "no feed 'police.deaths'")])
def test_batches_list_refuses_unknown_filters(sqlite_home, capsys, args, says):
    assert main(["batches", "list", *args]) == 2
    assert says in capsys.readouterr().err


def test_batches_list_says_when_there_is_nothing(sqlite_home, capsys):
    assert main(["batches", "list", "--status", "held"]) == 0
    assert capsys.readouterr().out.strip() == "no batches held"


def test_a_new_demo_day_keeps_airflow_metadata(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / MARKER).write_text("")
    for keep in ("airflow.db", "airflow/jwt_secret", "airflow-logs/dag_id=x/a.log"):
        (home / keep).parent.mkdir(parents=True, exist_ok=True)
        (home / keep).write_text("keep")
    (home / "staging" / "old").mkdir(parents=True)
    fresh_home(home)
    assert sorted(p.name for p in home.iterdir()) == sorted([".jinbao-home", "airflow", "airflow-logs",
                                                            "airflow.db"])
    assert (home / "airflow" / "jwt_secret").read_text() == "keep"


def test_a_home_holding_only_airflow_files_is_taken_for_the_demo(tmp_path):
    home = tmp_path / "home"
    (home / "airflow-logs").mkdir(parents=True)               # what `make airflow` or a test left
    fresh_home(home)
    assert (home / MARKER).exists() and (home / "airflow-logs").is_dir()
    (home / "precious.txt").write_text("x")
    (home / MARKER).unlink()
    with pytest.raises(SystemExit, match="not created by jinbao"):
        fresh_home(home)
