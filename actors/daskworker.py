"""Dask worker actor: one worker slot whose runs are computed on a Dask cluster.

With ``compute = "dask://host:port"`` the System builds these instead of `actors.worker.Worker`.
The Scheduler cannot tell the difference: the same messages come in (`RunJob`, `CancelRun`,
`Drain`, `Interrupt`, `GetStatus`) and go out (`WorkerReady`, `RunFinished`, `RunsFinished`,
`RunRefused`), and the journal gets the same documents (`actors.rundocs`).

A batch is submitted at once, one Dask task per run (`actors.daskcompute`), and each run is
executed on a Dask worker in a child process of ours (`actors.daskrun`), so it ends the ways
a local run ends, recorded the same way:

* the child sends a result                  -> ``success`` or ``failed``
* the run outlives its timeout              -> killed by the wrapper (TERM, grace, KILL): ``timeout``
* an operator cancels it                    -> the run's Event is set, the wrapper kills it: ``cancelled``
* the server shuts down                     -> the same, after the grace: ``interrupted``
* the process dies on its own               -> ``crashed``, the signal named
* the Dask worker is lost (the machine dies) -> ``crashed``, "dask worker lost"; the task is
  released so Dask does not run it again, and the job's retry budget decides, as for any crash.

The wrapper enforces the timeout next to the process; this actor keeps a backstop (timeout +
grace + `BACKSTOP_SLACK_S` after the run started) for a Dask worker that stops answering.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pykka
import structlog

from actors.daskcompute import DaskCompute, DaskRunDone, DaskRunStarted, DaskWorkerLost, task_key
from actors.errors import ComputeError
from actors.jobs import Outcome, Run, RunReport
from actors.messages import (
    CancelRun,
    ChildFailed,
    Deadline,
    Drain,
    GetStatus,
    Interrupt,
    Records,
    RunJob,
    RunRefused,
    RunsFinished,
    WorkerReady,
)
from actors.routing import Directory, TimerHandle, tell_later
from actors.rundocs import result_doc
from actors.workerconfig import WorkerConfig, signal_name

log = structlog.get_logger("das_actors.daskworker")

#: Seconds past timeout + kill grace after which a run whose wrapper never answered is given up.
BACKSTOP_SLACK_S = 10.0
#: Seconds a slot waits before it takes runs again after a submission failed (the scheduler is away).
RESUBMIT_AFTER_S = 2.0


@dataclass(slots=True)
class _Remote:
    """One run of this slot, submitted to Dask."""

    run: Run
    submitted_at: float
    started_at: float = 0.0
    worker: str = ""
    pid: int | None = None
    kill_reason: str = ""
    backstop: TimerHandle | None = None


def child_config(config: WorkerConfig) -> dict[str, Any]:
    """What the wrapper on the Dask worker starts its child with (as `actors.worker` does), plus
    the wrapper's own kill grace and recycling limit."""
    return {"memory_mb": config.memory_mb, "verbose": config.verbose, "max_children": config.max_children,
            "task_packages": list(config.task_packages), "service_options": dict(config.service_options),
            "kill_grace_s": config.kill_grace_s, "max_runs_per_process": config.max_runs_per_process}


class DaskWorker(pykka.ThreadingActor):
    """One worker slot backed by a Dask cluster; see the module docstring."""

    def __init__(self, slot: int, config: WorkerConfig, directory: Directory, compute: DaskCompute) -> None:
        super().__init__()
        self.slot = slot
        self._config = config
        self._child_config = child_config(config)
        self._dir = directory
        self._compute = compute
        self._runs: dict[str, _Remote] = {}  # in batch order
        self._stopping = False
        self._refusing = False  # submissions are failing (the scheduler is away): log the first only
        self.status = "starting"

    # ------------------------------------------------------------------ lifecycle hooks
    def on_start(self) -> None:
        """Actor thread: the cluster connection is the System's; this slot is ready at once."""
        self.status = "idle"
        self._dir.tell_scheduler(WorkerReady(self.slot, 0))

    def on_stop(self) -> None:
        """Actor thread: release whatever is still submitted (its wrapper kills the process)."""
        self._stopping = True
        for run_id in list(self._runs):
            self._drop(run_id, cancel_task=True)

    def on_failure(self, exception_type: Any, exception_value: Any, traceback: Any) -> None:
        """Actor thread, after an unhandled exception: release the runs, tell the supervisor."""
        remotes = list(self._runs.values())
        for run_id in list(self._runs):
            self._drop(run_id, cancel_task=True)
        head = remotes[0].run if remotes else None
        if len(remotes) > 1:
            self._dir.tell_scheduler(RunRefused(self.slot, tuple(r.run for r in remotes[1:]),
                                                "its worker actor failed"))
        self._dir.tell_supervisor(ChildFailed("worker", self.slot, f"{exception_type.__name__}: {exception_value}",
                                              head))

    # ------------------------------------------------------------------ messages
    def on_receive(self, message: Any) -> Any:
        """Actor thread: dispatch on message type."""
        if isinstance(message, RunJob):
            self._on_runs(message.runs)
        elif isinstance(message, DaskRunStarted):
            self._on_started(message)
        elif isinstance(message, DaskRunDone):
            self._on_done(message)
        elif isinstance(message, DaskWorkerLost):
            self._on_worker_lost(message)
        elif isinstance(message, Deadline) and message.what == "backstop":
            self._on_backstop(message.run_id)
        elif isinstance(message, Deadline) and message.what == "ready":
            if not self._stopping and not self._runs:
                self.status = "idle"
                self._dir.tell_scheduler(WorkerReady(self.slot, 0))
        elif isinstance(message, CancelRun):
            return self._kill(message.run_id, "cancel")
        elif isinstance(message, GetStatus):
            return self.describe()
        elif isinstance(message, Drain):
            self._stopping = True
            return bool(self._runs)
        elif isinstance(message, Interrupt):
            self._stopping = True
            return any([self._kill(run_id, "shutdown") for run_id in list(self._runs)])
        return None

    def describe(self) -> dict[str, Any]:
        """A JSON-safe view of this slot for the panel (``pid`` is on the Dask worker's host)."""
        head = next(iter(self._runs.values()), None)
        return {
            "slot": self.slot, "status": self.status, "pid": None if head is None else head.pid,
            "compute": "dask", "dask_worker": None if head is None else head.worker or None,
            "run": None if head is None else {
                "run_id": head.run.run_id, "job_id": head.run.job_id, "name": head.run.name,
                "index": head.run.index, "attempt": head.run.attempt, "started_at": head.started_at or None,
            },
            "queued": max(0, len(self._runs) - 1), "runs_in_process": 0, "recent_restarts": 0,
        }

    # ------------------------------------------------------------------ runs
    def _on_runs(self, runs: Any) -> None:
        if self._runs or self._stopping:
            reason = f"worker {self.slot} is {'stopping' if self._stopping else self.status}"
            self._dir.tell_scheduler(RunRefused(self.slot, tuple(runs), reason))
            return
        now = time.time()
        for position, run in enumerate(runs):
            try:
                self._compute.submit(run, self._child_config, self.actor_ref)
            except ComputeError as exc:  # the scheduler is away: back to the queue, ready again in a while
                (log.debug if self._refusing else log.error)("dask.submit_failed", slot=self.slot, error=str(exc),
                                                             retry_in_s=RESUBMIT_AFTER_S)
                self._refusing = True
                self._dir.tell_scheduler(RunRefused(self.slot, tuple(runs[position:]), str(exc)))
                if not self._runs:
                    tell_later(self.actor_ref, RESUBMIT_AFTER_S, Deadline(0, "ready"))
                break
            self._runs[run.run_id] = _Remote(run, submitted_at=now)
            if self._refusing:
                self._refusing = False
                log.info("dask.submit_resumed", slot=self.slot)
        self.status = "busy" if self._runs else "waiting for the Dask scheduler"

    def _on_started(self, message: DaskRunStarted) -> None:
        remote = self._runs.get(message.run_id)
        if remote is None:
            return
        remote.started_at, remote.worker, remote.pid = message.started_at, message.worker, message.pid
        if remote.run.timeout_s:
            delay = remote.run.timeout_s + self._config.kill_grace_s + BACKSTOP_SLACK_S
            remote.backstop = tell_later(self.actor_ref, delay, Deadline(0, "backstop", remote.run.run_id))

    def _on_done(self, message: DaskRunDone) -> None:
        remote = self._runs.get(message.run_id)
        if remote is None:
            return  # already recorded (worker lost, backstop)
        result = message.result
        if message.status == "finished" and isinstance(result, Mapping) and result.get("ended") == "result":
            self._finish_result(remote, result)
            return
        if message.status == "finished" and isinstance(result, Mapping) and result.get("ended") == "exited":
            remote.pid = result.get("pid") or remote.pid
            remote.started_at = remote.started_at or float(result.get("started_at") or 0.0)
            reason = remote.kill_reason or str(result.get("killed") or "")
            self._finish(remote, *_ending(remote.run, reason, signal_name(result.get("exitcode"))))
            return
        if message.status == "finished" and isinstance(result, Mapping) and result.get("ended") == "lost":
            self._finish(remote, Outcome.CRASHED, f"dask worker lost during {remote.run.describe()}: the run had "
                                                  f"started on a worker that left the cluster")
            return
        if message.status == "cancelled" and remote.kill_reason:
            self._finish(remote, *_ending(remote.run, remote.kill_reason, "before it started"))
            return
        self._finish(remote, Outcome.CRASHED, f"the Dask task of {remote.run.describe()} ended {message.status}: "
                                              f"{result}")

    def _on_worker_lost(self, message: DaskWorkerLost) -> None:
        for run_id, remote in list(self._runs.items()):
            started_there = remote.worker == message.worker
            if not started_there and not remote.worker and task_key(run_id) in message.keys:
                started_there = self._compute.was_started(run_id)  # its notice died with the worker
            if started_there:
                self._finish(remote, Outcome.CRASHED, f"dask worker lost: {message.worker} left the cluster during "
                                                      f"{remote.run.describe()}", cancel_task=True)

    def _on_backstop(self, run_id: str) -> None:
        remote = self._runs.get(run_id)
        if remote is None:
            return
        log.error("dask.run_unanswered", job=remote.run.name, job_id=remote.run.job_id, worker=remote.worker,
                  timeout_s=remote.run.timeout_s)
        self._compute.cancel(run_id)
        self._finish(remote, Outcome.TIMEOUT, f"timed out after {remote.run.timeout_s:g}s; the Dask worker "
                                              f"{remote.worker} did not report the kill", cancel_task=True)

    def _kill(self, run_id: str, reason: str) -> bool:
        remote = self._runs.get(run_id)
        if remote is None:
            return False
        remote.kill_reason = remote.kill_reason or reason
        self.status = "killing"
        self._compute.cancel(run_id)
        return True

    # ------------------------------------------------------------------ endings
    def _finish_result(self, remote: _Remote, result: Mapping[str, Any]) -> None:
        payload = result.get("payload") or {}
        remote.pid = result.get("pid") or remote.pid
        report = RunReport(
            outcome=Outcome(payload.get("outcome", "failed")),
            started_at=float(payload.get("started_at", remote.started_at or remote.submitted_at)),
            finished_at=float(payload.get("finished_at", time.time())), error=payload.get("error"),
            next_at=payload.get("next_at"), resubmit=payload.get("resubmit", True),
            children=tuple(payload.get("children") or ()),
        )
        self._record(remote, report, payload)

    def _finish(self, remote: _Remote, outcome: Outcome, error: str, *, cancel_task: bool = False) -> None:
        started = remote.started_at or remote.submitted_at
        report = RunReport(outcome=outcome, started_at=started, finished_at=max(time.time(), started), error=error)
        self._record(remote, report, {}, cancel_task=cancel_task)

    def _record(self, remote: _Remote, report: RunReport, payload: Mapping[str, Any], *,
                cancel_task: bool = False) -> None:
        """Journal the run, forget its task, tell the scheduler (the slot is free once the batch is done)."""
        run = remote.run
        doc = result_doc(run, report, payload, worker=self.slot, pid=remote.pid)
        doc["dask_worker"] = remote.worker or None
        self._dir.tell_journal(Records((doc,)))
        self._drop(run.run_id, cancel_task=cancel_task)
        free = not self._runs
        if free:
            self.status = "stopped" if self._stopping else "idle"
        self._dir.tell_scheduler(RunsFinished(self.slot, ((run, report),), worker_free=free))

    def _drop(self, run_id: str, *, cancel_task: bool) -> None:
        remote = self._runs.pop(run_id, None)
        if remote is not None and remote.backstop is not None:
            remote.backstop.cancel()
        self._compute.forget(run_id, cancel_task=cancel_task)


def _ending(run: Run, reason: str, described: str) -> tuple[Outcome, str]:
    """Outcome and error of a run whose process ended (killed for *reason*, or died)."""
    if reason == "timeout":
        return Outcome.TIMEOUT, f"timed out after {run.timeout_s:g}s and was killed ({described})"
    if reason == "cancel":
        return Outcome.CANCELLED, f"cancelled by an operator ({described})"
    if reason == "shutdown":
        return Outcome.INTERRUPTED, f"interrupted by the server shutting down ({described})"
    if reason == "released":
        return Outcome.INTERRUPTED, f"its Dask task was released while it ran ({described})"
    return Outcome.CRASHED, f"worker exited on {described} during {run.describe()}"


__all__ = ["DaskWorker", "child_config"]
