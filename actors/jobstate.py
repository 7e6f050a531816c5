"""The schedule state of a job and what the timetable decides: mutable `Job`, `Decision`, `Limits`.

Split from `actors.timetable` so that the rules module holds only rules: these are the
records the rules read and write (and that the store keeps, via `Job.to_record`).
Pure: no threads, no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from actors.jobs import JobSpec, JobState, Run, Trigger
from actors.misfire import MisfirePolicy, SlotSpan
from actors.policy import RetryPolicy
from actors.schedule import IntervalSchedule

#: An empty queue of slots, shared: a million jobs do not each keep two empty lists (~128 B a job,
#: and two objects the cyclic collector walks). A queue with slots is a list; both are replaced,
#: never changed in place.
NO_SLOTS: tuple[float, ...] = ()


@dataclass(slots=True)
class Job:
    """A job definition plus its schedule state (mutable; owned by one `Timetable`)."""

    spec: JobSpec
    state: JobState
    created_at: float
    due_at: float | None = None
    next_trigger: Trigger = Trigger.SCHEDULE
    run_count: int = 0  # scheduled slots started: the index of the latest run
    runs_before: int = 0  # run_count when a parent last extended this child: run limits count from here
    attempt: int = 0  # attempt number of the next run of the current slot
    retries_used: int = 0
    slot: float | None = None  # the slot of the current (or next) scheduled run: its ledger identity
    anchor: float | None = None  # an interval job's grid runs through this slot (state, not definition)
    planned_to: float | None = None  # the newest slot a misfire plan accounted for (run or missed)
    catchup: Sequence[float] = NO_SLOTS  # elapsed slots still to run, oldest first
    deferred: tuple[tuple[float, ...], tuple[SlotSpan, ...]] = ((), ())  # missed after the catch-up runs
    backfill: Sequence[float] = NO_SLOTS  # past slots an operator asked to run, oldest first
    last_started_at: float | None = None
    last_finished_at: float | None = None
    last_outcome: str | None = None
    last_error: str | None = None
    runs_total: int = 0
    failures_total: int = 0
    note: str = ""
    running: Run | None = None
    paused: bool = False
    manual: bool = False  # an operator asked for a run now; the schedule stays as it is
    state_before_manual: JobState | None = None
    manual_params: dict[str, Any] | None = None  # arguments of the pending manual run only (a trigger)
    version: int = 0
    schedule_cache: IntervalSchedule | None = None  # the grid through the anchor (`actors.timerules`)

    @property
    def job_id(self) -> str:
        """The id derived from the definition."""
        return self.spec.job_id

    def to_record(self) -> dict[str, Any]:
        """A JSON-safe record of definition and state (what the store keeps)."""
        return {
            **self.spec.to_dict(),
            "state": str(self.state), "created_at": self.created_at, "due_at": self.due_at,
            "next_trigger": str(self.next_trigger), "run_count": self.run_count, "runs_before": self.runs_before,
            "attempt": self.attempt, "retries_used": self.retries_used,
            "slot": self.slot, "anchor": self.anchor, "planned_to": self.planned_to,
            "catchup": list(self.catchup), "backfill": list(self.backfill), "last_started_at": self.last_started_at,
            "last_finished_at": self.last_finished_at, "last_outcome": self.last_outcome,
            "last_error": self.last_error, "runs_total": self.runs_total,
            "failures_total": self.failures_total, "note": self.note, "paused": self.paused,
            "manual": {"params": self.manual_params} if self.manual else None,  # a run now waiting (a trigger)
            "running": None if self.running is None else {
                "index": self.running.index, "attempt": self.running.attempt,
                "due_at": self.running.due_at, "trigger": str(self.running.trigger), "slot": self.running.slot,
            },
        }


@dataclass(frozen=True, slots=True)
class Decision:
    """What `Timetable.finish` decided, for the log and the caller."""

    job_id: str
    state: JobState
    due_at: float | None
    note: str
    children: tuple[JobSpec, ...] = ()
    child_errors: tuple[str, ...] = ()
    coalesced: int = 0  # slots recorded missed by this decision (listed plus counted)
    missed: tuple[float, ...] = ()  # the missed slots to record, one document each
    spans: tuple[SlotSpan, ...] = ()  # more missed slots, counted (one document per span)


@dataclass(slots=True)
class Limits:
    """The live-tunable numbers the rules use (the Scheduler updates them in place)."""

    minimum_interval_s: float = 60.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    start_offset: bool = True
    default_timeout_s: float | None = None
    max_children_per_run: int = 100
    misfire: MisfirePolicy = field(default_factory=MisfirePolicy)  # for jobs that set none of their own
    #: Runs are handed to a free worker up to this long before they are due (the Scheduler's
    #: horizon; the worker process waits for the due time). 0: handed over when due.
    stage_ahead_s: float = 0.0

    def horizon(self, now: float) -> float:
        """Jobs due up to this time are handed over now."""
        return now + self.stage_ahead_s

    def handover_at(self, due_at: float) -> float:
        """When to hand over the next run, due at *due_at*: halfway into its staging window, so
        that one wake-up hands over every run due in the half window after it (a spread load is
        handed over in batches, not run by run), each still ahead of its due time."""
        return due_at - self.stage_ahead_s / 2
