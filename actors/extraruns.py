"""Runs an operator adds beside the schedule: run now (and triggers), backfill slots, and the end
of any extra run.

Why a module of its own: a backfill runs past slots one at a time through the waiting
line, as its own runs (trigger ``backfill``, ``due_at`` = the slot), while the job's
schedule stays as it was; like a manual run it is an *extra* run, and how an extra run
begins and ends is a concept apart from the schedule's rules in `actors.timetable`, which
mixes these methods into `Timetable`. Pure: no I/O, no clock.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from actors.errors import InvalidJobError
from actors.jobkinds import FAILURES
from actors.jobs import JobState, Outcome, Run, RunReport, Trigger
from actors.jobstate import NO_SLOTS, Job
from actors.slots import slot_key


class _Core(Protocol):
    """What these rules use of `actors.timetable.Timetable` (its state and its own rules)."""

    def _make_run(self, job: Job, *, index: int, attempt: int, due_at: float, trigger: Trigger,
                  slot: float | None) -> Run: ...

    def _mark_started(self, job: Job, run: Run, now: float) -> None: ...

    def _limit_reached(self, job: Job, when: float, *, new_slot: bool) -> str: ...

    def _finish_job(self, job: Job, reason: str) -> str: ...

    def _after_manual(self, job: Job) -> None: ...

    def _queue_extra(self, job: Job) -> None: ...

    def _require(self, job_id: str) -> Job: ...

    def _schedule(self, job: Job, due: float, trigger: Trigger) -> None: ...


class ExtraRuns:
    """Mixed into `actors.timetable.Timetable`: manual runs (run now, triggers), backfill slots, and
    the end of either."""

    def _start_manual(self: _Core, job: Job, now: float) -> Run | None:
        job.manual = False
        params, job.manual_params = job.manual_params, None
        reason = self._limit_reached(job, now, new_slot=True)
        if reason:
            job.note = f"run now refused: {reason}"
            self._after_manual(job)
            return None
        job.run_count += 1
        run = self._make_run(job, index=job.run_count, attempt=0, due_at=now, trigger=Trigger.MANUAL, slot=None)
        if params:  # a triggered run: its parameters over the job's arguments, for this run only
            run = dataclasses.replace(run, kwargs={**run.kwargs, **params}, params=params)
        self._mark_started(job, run, now)
        return run

    def run_now(self: _Core, job_id: str, params: Mapping[str, Any] | None = None) -> Job:
        """Queue one manual run at once without touching the schedule (due time, anchor, retries).

        The caller puts the job at the head of the waiting line. Allowed for scheduled,
        waiting, paused, abandoned and finished jobs; a running job is refused. *params*
        (already validated) are merged over the job's arguments for that run only; a job
        whose manual run with other arguments is still waiting refuses another.
        """
        job = self._require(job_id)
        if job.running is not None or job.state is JobState.RUNNING:
            raise InvalidJobError(f"job {job.spec.name!r} ({job_id}) is running; it cannot run twice at once",
                                  field="job_id")
        if job.manual and (params or job.manual_params) and dict(params or {}) != (job.manual_params or {}):
            raise InvalidJobError(f"job {job.spec.name!r} ({job_id}) has a run now waiting already; it cannot run "
                                  "twice at once", field="job_id")
        if params:
            job.manual_params = dict(params)
        if not job.manual:
            job.manual = True
            job.state_before_manual = job.state
            job.state = JobState.WAITING
            job.version += 1  # its heap entry is re-pushed after the manual run
        return job

    def _after_manual(self: _Core, job: Job) -> None:
        """Put a job back where it was before its manual run."""
        before = job.state_before_manual or JobState.SCHEDULED
        job.state_before_manual = None
        if job.paused or before is JobState.PAUSED:
            job.state = JobState.PAUSED
            job.version += 1
        elif before in (JobState.SCHEDULED, JobState.WAITING) and job.due_at is not None:
            self._schedule(job, job.due_at, job.next_trigger)
        else:
            job.state = before
            job.version += 1

    def _start_backfill(self: _Core, job: Job, now: float) -> Run | None:
        """The oldest slot an operator asked to backfill, as a run of its own (the schedule untouched)."""
        slot, job.backfill = job.backfill[0], job.backfill[1:]
        reason = self._limit_reached(job, slot, new_slot=True)
        if reason:
            job.note = f"backfill stopped: {reason} ({len(job.backfill) + 1} slot(s) not run)"
            job.backfill = NO_SLOTS
            self._after_manual(job)
            return None
        job.run_count += 1
        run = self._make_run(job, index=job.run_count, attempt=0, due_at=slot, trigger=Trigger.BACKFILL, slot=slot)
        self._mark_started(job, run, now)
        return run

    def backfill(self: _Core, job_id: str, slots: Sequence[float]) -> Job:
        """Queue past *slots* (already checked against the ledger by the caller) to run one at a time,
        oldest first, through the waiting line; the job's schedule is untouched. The caller puts a
        job left ``waiting`` on the waiting line."""
        job = self._require(job_id)
        known = {slot_key(s) for s in job.backfill}
        job.backfill = sorted([*job.backfill, *(s for s in slots if slot_key(s) not in known)])
        if job.backfill and job.running is None and not job.manual and job.state_before_manual is None:
            self._queue_extra(job)
        return job

    def _queue_extra(self: _Core, job: Job) -> None:
        """Put the job on the waiting line for an operator's extra run (manual or backfill)."""
        job.state_before_manual = job.state
        job.state = JobState.WAITING
        job.version += 1  # its heap entry is re-pushed after the extra run

    def _finish_extra(self: _Core, job: Job, run: Run, report: RunReport) -> str:
        """An operator's extra run (manual or backfill) ended: the schedule stays as it was."""
        job.last_error = None if report.outcome is Outcome.SUCCESS else report.error
        if report.outcome in FAILURES:
            job.failures_total += 1
        if report.outcome is Outcome.SUCCESS and not report.resubmit:
            job.backfill = NO_SLOTS
            note = self._finish_job(job, "the task asked not to be resubmitted (resubmit: False)")
        elif job.backfill and not job.paused:
            job.state = JobState.WAITING  # the next backfill slot: back on the waiting line
            note = f"{run.trigger} run {report.outcome}; {len(job.backfill)} backfill slot(s) to go"
        else:
            self._after_manual(job)
            note = f"{run.trigger} run {report.outcome}; schedule unchanged"
        if report.outcome in FAILURES:  # a run outside the schedule: its caller decides (docs/scheduling.md)
            note = f"{note}; not retried (a run outside the schedule: run it again if needed)"
        job.note = note
        return note
