"""The publish transaction's consumers and the after-judge checks: one list each, resolved by name.

Adding one is its definition in the package that owns it plus one line in the list; the engine
names none of them."""
from __future__ import annotations

import ast
from pathlib import Path

from jinbao.quality.judge_step import AFTER_JUDGE, after_judge
from jinbao.store.consumers import IN_PUBLISH, in_publish

ENGINE = Path(__file__).resolve().parents[3] / "jinbao" / "engine.py"


def test_every_consumer_and_check_resolves_to_what_the_step_calls():
    assert len(in_publish()) == len(IN_PUBLISH) and len(after_judge()) == len(AFTER_JUDGE)
    for found in (*in_publish(), *after_judge()):
        assert callable(found.applies) and callable(found.run)


def test_the_publish_transaction_runs_its_consumers_in_the_order_they_always_ran():
    owners = [name.split(":")[0] for name in IN_PUBLISH]
    assert owners == ["jinbao.store.publish", "jinbao.audit.evidence", "jinbao.register.reconcile",
                      "jinbao.connectors.frontend_db", "jinbao.subsidies.hooks"]


def test_the_engine_imports_none_of_the_packages_that_only_consume():
    imported = {node.module for node in ast.walk(ast.parse(ENGINE.read_text()))
                if isinstance(node, ast.ImportFrom) and node.module}
    assert not {m for m in imported if m.split(".")[:2] in (["jinbao", "audit"], ["jinbao", "register"],
                                                             ["jinbao", "subsidies"])}
