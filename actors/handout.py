"""`HandOut`: how waiting runs go to the workers, and come back when a worker could not take them.

Why a module of its own: handing runs out is the Scheduler's hot path and has rules of its
own: runs enter the waiting line up to ``stage_ahead`` before they are due (the waker ticks
halfway into that window, `actors.jobstate.Limits.handover_at`); an idle worker gets a batch
(several runs only of classes known to be fast, `FAST_CLASS_S`); a worker busy with fast runs
gets more appended to its queue (`actors.workerload`); every run's slot is claimed in the run
ledger first (`actors.slotkeeper`); a run a worker gives back goes to the head of the line
with no penalty (`_requeue`). Mixed into `actors.scheduler.Scheduler`; runs in its thread.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Callable
from typing import Protocol

import structlog

from actors.jobs import NEW_SLOT_TRIGGERS, JobState, Run, Trigger
from actors.messages import RunJob, RunRefused
from actors.routing import Directory
from actors.schedstate import SchedulerState
from actors.slotkeeper import SlotKeeper
from actors.timetable import Job
from actors.waker import Waker
from actors.workerload import cap as hold_cap

log = structlog.get_logger("das_actors.scheduler")

#: When a dispatch leaves at most this many changed jobs, they are saved at once (light
#: load: a run's "in flight" state is durable before it starts); above it, every
#: save interval in one batch (a burst).
SAVE_AT_ONCE_MAX = 64
SAVE_AT_ONCE_EVERY_S = 0.05  # ... and at most this often (a steady load saves on the tick)
#: Most runs handed to one worker in one message. Batches form only when more runs are due
#: than workers are free (a burst); under light load every batch is a single run.
MAX_BATCH = 256
#: Only runs of task classes whose recent mean duration is below this are batched, so a
#: slow task never holds other runs behind it in a batch (head-of-line blocking).
FAST_CLASS_S = 0.005


class _Core(Protocol):
    """What the hand-out uses of the Scheduler."""

    _s: SchedulerState
    _dir: Directory
    _clock: Callable[[], float]
    _waker: Waker | None
    _slots: SlotKeeper
    _last_save: float

    def _save(self) -> None: ...

    def _changed(self, job: Job) -> None: ...

    def _set_aside(self, job_id: str, exc: BaseException, doing: str) -> None: ...

    def _dispatch_one_offs(self) -> None: ...

    def _dispatch(self) -> None: ...

    def _hold_cap(self) -> int: ...

    def _hand_over(self, slot: int, batch: list[Run]) -> None: ...

    def _take_batch(self, size: int, now: float, *, fast_only: bool = False) -> list[Run]: ...

    def _fast(self, classname: str) -> bool: ...

    def _requeue(self, run: Run, reason: str) -> None: ...


class HandOut:
    """Mixed into the Scheduler: the waiting line to the workers (see the module docstring)."""

    def _dispatch(self: _Core) -> None:
        s = self._s
        self._slots.record_schedule_docs(self._clock())
        if s.draining or s.standby:
            return
        now = self._clock()
        tt = s.timetable
        for due in tt.due(tt.limits.horizon(now)):  # due, or due within the staging horizon
            if due.due_at is not None and due.due_at > now:
                heapq.heappush(s.ahead, due.due_at)  # staged: no backlog until it is due
            tt.mark_waiting(due.job_id)
            s.waiting.append(due.job_id)
            self._changed(due)
        self._dispatch_one_offs()
        while s.waiting and not s.standby:  # a claim that meets a newer term stands this instance by
            slot: int | None = None
            if s.idle:
                size = min(MAX_BATCH, -(-len(s.waiting) // len(s.idle)))
            elif (tt.limits.stage_ahead_s > 0 and not s.one_offs
                  and (slot := s.load.open_slot(most := self._hold_cap())) is not None):
                size = min(MAX_BATCH, s.load.room(slot, most))  # appended to its queue of fast runs
            else:
                break
            before = len(s.waiting)
            batch = self._take_batch(size, now, fast_only=slot is not None)
            if not batch:
                if slot is not None and len(s.waiting) == before:
                    break  # the head is no fast run: it waits for an idle worker
                continue
            claimed = self._slots.claim(batch, now)
            if claimed is None:
                break  # the ledger cannot be written: nothing starts until it can (retried with backoff)
            batch = claimed
            if not batch:
                continue
            self._hand_over(s.idle.pop() if slot is None else slot, batch)
        if self._waker is not None:
            wake = tt.next_wake()
            self._waker.wake_at(None if wake is None else tt.limits.handover_at(wake))
        self._slots.record_schedule_docs(self._clock())
        self._slots.write_outcomes(self._clock())

    def _hold_cap(self: _Core) -> int:
        """How many runs a worker may hold when the head of the waiting line is appended."""
        s = self._s
        job = s.timetable.get(s.waiting[0]) if s.waiting else None
        return hold_cap(None if job is None else s.class_duration_s.get(job.spec.classname))

    def _hand_over(self: _Core, slot: int, batch: list[Run]) -> None:
        """Send claimed runs to the worker of *slot* (a new batch, or appended to its queue)."""
        s = self._s
        for run in batch:
            s.running[run.run_id] = (slot, run)
        s.stats["dispatched"] += len(batch)
        s.load.sent(slot, len(batch), fast=len(batch) > 1 or self._fast(batch[0].classname))
        if len(s.dirty) <= SAVE_AT_ONCE_MAX and time.monotonic() - self._last_save >= SAVE_AT_ONCE_EVERY_S:
            self._save()
        if not self._dir.tell_worker(slot, RunJob(tuple(batch))):
            for run in reversed(batch):
                self._requeue(run, f"worker {slot} is gone")
            s.load.done(slot, len(batch))

    def _take_batch(self: _Core, size: int, now: float, *, fast_only: bool = False) -> list[Run]:
        """Up to *size* runs from the head of the waiting line for one worker: started in the
        timetable, several only when all are of classes known to be fast (*fast_only*: only
        such runs, to append to a worker's queue)."""
        s, tt = self._s, self._s.timetable
        batch: list[Run] = []
        while s.waiting and len(batch) < size:
            job_id = s.waiting[0]
            job = tt.get(job_id)
            if job is None:
                s.waiting.popleft()
                continue
            if (batch or fast_only) and not (self._fast(job.spec.classname)
                                             and (not batch or self._fast(batch[0].classname))):
                break
            s.waiting.popleft()
            try:
                run = tt.start(job_id, now)
            except Exception as exc:  # noqa: BLE001 - a poison job is set aside, the others go on
                self._set_aside(job_id, exc, "starting its run")
                continue
            self._changed(job)
            if run is not None and job.spec.on_stream is not None:
                s.stream_counts.pop(job_id, None)  # its count of new messages starts again
            if run is None:
                if job.state is JobState.FINISHED:
                    log.info("job.finished", job=job.spec.name, job_id=job_id, reason=job.note)
                continue
            batch.append(run)
        return batch

    def _fast(self: _Core, classname: str) -> bool:
        mean = self._s.class_duration_s.get(classname)
        return mean is not None and mean < FAST_CLASS_S

    def _on_refused(self: _Core, message: RunRefused) -> None:
        s = self._s
        if message.worker_free:
            s.load.forget(message.slot)
            s.idle.add(message.slot)
        else:
            s.load.refused(message.slot, len(message.runs))
            s.idle.discard(message.slot)
        for run in reversed(message.runs):
            self._requeue(run, message.reason)
        self._dispatch()

    def _requeue(self: _Core, run: Run, reason: str) -> None:
        """A run never reached a process: put the job back at the head of the waiting line."""
        s = self._s
        s.running.pop(run.run_id, None)
        if run.run_id in s.one_off_ids:
            s.one_offs.appendleft(run)
            log.info("run.requeued", job=run.name, run=run.run_id, reason=reason)
            return
        job = s.timetable.get(run.job_id)
        if job is None:
            return
        job.running = None
        job.state = JobState.WAITING
        job.runs_total -= 1
        if run.trigger is Trigger.BACKFILL and run.slot is not None:
            job.run_count -= 1
            job.backfill = [run.slot, *job.backfill]  # still an extra run: the schedule stays untouched
            s.waiting.appendleft(run.job_id)
            log.info("run.requeued", job=run.name, job_id=run.job_id, reason=reason)
            return
        if run.trigger is Trigger.MANUAL:
            job.run_count -= 1
            job.manual = True  # still a manual run: the schedule stays untouched
            job.manual_params = dict(run.params) if run.params else None
        elif run.trigger in NEW_SLOT_TRIGGERS and job.attempt == 0:
            job.run_count -= 1
        job.due_at = run.due_at
        job.next_trigger = run.trigger
        s.waiting.appendleft(run.job_id)
        log.info("run.requeued", job=run.name, job_id=run.job_id, reason=reason)

    # ------------------------------------------------------------------ persistence
