"""das-actors task classes used by the benchmarks (run inside spawned worker processes).

Referenced by dotted path, e.g. ``benchmarks.tasks:Logger``; the worker imports this module
from the repository root (the benchmark processes run with it as their working directory).
"""

from __future__ import annotations

import os
import time
from typing import Any

from tasks.base import TaskBase


class Logger(TaskBase):
    """Log ``lines`` INFO lines as fast as the task's logger takes them (journal benchmark)."""

    task_title = "Benchmark logger"
    task_options = [{"name": "lines", "type": "int", "default": 200_000, "help": "number of lines to log"}]

    def __call__(self) -> dict[str, Any]:
        lines = int(self.options["lines"])
        info = self.logger.info
        for i in range(lines):
            info("line %d", i)
        return {"lines": lines}


class Touch(TaskBase):
    """Write the time the run started into the file ``path`` (start-up benchmark), log a line."""

    task_title = "Benchmark touch"
    task_options = [{"name": "path", "type": "str", "help": "file that receives the start time"}]

    def __call__(self) -> dict[str, Any]:
        started = time.time()
        write_stamp(str(self.options["path"]), started)
        self.logger.info("touched %s", self.options["path"])
        return {"started": started}


def write_stamp(path: str, value: float) -> None:
    """Write *value* to *path* atomically (a reader never sees a half-written file)."""
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(repr(value))
    os.replace(tmp, path)
