"""Runs an operator adds beside the schedule: backfill slots (and the end of any extra run).

Why a module of its own: a backfill runs past slots one at a time through the waiting
line, as its own runs (trigger ``backfill``, ``due_at`` = the slot), while the job's
schedule stays as it was; like a manual run it is an *extra* run, and how an extra run
begins and ends is a concept apart from the schedule's rules in `actors.timetable`, which
mixes these methods into `Timetable`. Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from actors.jobs import JobState, Outcome, Run, RunReport, Trigger
from actors.jobstate import Job
from actors.slots import slot_key

#: Outcomes that count as a failure of the job.
_FAILURES = frozenset({Outcome.FAILED, Outcome.CRASHED, Outcome.TIMEOUT})


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


class ExtraRuns:
    """Mixed into `actors.timetable.Timetable`: backfill slots, and the end of a manual or backfill run."""

    def _start_backfill(self: _Core, job: Job, now: float) -> Run | None:
        """The oldest slot an operator asked to backfill, as a run of its own (the schedule untouched)."""
        slot = job.backfill.pop(0)
        reason = self._limit_reached(job, slot, new_slot=True)
        if reason:
            job.note = f"backfill stopped: {reason} ({len(job.backfill) + 1} slot(s) not run)"
            job.backfill.clear()
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
        if report.outcome in _FAILURES:
            job.failures_total += 1
        if report.outcome is Outcome.SUCCESS and not report.resubmit:
            job.backfill.clear()
            note = self._finish_job(job, "the task asked not to be resubmitted (resubmit: False)")
        elif job.backfill and not job.paused:
            job.state = JobState.WAITING  # the next backfill slot: back on the waiting line
            note = f"{run.trigger} run {report.outcome}; {len(job.backfill)} backfill slot(s) to go"
        else:
            self._after_manual(job)
            note = f"{run.trigger} run {report.outcome}; schedule unchanged"
        if report.outcome in _FAILURES:  # a run outside the schedule: its caller decides (docs/scheduling.md)
            note = f"{note}; not retried (a run outside the schedule: run it again if needed)"
        job.note = note
        return note
