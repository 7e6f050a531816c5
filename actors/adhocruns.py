"""Runs beside the schedule that the Scheduler starts on request: triggered runs and one-off runs.

Why a module of its own: the trigger API (`actors.interact`) starts a job's run *now with
parameters* (the manual-run path: head of the waiting line, the schedule untouched, the run's id
known before it starts), and a script's "Run now" starts a *one-off* run that has no job in the
timetable at all (dispatched before the waiting line, one per free worker; it has no slot to
claim in the run ledger). Both are asked for by typed messages (`actors.messages.TriggerRun`,
`RunOneOff`, `GetRunState`); these handlers are mixed into `actors.scheduler.Scheduler` and run
in its thread.
"""

from __future__ import annotations

from typing import Any, Protocol

import structlog

from actors.jobs import Run
from actors.jobstate import Job
from actors.messages import GetRunState, RunJob, RunOneOff, TriggerRun
from actors.routing import Directory
from actors.schedstate import SchedulerState

log = structlog.get_logger("das_actors.scheduler")


class _Core(Protocol):
    """What these handlers use of the Scheduler."""

    _s: SchedulerState
    _dir: Directory

    def _require(self, job_id: str) -> Job: ...

    def _after_operation(self, job: Job) -> dict[str, Any]: ...

    def _dispatch(self) -> None: ...

    def _requeue(self, run: Run, reason: str) -> None: ...


class AdHocRuns:
    """Mixed into `actors.scheduler.Scheduler`: triggered runs, one-off runs, where a run is."""

    def _trigger(self: _Core, message: TriggerRun) -> dict[str, Any]:
        job = self._require(message.job_id)
        self._s.timetable.run_now(job.job_id, message.params)
        if job.job_id not in self._s.waiting:
            self._s.waiting.appendleft(job.job_id)
        run_id = f"{job.job_id}:{job.run_count + 1}:0"  # the manual run is the job's next start
        return {"run_id": run_id, "job": self._after_operation(job)}

    def _run_one_off(self: _Core, message: RunOneOff) -> str:
        run = message.run
        s = self._s
        s.one_offs.append(run)
        s.one_off_ids.add(run.run_id)
        log.info("run.one_off_queued", job=run.name, run=run.run_id, classname=run.classname)
        self._dispatch()
        return run.run_id

    def _run_state(self: _Core, message: GetRunState) -> dict[str, Any] | None:
        s = self._s
        running = s.running.get(message.run_id)
        if running is not None:
            return {"state": "running", "slot": running[0]}
        if any(run.run_id == message.run_id for run in s.one_offs):
            return {"state": "waiting"}
        job_id, _, rest = message.run_id.partition(":")
        job = s.timetable.get(job_id)
        if job is not None and job.manual and job.running is None and rest == f"{job.run_count + 1}:0":
            return {"state": "waiting"}
        return None

    def _dispatch_one_offs(self: _Core) -> None:
        """One-off runs (a script's Run now) go first, one per free worker; they have no slot to claim."""
        s = self._s
        while s.idle and s.one_offs:
            one_off = s.one_offs.popleft()
            slot = s.idle.pop()
            s.running[one_off.run_id] = (slot, one_off)
            s.load.sent(slot, 1, fast=False)  # nothing is appended behind a script's run
            s.stats["dispatched"] += 1
            if not self._dir.tell_worker(slot, RunJob((one_off,))):
                self._requeue(one_off, f"worker {slot} is gone")
                s.load.done(slot, 1)

