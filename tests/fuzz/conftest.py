"""Hypothesis profiles for the fuzz tests, chosen by HYPOTHESIS_PROFILE (hypothesis' own convention).

- ``ci`` (default): a short run on every `make test`, the whole folder in well under a minute.
- ``fuzz``: ``make fuzz``, at least 10,000 examples per parser.

No deadline in either: CI machines may be loaded, and a hang is caught per example by
`shapes.no_hang` instead.  Failing examples are kept in `.hypothesis/` (git-ignored) and replayed first.
"""
from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

#: Big inputs (very long fields, many lines) are the point here, not a sign of a slow strategy.
_BIG_IS_FINE = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example,
                HealthCheck.filter_too_much]

settings.register_profile("ci", max_examples=150, deadline=None, suppress_health_check=_BIG_IS_FINE,
                          print_blob=True)
settings.register_profile("fuzz", max_examples=10_000, deadline=None, suppress_health_check=_BIG_IS_FINE,
                          print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
