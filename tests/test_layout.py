"""The repository's layout as the code and the docs rely on it.

- connectors/, mappings/, schemas/, quality/, exchange_zone/ and dags/feeds/ are installed as
  `jinbao.connectors`, ... and `jinbao.declared_feeds` (setup.py): a bare `import quality` works in a
  checkout by accident and loads a second copy of the module beside `jinbao.quality`.  Each says so.
- The synthetic-data generator (jinbao/generator/) is imported by nothing in the product but
  jinbao/demo.py (`jinbao demo`, `jinbao generate`).
- Paths the docs name exist.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
#: Folders installed under another name (setup.py package_dir): folder -> the name to import.
INSTALLED_AS = {"connectors": "jinbao.connectors", "mappings": "jinbao.mappings", "schemas": "jinbao.schemas",
                "quality": "jinbao.quality", "exchange_zone": "jinbao.exchange_zone",
                "dags/feeds": "jinbao.declared_feeds"}
BARE = {"connectors", "mappings", "schemas", "quality", "exchange_zone", "feeds", "declared_feeds"}
#: Everything that is Python of this project (not .venv, not a JINBAO_HOME under var/).
CODE = ("jinbao", "connectors", "mappings", "schemas", "quality", "exchange_zone", "dags", "dev", "bench", "tests")
#: What ships: the product, whose modules may not load the generator.
PRODUCT = ("jinbao", "connectors", "mappings", "schemas", "quality", "exchange_zone", "dags")
GENERATOR = "jinbao.generator"
MAY_IMPORT_GENERATOR = {"jinbao/demo.py"}


def _modules(folders) -> list[Path]:
    return sorted(p for top in folders for p in (REPO / top).rglob("*.py"))


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every absolute import in `path`, wherever it stands (top or inside a function)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found += [(node.lineno, node.module)]
            found += [(node.lineno, f"{node.module}.{a.name}") for a in node.names]
    return found


def test_no_module_imports_an_installed_folder_by_its_bare_name():
    bare = [f"{p.relative_to(REPO)}:{line}: {name}" for p in _modules(CODE) for line, name in _imports(p)
            if name.split(".")[0] in BARE]
    assert bare == [], "import these as jinbao.<folder> (setup.py package_dir):\n" + "\n".join(bare)


@pytest.mark.parametrize("folder", sorted(INSTALLED_AS))
def test_each_installed_folder_says_how_it_is_imported(folder):
    doc = ast.get_docstring(ast.parse((REPO / folder / "__init__.py").read_text(encoding="utf-8"))) or ""
    assert f"`{INSTALLED_AS[folder]}`" in doc and "setup.py" in doc


def test_the_generator_is_loaded_only_by_the_demo_and_generate_commands():
    users = sorted({str(p.relative_to(REPO)) for p in _modules(PRODUCT)
                    if not p.is_relative_to(REPO / "jinbao" / "generator")
                    and any(name == GENERATOR or name.startswith(GENERATOR + ".") for _, name in _imports(p))})
    assert users == sorted(MAY_IMPORT_GENERATOR)


def test_no_module_imports_a_private_name_of_the_cli():
    private = [f"{p.relative_to(REPO)}:{line}: {name}" for p in _modules(CODE) for line, name in _imports(p)
               if name.startswith("jinbao.cli._")]
    assert private == []


#: A path in backticks, as the docs name files and folders of the repository.
_PATH = re.compile(r"`([A-Za-z_][\w.-]*(?:/[\w.-]+)+/?)(?:::[\w\[\]-]+)?`")


def _named_paths(text: str) -> set[str]:
    tops = {p.name for p in REPO.iterdir() if not p.name.startswith(".")} - {"var"}
    return {m[1] for m in _PATH.finditer(text) if m[1].split("/")[0] in tops}


def _exists(path: str) -> bool:
    """`path` is a file or folder, or `folder/module.name` names something in folder/module.py."""
    folder, _, last = path.rpartition("/")
    return (REPO / path).exists() or (REPO / folder / (last.split(".")[0] + ".py")).is_file()


@pytest.mark.parametrize("doc", sorted(p.name for p in (REPO / "docs").glob("*.md")) + ["../README.md"])
def test_paths_the_docs_name_exist(doc):
    missing = sorted(p for p in _named_paths((REPO / "docs" / doc).read_text(encoding="utf-8")) if not _exists(p))
    assert missing == [], f"docs/{doc} names paths that do not exist"
