"""The immutable messages actors exchange.

Events are in the past tense (``RunFinished``, ``WorkerReady``), commands in the
imperative (``RunJob``, ``CancelRun``). Every message is a frozen, slotted dataclass:
pykka futures do not copy values, so nothing mutable crosses between threads.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from actors.jobs import Run, RunReport


# ----------------------------------------------------------------------- scheduler <- *
@dataclass(frozen=True, slots=True)
class Tick:
    """The clock says a due time has come (or a periodic housekeeping moment)."""


@dataclass(frozen=True, slots=True)
class WorkerReady:
    """Worker *slot* has a live process and no run: it can take one."""

    slot: int
    pid: int


@dataclass(frozen=True, slots=True)
class WorkerDown:
    """Worker *slot* lost its process; ``degraded`` when its restart budget is spent."""

    slot: int
    reason: str
    degraded: bool = False


@dataclass(frozen=True, slots=True)
class RunFinished:
    """A run ended, one way or another. ``worker_free`` says whether the slot can take the next."""

    slot: int
    run: Run
    report: RunReport
    worker_free: bool


@dataclass(frozen=True, slots=True)
class RunsFinished:
    """Several runs of one batch ended; ``worker_free`` once the batch is done."""

    slot: int
    finished: Sequence[tuple[Run, RunReport]]
    worker_free: bool


@dataclass(frozen=True, slots=True)
class RunRefused:
    """The worker could not take (or never started) these runs: requeue them, no penalty."""

    slot: int
    runs: Sequence[Run]
    reason: str
    worker_free: bool = False


# ----------------------------------------------------------------------- worker <- *
@dataclass(frozen=True, slots=True)
class RunJob:
    """Run these on your process now, in order (a batch of one when the load is light)."""

    runs: Sequence[Run]


@dataclass(frozen=True, slots=True)
class CancelRun:
    """Kill the run with this key (recorded ``cancelled``)."""

    run_key: str


@dataclass(frozen=True, slots=True)
class ChildReady:
    """Reader thread: the subprocess of generation *gen* is up."""

    gen: int
    pid: int


@dataclass(frozen=True, slots=True)
class ChildLogs:
    """Reader thread: log records, each ``(run_key, time, level, logger, message)``."""

    gen: int
    records: Sequence[tuple[str, float, int, str, str]]


@dataclass(frozen=True, slots=True)
class ChildResults:
    """Reader thread: the subprocess finished these runs, in batch order: ``(run_key, payload)``."""

    gen: int
    results: Sequence[tuple[str, Mapping[str, Any]]]


@dataclass(frozen=True, slots=True)
class ChildExited:
    """Reader thread: the subprocess of generation *gen* is gone (EOF and reaped)."""

    gen: int
    exitcode: int | None


@dataclass(frozen=True, slots=True)
class Deadline:
    """A timer of generation *gen* fired: ``what`` is ``timeout``, ``kill`` or ``restart``."""

    gen: int
    what: str
    run_key: str = ""


# ----------------------------------------------------------------------- journal <- *
@dataclass(frozen=True, slots=True)
class Records:
    """Documents to append to the capped collection (results, task logs, system logs)."""

    docs: Sequence[Mapping[str, Any]]


@dataclass(frozen=True, slots=True)
class SaveJobs:
    """Job records to upsert (latest wins) and job ids to delete."""

    records: Sequence[Mapping[str, Any]] = ()
    deleted: Sequence[str] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class Flush:
    """Write everything buffered now."""


# ----------------------------------------------------------------------- supervisor <- *
@dataclass(frozen=True, slots=True)
class ChildFailed:
    """A supervised actor died of an unhandled exception (from its ``on_failure``)."""

    role: str
    slot: int
    error: str
    run: Run | None = None
