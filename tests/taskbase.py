"""What every test task class keeps from its arguments (the framework passes ``logger``,
``index``, ``attempt`` and ``due_at`` besides the job's own ``kwargs``): one base for the test
task modules (tests/fixtures.py, tests/web/tasks.py, tests/attack_tasks.py, tests/dask_tasks.py)."""

from __future__ import annotations

from typing import Any


class TaskBase:
    """Keeps the arguments as ``self.kw`` and the framework's ones as attributes."""

    def __init__(self, **kwargs: Any) -> None:
        self.kw = kwargs
        self.logger = kwargs["logger"]
        self.attempt = kwargs.get("attempt", 0)
        self.index = kwargs.get("index", 1)
        self.due_at = kwargs.get("due_at", 0.0)


__all__ = ["TaskBase"]
