"""Imports at the top of modules, except where a comment says why (issue 24).

An import inside a function in product code needs a reason beside it: a comment on the import's
line(s) or directly above it (above the group of imports it belongs to), or a line in the module's
docstring starting "Imports inside functions:" that states the module's policy (the CLI command
modules, dags/dag_factory.py).  The usual reasons: DAG parsing stays cheap, Great Expectations
starts slowly, a command's machinery loads when it runs, a heavy dependency needed on one path
only, a module-level import cycle ("# cycle: ...").  The source is read (AST), nothing is imported.
"""
from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PRODUCT = ("jinbao", "connectors", "exchange_zone", "quality", "mappings", "schemas", "dags")
POLICY = "imports inside functions:"


def product_files() -> list[Path]:
    files = []
    for top in PRODUCT:
        for f in sorted((REPO / top).rglob("*.py")):
            if "migrations" not in f.relative_to(REPO).parts:       # alembic's env.py and versions
                files.append(f)
    return files


def inner_imports(tree: ast.AST) -> list[ast.stmt]:
    """Every import statement inside a function (at any depth: a method, a nested function, a try)."""
    found = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                if in_function:
                    found.append(child)
            else:
                visit(child, in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)))

    visit(tree, False)
    return found


def unexplained(source: str) -> list[int]:
    """Lines of the imports inside functions that no comment explains."""
    tree = ast.parse(source)
    doc = ast.get_docstring(tree) or ""
    if any(line.strip().lower().startswith(POLICY) or f" {POLICY}" in line.lower() for line in doc.splitlines()):
        return []
    lines = source.splitlines()
    imports = inner_imports(tree)
    import_lines = {n for node in imports for n in range(node.lineno, node.end_lineno + 1)}
    out = []
    for node in imports:
        own = lines[node.lineno - 1:node.end_lineno]
        if any("#" in line for line in own):
            continue
        n = node.lineno - 1                     # walk up through the group of imports above it
        while n >= 1 and n in import_lines and "#" not in lines[n - 1]:
            n -= 1
        if n >= 1 and lines[n - 1].strip().startswith("#") or n >= 1 and n in import_lines:
            continue
        out.append(node.lineno)
    return out


def test_every_import_inside_a_function_says_why():
    offenders = [f"{f.relative_to(REPO)}:{line}: {Path(f).read_text().splitlines()[line - 1].strip()}"
                 for f in product_files() for line in unexplained(f.read_text())]
    assert not offenders, ("imports inside functions without a comment saying why (move them to the top "
                           "of the module, or say why on or above the import):\n" + "\n".join(offenders))


def test_the_check_sees_what_it_should():
    bare = "def f():\n    x = 1\n    import json\n    return json\n"
    assert unexplained(bare) == [3]
    assert unexplained("def f():\n    import json  # slow\n") == []
    assert unexplained("def f():\n    # cycle: b imports this module\n    import a\n    from b import c\n") == []
    assert unexplained("def f():\n    x = 1  # unrelated\n    import a\n") == [3]
    assert unexplained('"""Doc.\n\nImports inside functions: at run time.\n"""\ndef f():\n    import a\n') == []
    assert unexplained("import a\nif a:\n    import b\nclass C:\n    def m(self):\n        import c\n") == [6]
