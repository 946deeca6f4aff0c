"""The hub's areas import each other without a loop.

An area is a folder installed as `jinbao.X` (setup.py SUBPACKAGES: connectors/, quality/, ...) or a
sub-package of jinbao/ (store, register, formats, staged, ...).  Every import counts, at any depth:
one inside a function still makes its module need the other area, and two areas that need each
other can be neither read nor changed one at a time (issue 24: four such pairs had been kept apart
only by imports inside functions).  The graph is read from the source (AST), nothing is imported.
"""
from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def installed_folders() -> list[str]:
    """setup.py's SUBPACKAGES: the top-level folders installed as jinbao.<folder>."""
    for node in ast.parse((REPO / "setup.py").read_text()).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "SUBPACKAGES" for t in node.targets):
            return list(ast.literal_eval(node.value))
    raise AssertionError("setup.py names no SUBPACKAGES")


def area_files() -> dict[Path, tuple[str, str]]:
    """Each source file -> (its area, its module name as installed)."""
    out = {}
    for folder in installed_folders():
        for f in (REPO / folder).rglob("*.py"):
            out[f] = (folder, "jinbao." + ".".join(f.relative_to(REPO).with_suffix("").parts))
    for package in (REPO / "jinbao").iterdir():
        if package.is_dir() and (package / "__init__.py").is_file():
            for f in package.rglob("*.py"):
                out[f] = (package.name, ".".join(f.relative_to(REPO).with_suffix("").parts))
    return out


def imported(tree: ast.AST, module: str) -> list[tuple[str, int]]:
    """(module named, line) for every import in the tree, relative ones resolved against `module`."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = module.split(".")[:-node.level]
                base = ".".join(package + ([base] if base else []))
            found += [(base, node.lineno)] + [(f"{base}.{alias.name}", node.lineno) for alias in node.names]
    return found


def area_graph() -> dict[str, dict[str, list[str]]]:
    """area -> area it imports -> the import sites (`path:line -> module`)."""
    files = area_files()
    areas = {area for area, _ in files.values()}
    graph: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for path, (area, module) in files.items():
        for name, line in imported(ast.parse(path.read_text(), str(path)), module):
            parts = name.split(".")
            if parts[0] == "jinbao" and len(parts) > 1 and parts[1] in areas and parts[1] != area:
                where = f"{path.relative_to(REPO)}:{line}"
                if not any(site.startswith(where + " ") for site in graph[area][parts[1]]):
                    graph[area][parts[1]].append(f"{where} -> {name}")
    return graph


def cycles(graph: dict[str, dict[str, list[str]]]) -> list[list[str]]:
    """Loops (lists of areas, the first repeated at the end): in each group of areas that reach each
    other, the shortest loop through each of its areas, each loop once."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(group)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    loops, seen = [], set()
    for group in groups:
        for start in sorted(group):
            loop = _loop_in(start, group, graph)
            if frozenset(zip(loop, loop[1:])) not in seen:
                seen.add(frozenset(zip(loop, loop[1:])))
                loops.append(loop)
    return loops


def _loop_in(start: str, group: list[str], graph) -> list[str]:
    """A shortest way from `start` back to itself, inside the group."""
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(graph.get(v, {})):
                if w == start:
                    return paths[v] + [start]
                if w in group and w not in paths:
                    paths[w] = paths[v] + [w]
                    nxt.append(w)
        frontier = nxt
    raise AssertionError(f"no loop in {group}")


def describe(loop: list[str], graph) -> str:
    steps = []
    for a, b in zip(loop, loop[1:]):
        sites = graph[a][b]
        steps.append(f"  {a} -> {b}: " + "; ".join(sites[:5]) + (f" (+{len(sites) - 5} more)" if len(sites) > 5 else ""))
    return " -> ".join(loop) + "\n" + "\n".join(steps)


def test_no_area_imports_one_that_imports_it_back():
    graph = area_graph()
    found = cycles(graph)
    assert not found, "areas importing each other in a loop:\n" + "\n".join(describe(c, graph) for c in found)


def test_the_graph_sees_every_kind_of_import(tmp_path):
    """The check itself: a loop closed only inside a function, or by a relative import, is found."""
    tree = ast.parse("import jinbao.store.bulk\n"
                     "def f():\n    from jinbao.register import scratch\n"
                     "from ..quality import rules\n")
    names = {name for name, _ in imported(tree, "jinbao.audit.typos")}
    assert {"jinbao.store.bulk", "jinbao.register.scratch", "jinbao.quality.rules"} <= names
    graph = {"store": {"register": ["a.py:1"]}, "register": {"audit": ["b.py:2"]}, "audit": {"store": ["c.py:3"]},
             "formats": {}}
    [loop] = cycles(graph)                          # one loop, found from each of its three areas
    assert loop == ["audit", "store", "register", "audit"]
    assert "store -> register: a.py:1" in describe(loop, graph)
    assert area_graph()["quality"]["formats"], "quality's imports of jinbao/formats are seen"
