"""Task classes that attack the server from inside a run (issue 11); importable by spawned
workers as ``tests.attack_tasks:Name``.

Each does one hostile thing a task can do: return numbers the scheduler cannot use, return a
huge result, log without end, leave processes behind. Cross-process coordination uses marker
files (paths passed as arguments), never sleeps in the test itself.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.taskbase import TaskBase

#: What `BadNext` returns as ``next_at`` (or DAS's ``next``), by kind.
BAD_NEXT = {
    "nan": lambda: float("nan"),
    "inf": lambda: float("inf"),
    "huge": lambda: 10**400,
    "negative": lambda: -5.0,
    "beyond": lambda: time.time() + 5e9,
    "text": lambda: "tomorrow",
}


_Base = TaskBase


class BadNext(_Base):
    """Returns an unusable ``next_at`` (``kind``: a key of `BAD_NEXT`; ``key``: next_at or next)."""

    def __call__(self) -> dict[str, Any]:
        return {self.kw.get("key", "next_at"): BAD_NEXT[self.kw["kind"]](), "index": self.index}


class BigResult(_Base):
    """Returns a result of about ``mb`` MiB (one long string plus ``keys`` small keys)."""

    def __call__(self) -> dict[str, Any]:
        keys = {f"k{i}": i for i in range(int(self.kw.get("keys", 3)))}
        return {"blob": "x" * int(float(self.kw.get("mb", 2)) * 1024 * 1024), **keys}


class Flood(_Base):
    """Logs ``lines`` lines of ``chars`` characters, and prints ``printed`` lines."""

    def __call__(self) -> dict[str, Any]:
        line = "y" * int(self.kw.get("chars", 100))
        for i in range(int(self.kw.get("lines", 0))):
            self.logger.info("%d %s", i, line)
        for i in range(int(self.kw.get("printed", 0))):
            print(i, line)
        if self.kw.get("one_long_line_mb"):
            print("z" * int(float(self.kw["one_long_line_mb"]) * 1024 * 1024))
        return {"done": True}


#: A grandchild that ignores SIGTERM and lives until killed.
STUBBORN = ("import signal, sys, time\n"
            "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
            "open(sys.argv[1], 'w').write('ready')\n"
            "while True:\n"
            "    time.sleep(1)\n")


class LeaveGrandchild(_Base):
    """Starts a grandchild that ignores SIGTERM (its pid goes to ``marker``), waits until it is
    ready, then returns (``then``: ``return``) or hangs (``hang``: a timeout kills the run; the
    worker process, the group leader, dies of the SIGTERM before the grandchild would)."""

    def __call__(self) -> dict[str, Any]:
        ready = Path(self.kw["marker"] + ".ready")
        child = subprocess.Popen([sys.executable, "-c", STUBBORN, str(ready)])
        Path(self.kw["marker"]).write_text(str(child.pid))
        deadline = time.monotonic() + 20
        while not ready.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        then = self.kw.get("then", "return")
        if then == "hang":
            while True:
                time.sleep(1)
        return {"grandchild": child.pid}


class ManyChildren(_Base):
    """Returns ``count`` child jobs (Echo, one hour apart, named after ``prefix`` and the run index)."""

    def __call__(self) -> dict[str, Any]:
        prefix = f"{self.kw['prefix']}-{self.index}"
        return {"new_tasks": [{"name": f"{prefix}-{i}", "classname": "Echo", "interval": 3600}
                              for i in range(int(self.kw["count"]))]}
