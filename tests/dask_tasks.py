"""Task classes for the Dask system tests; imported by the task processes on the Dask workers.

Referenced as ``tests.dask_tasks:ClassName``. Coordination uses files (paths passed as
arguments), never sleeps in the test itself.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from tests.taskbase import TaskBase

#: Longest a task waits for a file the test creates.
WAIT_S = 60.0


def _wait_for(path: Path) -> bool:
    deadline = time.monotonic() + WAIT_S
    while not path.exists():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


_Base = TaskBase


class LogThenWait(_Base):
    """Logs a line, writes its pid to ``marker``, then waits for ``release`` (so a test can read
    the line from the store while the run is still going)."""

    def __call__(self) -> dict[str, Any]:
        self.logger.info("before the wait")
        Path(self.kw["marker"]).write_text(str(os.getpid()))
        released = _wait_for(Path(self.kw["release"]))
        self.logger.info("after the wait")
        return {"released": released}


class CountThenWait(_Base):
    """Appends its pid to ``count`` (one line per execution), then waits for ``release``."""

    def __call__(self) -> dict[str, Any]:
        with open(self.kw["count"], "a", encoding="utf-8") as out:
            out.write(f"{os.getpid()}\n")
        return {"released": _wait_for(Path(self.kw["release"]))}


class Exit(_Base):
    """Leaves the process at once with ``code`` (no result, no exception)."""

    def __call__(self) -> dict[str, Any]:
        os._exit(int(self.kw.get("code", 3)))


class Where(_Base):
    """Says which process ran it."""

    def __call__(self) -> dict[str, Any]:
        return {"pid": os.getpid(), "ppid": os.getppid()}
