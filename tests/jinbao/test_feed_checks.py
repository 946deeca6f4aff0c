"""`jinbao feeds check|new` and the same static checks before `jinbao run` and at DAG parse (issue 27):
a mistake in one feed's declaration or mapping stops that feed alone, named by file and key, and nothing
of it is published; a sample is judged with nothing kept; a scaffolded feed passes once filled in."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
import sqlalchemy as sa

from jinbao.cli import main
from jinbao.mappings import tables
from jinbao.schemas import dictionary
from jinbao.store.database import connect
from tests.airflow_env import REPO, airflow_env
from tests.deliveries import death_row, write_delivery

DAGBAG_PROBE = """
import json, sys
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder=sys.argv[1])
print(json.dumps({"errors": dict(bag.import_errors), "dags": sorted(bag.dags),
                  "tags": {d: sorted(bag.dags[d].tags) for d in bag.dags},
                  "tasks": {d: sorted(t.task_id for t in bag.dags[d].tasks) for d in bag.dags}}))
"""


@pytest.fixture
def copy(sqlite_home, tmp_path, monkeypatch):
    """A temporary copy of every declaration (feeds, partner schemas, feed mappings, code tables) that
    the hub reads instead of the shipped ones; returns the copy's root."""
    root = tmp_path / "declared"
    shutil.copytree(REPO / "dags" / "feeds", root / "feeds")
    shutil.copytree(dictionary.PARTNERS_DIR, root / "partners")
    shutil.copytree(tables.FEEDS_DIR, root / "maps")
    shutil.copytree(tables.CODES_DIR, root / "codes")
    monkeypatch.setenv("JINBAO_FEEDS_DIR", str(root / "feeds"))
    monkeypatch.setattr(dictionary, "PARTNERS_DIR", root / "partners")
    monkeypatch.setattr(tables, "FEEDS_DIR", root / "maps")
    monkeypatch.setattr(tables, "CODES_DIR", root / "codes")
    return root


def _edit(path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, (path, old)
    path.write_text(text.replace(old, new), encoding="utf-8")


def _batches(cfg) -> list:
    db = connect(cfg.store_url)
    with db.connect() as conn:
        if not sa.inspect(conn).has_table("batch"):
            return []
        return conn.execute(sa.text("select feed, status from batch")).all()


@pytest.mark.parametrize("old, new, said", [
    # a misspelt hub field: published as NULL before
    ("XM: {to: AAC003}", "XM: {to: AAC0003}",
     "mappings/feeds/police.death.yaml: versions[0].fields.XM.to: 'AAC0003' is not a hub dictionary field "
     "(did you mean AAC003?)"),
    # a real hub field death_record lacks: dropped without a word before
    ('ZXRQ: {to: dereg_date, date_format: "%Y%m%d"}', 'ZXRQ: {to: change_date, date_format: "%Y%m%d"}',
     "mappings/feeds/police.death.yaml: versions[0].fields.ZXRQ.to: change_date is not a column of the target "
     "table death_record"),
])
def test_a_mapping_mistake_fails_check_and_run_naming_file_and_key_and_publishes_nothing(
        copy, sqlite_home, capsys, old, new, said):
    _edit(copy / "maps" / "police.death.yaml", old, new)
    assert main(["feeds", "check", "police.death"]) == 1
    out = capsys.readouterr().out
    assert said in out and "police.death: " in out and "fix them" in out
    delivery = write_delivery(sqlite_home.inbound("police"), "police.death", [death_row(i) for i in range(5)])
    assert main(["run", "police.death"]) == 1
    err = capsys.readouterr().err
    assert "police.death: error: not run" in err and said in err and "jinbao feeds check police.death" in err
    assert _batches(sqlite_home) == [] and delivery.exists()        # nothing taken, nothing published
    # the other feeds are unaffected
    assert main(["feeds", "check", "police.identity"]) == 0


def test_a_yaml_typo_in_one_feed_stops_only_that_feed_in_run_and_in_airflow(copy, sqlite_home, capsys):
    _edit(copy / "feeds" / "police.identity.yaml", "target:\n", "targt:\n")
    write_delivery(sqlite_home.inbound("police"), "police.death", [death_row(i) for i in range(5)])
    # the broken feed's own delivery, in the same drop zone, waits for the fix: not set aside as a stray
    waiting = sqlite_home.inbound("police") / "police.identity_20261122_000001.csv"
    waiting.write_bytes(b"GMSFHM\n")
    assert main(["run", "police.death"]) == 0
    assert "published: received 5" in capsys.readouterr().out
    assert waiting.exists() and not any(sqlite_home.outbound("police").glob("police.identity*"))
    assert main(["run", "all"]) == 1          # every other feed ran; the broken one is named at the end
    err = capsys.readouterr().err
    assert "police.identity: error: not run" in err and "police.identity.yaml: unknown key(s) targt" in err
    assert [f for f, _ in _batches(sqlite_home)] == ["police.death"]
    assert main(["feeds", "check", "police.identity"]) == 1
    assert "police.identity.yaml: unknown key(s) targt" in capsys.readouterr().out

    env = airflow_env(sqlite_home) | {"JINBAO_FEEDS_DIR": str(copy / "feeds")}
    out = subprocess.run([sys.executable, "-c", DAGBAG_PROBE, str(REPO / "dags")], env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    bag = json.loads(out.stdout.strip().splitlines()[-1])
    # one import error, from the file that reports broken declarations, naming the file and key
    [(where, error)] = bag["errors"].items()
    assert where.endswith("dags/jinbao_declarations.py"), where
    assert "police.identity.yaml: unknown key(s) targt" in error
    # every other DAG loads as always; the broken feed is a placeholder whose one task fails with the error
    shipped = sorted(p.stem for p in (REPO / "dags" / "feeds").glob("*.yaml") if p.name != "partners.yaml")
    assert bag["dags"] == sorted(shipped + ["jinbao.release", "audit.death_mismatch", "keys.certificate_expiry",
                                             "jinbao.purge"])
    assert "broken declaration" in bag["tags"]["police.identity"]
    assert bag["tasks"]["police.identity"] == ["declaration"]
    assert "receive" in bag["tasks"]["police.death"] and "broken declaration" not in bag["tags"]["police.death"]


def test_a_sample_prints_each_columns_failure_share_and_keeps_nothing(copy, sqlite_home, tmp_path, capsys):
    rows = [death_row(i) for i in range(10)]
    for i in (1, 4, 7):
        rows[i]["SWRQ"] = "2026/11/05"          # a date written with slashes: 3 of 10 fail on SWRQ
    rows[2]["XB"] = "7"                           # no such gender code
    sample = write_delivery(tmp_path / "samples", "police.death", rows)
    assert main(["feeds", "check", "police.death", "--sample", str(sample)]) == 2     # such a delivery is held
    out = capsys.readouterr().out
    assert "10 record(s), 4 rejected (40.0%)" in out and "HELD for review" in out
    swrq = next(line for line in out.splitlines() if line.strip().startswith("SWRQ "))
    assert swrq.split()[1:] == ["3", "30.0%"]
    xb = next(line for line in out.splitlines() if line.strip().startswith("XB "))
    assert xb.split()[1:] == ["1", "10.0%"]
    assert "most frequent reasons:" in out
    # nothing left behind: no ledger batch, no receipt, no staging, the sample untouched
    assert _batches(sqlite_home) == []
    assert not any(sqlite_home.receipts.rglob("*")) and not any(sqlite_home.staging.rglob("*"))
    assert not any(sqlite_home.drop_zones.rglob("*.receipt.json")) and sample.exists()


def test_a_scaffolded_feed_passes_the_check_once_its_placeholders_are_filled(copy, capsys):
    assert main(["feeds", "new", "police", "enrolled_students"]) == 0
    out = capsys.readouterr().out
    assert "jinbao feeds check police.enrolled_students" in out and "jinbao db revision" in out
    declaration = copy / "feeds" / "police.enrolled_students.yaml"
    mapping = copy / "maps" / "police.enrolled_students.yaml"
    schema = copy / "partners" / "police.enrolled_students.yaml"
    assert declaration.is_file() and mapping.is_file() and schema.is_file()
    assert main(["feeds", "new", "police", "enrolled_students"]) == 1          # never overwrites
    assert "not overwriting" in capsys.readouterr().err
    assert main(["feeds", "check", "police.enrolled_students"]) == 1           # the placeholders are refused
    out = capsys.readouterr().out
    assert "police.enrolled_students.yaml: target.table 'TARGET_TABLE' is not one of" in out
    assert "versions[0].fields.XM.to: 'HUB_FIELD' is not a hub dictionary field" in out      # both files at once
    _edit(declaration, "table: TARGET_TABLE", "table: person")
    assert main(["feeds", "check", "police.enrolled_students"]) == 1
    assert "versions[0].fields.XM.to: 'HUB_FIELD' is not a hub dictionary field" in capsys.readouterr().out
    _edit(mapping, "to: HUB_FIELD", "to: AAC003")
    assert main(["feeds", "check", "police.enrolled_students"]) == 0, capsys.readouterr()
    assert "all well-formed" in capsys.readouterr().out



def test_check_finds_a_target_table_that_no_migration_makes(copy, sqlite_home, tmp_path, monkeypatch, capsys):
    migrations = tmp_path / "migrations"
    shutil.copytree(REPO / "schemas" / "migrations" / "versions", migrations,
                    ignore=shutil.ignore_patterns("__pycache__"))
    # as if the table had been declared and its migration never generated: the head lacks it (a
    # migration after the shipped head drops it; numbered from the files, so a new migration is no clash)
    head = max(int(f.name[:4]) for f in migrations.glob("[0-9][0-9][0-9][0-9]_*.py"))
    (migrations / f"{head + 1:04d}_without_death_record.py").write_text(
        f"from alembic import op\n\nrevision = '{head + 1:04d}'\ndown_revision = '{head:04d}'\n"
        "branch_labels = None\ndepends_on = None\n\n\ndef upgrade() -> None:\n    op.drop_table('death_record')\n\n\n"
        "def downgrade() -> None:\n    pass\n", encoding="utf-8")
    monkeypatch.setenv("JINBAO_MIGRATIONS_DIR", str(migrations))
    assert main(["feeds", "check", "police.death"]) == 1
    out = capsys.readouterr().out
    assert "police.death.yaml: target.table: table death_record is made by no migration" in out
    assert "jinbao db revision" in out
    assert main(["feeds", "check", "police.identity"]) == 0          # its table is there
