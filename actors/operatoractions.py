"""What an operator does to a job: pause, resume, reschedule, set aside, remove, prune.

Why a module of its own: these are the operator's verbs on the timetable (each checks the
job's state and says what it did in the job's note), apart from the schedule's own rules in
`actors.timetable`, which mixes them into `Timetable`. Pure: no I/O, no clock (``now`` is an
argument).
"""

from __future__ import annotations

from typing import Protocol

from actors.errors import InvalidJobError
from actors.jobs import ACTIVE_STATES, NEW_SLOT_TRIGGERS, JobState, Trigger
from actors.jobstate import Job, Limits
from actors.timerules import Step, next_step, overdue_last


class _Core(Protocol):
    """What these verbs use of `actors.timetable.Timetable` (its state and its own rules)."""

    _jobs: dict[str, Job]
    limits: Limits

    def _require(self, job_id: str) -> Job: ...

    def _schedule(self, job: Job, due: float, trigger: Trigger) -> None: ...

    def _floor(self, job: Job, when: float) -> float: ...

    def _set_adhoc_slot(self, job: Job, due: float) -> None: ...

    def _apply_step(self, job: Job, step: Step, now: float, *, keep: float | None = None) -> str: ...


class OperatorActions:
    """Mixed into `actors.timetable.Timetable`: the operator's verbs."""

    def pause(self: _Core, job_id: str) -> Job:
        """Stop dispatching a job; a running run finishes first, then the job stays paused."""
        job = self._require(job_id)
        if job.state in ACTIVE_STATES:
            job.paused = True
            job.note = "paused by an operator"
            if job.running is None:
                job.state = JobState.PAUSED
                job.version += 1
        return job

    def resume(self: _Core, job_id: str, now: float) -> Job:
        """Dispatch a paused job again: at its due time, or now if that has passed."""
        job = self._require(job_id)
        job.paused = False
        if job.state is JobState.PAUSED:
            if job.due_at is not None and job.due_at <= now and job.next_trigger in NEW_SLOT_TRIGGERS \
                    and job.slot is not None:  # slots fell due while paused: the misfire policy decides
                self._apply_step(job, next_step(job, self.limits, now, last=overdue_last(job, job.planned_to)), now,
                                 keep=job.slot)
            else:
                due = job.due_at if job.due_at is not None and job.due_at > now else now
                self._schedule(job, due, job.next_trigger)
            job.note = "resumed by an operator"
        return job

    def reschedule(self: _Core, job_id: str, when: float, now: float) -> float:
        """Move the next run to *when*, floored by ``minimum_interval``; returns the due time."""
        job = self._require(job_id)
        if job.state not in (JobState.SCHEDULED, JobState.WAITING, JobState.PAUSED, JobState.ABANDONED,
                             JobState.FINISHED, JobState.QUARANTINED):
            raise InvalidJobError(f"job {job.spec.name!r} ({job_id}) is {job.state}; reschedule it after its run",
                                  field="job_id")
        due = self._floor(job, when)
        if job.state in (JobState.ABANDONED, JobState.FINISHED, JobState.QUARANTINED):
            job.retries_used = 0
        trigger = job.next_trigger if job.state in (JobState.SCHEDULED, JobState.WAITING) else Trigger.SCHEDULE
        if trigger in NEW_SLOT_TRIGGERS or job.state is JobState.PAUSED:
            self._set_adhoc_slot(job, due)
        if job.state is JobState.PAUSED:
            job.due_at = due
        else:
            self._schedule(job, due, trigger)
        job.note = "rescheduled by an operator"
        return due

    def set_aside(self: _Core, job_id: str, error: str) -> Job | None:
        """Take a job whose rule or outcome raised out of the schedule, keeping it and the error
        (state ``quarantined``): one poison job must not stop the others. The operator may look
        at it, reschedule it, run it now or remove it. None when there is no such job."""
        job = self._jobs.get(job_id)
        if job is None:
            return None
        job.state = JobState.QUARANTINED
        job.due_at = None
        job.running = None
        job.manual = False
        job.state_before_manual = None
        job.last_error = error
        job.note = f"set aside: {error}"
        job.version += 1
        return job

    def remove(self: _Core, job_id: str) -> Job:
        """Forget a job. A running job's run finishes and is not rescheduled."""
        job = self._require(job_id)
        del self._jobs[job_id]
        job.version += 1
        return job

    def prune(self: _Core, now: float, retention_s: float) -> list[str]:
        """Drop finished jobs older than *retention_s*; abandoned jobs are kept."""
        old = [j.job_id for j in self._jobs.values() if j.state is JobState.FINISHED
               and (j.last_finished_at or j.created_at) + retention_s < now]
        for job_id in old:
            del self._jobs[job_id]
        return old


__all__ = ["OperatorActions"]
