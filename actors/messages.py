"""The immutable messages actors exchange.

Events are in the past tense (``RunFinished``, ``WorkerReady``), commands in the
imperative (``RunJob``, ``CancelRun``), questions start with ``Get`` or ``List``. Every
message is a frozen, slotted dataclass: pykka futures do not copy values, so nothing
mutable crosses between threads. Actors handle messages by type (a table from message
class to handler), never by string verbs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from actors.jobs import JobSpec, Run, RunReport
from actors.jobstate import Limits
from actors.ledger import Finished, LedgerHead


# ----------------------------------------------------------------------- any actor <- *
@dataclass(frozen=True, slots=True)
class GetStatus:
    """Ask an actor for its JSON-safe status (scheduler, worker, journal, supervisor)."""


@dataclass(frozen=True, slots=True)
class Drain:
    """Shutdown, step 1: start nothing new; the answer says what is still running."""


@dataclass(frozen=True, slots=True)
class Housekeep:
    """A periodic timer of the actor itself fired (saves, liveness checks)."""


# ----------------------------------------------------------------------- scheduler <- facade, system
@dataclass(frozen=True, slots=True)
class AddJob:
    """Add one job (kept as it is when an active job of the same id exists); answers its view."""

    spec: JobSpec
    first_due_at: float | None = None


@dataclass(frozen=True, slots=True)
class AddJobs:
    """Add many jobs in one message (config loads, benchmarks); answers how many."""

    specs: Sequence[JobSpec]
    first_due_at: float | None = None
    #: The run ledger's heads of these job ids (a restart: a lost job record cannot run a slot twice).
    heads: Mapping[str, LedgerHead] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RestoreJobs:
    """Stored job records to rebuild after a restart (a chunk at a time), with the run
    ledger's heads of those jobs (`actors.ledger.LedgerHead`)."""

    records: Sequence[Mapping[str, Any]]
    heads: Mapping[str, LedgerHead] = field(default_factory=dict)
    #: Slot ids of runs in flight on another live instance (several instances): left to it, not resumed.
    elsewhere: frozenset[str] = frozenset()
    #: The configured definitions of these job ids: a record whose definition is the same takes the
    #: configured spec as it is (shared, not built and validated again; `actors.recovery`).
    specs: Mapping[str, JobSpec] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ListJobs:
    """Every job's view."""


@dataclass(frozen=True, slots=True)
class GetJobsPage:
    """One page of job views, soonest due first: ``{"jobs", "total", "more"}``."""

    offset: int
    limit: int
    due_within_s: float | None = None
    state: str | None = None
    tag: str | None = None
    #: Ended children of a parent that is still in the timetable are counted on its row
    #: (``ended_children``), not listed (the Schedule page's fold).
    fold_children: bool = False


@dataclass(frozen=True, slots=True)
class GetJob:
    """One job's detail view with its ancestors and children; ``job_id`` may also be a name that
    only one job has (`NotFoundError`, or `ConflictError` when several share it)."""

    job_id: str


@dataclass(frozen=True, slots=True)
class PauseJob:
    """Stop dispatching a job until resumed."""

    job_id: str


@dataclass(frozen=True, slots=True)
class ResumeJob:
    """Dispatch a paused job again."""

    job_id: str


@dataclass(frozen=True, slots=True)
class RescheduleJob:
    """Move a job's next run to ``due_at``."""

    job_id: str
    due_at: float


@dataclass(frozen=True, slots=True)
class RemoveJob:
    """Forget a job (a running run finishes and is not rescheduled)."""

    job_id: str


@dataclass(frozen=True, slots=True)
class RunJobNow:
    """One manual run as soon as a worker is free, the schedule untouched."""

    job_id: str


@dataclass(frozen=True, slots=True)
class TriggerRun:
    """One manual run now with *params* merged over the job's arguments, the schedule untouched;
    answers ``{"run_id", "job"}`` (the run's id is known before it starts)."""

    job_id: str
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RunOneOff:
    """Run *run* once, before the waiting line, without a job in the timetable (a script's "Run
    now"); answers its ``run_id``."""

    run: Run


@dataclass(frozen=True, slots=True)
class GetRunState:
    """Where a run is: ``{"state": "waiting" | "running", ...}``, or None when neither."""

    run_id: str


@dataclass(frozen=True, slots=True)
class BackfillJob:
    """Run the job's slots in [start, end] that the run ledger shows neither run nor claimed,
    once each, oldest first; answers ``{"job", "slots", "queued", "skipped"}``."""

    job_id: str
    start: float
    end: float


@dataclass(frozen=True, slots=True)
class ListRunning:
    """The runs in progress: ``[{slot, run_id, ...}]``."""


@dataclass(frozen=True, slots=True)
class GetMetrics:
    """Run counters and histograms."""


@dataclass(frozen=True, slots=True)
class SaveNow:
    """Send every changed job record to the journal now (tests, shutdown); ``all_jobs``: every
    job record, changed or not (the store lost its file and was recreated)."""

    all_jobs: bool = False


@dataclass(frozen=True, slots=True)
class SetLimits:
    """A live option changed: new rules apply from the next decision on."""

    limits: Limits
    finished_retention_s: float


# ----------------------------------------------------------------------- scheduler <- clock, workers
@dataclass(frozen=True, slots=True)
class Tick:
    """The clock says a due time has come."""


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
class OutcomesStored:
    """Journal -> Scheduler: the results of these runs are stored; their outcomes go to the run
    ledger from the Scheduler's thread, the ledger's one writer on the hot path (`actors.slotkeeper`)."""

    finished: Sequence[Finished]


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
class Configure:
    """A live option changed: these `actors.worker.WorkerConfig` fields take new values (the
    worker passes them on to its subprocess; new runs use them)."""

    changes: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class CancelRun:
    """Kill the run with this id (recorded ``cancelled``)."""

    run_id: str


@dataclass(frozen=True, slots=True)
class Interrupt:
    """Shutdown, step 2: the grace is over; kill what still runs (recorded ``interrupted``)."""


@dataclass(frozen=True, slots=True)
class ChildReady:
    """Reader thread: the subprocess of generation *gen* is up."""

    gen: int
    pid: int


@dataclass(frozen=True, slots=True)
class ChildLogs:
    """Reader thread: log records, each ``(run_id, time, level, logger, message)``."""

    gen: int
    records: Sequence[tuple[str, float, int, str, str]]


@dataclass(frozen=True, slots=True)
class ChildResults:
    """Reader thread: the subprocess finished these runs, in batch order: ``(run_id, payload)``."""

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
    run_id: str = ""


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
    """Write everything buffered now (``timer``: the Journal's own timer, which gives way to a burst
    of due runs: `actors.journal`)."""

    timer: bool = False


@dataclass(frozen=True, slots=True)
class PruneLedger:
    """Delete run-ledger entries of slots older than ``before`` (each job's newest are kept)."""

    before: float


# ----------------------------------------------------------------------- supervisor <- *
@dataclass(frozen=True, slots=True)
class Stopping:
    """The System is shutting down: restart nothing from now on."""


@dataclass(frozen=True, slots=True)
class RestartChild:
    """A restart timer fired: build the actor of ``role`` in ``slot`` again."""

    role: str
    slot: int


@dataclass(frozen=True, slots=True)
class ChildFailed:
    """A supervised actor died of an unhandled exception (from its ``on_failure``)."""

    role: str
    slot: int
    error: str
    run: Run | None = None
