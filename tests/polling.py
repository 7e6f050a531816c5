"""Waiting in tests: poll a condition with a deadline, never a bare sleep (house rule).

One place for the loop that every system test needs, so a test says what it waits for and for
how long, and a timeout fails with that.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def eventually(predicate: Callable[[], Any], timeout: float = 20.0, every: float = 0.05) -> Any:
    """Call *predicate* until it returns something truthy and return that; after *timeout*
    seconds return its last (falsy) answer, for ``assert eventually(...)``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(every)


def wait_for(predicate: Callable[[], Any], timeout: float = 20.0, every: float = 0.05, what: str = "") -> Any:
    """Like `eventually`, but a timeout fails the test naming *what* was awaited."""
    value = eventually(predicate, timeout, every)
    if not value:
        raise AssertionError(f"not within {timeout:g}s: {what or predicate}")
    return value


__all__ = ["eventually", "wait_for"]
