"""Declared tables and generated migrations (schemas/declared_tables.py, jinbao/store/migrations.py).

The tables converted to declarations keep their DDL to the character (the hand-written definitions they
replaced are kept here as the reference), the shipped migrations still make exactly the metadata, and a
table declared in a copy of the declarations gets its migration from `jinbao db revision`, which
`jinbao db upgrade` applies on SQLite and PostgreSQL, after which `jinbao db check` finds nothing."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
import sqlalchemy as sa
from sqlalchemy import Boolean, Column, Date, Index, Integer, MetaData, Numeric, String, Table
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.schema import CreateIndex, CreateTable

from jinbao.schemas import store_tables
from jinbao.schemas.declared_tables import TableError, parse
from jinbao.settings import shipped_migrations_dir, shipped_tables_dir
from jinbao.store.migrations import differences, missing_at_head, next_number

#: The definitions schemas/store_tables.py held before these tables were declared (commit a546f2f).
_OLD = MetaData(naming_convention=store_tables.metadata.naming_convention)
_BEFORE = [
    Table("pension_payment", _OLD,
          Column("aac002", String(18), primary_key=True),
          Column("month", Date, primary_key=True),
          Column("amount", Numeric(12, 2), nullable=False),
          *store_tables._provenance()),
    Table("employer_status", _OLD,
          Column("aab998", String(18), primary_key=True),
          Column("report_quarter", String(6), primary_key=True),
          Column("employer_name", String(200), nullable=True),
          Column("aab301", String(6), nullable=True),
          Column("employer_status", String(1), nullable=False),
          *store_tables._provenance()),
    Table("resident_enrollment", _OLD,
          Column("aac002", String(18), primary_key=True),
          Column("enrollment_year", String(4), primary_key=True),
          Column("aac003", String(50), nullable=True),
          Column("unit_code", String(50), nullable=True),
          Column("unit_name", String(200), nullable=True),
          Column("unit_division", String(6), nullable=True),
          Column("amount", Numeric(12, 2), nullable=False),
          Column("paid_date", Date, nullable=True),
          *store_tables._provenance()),
    Table("contribution", _OLD,
          Column("aac002", String(18), primary_key=True),
          Column("aab998", String(18), primary_key=True),
          Column("month", Date, primary_key=True),
          Column("paid_flag", String(1), nullable=False),
          *store_tables._provenance()),
]

STUDENT = """# a new partner's table, declared and nothing else
table: education_student
about: enrolled students, one row per person and school year
key: [AAC002, enrollment_year]
columns:
  AAC003: optional
  unit_name: required
  unit_division: optional
  paid_date: optional
indexes: [[unit_division]]
"""


def _ddl(table: Table, dialect) -> list[str]:
    return [str(CreateTable(table).compile(dialect=dialect))] + \
        sorted(str(CreateIndex(i).compile(dialect=dialect)) for i in table.indexes)


@pytest.mark.parametrize("old", _BEFORE, ids=lambda t: t.name)
def test_a_table_converted_to_a_declaration_keeps_its_ddl_exactly(old):
    new = store_tables.metadata.tables[old.name]
    assert new is store_tables.DECLARED[old.name] and store_tables.TARGETS[old.name] is new
    for dialect in (sqlite.dialect(), postgresql.dialect(), mysql.dialect()):
        assert _ddl(new, dialect) == _ddl(old, dialect), dialect.name
    assert [(c.name, repr(c.type), c.nullable, c.primary_key) for c in new.columns] == \
        [(c.name, repr(c.type), c.nullable, c.primary_key) for c in old.columns]


def test_the_shipped_migrations_make_exactly_the_tables_on_sqlite_and_postgresql(store_url):
    assert differences(store_url) == []          # compare_metadata with the store brought to the head
    assert differences() == []                   # and with a scratch SQLite one, as `jinbao db check` does
    assert missing_at_head(["contribution", "person", "education_student"]) == ["education_student"]


def test_a_columns_type_follows_from_the_hub_dictionary(tmp_path):
    path = tmp_path / "education_student.yaml"
    path.write_text(STUDENT, encoding="utf-8")
    declared = parse(path)
    assert [(c.code, repr(c.type), c.key, c.required) for c in declared.columns] == [
        ("AAC002", "String(length=18)", True, True), ("enrollment_year", "String(length=4)", True, True),
        ("AAC003", "String(length=50)", False, False), ("unit_name", "String(length=200)", False, True),
        ("unit_division", "String(length=6)", False, False), ("paid_date", "Date()", False, False)]
    assert declared.indexes == (("unit_division",),)


@pytest.mark.parametrize("old, new, says", [
    ("key: [AAC002, enrollment_year]", "key: [AAC02, enrollment_year]", "key 'AAC02' is not a hub field"),
    ("  AAC003: optional", "  AAC003: nullable", "columns.AAC003 must be required, optional"),
    ("  AAC003: optional", "  AAC003: {required: false, length: 40}",
     "columns.AAC003.length: the hub dictionary already fixes AAC003's column"),
    ("  AAC003: optional", "  AAC003: {required: false, width: 40}", "unknown key(s) columns.AAC003.width"),
    ("  AAC003: optional", "  AAC002: optional", "AAC002 named twice"),
    ("indexes: [[unit_division]]", "indexes: [[unit_divison]]", "indexes[0] names 'unit_divison'"),
    ("table: education_student", "table: students", "table 'students' must match the file name"),
    ("about:", "abuot:", "unknown key(s) abuot"),
])
def test_a_malformed_table_declaration_is_refused_naming_file_and_key(tmp_path, old, new, says):
    path = tmp_path / "education_student.yaml"
    assert old in STUDENT
    path.write_text(STUDENT.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(TableError) as exc:
        parse(path)
    assert str(exc.value).startswith(f"{path}: ") and says in str(exc.value), str(exc.value)


def test_a_text_without_a_width_needs_one_in_the_declaration(tmp_path):
    from jinbao.schemas.dictionary import HubField

    fields = {"AAC002": HubField("AAC002", "x", "x", "citizen_id"), "note": HubField("note", "x", "x", "text")}
    path = tmp_path / "t.yaml"
    path.write_text("table: t\nkey: [AAC002]\ncolumns:\n  note: optional\n", encoding="utf-8")
    with pytest.raises(TableError, match=r"columns.note: the hub dictionary gives note \(text\) no width"):
        parse(path, fields)
    path.write_text("table: t\nkey: [AAC002]\ncolumns:\n  note: {length: 80}\n", encoding="utf-8")
    assert repr(parse(path, fields).columns[1].type) == "String(length=80)"


def _jinbao(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "jinbao.cli", *args], env=env, capture_output=True, text=True,
                          timeout=120)


def test_a_declared_table_gets_its_migration_from_db_revision_and_db_upgrade_creates_it(tmp_path, store_url):
    tables, versions = tmp_path / "tables", tmp_path / "versions"
    shutil.copytree(shipped_tables_dir(), tables)
    shutil.copytree(shipped_migrations_dir(), versions, ignore=shutil.ignore_patterns("__*"))
    (tables / "education_student.yaml").write_text(STUDENT, encoding="utf-8")
    env = {**os.environ, "JINBAO_HOME": str(tmp_path / "home"), "JINBAO_STORE_URL": store_url,
           "JINBAO_TABLES_DIR": str(tables), "JINBAO_MIGRATIONS_DIR": str(versions)}

    check = _jinbao(env, "db", "check")
    assert check.returncode == 1, check.stderr
    assert "table education_student: in the tables, not made by any migration" in check.stdout
    assert "jinbao db revision" in check.stdout

    expected = versions / f"{next_number(shipped_migrations_dir())}_education_student_table.py"
    made = _jinbao(env, "db", "revision", "-m", "education student table")
    assert made.returncode == 0, made.stderr
    assert f"wrote {expected}" in made.stdout and "review it" in made.stdout
    text = expected.read_text(encoding="utf-8")
    assert f"down_revision = '{int(expected.name[:4]) - 1:04d}'" in text
    assert "import jinbao" not in text and "jinbao." not in text    # a migration never imports the hub's code
    assert "op.create_table('education_student'" in text and "ix_education_student_unit_division" in text

    up = _jinbao(env, "db", "upgrade")
    assert up.returncode == 0, up.stderr
    eng = sa.create_engine(store_url)
    try:
        inspector = sa.inspect(eng)
        columns = {c["name"]: c for c in inspector.get_columns("education_student")}
        assert list(columns) == ["aac002", "enrollment_year", "aac003", "unit_name", "unit_division", "paid_date",
                                 "source_feed", "batch_id", "line_no", "updated_at", "source_version"]
        assert columns["aac002"]["type"].length == 18 and not columns["unit_name"]["nullable"]
        assert inspector.get_pk_constraint("education_student")["constrained_columns"] == ["aac002", "enrollment_year"]
        assert [i["column_names"] for i in inspector.get_indexes("education_student")] == [["unit_division"]]
    finally:
        eng.dispose()
    for where in ([], ["--url", store_url]):
        after = _jinbao(env, "db", "check", *where)
        assert after.returncode == 0 and "make exactly the tables" in after.stdout, after.stdout + after.stderr

    again = _jinbao(env, "db", "revision", "-m", "again")
    assert again.returncode == 1 and "nothing to generate" in again.stderr
    assert sorted(p.name for p in versions.glob("*.py")) == \
        sorted([p.name for p in shipped_migrations_dir().glob("[0-9]*.py")] + [expected.name])


def test_db_check_names_each_column_a_changed_declaration_differs_in(tmp_path):
    tables = tmp_path / "tables"
    shutil.copytree(shipped_tables_dir(), tables)
    path = tables / "contribution.yaml"
    text = path.read_text(encoding="utf-8")
    assert "  paid_flag: required\n" in text
    path.write_text(text.replace("  paid_flag: required\n", "  paid_flag: optional\n  paid_date: optional\n"),
                    encoding="utf-8")
    env = {**os.environ, "JINBAO_HOME": str(tmp_path / "home"), "JINBAO_TABLES_DIR": str(tables)}
    check = _jinbao(env, "db", "check")
    assert check.returncode == 1, check.stderr
    assert "column contribution.paid_date: in the tables, not made by any migration" in check.stdout
    assert "column contribution.paid_flag: nullable False at the head, True in the tables" in check.stdout


def test_a_malformed_table_declaration_stops_only_the_migration_commands(tmp_path):
    """Its table is set aside (store_tables.BROKEN): the hub still loads and migrates; check and revision
    refuse, naming file and key, since they would take the table for dropped."""
    tables = tmp_path / "tables"
    shutil.copytree(shipped_tables_dir(), tables)
    (tables / "education_student.yaml").write_text(STUDENT.replace("[AAC002,", "[AAC02,"), encoding="utf-8")
    env = {**os.environ, "JINBAO_HOME": str(tmp_path / "home"), "JINBAO_TABLES_DIR": str(tables),
           "JINBAO_STORE_URL": f"sqlite:///{tmp_path / 'store.db'}"}
    assert _jinbao(env, "db", "upgrade").returncode == 0
    for args in (["check"], ["revision", "-m", "students"]):
        done = _jinbao(env, "db", *args)
        assert done.returncode == 1
        assert f"{tables / 'education_student.yaml'}: key 'AAC02' is not a hub field" in done.stderr, done.stderr


def test_a_feed_publishing_into_a_malformed_table_is_refused_naming_the_table_declaration(tmp_path):
    from jinbao.settings import shipped_feeds_dir

    tables, feeds = tmp_path / "tables", tmp_path / "feeds"
    shutil.copytree(shipped_tables_dir(), tables)
    shutil.copytree(shipped_feeds_dir(), feeds, ignore=shutil.ignore_patterns("__*"))
    (tables / "education_student.yaml").write_text(STUDENT.replace("[AAC002,", "[AAC02,"), encoding="utf-8")
    text = (feeds / "police.death.yaml").read_text(encoding="utf-8")
    assert "table: death_record" in text
    (feeds / "police.death.yaml").write_text(text.replace("table: death_record", "table: education_student"),
                                             encoding="utf-8")
    env = {**os.environ, "JINBAO_HOME": str(tmp_path / "home"), "JINBAO_TABLES_DIR": str(tables),
           "JINBAO_FEEDS_DIR": str(feeds)}
    done = subprocess.run([sys.executable, "-c", "from jinbao.declarations import get_feed; get_feed('police.death')"],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert (f"FeedError: {feeds / 'police.death.yaml'}: target.table 'education_student': "
            f"{tables / 'education_student.yaml'}: key 'AAC02' is not a hub field") in done.stderr, done.stderr
