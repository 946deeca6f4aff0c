"""Waiting on a live Airflow through its REST API (the live tests, the overhead benchmark):
while a component starts, a refused connection means "not yet", not a failure."""
from __future__ import annotations

import time
from typing import Callable, TypeVar

import httpx

T = TypeVar("T")


def poll(deadline: float, check: Callable[[], T], alive: Callable[[], None] | None = None,
         every: float = 1.0) -> T | None:
    """`check()` until it returns something truthy or time.monotonic() passes `deadline` (then None);
    `alive()` is called first on every round and raises when what is being waited on has died."""
    while time.monotonic() < deadline:
        if alive is not None:
            alive()
        try:
            found = check()
        except httpx.TransportError:
            found = None
        if found:
            return found
        time.sleep(every)
    return None
