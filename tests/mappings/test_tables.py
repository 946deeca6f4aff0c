"""mappings/tables.py: the mapping version in force on a business date."""
from __future__ import annotations

import datetime as dt

import pytest

from jinbao.mappings.tables import MappingError, feed_mapping


def test_no_version_in_force_is_an_error():
    with pytest.raises(MappingError, match="0 versions in force"):
        feed_mapping("civil_affairs.assistance", dt.date(2017, 1, 1))
