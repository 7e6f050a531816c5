"""What a finished run makes of its job: reschedule, retry with backoff, abandon, finish, and
the child jobs it asked for.

Why a module of its own: `actors.timetable` holds the due-time heap and the rules every path
shares (the floor, the limits, scheduling a slot); how one outcome is applied is a concept
of its own, read whenever someone asks "why did my job do that after its run". Mixed into
`actors.timetable.Timetable`, like `actors.recovery` and `actors.extraruns`. Pure: no I/O,
no clock (``now`` is an argument).
"""

from __future__ import annotations

from typing import Any, Protocol

from actors.errors import InvalidJobError
from actors.jobs import JobSpec, JobState, Origin, Outcome, Run, RunReport, Trigger
from actors.jobstate import Decision, Job, Limits
from actors.misfire import SlotSpan
from actors.policy import Random
from actors.timerules import Step, next_step, retry_policy


class _Core(Protocol):
    """What these rules use of `actors.timetable.Timetable` (its state and its own rules)."""

    limits: Limits
    _rng: Random
    _jobs: dict[str, Job]
    _missed: list[Any]

    def _children(self, job: Job, report: RunReport, now: float) -> tuple[list[JobSpec], list[str]]: ...

    def _finish_extra(self, job: Job, run: Run, report: RunReport) -> str: ...

    def _finish_job(self, job: Job, reason: str) -> str: ...

    def _reschedule_after_success(self, job: Job, report: RunReport, now: float) -> tuple[int, str]: ...

    def _after_failure(self, job: Job, report: RunReport, now: float) -> str: ...

    def _schedule(self, job: Job, due: float, trigger: Trigger) -> None: ...

    def _schedule_checked(self, job: Job, due: float, trigger: Trigger, note: str) -> str: ...

    def _floor(self, job: Job, when: float) -> float: ...

    def _set_adhoc_slot(self, job: Job, due: float) -> None: ...

    def _limit_reached(self, job: Job, when: float, *, new_slot: bool) -> str: ...

    def _record_missed(self, job: Job, missed: tuple[float, ...], spans: tuple[SlotSpan, ...]) -> None: ...

    def _apply_step(self, job: Job, step: Step, now: float, *, keep: float | None = None) -> str: ...

    def _queue_extra(self, job: Job) -> None: ...

    def _missed_since(self, mark: int, job: Job) -> tuple[tuple[float, ...], tuple[SlotSpan, ...]]: ...


class RunOutcomes:
    """Mixed into `actors.timetable.Timetable`: `finish` and the rules it applies."""

    def finish(self: _Core, job_id: str, report: RunReport, now: float) -> Decision:
        """Apply a run's outcome: reschedule, retry, abandon or finish; build children.

        A job set aside while its run was in flight stays set aside (the outcome is noted only).
        """
        job = self._jobs[job_id]
        mark = len(self._missed)
        run = job.running
        job.running = None
        job.last_finished_at = now
        job.last_outcome = str(report.outcome)
        if job.state is JobState.QUARANTINED:
            return Decision(job_id, job.state, None, job.note)
        children, child_errors = self._children(job, report, now)
        if run is not None and run.trigger in (Trigger.MANUAL, Trigger.BACKFILL):
            note = self._finish_extra(job, run, report)
            return Decision(job_id, job.state, job.due_at, note, tuple(children), tuple(child_errors), 0)
        coalesced = 0
        if report.outcome is Outcome.SUCCESS:
            job.retries_used = 0
            job.last_error = None
            if not report.resubmit:
                note = self._finish_job(job, "the task asked not to be resubmitted (resubmit: False)")
            else:
                coalesced, note = self._reschedule_after_success(job, report, now)
        elif report.outcome is Outcome.INTERRUPTED:
            job.last_error = report.error
            job.attempt = (run.attempt if run else job.attempt) + 1
            if run is not None and run.slot is not None:
                job.slot = run.slot
            self._schedule(job, now, Trigger.RESUME)
            note = "interrupted; resumes at once"
        elif report.outcome is Outcome.CANCELLED:
            job.last_error = report.error
            coalesced, note = self._reschedule_after_success(job, report, now)
            note = f"cancelled by an operator; {note}"
        else:
            job.failures_total += 1
            job.last_error = report.error
            note = self._after_failure(job, report, now)
        if job.paused and job.state is JobState.SCHEDULED:
            job.state = JobState.PAUSED
            job.version += 1
            note = f"{note}; paused"
        if job.backfill and job.state is JobState.SCHEDULED and job.state_before_manual is None:
            self._queue_extra(job)  # backfill asked while this run was in flight
            note = f"{note}; {len(job.backfill)} backfill slot(s) waiting"
        job.note = note
        missed, spans = self._missed_since(mark, job)
        return Decision(job_id, job.state, job.due_at, note, tuple(children), tuple(child_errors), coalesced,
                        missed, spans)

    def _reschedule_after_success(self: _Core, job: Job, report: RunReport, now: float) -> tuple[int, str]:
        if report.next_at is not None:
            due = self._floor(job, report.next_at)
            self._set_adhoc_slot(job, due)
            return 0, self._schedule_checked(job, due, Trigger.SCHEDULE, "next run at the time the task asked")
        if job.catchup:  # more elapsed slots to run (misfire policy "all"), oldest first
            job.slot, job.catchup = job.catchup[0], job.catchup[1:]
            note = f"catching up: slot {job.slot:.3f}, {len(job.catchup)} more"
            return 0, self._schedule_checked(job, self._floor(job, now), Trigger.CATCHUP, note)
        limit = job.spec.run_limit
        if limit is not None and job.run_count >= limit:  # no slot would run: none is missed either
            return 0, self._finish_job(job, self._limit_reached(job, now, new_slot=True))
        deferred, job.deferred = job.deferred, ((), ())
        self._record_missed(job, *deferred)
        accounted = [s for s in (job.slot, job.planned_to) if s is not None]
        step = next_step(job, self.limits, now, last=max(accounted) if accounted else None)
        count = len(deferred[0]) + sum(span.count for span in deferred[1])
        return count + step.missed_count, self._apply_step(job, step, now)

    def _after_failure(self: _Core, job: Job, report: RunReport, now: float) -> str:
        if not report.resubmit:
            return self._finish_job(job, f"{report.outcome} and the task asked not to be resubmitted")
        budget = job.spec.max_retries if job.spec.max_retries is not None else self.limits.retry.max_retries
        if job.retries_used >= budget:
            job.state = JobState.ABANDONED
            job.due_at = None
            job.version += 1
            return f"abandoned after {job.retries_used} retr{'y' if job.retries_used == 1 else 'ies'}: {report.error}"
        job.retries_used += 1
        job.attempt += 1
        delay = retry_policy(self.limits).next_delay(job.retries_used, self._rng)  # grows from the floor
        due = now + max(delay, self.limits.minimum_interval_s)
        note = f"{report.outcome}; retry {job.retries_used}/{budget} in {due - now:.1f}s"
        return self._schedule_checked(job, due, Trigger.RETRY, note)

    def _children(self: _Core, job: Job, report: RunReport, now: float) -> tuple[list[JobSpec], list[str]]:
        specs: list[JobSpec] = []
        errors: list[str] = []
        cap = self.limits.max_children_per_run
        for position, entry in enumerate(report.children):
            if position >= cap:
                errors.append(f"new_tasks[{position}:]: {len(report.children) - cap} child job(s) over the "
                              f"cap of {cap} per run (max_children_per_run) were not created")
                break
            try:
                fields = {**entry, "parent": [*job.spec.parent, job.job_id], "origin": str(Origin.CHILD)}
                specs.append(JobSpec.from_dict(fields))
            except (InvalidJobError, TypeError, ValueError) as exc:
                errors.append(f"new_tasks[{position}]: {exc}")
        return specs, errors


__all__ = ["RunOutcomes"]
