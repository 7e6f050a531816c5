"""A run as the scheduler sends it to a worker (`Run`), and what comes back of it (`RunReport`).

Why a module of its own: these two travel between processes (a worker subprocess, a Dask
worker) and are built by every kind of run (scheduled, retried, triggered, one-off, catch-up,
backfill); they need the kinds (`actors.jobkinds`) and nothing of a job's definition. A
run's one id is ``run_id`` = ``job_id:index:attempt``. Imported by the worker subprocess too:
keep it free of runtime imports.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from actors.jobkinds import Outcome, Trigger


@dataclass(frozen=True, slots=True)
class Run:
    """One execution of a job, as sent to a worker (small and picklable on purpose)."""

    job_id: str
    name: str
    classname: str
    kwargs: Mapping[str, Any]
    index: int
    attempt: int
    due_at: float
    interval_s: float
    parent: tuple[str, ...]
    timeout_s: float | None
    trigger: Trigger = Trigger.SCHEDULE
    #: The slot this run is for (its identity in the run ledger); None for a manual run.
    slot: float | None = None
    tags: tuple[str, ...] = ()
    #: The job's placement (`JobSpec.resources`), for a compute cluster.
    resources: Mapping[str, float] = field(default_factory=dict)
    #: Arguments given to this run only (a triggered run), already merged into ``kwargs``.
    params: Mapping[str, Any] | None = None
    #: The term of the leader that started it (`actors.lease`); 0 for a single instance.
    term: int = 0

    @property
    def run_id(self) -> str:
        """``job_id:index:attempt``, unique per execution: the one id of a run everywhere (stored
        documents, logs, the API, the panel, metrics)."""
        return f"{self.job_id}:{self.index}:{self.attempt}"

    def describe(self) -> str:
        """Human identity for messages: ``run 3 (attempt 1) of job 'hotspot' (ab12...)``."""
        attempt = f" (attempt {self.attempt})" if self.attempt else ""
        return f"run {self.index}{attempt} of job {self.name!r} ({self.job_id})"

    def to_wire(self) -> dict[str, Any]:
        """A plain dict for the pipe to the worker subprocess."""
        return {
            "job_id": self.job_id, "name": self.name, "classname": self.classname,
            "kwargs": dict(self.kwargs), "index": self.index, "attempt": self.attempt,
            "due_at": self.due_at, "interval": self.interval_s, "parent": list(self.parent),
            "timeout": self.timeout_s, "trigger": str(self.trigger), "slot": self.slot, "tags": list(self.tags),
        }


@dataclass(frozen=True, slots=True)
class RunReport:
    """What the scheduler needs from a finished run to decide what comes next.

    ``next_at``, ``resubmit`` and ``children`` come from the task's returned dict;
    ``children`` are already-validated child definitions (dicts for `JobSpec.from_dict`).
    """

    outcome: Outcome
    started_at: float
    finished_at: float
    error: str | None = None
    next_at: float | None = None
    resubmit: bool = True
    children: tuple[Mapping[str, Any], ...] = ()


__all__ = ["Run", "RunReport"]
