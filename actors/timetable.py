"""Pure schedule arithmetic: the due-time heap and every rescheduling rule.

This is where the DAS scheduler's rules live, with its bugs fixed:

* the next run after a success is the next *slot* of the job's schedule (an interval
  grid, or a cron expression in a zone: `actors.timerules`), never "finish + interval"
  (no drift); slots that elapsed meanwhile follow the job's misfire policy (run once,
  run each, or none) and the rest are recorded ``missed``, never silently dropped;
* a task's ``next`` is honoured exactly (DAS ran it early by the job's duration);
* ``minimum_interval`` floors every path that schedules a job (reschedule, ``next``,
  children, manual reschedule); only a config job's first run is exempt; retry backoff
  *grows from* the floor (first retry after max(retry_delay, floor), then doubling, jitter kept);
* exactly ``max_retries`` retries, then the job is *abandoned* (kept, with its error);
* ``max_runs`` / ``only_before`` / ``only_once`` are checked before every run;
* a job never runs twice at once.

No threads, no I/O, no clock: ``now`` is always an argument. The Scheduler actor owns
one `Timetable` and is its only caller.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterator

from actors.bounds import MAX_EPOCH, in_range, short_repr
from actors.errors import InvalidJobError
from actors.extraruns import ExtraRuns
from actors.jobs import (
    ACTIVE_STATES,
    NEW_SLOT_TRIGGERS,
    JobSpec,
    JobState,
    Origin,
    Run,
    Trigger,
)
from actors.jobstate import NO_SLOTS, Decision, Job, Limits
from actors.ledger import LedgerHead
from actors.misfire import SlotSpan
from actors.operatoractions import OperatorActions
from actors.policy import Random
from actors.recovery import Recovery
from actors.runoutcome import RunOutcomes
from actors.slots import slot_key
from actors.timerules import Step, effective_schedule, first_slot, period_of

#: Enum members read for every job added or scheduled, bound once: reading one off its class costs
#: ~70 ns in Python 3.11 (a local name ~10 ns), and a million jobs are added at a start.
_SCHEDULED, _ON_SCHEDULE, _CHILD = JobState.SCHEDULED, Trigger.SCHEDULE, Origin.CHILD

__all__ = ["Decision", "Job", "Limits", "Timetable"]


class Timetable(RunOutcomes, Recovery, ExtraRuns, OperatorActions):
    """Every job and its due time; `due` pops what is ready. What a run's outcome makes of its
    job (`finish`) is `actors.runoutcome`'s, restores checked against the run ledger are
    `actors.recovery`'s, run now and backfill runs `actors.extraruns`'s, the operator's verbs
    `actors.operatoractions`'s."""

    def __init__(self, limits: Limits, rng: Random) -> None:
        self.limits = limits
        self._rng = rng
        #: The leader's term stamped on every run made (`actors.lease`; 0 for a single instance).
        self.term = 0
        self._jobs: dict[str, Job] = {}
        self._heap: list[tuple[float, int, str, int]] = []
        self._seq = itertools.count()
        #: What the caller must record: missed slots (job, listed, spans) and runs found
        #: interrupted at a restore (job, run); taken with `take_records`.
        self._missed: list[tuple[Job, tuple[float, ...], tuple[SlotSpan, ...]]] = []
        self._interrupted: list[tuple[Job, Run]] = []

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

    def nth_due(self, count: int) -> float | None:
        """The *count*-th earliest due time of the scheduled jobs (None: fewer are scheduled), read
        off the top of the due-time heap (stale entries skipped), never the whole of it."""
        heap, jobs = self._heap, self._jobs
        frontier = [(heap[0], 0)] if heap and count > 0 else []
        while frontier:
            (due_at, _, job_id, version), index = heapq.heappop(frontier)
            job = jobs.get(job_id)
            if job is not None and job.version == version and job.state is JobState.SCHEDULED:
                count -= 1
                if not count:
                    return due_at
            for child in (2 * index + 1, 2 * index + 2):
                if child < len(heap):
                    heapq.heappush(frontier, (heap[child], child))
        return None

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
    def add(self, spec: JobSpec, now: float, *, first_due_at: float | None = None,
            head: LedgerHead | None = None) -> Job:
        """Add a job; an active job with the same id is kept as it is (no duplicates).

        First slot (`actors.timerules.first_slot`): interval jobs at *first_due_at*, else
        config jobs at ``now + random() * interval`` (``now`` without start offset), children
        one interval from now floored by ``minimum_interval``, API jobs now; cron jobs at their
        next fire time. *head* is the run ledger's word on this job id (a job record lost in a
        crash): its run count stands, and a run it shows in flight is resumed.
        """
        existing = self._jobs.get(spec.job_id)
        if existing is not None and spec.origin is _CHILD:
            return self._extend(existing, spec, now)
        if existing is not None and existing.state in ACTIVE_STATES:
            return existing
        job = Job(spec=spec, state=_SCHEDULED, created_at=now)
        self._jobs[spec.job_id] = job
        try:
            if not self._place_first(job, now, first_due_at):
                return job
        except InvalidJobError:  # a due time out of range: nothing added (a finished namesake stays)
            if existing is None:
                del self._jobs[spec.job_id]
            else:
                self._jobs[spec.job_id] = existing
            raise
        if head is not None:
            job.run_count = max(job.run_count, head.max_index or 0)
            if head.newest is not None and not head.newest.finished:
                self._adopt(job, head.newest, now)
        return job

    def _extend(self, job: Job, spec: JobSpec, now: float) -> Job:
        """A parent spawned a child it already has (same name and class): the child takes the new
        definition (arguments, schedule, limits) and keeps its history (run numbers, counters).
        An active child keeps its next due time; a finished, abandoned or quarantined one runs
        again, its first slot as for a new child, its run limits counted from now."""
        job.spec, job.schedule_cache = spec, None
        if job.state in ACTIVE_STATES:
            job.note = "extended by its parent: the next run takes the new definition"
            return job
        job.runs_before, job.retries_used, job.attempt = job.run_count, 0, 0
        job.catchup, job.backfill, job.deferred = NO_SLOTS, NO_SLOTS, ((), ())
        if self._place_first(job, now, None):
            job.note = "extended by its parent: runs again (history kept)"
        return job

    def _place_first(self, job: Job, now: float, first_due_at: float | None) -> bool:
        """Schedule *job*'s first slot (`actors.timerules.first_slot`; a child's floored by
        ``minimum_interval``); False when a cron expression has no further fire time (finished)."""
        slot = first_slot(job, self.limits, now, first_due_at, self._rng)
        if slot is None:
            self._finish_job(job, "the cron expression has no further fire time")
            return False
        job.slot = slot
        spec = job.spec
        if spec.interval_s is not None and spec.jitter_s <= 0 and type(slot) is float \
                and in_range(slot, -MAX_EPOCH, MAX_EPOCH) and self.limits.minimum_interval_s <= spec.interval_s:
            due = slot  # what the grid's `due_at` answers without jitter (1M jobs: no grid built for it, ~2 us)
        else:
            due = effective_schedule(job, self.limits, keep=False).due_at(slot, job.job_id)
        self._schedule(job, self._floor(job, due) if spec.origin is _CHILD else due, _ON_SCHEDULE)
        return True

    def take_records(self) -> tuple[list[tuple[Job, tuple[float, ...], tuple[SlotSpan, ...]]], list[tuple[Job, Run]]]:
        """What the caller must record since the last call: missed slots and interrupted runs."""
        missed, self._missed = self._missed, []
        interrupted, self._interrupted = self._interrupted, []
        return missed, interrupted

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
        if job.backfill and job.state_before_manual is not None:
            return self._start_backfill(job, now)
        new_slot = job.next_trigger in NEW_SLOT_TRIGGERS
        reason = self._limit_reached(job, job.slot if new_slot and job.slot is not None else now, new_slot=new_slot)
        if reason:
            self._finish_job(job, reason)
            return None
        if new_slot:
            job.run_count += 1
            job.attempt = 0
        due_at = job.due_at if job.due_at is not None else now
        run = self._make_run(job, index=job.run_count, attempt=job.attempt, due_at=due_at, trigger=job.next_trigger,
                             slot=job.slot)
        self._mark_started(job, run, now)
        return run

    def _make_run(self, job: Job, *, index: int, attempt: int, due_at: float, trigger: Trigger,
                  slot: float | None) -> Run:
        spec = job.spec
        timeout = spec.timeout_s if spec.timeout_s is not None else self.limits.default_timeout_s
        return Run(job_id=job.job_id, name=spec.name, classname=spec.classname, kwargs=spec.kwargs, index=index,
                   attempt=attempt, due_at=due_at, interval_s=period_of(job, self.limits, slot), parent=spec.parent,
                   timeout_s=timeout, trigger=trigger, slot=slot, tags=spec.tags,
                   resources=spec.resources, term=self.term)

    @staticmethod
    def _mark_started(job: Job, run: Run, now: float) -> None:
        job.running = run
        job.state = JobState.RUNNING
        job.last_started_at = now
        job.runs_total += 1
        job.version += 1

    def mark_waiting(self, job_id: str) -> None:
        """A due job found no free worker: it waits, in due order, for the next one."""
        job = self._jobs[job_id]
        if job.state is JobState.SCHEDULED:
            job.state = JobState.WAITING

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
        job.state = _SCHEDULED
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
        if new_slot and limit is not None and job.run_count - job.runs_before >= limit:
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
        new_slot = trigger in NEW_SLOT_TRIGGERS
        reason = self._limit_reached(job, job.slot if new_slot and job.slot is not None else due, new_slot=new_slot)
        if reason:
            return self._finish_job(job, reason)
        self._schedule(job, due, trigger)
        return note

    def _set_adhoc_slot(self, job: Job, due: float) -> None:
        """A run at a moment off the schedule (the task's ``next_at``, an operator's reschedule): it
        is a slot of its own; an interval job's grid moves to it (the next slot is one interval on)."""
        job.slot = due
        if job.spec.interval_s is not None:
            job.anchor = due
        job.planned_to = None
        job.catchup, job.deferred = NO_SLOTS, ((), ())

    def _apply_step(self, job: Job, step: Step, now: float, *, keep: float | None = None) -> str:
        """Record the step's missed slots and schedule its slot (a catch-up slot now, floored).
        *keep*: the job's pending slot; if the step runs it, it keeps its scheduled trigger."""
        self._record_missed(job, step.missed, step.spans)
        if step.newest is not None:
            job.planned_to = max(step.newest, job.planned_to if job.planned_to is not None else step.newest)
        if step.slot is None or step.due_at is None:
            return self._finish_job(job, "the schedule has no further slot")
        job.slot = step.slot
        job.catchup, job.deferred = list(step.queue) if step.queue else NO_SLOTS, step.deferred
        trigger = Trigger.CATCHUP if step.catchup and (keep is None or slot_key(step.slot) != slot_key(keep)) \
            else Trigger.SCHEDULE
        missed = step.missed_count
        note = "rescheduled" if not missed else f"rescheduled; {missed} missed slot(s) recorded"
        if step.catchup:
            note = f"running an elapsed slot late (misfire policy); {missed} missed slot(s) recorded"
        return self._schedule_checked(job, self._floor(job, step.due_at), trigger, note)

    def _record_missed(self, job: Job, missed: tuple[float, ...], spans: tuple[SlotSpan, ...]) -> None:
        if missed or spans:
            self._missed.append((job, missed, spans))

    def _missed_since(self, mark: int, job: Job) -> tuple[tuple[float, ...], tuple[SlotSpan, ...]]:
        """The missed slots recorded for *job* since the outbox held *mark* entries (for a `Decision`)."""
        missed: list[float] = []
        spans: list[SlotSpan] = []
        for owner, listed, counted in self._missed[mark:]:
            if owner is job:
                missed.extend(listed)
                spans.extend(counted)
        return tuple(missed), tuple(spans)
