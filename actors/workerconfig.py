"""What a worker process is started with, and how its end is told to an operator.

Why a module of its own: the local `actors.worker.Worker` and the Dask slot
`actors.daskworker.DaskWorker` start the same child with the same limits (memory cap, log and
result budgets, task packages, the services' options), and both describe a dead process the
same way (``signal 9 (SIGKILL)``, ``exit code 3``). `actors.runtimeconfig` builds the config
from the options.
"""

from __future__ import annotations

import signal
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from actors.policy import RestartPolicy

#: Seconds between SIGTERM and SIGKILL when we kill a run (timeout, cancel).
KILL_GRACE_S = 2.0
@dataclass(frozen=True, slots=True)
class WorkerConfig:
    """What every worker process of the pool is started with."""

    memory_mb: int = 0
    max_runs_per_process: int = 0
    restart: RestartPolicy = field(default_factory=RestartPolicy)
    kill_grace_s: float = KILL_GRACE_S
    verbose: bool = False
    max_children: int = 100
    #: Module prefixes whose task classes may be named by dotted path (``task_packages``).
    task_packages: tuple[str, ...] = ()
    #: The option values each worker process builds its services from (`actors.services`).
    service_options: Mapping[str, Any] = field(default_factory=dict)
    #: Largest stored result of one run, bytes of JSON (0 = no cap; ``result_max_bytes``).
    result_max_bytes: int = 1024 * 1024
    #: Log lines and characters one run may store (0 = no cap; ``log_max_lines``, ``log_max_bytes``).
    log_max_lines: int = 50_000
    log_max_bytes: int = 4 * 1024 * 1024
    #: Let processes a task leaves behind live on after a successful run (``keep_task_processes``).
    keep_task_processes: bool = False

    def child_config(self) -> dict[str, Any]:
        """What the worker subprocess is told (at start, and again when a live option changes)."""
        return {"memory_mb": self.memory_mb, "verbose": self.verbose, "max_children": self.max_children,
                "task_packages": list(self.task_packages), "service_options": dict(self.service_options),
                "result_max_bytes": self.result_max_bytes, "log_max_lines": self.log_max_lines,
                "log_max_bytes": self.log_max_bytes, "keep_task_processes": self.keep_task_processes}


def signal_name(exitcode: int | None) -> str:
    """Describe an exit code the way an operator wants to read it."""
    if exitcode is None:
        return "an unknown exit status"
    if exitcode < 0:
        try:
            return f"signal {-exitcode} ({signal.Signals(-exitcode).name})"
        except ValueError:
            return f"signal {-exitcode}"
    return f"exit code {exitcode}"


__all__ = ["KILL_GRACE_S", "WorkerConfig", "signal_name"]
