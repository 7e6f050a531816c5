"""APScheduler job functions (stdlib only: they are imported by APScheduler's pool processes)."""

from __future__ import annotations

import os
import time
from typing import Any


def echo(value: Any) -> Any:
    """The trivial task: return the argument."""
    return value


def stamp(value: Any) -> float:
    """Return the time the job started (the steady-load lateness probe); *value* is ignored."""
    return time.time()


def touch(path: str) -> float:
    """Write the start time into *path* atomically (the start-up probe) and return it."""
    started = time.time()
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(repr(started))
    os.replace(tmp, path)
    return started
