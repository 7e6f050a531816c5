"""Scheduler actor: owns the timetable, hands due runs to free workers, applies outcomes.

The rules are in `actors.timetable` (pure); this actor adds time and concurrency:

* a `Waker` thread sleeps until the earliest due time and tells the actor `Tick`;
  nothing polls;
* due jobs go to a FIFO of *waiting* jobs (shown as ``waiting``) and are dispatched the
  moment a worker slot is free; a job is never given to two workers at once;
* runs are *staged*: a job enters the waiting line up to ``stage_ahead`` (0.2 s) before it is
  due and its run goes to a worker then, which starts it at its due time (`actors.childqueue`),
  so the hops on the way no longer make it late; a worker that holds only runs of fast
  classes is given more while it works, appended to its queue (`actors.workerload`);
* every run of a slot is *claimed* in the run ledger (`actors.ledger`) before it goes to
  a worker: the claim is the commit point, so no slot runs twice whatever crashes; a
  refused claim (the slot ran in an earlier life) is applied to the timetable instead;
  while the ledger cannot be written nothing is dispatched (retried with backoff);
* outcomes (`RunFinished`) are applied to the timetable, children are added, and the
  changed job records are sent to the Journal in batches (``SaveJobs``); slots the misfire
  policy records ``missed`` and runs found interrupted at a restore become result
  documents (`actors.resultdocs`);
* on shutdown it drains: no new dispatches, then a final save of every job;
* with several instances on one store (`actors.lease`), a follower's scheduler stands by
  (`actors.standby`): it dispatches and saves nothing, and its timetable mirrors the stored
  records for the panel and the API.

Operator commands (`AddJob`, `RemoveJob`, `PauseJob`, `RunJobNow` ...) arrive as typed asks
through `actors.facade`; their handlers are in `actors.jobcommands` (mixed in), each returns a
JSON-safe answer, or raises (`NotFoundError` for an unknown job id, `InvalidJobError` when the
job's state refuses it).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from typing import Any

import pykka
import structlog

from actors.adhocruns import AdHocRuns
from actors.decisionlog import log_decision
from actors.handout import HandOut
from actors.jobcommands import JobCommands
from actors.jobs import JobState, Outcome, Run, RunReport
from actors.leadermessages import Follow, Lead, LeaseRenewed, MirrorJobs
from actors.messages import (
    AddJob,
    AddJobs,
    BackfillJob,
    ChildFailed,
    Drain,
    GetJob,
    GetJobsPage,
    GetMetrics,
    GetRunState,
    GetStatus,
    Housekeep,
    ListJobs,
    ListRunning,
    OutcomesStored,
    PauseJob,
    RemoveJob,
    RescheduleJob,
    RestoreJobs,
    ResumeJob,
    RunFinished,
    RunJobNow,
    RunOneOff,
    RunRefused,
    RunsFinished,
    SaveJobs,
    SaveNow,
    SetLimits,
    Tick,
    TriggerRun,
    WorkerDown,
    WorkerReady,
)
from actors.routing import Directory, TimerHandle, tell_later
from actors.schedstate import SchedulerState, due_pending, new_state
from actors.setaside import set_aside
from actors.slotkeeper import SlotKeeper
from actors.standby import Standby
from actors.streammessages import StreamArrived
from actors.streamtrigger import jobs_to_start
from actors.timetable import Job
from actors.waker import Waker

log = structlog.get_logger("das_actors.scheduler")


#: How often changed job records are sent to the Journal, and finished jobs pruned.
SAVE_INTERVAL_S = 0.5
#: The tick's save waits while runs wait for a worker (a burst), at most this long since the last.
SAVE_DEFER_MAX_S = 5.0
#: Most job records sent to the Journal per save tick (a fresh start with 100k jobs is
#: saved over several ticks instead of building every record at once).
SAVE_CHUNK = 10_000


class Scheduler(Standby, JobCommands, HandOut, pykka.ThreadingActor, AdHocRuns):
    """The one place where jobs are dispatched; see the module docstring."""

    def __init__(self, state: SchedulerState, directory: Directory, clock: Callable[[], float] = time.time) -> None:
        super().__init__()
        self._s = state
        self._dir = directory
        self._clock = clock
        self._waker: Waker | None = None
        self._saver: TimerHandle | None = None
        self._last_save = 0.0
        self._retry: TimerHandle | None = None
        self._slots = SlotKeeper(state, directory, requeue=self._requeue, changed=self._changed,
                                 retry_in=self._retry_in)

    def on_start(self) -> None:
        """Actor thread: start the waker, dispatch whatever is already due."""
        ref = self.actor_ref
        self._waker = Waker(ref.tell, self._clock)
        self._dispatch()
        self._arm_saver()

    def on_stop(self) -> None:
        """Actor thread: stop timers, save every changed job."""
        if self._waker is not None:
            self._waker.stop()
        if self._saver is not None:
            self._saver.cancel()
        if self._retry is not None:
            self._retry.cancel()
        self._slots.record_schedule_docs(self._clock())
        self._slots.write_outcomes(self._clock(), force=True)
        self._save()

    def on_failure(self, exception_type: Any, exception_value: Any, traceback: Any) -> None:
        """Actor thread: stop the waker and tell the supervisor; the state object survives."""
        if self._waker is not None:
            self._waker.stop()
        if self._saver is not None:
            self._saver.cancel()
        self._dir.tell_supervisor(ChildFailed("scheduler", 0, f"{exception_type.__name__}: {exception_value}"))

    # ------------------------------------------------------------------ messages
    def on_receive(self, message: Any) -> Any:
        """Actor thread: events from workers and the clock, commands and questions from the facade
        and the System, each handled by its type (see `HANDLERS`)."""
        self._s.heartbeat_at = time.monotonic()
        handler = HANDLERS.get(type(message))
        if handler is None:
            log.error("scheduler.unknown_message", message=repr(message)[:200])
            return None
        try:
            return handler(self, message)
        finally:
            s, now = self._s, self._clock()
            wake = s.timetable.next_wake()
            s.pressure.note(due_pending(s, now), s.stats["dispatched"] + s.stats["finished"],
                            None if wake is None else wake - now)

    # -- events
    def _on_tick(self, _message: Tick) -> None:
        self._dispatch()

    def _on_outcomes_stored(self, message: OutcomesStored) -> None:
        self._slots.outcomes_stored(message.finished, self._clock())

    def _on_runs_finished(self, message: RunsFinished) -> None:
        self._on_finished(message.slot, message.finished, message.worker_free)

    def _on_run_finished(self, message: RunFinished) -> None:
        self._on_finished(message.slot, ((message.run, message.report),), message.worker_free)

    def _on_worker_ready(self, message: WorkerReady) -> None:
        s = self._s
        s.down.pop(message.slot, None)
        if not any(slot == message.slot for slot, _ in s.running.values()):
            s.load.forget(message.slot)
            s.idle.add(message.slot)
        self._dispatch()

    def _on_worker_down(self, message: WorkerDown) -> None:
        s = self._s
        s.idle.discard(message.slot)
        s.load.forget(message.slot)  # it reported every run it held before this
        s.down[message.slot] = "degraded: " + message.reason if message.degraded else message.reason

    def _on_stream_arrived(self, message: StreamArrived) -> None:
        if self._forward_stream(message):
            return
        now, tt = self._clock(), self._s.timetable
        for job in jobs_to_start(tt, self._s.stream_counts, message.stream, message.count):
            tt.reschedule(job.job_id, now, now)
            job.note = f"new messages on stream {message.stream!r}"
            self._changed(job)
        self._dispatch()

    def _retry_in(self, delay_s: float) -> None:
        """Dispatch again in *delay_s* (the run ledger was unavailable)."""
        if self._retry is not None:
            self._retry.cancel()
        self._retry = tell_later(self.actor_ref, delay_s, Tick())

    def _on_housekeep(self, _message: Housekeep) -> None:
        self._saver = None
        self._slots.write_outcomes(self._clock())
        if self._s.standby:  # a follower saves and prunes nothing: the leader does
            self._arm_saver()
            return
        if not self._s.waiting or time.monotonic() - self._last_save >= SAVE_DEFER_MAX_S:
            self._save()  # not while a burst is handed out (runs wait for a worker): after it
        self._prune()
        self._slots.prune(self._clock())
        self._arm_saver()

    def _drain(self, _message: Drain) -> list[str]:
        self._s.draining = True
        if self._s.one_offs:
            log.warning("runs.one_offs_dropped", count=len(self._s.one_offs),
                        runs=[run.run_id for run in self._s.one_offs][:20],
                        note="one-off runs (a script's Run now) waiting at shutdown are not kept")
        if self._waker is not None:
            self._waker.wake_at(None)
        return [run.run_id for _, run in self._s.running.values()]

    def _save_now(self, message: SaveNow) -> bool:
        if message.all_jobs:
            self._s.dirty.update(job.job_id for job in self._s.timetable.jobs())
        self._save()
        return True

    # ------------------------------------------------------------------ outcomes (the hand-out: actors.handout)
    def _on_finished(self, slot: int, finished: Any, worker_free: bool) -> None:
        s, now = self._s, self._clock()
        left = s.load.done(slot, len(finished))
        if worker_free and left and not self._holds_more(slot, finished):
            s.load.forget(slot)  # the counts drifted: the worker knows best
            left = 0
        if worker_free and slot not in s.down and not left:  # else runs appended meanwhile: it is busy again
            s.idle.add(slot)
            if s.waiting:  # runs already due go first (a burst goes on); then the finished runs are booked
                self._dispatch()
        tt = s.timetable
        for run, report in finished:
            s.running.pop(run.run_id, None)
            s.one_off_ids.discard(run.run_id)
            late = report.started_at - run.due_at if report.outcome is not Outcome.INTERRUPTED else None
            duration = report.finished_at - report.started_at
            s.metrics.observe(str(report.outcome), duration, late)
            if report.outcome is Outcome.SUCCESS or report.outcome is Outcome.FAILED:
                previous = s.class_duration_s.get(run.classname)
                s.class_duration_s[run.classname] = duration if previous is None else 0.8 * previous + 0.2 * duration
            if run.job_id not in tt or run.term != s.term:  # removed, or started under another term
                continue
            try:
                self._apply_outcome(run, report, now)
            except Exception as exc:  # noqa: BLE001 - a poison job is set aside, the others go on
                self._set_aside(run.job_id, exc, f"applying the outcome of {run.describe()}")
        self._dispatch()

    def _holds_more(self, slot: int, finished: Any) -> bool:
        """Whether runs other than *finished* were sent to *slot* and are not back (appended to
        its queue while it reported itself free)."""
        done = {run.run_id for run, _ in finished}
        return any(held == slot and run_id not in done for run_id, (held, _) in self._s.running.items())

    def _apply_outcome(self, run: Run, report: RunReport, now: float) -> None:
        s, tt = self._s, self._s.timetable
        decision = tt.finish(run.job_id, report, now)
        s.stats["finished"] += 1
        s.stats["coalesced"] += decision.coalesced
        log_decision(run, report, decision)
        for child in decision.children:
            known = child.job_id in tt
            try:
                child_job = tt.add(child, now)
            except Exception as exc:  # noqa: BLE001 - a child that cannot be scheduled is set aside alone
                self._set_aside(child.job_id, exc, f"adding it as a child of {run.describe()}")
                continue
            self._changed(child_job)
            log.info("job.child_extended" if known else "job.child_added", job=child.name, job_id=child.job_id,
                     parent=run.job_id, due_at=child_job.due_at, state=str(child_job.state))
        if (done := tt.get(run.job_id)) is not None:
            self._changed(done)
            if done.state is JobState.WAITING and done.backfill:
                s.waiting.append(done.job_id)  # its next backfill slot

    def _set_aside(self, job_id: str, exc: BaseException, doing: str) -> None:
        set_aside(self._s, job_id, exc, doing)  # see actors.setaside: the others go on

    def _changed(self, job: Job) -> None:
        self._s.dirty.add(job.job_id)

    def _save(self) -> None:
        s = self._s
        if s.standby:  # a follower's timetable is a mirror: the leader saves job records
            s.dirty.clear()
            s.deleted.clear()
            return
        if not s.dirty and not s.deleted:
            return
        self._last_save = time.monotonic()
        tt = s.timetable
        if len(s.dirty) <= SAVE_CHUNK:
            chosen, s.dirty = s.dirty, set()
        else:
            chosen = set(itertools.islice(s.dirty, SAVE_CHUNK))
            s.dirty -= chosen
        records = [job.to_record() for job_id in chosen if (job := tt.get(job_id)) is not None]
        self._dir.tell_journal(SaveJobs(records, tuple(s.deleted)))
        s.deleted.clear()

    def _prune(self) -> None:
        s = self._s
        for job_id in s.timetable.prune(self._clock(), s.finished_retention_s):
            s.deleted.add(job_id)

    def _arm_saver(self) -> None:
        self._saver = tell_later(self.actor_ref, SAVE_INTERVAL_S, Housekeep())



#: Message type -> handler: the Scheduler's whole vocabulary.
HANDLERS: dict[type, Callable[[Scheduler, Any], Any]] = {
    Tick: Scheduler._on_tick, RunsFinished: Scheduler._on_runs_finished, RunFinished: Scheduler._on_run_finished,
    OutcomesStored: Scheduler._on_outcomes_stored,
    WorkerReady: Scheduler._on_worker_ready, WorkerDown: Scheduler._on_worker_down,
    RunRefused: Scheduler._on_refused, Housekeep: Scheduler._on_housekeep,
    AddJob: Scheduler._add, AddJobs: Scheduler._add_many, RestoreJobs: Scheduler._restore,
    ListJobs: Scheduler._list_jobs, GetJobsPage: Scheduler._jobs_page, GetJob: Scheduler._get_job,
    PauseJob: Scheduler._pause, ResumeJob: Scheduler._resume, RescheduleJob: Scheduler._reschedule,
    RunJobNow: Scheduler._run_now, RemoveJob: Scheduler._remove, Drain: Scheduler._drain,
    BackfillJob: Scheduler._backfill,
    ListRunning: Scheduler._list_running, GetStatus: Scheduler._status, SaveNow: Scheduler._save_now,
    GetMetrics: Scheduler._metrics, SetLimits: Scheduler._set_limits, StreamArrived: Scheduler._on_stream_arrived,
    TriggerRun: Scheduler._trigger, RunOneOff: Scheduler._run_one_off, GetRunState: Scheduler._run_state,
    Lead: Scheduler._lead, Follow: Scheduler._follow, LeaseRenewed: Scheduler._lease_renewed,
    MirrorJobs: Scheduler._mirror,
}


__all__ = ["Scheduler", "SchedulerState", "new_state"]  # the state lives in actors.schedstate
