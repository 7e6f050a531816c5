"""Pure schedule arithmetic: the due-time heap and every rescheduling rule.

This is where the DAS scheduler's rules live, with its bugs fixed:

* the next run after a success is the previous *due* time plus the interval (no drift);
  slots already past are skipped (coalesced) and counted, never replayed in a burst;
* a task's ``next`` is honoured exactly (DAS ran it early by the job's duration);
* ``minimum_interval`` floors every path that schedules a job (reschedule, ``next``,
  retries, children, manual reschedule); only a config job's first run is exempt;
* exactly ``max_retries`` retries, then the job is *abandoned* (kept, with its error);
* ``max_runs`` / ``only_before`` / ``only_once`` are checked before every run;
* a job never runs twice at once.

No threads, no I/O, no clock: ``now`` is always an argument. The Scheduler actor owns
one `Timetable` and is its only caller.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Iterator, Mapping
from typing import Any

from actors.bounds import MAX_EPOCH, in_range, short_repr, stored_count, stored_epoch
from actors.errors import InvalidJobError
from actors.jobs import ACTIVE_STATES, JobSpec, JobState, Origin, Outcome, Run, RunReport, Trigger
from actors.jobstate import Decision, Job, Limits
from actors.policy import Random

FAILURES = frozenset({Outcome.FAILED, Outcome.CRASHED, Outcome.TIMEOUT})

__all__ = ["FAILURES", "Decision", "Job", "Limits", "Timetable"]


class Timetable:
    """Every job and its due time; `due` pops what is ready, `finish` applies outcomes."""

    def __init__(self, limits: Limits, rng: Random) -> None:
        self.limits = limits
        self._rng = rng
        self._jobs: dict[str, Job] = {}
        self._heap: list[tuple[float, int, str, int]] = []
        self._seq = itertools.count()

    # ---------------------------------------------------------------- queries
    def __len__(self) -> int:
        return len(self._jobs)

    def __contains__(self, job_id: object) -> bool:
        return job_id in self._jobs

    def get(self, job_id: str) -> Job | None:
        """The job with this id, or None."""
        return self._jobs.get(job_id)

    def jobs(self) -> Iterator[Job]:
        """Every job, in no particular order."""
        return iter(self._jobs.values())

    def next_wake(self) -> float | None:
        """The earliest due time of a scheduled job, or None when nothing is scheduled."""
        heap = self._heap
        while heap:
            due_at, _, job_id, version = heap[0]
            job = self._jobs.get(job_id)
            if job is not None and job.version == version and job.state is JobState.SCHEDULED:
                return due_at
            heapq.heappop(heap)
        return None

    def due(self, now: float) -> list[Job]:
        """Pop every scheduled job due at or before *now*, earliest first."""
        ready: list[Job] = []
        heap = self._heap
        while heap and heap[0][0] <= now:
            _, _, job_id, version = heapq.heappop(heap)
            job = self._jobs.get(job_id)
            if job is not None and job.version == version and job.state is JobState.SCHEDULED:
                ready.append(job)
        return ready

    # ---------------------------------------------------------------- adding
    def add(self, spec: JobSpec, now: float, *, first_due_at: float | None = None) -> Job:
        """Add a job; an active job with the same id is kept as it is (no duplicates).

        First run: config jobs at ``now + random() * interval`` (``now`` without start
        offset), children one interval from now floored by ``minimum_interval``, API jobs
        at *first_due_at* (default now).
        """
        existing = self._jobs.get(spec.job_id)
        if existing is not None and existing.state in ACTIVE_STATES:
            return existing
        job = Job(spec=spec, state=JobState.SCHEDULED, created_at=now)
        if first_due_at is not None:
            due = first_due_at
        elif spec.origin is Origin.CONFIG:
            due = now + (self._rng() * spec.interval_s if self.limits.start_offset else 0.0)
        elif spec.origin is Origin.CHILD:
            due = max(now + spec.interval_s, now + self.limits.minimum_interval_s)
        else:
            due = now
        self._schedule(job, due, Trigger.SCHEDULE)  # raises for a due time out of range: nothing added
        self._jobs[spec.job_id] = job
        return job

    def restore(self, record: Mapping[str, Any], now: float) -> Job:
        """Rebuild a job from `Job.to_record` output after a restart.

        A run that was in flight when the server went away is due now as a resume of the
        same slot (its interrupted result is the caller's to record).
        """
        fields = {k: record[k] for k in (
            "name", "classname", "interval", "kwargs", "only_once", "max_runs", "only_before",
            "timeout", "retries", "parent", "origin") if k in record}
        spec = JobSpec.from_dict(fields)
        job = Job(spec=spec, state=JobState(record.get("state", "scheduled")),
                  created_at=stored_epoch(record, "created_at") or now)
        for name in ("run_count", "attempt", "retries_used", "runs_total", "failures_total"):
            setattr(job, name, stored_count(record, name))
        for name in ("slot_due_at", "last_started_at", "last_finished_at"):
            setattr(job, name, stored_epoch(record, name))
        job.last_outcome, job.last_error = record.get("last_outcome"), record.get("last_error")
        job.note = str(record.get("note") or "")
        job.paused = bool(record.get("paused", False))
        job.next_trigger = Trigger(record.get("next_trigger") or "schedule")
        self._jobs[spec.job_id] = job
        if record.get("running"):
            running = record["running"]
            job.attempt = stored_count(running, "attempt") + 1
            job.run_count = stored_count(running, "index") if "index" in running else job.run_count
            job.slot_due_at = stored_epoch(running, "due_at") if "due_at" in running else job.slot_due_at
            job.state = JobState.SCHEDULED
            job.note = "interrupted by a server stop; resumed"
            self._schedule(job, now, Trigger.RESUME)
            if job.paused:
                job.state = JobState.PAUSED
                job.version += 1
        elif job.state in (JobState.SCHEDULED, JobState.WAITING, JobState.RUNNING):
            job.state = JobState.SCHEDULED
            self._schedule(job, stored_epoch(record, "due_at") or now, job.next_trigger)
        else:
            job.due_at = stored_epoch(record, "due_at")
        return job

    # ---------------------------------------------------------------- running
    def start(self, job_id: str, now: float) -> Run | None:
        """Turn a due job into a `Run`, or finish it if a limit forbids the run.

        Returns None (and leaves the job FINISHED) when ``max_runs`` / ``only_once`` or
        ``only_before`` rule the run out; None without change if it is already running.
        """
        job = self._jobs[job_id]
        if job.running is not None or job.state not in (JobState.SCHEDULED, JobState.WAITING):
            return None
        if job.manual:
            return self._start_manual(job, now)
        spec = job.spec
        new_slot = job.next_trigger is Trigger.SCHEDULE
        reason = self._limit_reached(job, now, new_slot=new_slot)
        if reason:
            self._finish_job(job, reason)
            return None
        if new_slot:
            job.run_count += 1
            job.attempt = 0
            job.slot_due_at = job.due_at
        due_at = job.due_at if job.due_at is not None else now
        timeout = spec.timeout_s if spec.timeout_s is not None else self.limits.default_timeout_s
        run = Run(job_id=job_id, name=spec.name, classname=spec.classname, kwargs=spec.kwargs,
                  index=job.run_count, attempt=job.attempt, due_at=due_at, interval_s=spec.interval_s,
                  parent=spec.parent, timeout_s=timeout, trigger=job.next_trigger)
        job.running = run
        job.state = JobState.RUNNING
        job.last_started_at = now
        job.runs_total += 1
        job.version += 1
        return run

    def _start_manual(self, job: Job, now: float) -> Run | None:
        job.manual = False
        reason = self._limit_reached(job, now, new_slot=True)
        if reason:
            job.note = f"run now refused: {reason}"
            self._after_manual(job)
            return None
        job.run_count += 1
        spec = job.spec
        timeout = spec.timeout_s if spec.timeout_s is not None else self.limits.default_timeout_s
        run = Run(job_id=job.job_id, name=spec.name, classname=spec.classname, kwargs=spec.kwargs,
                  index=job.run_count, attempt=0, due_at=now, interval_s=spec.interval_s, parent=spec.parent,
                  timeout_s=timeout, trigger=Trigger.MANUAL)
        job.running = run
        job.state = JobState.RUNNING
        job.last_started_at = now
        job.runs_total += 1
        job.version += 1
        return run

    def run_now(self, job_id: str) -> Job:
        """Queue one manual run at once without touching the schedule (due time, anchor, retries).

        The caller puts the job at the head of the waiting line. Allowed for scheduled,
        waiting, paused, abandoned and finished jobs; a running job is refused.
        """
        job = self._require(job_id)
        if job.running is not None or job.state is JobState.RUNNING:
            raise InvalidJobError(f"job {job.spec.name!r} ({job_id}) is running; it cannot run twice at once",
                                  field="job_id")
        if not job.manual:
            job.manual = True
            job.state_before_manual = job.state
            job.state = JobState.WAITING
            job.version += 1  # its heap entry is re-pushed after the manual run
        return job

    def _after_manual(self, job: Job) -> None:
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

    def mark_waiting(self, job_id: str) -> None:
        """A due job found no free worker: it waits, in due order, for the next one."""
        job = self._jobs[job_id]
        if job.state is JobState.SCHEDULED:
            job.state = JobState.WAITING

    def finish(self, job_id: str, report: RunReport, now: float) -> Decision:
        """Apply a run's outcome: reschedule, retry, abandon or finish; build children.

        A job set aside while its run was in flight stays set aside (the outcome is noted only).
        """
        job = self._jobs[job_id]
        run = job.running
        job.running = None
        job.last_finished_at = now
        job.last_outcome = str(report.outcome)
        if job.state is JobState.QUARANTINED:
            return Decision(job_id, job.state, None, job.note)
        children, child_errors = self._children(job, report, now)
        if run is not None and run.trigger is Trigger.MANUAL:
            job.last_error = None if report.outcome is Outcome.SUCCESS else report.error
            if report.outcome in FAILURES:
                job.failures_total += 1
            if report.outcome is Outcome.SUCCESS and not report.resubmit:
                note = self._finish_job(job, "the task asked not to be resubmitted (resubmit: False)")
            else:
                self._after_manual(job)
                note = f"manual run {report.outcome}; schedule unchanged"
            job.note = note
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
        job.note = note
        return Decision(job_id, job.state, job.due_at, note, tuple(children), tuple(child_errors), coalesced)

    # ---------------------------------------------------------------- operator actions
    def pause(self, job_id: str) -> Job:
        """Stop dispatching a job; a running run finishes first, then the job stays paused."""
        job = self._require(job_id)
        if job.state in ACTIVE_STATES:
            job.paused = True
            job.note = "paused by an operator"
            if job.running is None:
                job.state = JobState.PAUSED
                job.version += 1
        return job

    def resume(self, job_id: str, now: float) -> Job:
        """Dispatch a paused job again: at its due time, or now if that has passed."""
        job = self._require(job_id)
        job.paused = False
        if job.state is JobState.PAUSED:
            due = job.due_at if job.due_at is not None and job.due_at > now else now
            self._schedule(job, due, job.next_trigger)
            job.note = "resumed by an operator"
        return job

    def reschedule(self, job_id: str, when: float, now: float) -> float:
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
        if job.state is JobState.PAUSED:
            job.due_at = due
        else:
            self._schedule(job, due, trigger)
        job.note = "rescheduled by an operator"
        return due

    def set_aside(self, job_id: str, error: str) -> Job | None:
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

    def remove(self, job_id: str) -> Job:
        """Forget a job. A running job's run finishes and is not rescheduled."""
        job = self._require(job_id)
        del self._jobs[job_id]
        job.version += 1
        return job

    def prune(self, now: float, retention_s: float) -> list[str]:
        """Drop finished jobs older than *retention_s*; abandoned jobs are kept."""
        old = [j.job_id for j in self._jobs.values() if j.state is JobState.FINISHED
               and (j.last_finished_at or j.created_at) + retention_s < now]
        for job_id in old:
            del self._jobs[job_id]
        return old

    # ---------------------------------------------------------------- rules
    def _require(self, job_id: str) -> Job:
        job = self._jobs.get(job_id)
        if job is None:
            raise KeyError(job_id)
        return job

    def _schedule(self, job: Job, due: float, trigger: Trigger) -> None:
        if not in_range(due, -MAX_EPOCH, MAX_EPOCH):  # the heap and the waker rely on it
            raise InvalidJobError(f"due time {short_repr(due)} of job {job.spec.name!r} ({job.job_id}) is not a finite "
                                  f"epoch within +-{MAX_EPOCH:g}", field="due_at", value=short_repr(due))
        job.due_at = due
        job.next_trigger = trigger
        job.state = JobState.SCHEDULED
        job.version += 1
        heapq.heappush(self._heap, (due, next(self._seq), job.job_id, job.version))

    def _floor(self, job: Job, when: float) -> float:
        """No run starts within ``minimum_interval`` of the previous start (or of creation
        for a child that never ran)."""
        if self.limits.minimum_interval_s <= 0:
            return when
        anchor = job.last_started_at
        if anchor is None and job.spec.origin is Origin.CHILD:
            anchor = job.created_at
        if anchor is None:
            return when
        return max(when, anchor + self.limits.minimum_interval_s)

    def _limit_reached(self, job: Job, when: float, *, new_slot: bool) -> str:
        spec = job.spec
        limit = spec.run_limit
        if new_slot and limit is not None and job.run_count >= limit:
            return "only_once: it ran once" if spec.only_once else f"max_runs reached ({limit} runs)"
        if spec.only_before is not None and when > spec.only_before:
            return f"only_before passed ({spec.only_before:.3f})"
        return ""

    def _finish_job(self, job: Job, reason: str) -> str:
        job.state = JobState.FINISHED
        job.due_at = None
        job.version += 1
        job.note = f"finished: {reason}"
        return job.note

    def _schedule_checked(self, job: Job, due: float, trigger: Trigger, note: str) -> str:
        reason = self._limit_reached(job, due, new_slot=trigger is Trigger.SCHEDULE)
        if reason:
            return self._finish_job(job, reason)
        self._schedule(job, due, trigger)
        return note

    def _reschedule_after_success(self, job: Job, report: RunReport, now: float) -> tuple[int, str]:
        if report.next_at is not None:
            due = self._floor(job, report.next_at)
            return 0, self._schedule_checked(job, due, Trigger.SCHEDULE, "next run at the time the task asked")
        interval = max(job.spec.interval_s, self.limits.minimum_interval_s)
        anchor = job.slot_due_at if job.slot_due_at is not None else now
        due = anchor + interval
        coalesced = 0
        if due <= now:
            slots = math.floor((now - anchor) / interval) + 1
            coalesced = slots - 1
            due = anchor + slots * interval
        note = "rescheduled" if not coalesced else f"rescheduled; skipped {coalesced} missed slot(s)"
        return coalesced, self._schedule_checked(job, self._floor(job, due), Trigger.SCHEDULE, note)

    def _after_failure(self, job: Job, report: RunReport, now: float) -> str:
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
        delay = self.limits.retry.next_delay(job.retries_used, self._rng)
        due = self._floor(job, now + delay)
        note = f"{report.outcome}; retry {job.retries_used}/{budget} in {due - now:.1f}s"
        return self._schedule_checked(job, due, Trigger.RETRY, note)

    def _children(self, job: Job, report: RunReport, now: float) -> tuple[list[JobSpec], list[str]]:
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

