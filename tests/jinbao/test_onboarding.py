"""docs/onboarding.md, followed to the letter: a new partner's feed from YAML alone, in a copy of the declarations.

The YAML blocks and the sample delivery are read out of the guide itself, so the guide cannot drift from
what works.  The commands run as a data engineer runs them (the venv's `jinbao`, and the DAG file in a
DagBag), every one pointed at the copy by the settings (JINBAO_FEEDS_DIR, ..._SCHEMAS_DIR,
..._MAPPINGS_DIR, ..._TABLES_DIR, ..._MIGRATIONS_DIR).  The checkout is left exactly as it was, and the
only Python file that appears is the migration `jinbao db revision` generates.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from tests.airflow_env import airflow_env

REPO = Path(__file__).resolve().parents[2]
GUIDE = REPO / "docs" / "onboarding.md"
JINBAO = Path(sys.executable).parent / "jinbao"
FEED = "education.student"
DELIVERY = "education.student_20261129_000001.csv"

#: Where each shipped folder the guide names is copied, and the setting that points there (longest first).
COPIES = {
    "dags/feeds": ("feeds", "JINBAO_FEEDS_DIR"),
    "schemas/tables": ("tables", "JINBAO_TABLES_DIR"),
    "schemas/migrations/versions": ("versions", "JINBAO_MIGRATIONS_DIR"),
    "schemas": ("schemas", "JINBAO_SCHEMAS_DIR"),
    "mappings": ("mappings", "JINBAO_MAPPINGS_DIR"),
}

DAG_PROBE = """
import json, sys
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder=sys.argv[1])
feed = bag.dags.get(sys.argv[2])
print(json.dumps({"errors": {k: str(v) for k, v in bag.import_errors.items()}, "dags": sorted(bag.dags),
                  "name": feed and feed.dag_display_name, "owner": feed and feed.owner, "doc": feed and feed.doc_md}))
"""


def guide() -> tuple[dict[str, str], dict[str, str], str]:
    """The guide's new files and additions (repo path -> YAML) and its sample delivery."""
    files, additions, samples = {}, {}, []
    for lang, body in re.findall(r"```(\w+)\n(.*?)```", GUIDE.read_text(encoding="utf-8"), re.S):
        first, _, rest = body.partition("\n")
        if lang == "yaml" and first.startswith("# file: "):
            files[first.removeprefix("# file: ").strip()] = rest
        elif lang == "yaml" and first.startswith("# add to: "):
            additions[first.removeprefix("# add to: ").strip()] = rest
        elif lang == "csv":
            samples.append(body)
    assert len(samples) == 1, "the guide shows one sample delivery"
    return files, additions, samples[0]


def copy_declarations(root: Path, monkeypatch) -> None:
    """The shipped declaration folders copied under `root`, the settings pointing there (Python left out,
    but for the migrations, which are Python)."""
    for shipped, (name, env) in COPIES.items():
        keep_py = shipped.endswith("versions")
        shutil.copytree(REPO / shipped, root / name,
                        ignore=shutil.ignore_patterns("__pycache__", *(() if keep_py else ("*.py",))))
        monkeypatch.setenv(env, str(root / name))


def in_copy(root: Path, repo_path: str) -> Path:
    for shipped, (name, _) in COPIES.items():
        if repo_path.startswith(shipped + "/"):
            return root / name / repo_path.removeprefix(shipped + "/")
    raise AssertionError(f"the guide names {repo_path}, outside the declaration folders")


def apply_guide(root: Path) -> str:
    """The guide's additions and files written into the copy under `root`; its sample delivery."""
    files, additions, sample = guide()
    for repo_path, text in additions.items():
        with in_copy(root, repo_path).open("a", encoding="utf-8") as f:
            f.write(text)
    for repo_path, text in files.items():
        in_copy(root, repo_path).write_text(text, encoding="utf-8")
    return sample


def jinbao(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(JINBAO), *args], capture_output=True, text=True, timeout=300)


def git_status() -> str:
    return subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=REPO,
                          capture_output=True, text=True, check=True).stdout


def python_files(root: Path) -> set[Path]:
    return {p.relative_to(root) for p in root.rglob("*.py") if "__pycache__" not in p.parts}


def test_a_feed_onboarded_from_the_guide_alone(home, tmp_path, monkeypatch):
    before = git_status()
    root = tmp_path / "declarations"
    copy_declarations(root, monkeypatch)
    shipped_python = python_files(root)
    files, additions, sample = guide()
    assert set(files) == {f"dags/feeds/{FEED}.yaml", f"schemas/partners/{FEED}.yaml", f"mappings/feeds/{FEED}.yaml",
                          "mappings/codes/education.gender.yaml", "schemas/tables/student.yaml"}

    # 1. the partner first: `feeds new` refuses a partner partners.yaml does not declare
    refused = jinbao("feeds", "new", "education", "student")
    assert refused.returncode == 1 and "partner 'education' is not declared" in refused.stderr + refused.stdout
    for repo_path, text in additions.items():
        with in_copy(root, repo_path).open("a", encoding="utf-8") as f:
            f.write(text)
    scaffold = jinbao("feeds", "new", "education", "student")
    assert scaffold.returncode == 0, scaffold.stderr
    for repo_path in (f"dags/feeds/{FEED}.yaml", f"schemas/partners/{FEED}.yaml", f"mappings/feeds/{FEED}.yaml"):
        assert in_copy(root, repo_path).is_file() and f"wrote {in_copy(root, repo_path)}" in scaffold.stdout

    # 2-7. the declarations as the guide shows them
    for repo_path, text in files.items():
        in_copy(root, repo_path).write_text(text, encoding="utf-8")

    # 8. check: the table has no migration yet, and the message says what to do
    check = jinbao("feeds", "check", FEED)
    assert check.returncode == 1
    assert "table student is made by no migration" in check.stdout + check.stderr
    assert "jinbao db revision" in check.stdout + check.stderr
    revision = jinbao("db", "revision", "-m", "student table")
    assert revision.returncode == 0, revision.stderr
    [generated] = python_files(root) - shipped_python
    migration = (root / generated).read_text(encoding="utf-8")
    assert generated.parent == Path("versions") and "op.create_table('student'" in migration
    assert "sa.Column('admission_year', sa.String(length=4), nullable=False)" in migration
    assert "sa.Column('aac006', sa.Date(), nullable=False)" in migration
    for command in (("db", "upgrade"), ("db", "check"), ("feeds", "check", FEED)):
        done = jinbao(*command)
        assert done.returncode == 0, (command, done.stdout, done.stderr)

    # 9. the sample judged with nothing kept: both bad records named, no receipt
    sample_file = tmp_path / DELIVERY
    sample_file.write_text(sample, encoding="utf-8")
    judged = jinbao("feeds", "check", FEED, "--sample", str(sample_file))
    assert judged.returncode == 0, judged.stdout + judged.stderr
    assert "10 record(s), 2 rejected" in judged.stdout
    assert "YEAR_OUT_OF_RANGE" in judged.stdout and "DATE_INVALID" in judged.stdout
    assert not list(home.receipts.rglob("*.receipt.*"))

    # 10. the first delivery: the good records published into the new table
    home.inbound("education").mkdir(parents=True)
    shutil.copy(sample_file, home.inbound("education") / DELIVERY)
    run = jinbao("run", FEED)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "batch 1 published: received 10, accepted 8, rejected 2, published 8" in run.stdout
    engine = sa.create_engine(home.store_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT aac002, aac003, aaa002, aac006, school_name, admission_year, "
                                        "aab301, source_feed FROM student ORDER BY aac002")).all()
    finally:
        engine.dispose()
    assert len(rows) == 8 and {r.source_feed for r in rows} == {FEED}
    first = next(r for r in rows if r.aac003 == "王伟")
    assert (str(first.aac006), first.aaa002, first.school_name, first.admission_year, first.aab301) == \
        ("2008-01-01", "1", "北京市第一中学", "2020", "110101")
    assert not {r.aac003 for r in rows} & {"吴刚", "周娜"}            # the bad year, the dashed date

    # what the partner sees: each rejected record, its masked ID, and what was agreed
    receipt = home.outbound("education") / DELIVERY.replace(".csv", ".receipt.csv")
    lines = receipt.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 3
    year, date = lines[1], lines[2]
    assert year.startswith('10,"510107********0935","RXNF","1999","YEAR_OUT_OF_RANGE"')
    assert "year of admission must lie between 2000 and 2030" in year and "入学年份须在2000至2030之间" in year
    assert date.startswith('11,"510107********1044","CSRQ","2010-05-05","DATE_INVALID"')
    assert "not a date in the agreed format YYYY/MM/DD" in date
    status = json.loads(receipt.with_name(DELIVERY.replace(".csv", ".receipt.json")).read_text(encoding="utf-8"))
    assert (status["status"], status["published"], status["rejected"]) == ("published", 8, 2)

    # 11. the DAG file, reading the same settings: the new feed's DAG, every other DAG, no import error
    probe = subprocess.run([sys.executable, "-c", DAG_PROBE, str(REPO / "dags"), FEED], env=airflow_env(home),
                           capture_output=True, text=True, timeout=300)
    assert probe.returncode == 0, probe.stderr[-3000:]
    bag = json.loads(probe.stdout.strip().splitlines()[-1])
    assert bag["errors"] == {}
    assert {FEED, "police.death", "hrss.contribution"} <= set(bag["dags"])
    assert bag["name"] == f"教育局在校学生 Enrolled students · {FEED}" and bag["owner"] == "教育 education"
    assert "year of admission must lie between 2000 and 2030 (YEAR_OUT_OF_RANGE)" in bag["doc"]   # a value rule's text

    # zero Python by hand, and the checkout untouched
    assert python_files(root) - shipped_python == {generated}
    assert git_status() == before


def test_the_guides_common_mistake_a_date_format_the_file_does_not_use(sqlite_home, tmp_path, monkeypatch):
    """docs/onboarding.md, "Common mistakes": `--sample` says the hub's mapping is suspect, and where."""
    home = sqlite_home
    root = tmp_path / "declarations"
    copy_declarations(root, monkeypatch)
    sample = apply_guide(root)
    mapping = in_copy(root, f"mappings/feeds/{FEED}.yaml")
    mapping.write_text(mapping.read_text(encoding="utf-8").replace('"%Y/%m/%d"', '"%Y-%m-%d"'), encoding="utf-8")
    assert jinbao("db", "revision", "-m", "student table").returncode == 0
    (tmp_path / DELIVERY).write_text(sample, encoding="utf-8")
    judged = jinbao("feeds", "check", FEED, "--sample", str(tmp_path / DELIVERY))
    assert judged.returncode == 2, judged.stdout + judged.stderr
    assert "is not a date in the agreed format YYYY-MM-DD" in judged.stdout
    assert ("suspected hub configuration error: 9 of the 10 values of column CSRQ fail DATE_INVALID; a delivery "
            "like it is held before any receipt goes to the partner. Check CSRQ's date_format '%Y-%m-%d' "
            f"(YYYY-MM-DD) in mapping {mapping} (version 1)") in judged.stdout
    assert not home.receipts.exists() or not list(home.receipts.rglob("*"))
