"""mappings/check.py (`jinbao mappings check`): the shipped tables pass, broken ones are named."""
from __future__ import annotations

import pytest

from jinbao.mappings.check import check_all, check_code_table


def test_shipped_tables_pass_the_check():
    assert check_all() == []


@pytest.mark.parametrize("body, expected", [
    ('name: t\nhub_field: AAA002\nversions:\n  - {version: "1", valid_from: 2020-01-01, valid_to: null,'
     ' map: {"1": "1", "1": "2"}}\n', "appears twice"),
    ('name: t\nhub_field: AAA002\nversions:\n  - {version: "1", valid_from: 2020-01-01, valid_to: 2020-12-31,'
     ' map: {"1": "1"}}\n  - {version: "2", valid_from: 2021-02-01, valid_to: null, map: {"1": "1"}}\n', "gap"),
    ('name: t\nhub_field: AAA002\nversions:\n  - {version: "1", valid_from: 2020-01-01, valid_to: 2021-06-30,'
     ' map: {"1": "1"}}\n  - {version: "2", valid_from: 2021-01-01, valid_to: null, map: {"1": "1"}}\n', "overlap"),
    ('name: t\nhub_field: AAA002\nversions:\n  - {version: "1", valid_from: 2020-01-01, valid_to: null,'
     ' map: {"1": "3"}}\n', "not a AAA002 code"),
    ('name: t\nhub_field: AAA002\nversions:\n  - {version: "1", valid_from: 2020-01-01, valid_to: null,'
     ' map: {"1": "1", "M": "1"}}\n', "add reverse_prefer"),
    ('name: t\nhub_field: NOPE\nversions:\n  - {version: "1", valid_from: 2020-01-01, map: {"1": "1"}}\n',
     "not in the hub dictionary"),
])
def test_check_finds_broken_tables(tmp_path, body, expected):
    path = tmp_path / "t.yaml"
    path.write_text(body, encoding="utf-8")
    problems = check_code_table(path)
    assert any(expected in p for p in problems), problems
