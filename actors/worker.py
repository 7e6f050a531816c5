"""Worker actor: owns ONE spawned subprocess, its pipe, its timeouts, kills and restarts.

One worker actor per slot. Its subprocess (`actors.child.child_main`) runs one run at a
time, from a queue: each run starts at its due time (runs are handed over before it,
`actors.childqueue`), and runs of fast classes may be appended while it works. A reader
thread blocks on the pipe and *tells* the actor what arrives, so the actor's inbox is never
blocked: a cancel or a timeout is handled while a task runs.

How a run can end, and what is recorded:

* the child sends a result           -> ``success`` or ``failed`` (the task's own verdict)
* the run outlives its timeout       -> SIGTERM to the process group, grace, SIGKILL: ``timeout``
* an operator cancels it             -> the same kill: ``cancelled``
* the server shuts down              -> the same kill after the shutdown grace: ``interrupted``
* the process dies on its own        -> ``crashed``, with the signal named ("signal 9 (SIGKILL)")

A dead process is restarted under a `RestartPolicy` (exponential backoff, at most R
restarts in W seconds); past that the slot is *degraded* and says so, while the other
slots keep working. A process is also replaced (not counted as a crash) after
``max_runs_per_process`` runs, after a MemoryError, and after we kill it.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import random
import signal
import threading
import time
from collections import deque
from collections.abc import Mapping
from multiprocessing.connection import Connection
from multiprocessing.reduction import ForkingPickler
from typing import Any

import pykka
import structlog

from actors.bounds import MAX_STAGE_AHEAD_S
from actors.child import EXIT_AFTER_MEMORY_ERROR, child_main
from actors.jobs import Outcome, Run, RunReport
from actors.logbudget import LogBudget
from actors.messages import (
    CancelRun,
    ChildExited,
    ChildFailed,
    ChildLogs,
    ChildReady,
    ChildResults,
    Configure,
    Deadline,
    Drain,
    GetStatus,
    Interrupt,
    Records,
    RunFinished,
    RunJob,
    RunRefused,
    RunsFinished,
    WorkerDown,
    WorkerReady,
)
from actors.payload import read_payload
from actors.pipespace import read_pipe, send_buffer, unread_bytes
from actors.policy import RestartTracker
from actors.routing import Directory, TimerHandle, tell_later
from actors.rundocs import dropped_line, line_batches, result_doc
from actors.workerconfig import WorkerConfig, signal_name

log = structlog.get_logger("das_actors.worker")

#: Share of the pipe's send buffer that runs appended to a busy process may fill (unread).
PIPE_SHARE = 0.5
#: Seconds to wait for a stopping child to exit before it is killed.
STOP_TIMEOUT_S = 2.0


class Worker(pykka.ThreadingActor):
    """One slot of the worker pool. Driven by `tell` only; see the module docstring."""

    def __init__(self, slot: int, config: WorkerConfig, directory: Directory) -> None:
        super().__init__()
        self.slot = slot
        self._config = config
        self._dir = directory
        self._ctx = multiprocessing.get_context("spawn")
        self._gen = 0
        self._process: Any = None
        self._conn: Connection | None = None
        self._pid = 0
        self._ready = False
        self._batch: deque[Run] = deque()  # runs sent to the child, in order; the head is running (or due next)
        self._pipe_room = 0  # bytes the process may leave unread before appends are refused
        self._run_started = 0.0
        self._kill_reason = ""
        self._runs_in_process = 0
        self._timers: list[TimerHandle] = []
        self._tracker = RestartTracker(config.restart)
        self._logs = LogBudget(config.log_max_lines, config.log_max_bytes)
        self._config_changed = False  # a live option changed since the subprocess was told
        self._stopping = False
        self.status = "starting"

    # ------------------------------------------------------------------ lifecycle hooks
    def on_start(self) -> None:
        """Actor thread: start the first process. A failure here is seen by the supervisor's liveness tick."""
        self._start_process()

    def on_stop(self) -> None:
        """Actor thread: stop the process (politely, then by force)."""
        self._stopping = True
        self._cancel_timers()
        self._stop_process()

    def on_failure(self, exception_type: Any, exception_value: Any, traceback: Any) -> None:
        """Actor thread, after an unhandled exception: kill the process, tell the supervisor."""
        self._cancel_timers()
        self._kill_group(signal.SIGKILL)
        head = self._batch.popleft() if self._batch else None
        if self._batch:
            self._dir.tell_scheduler(RunRefused(self.slot, tuple(self._batch), "its worker actor failed"))
        self._dir.tell_supervisor(ChildFailed("worker", self.slot, f"{exception_type.__name__}: {exception_value}",
                                              head))

    # ------------------------------------------------------------------ messages
    def on_receive(self, message: Any) -> Any:
        """Actor thread: dispatch on message type."""
        if isinstance(message, RunJob):
            self._on_runs(message.runs)
        elif isinstance(message, ChildLogs):
            if message.gen == self._gen and self._batch:
                self._forward_logs(message.records)
        elif isinstance(message, ChildResults):
            if message.gen == self._gen:
                self._on_results(message.results)
        elif isinstance(message, ChildReady):
            if message.gen == self._gen:
                self._on_ready(message.pid)
        elif isinstance(message, ChildExited):
            if message.gen == self._gen:
                self._on_exit(message.exitcode)
        elif isinstance(message, Deadline):
            self._on_deadline(message)
        elif isinstance(message, CancelRun):
            if self._batch and self._batch[0].run_id == message.run_id:
                self._kill_run("cancel")
                return True
            return False
        elif isinstance(message, GetStatus):
            return self.describe()
        elif isinstance(message, Configure):
            self._configure(message.changes)
        elif isinstance(message, Drain):  # shutdown, step 1: take no new runs, let the current ones finish
            self._stopping = True
            return bool(self._batch)
        elif isinstance(message, Interrupt):  # shutdown, step 2: the grace is over
            return self._interrupt()
        return None

    def describe(self) -> dict[str, Any]:
        """A JSON-safe view of this slot for the panel."""
        head = self._batch[0] if self._batch else None
        return {
            "slot": self.slot, "status": self.status, "pid": self._pid or None,
            "run": None if head is None else {
                "run_id": head.run_id, "job_id": head.job_id, "name": head.name,
                "index": head.index, "attempt": head.attempt, "started_at": self._run_started,
            },
            "queued": len(self._batch) - 1 if self._batch else 0,
            "runs_in_process": self._runs_in_process, "recent_restarts": self._tracker.recent_restarts,
        }

    # ------------------------------------------------------------------ process
    def _start_process(self) -> None:
        self._gen += 1
        gen = self._gen
        parent_conn, child_conn = self._ctx.Pipe(duplex=True)
        config = self._config.child_config()
        self._config_changed = False
        process = self._ctx.Process(target=child_main, args=(child_conn, config), name=f"das-worker-{self.slot}",
                                    daemon=True)
        process.start()
        child_conn.close()  # or EOF never arrives when the child dies
        self._process, self._conn, self._pid = process, parent_conn, process.pid or 0
        self._pipe_room = send_buffer(parent_conn)
        self._ready, self._runs_in_process, self._kill_reason = False, 0, ""
        self.status = "starting"
        self._tracker.started(time.monotonic())
        ref = self.actor_ref
        threading.Thread(target=read_pipe, args=(ref, gen, parent_conn, process),
                         name=f"worker-{self.slot}-reader-{gen}", daemon=True).start()

    def _stop_process(self) -> None:
        process, conn = self._process, self._conn
        if process is None:
            return
        if conn is not None:
            try:
                conn.send(("stop",))
            except (OSError, ValueError):
                pass
        process.join(STOP_TIMEOUT_S)
        if process.is_alive():
            self._kill_group(signal.SIGKILL)
            process.join(STOP_TIMEOUT_S)
        self._process = None

    def _kill_group(self, sig: int) -> None:
        """Signal the subprocess's whole process group, whether or not its leader still lives:
        what a task started (a grandchild ignoring SIGTERM) must not outlive the run."""
        if not self._pid or self._process is None:
            return
        try:
            os.killpg(self._pid, sig)
        except ProcessLookupError:
            pass
        except PermissionError:  # not (yet) a group leader: kill the process itself
            if self._process.exitcode is None:
                os.kill(self._pid, sig)

    def _configure(self, changes: Mapping[str, Any]) -> None:
        """A live option changed: new runs (and new processes) use the new values. The subprocess
        is told with its next batch (`_send_config`): while it runs a task it reads nothing, and a
        pipe that fills up must never block this actor (its timeouts would stop firing)."""
        known = {name: value for name, value in changes.items() if name in WorkerConfig.__dataclass_fields__}
        self._config = dataclasses.replace(self._config, **known)
        self._logs.set_limits(self._config.log_max_lines, self._config.log_max_bytes)
        self._config_changed = True

    def _send_config(self) -> None:
        """Tell an idle subprocess (it waits on the pipe for its next batch) the changed options."""
        if self._config_changed and self._conn is not None:
            self._config_changed = False
            self._conn.send(("config", self._config.child_config()))

    def _on_ready(self, pid: int) -> None:
        self._ready = True
        self._pid = pid
        self.status = "idle"
        log.debug("worker.ready", slot=self.slot, pid=pid)
        self._dir.tell_scheduler(WorkerReady(self.slot, pid))

    # ------------------------------------------------------------------ runs
    def _on_runs(self, runs: Any) -> None:
        """Runs for the process: a new batch when it is idle, else appended to its queue (it reads
        the pipe between runs, `actors.childqueue`), unless what it has not read yet would pass
        `PIPE_SHARE` of the pipe's buffer (`actors.pipespace`): a process busy with a long run must
        never fill the pipe and block this actor."""
        if not self._ready or self._conn is None or self._stopping:
            self._dir.tell_scheduler(RunRefused(self.slot, tuple(runs), f"worker {self.slot} is {self.status}"))
            return
        data = bytes(ForkingPickler.dumps(("runs", [run.to_wire() for run in runs])))
        appending = bool(self._batch)
        if appending and not self._room_for(len(data)):
            self._dir.tell_scheduler(RunRefused(self.slot, tuple(runs), f"worker {self.slot} has a full queue"))
            return
        self._batch.extend(runs)
        if not appending:
            self._run_started, self._kill_reason = time.time(), ""
            self.status = "busy"
        try:
            self._send_config()
            self._conn.send_bytes(data)
        except (OSError, ValueError):
            return  # the reader thread reports the dead process; _on_exit records the runs
        if not appending:
            self._arm_timeout()

    def _room_for(self, size: int) -> bool:
        unread = unread_bytes(self._conn) if self._conn is not None else None
        return unread is not None and unread + size <= self._pipe_room * PIPE_SHARE

    def _arm_timeout(self) -> None:
        self._cancel_timers()
        head = self._batch[0] if self._batch else None
        if head is not None and head.timeout_s:
            staged = min(max(head.due_at - time.time(), 0.0), MAX_STAGE_AHEAD_S)  # the process waits for its due time
            self._arm(head.timeout_s + staged, Deadline(self._gen, "timeout", head.run_id))

    def _on_results(self, results: Any) -> None:
        finished: list[tuple[Run, RunReport]] = []
        docs: list[dict[str, Any]] = []
        exit_after = False
        for run_id, payload in results:
            if not self._batch or self._batch[0].run_id != run_id:
                log.error("worker.protocol", slot=self.slot, got=run_id,
                          expected=self._batch[0].run_id if self._batch else None)
                continue
            run = self._batch.popleft()
            self._runs_in_process += 1
            read = read_payload(payload, started_default=self._run_started, now=time.time(),
                                max_result_bytes=self._config.result_max_bytes)
            report = read.report
            lines, chars = self._logs.end_run(run.run_id)
            dropped = self._logs.note(lines + read.logs_dropped[0], chars + read.logs_dropped[1])
            docs.extend(dropped_line(run, dropped))
            docs.append(self._result_doc(run, report, {
                "traceback": read.traceback, "result": read.result, "rss_kb": read.rss_kb,
                "notes": [*read.notes, *([dropped] if dropped else [])], "child_errors": read.child_errors}))
            finished.append((run, report))
            self._run_started = report.finished_at
            exit_after = exit_after or read.exit_after
        if docs:
            self._dir.tell_journal(Records(docs))
        if self._batch:
            self._arm_timeout()
            if finished:
                self._dir.tell_scheduler(RunsFinished(self.slot, finished, worker_free=False))
            return
        self._cancel_timers()
        self._logs.retain(())  # the batch is done: no run of this process logs any more
        recycle = exit_after or (
            self._config.max_runs_per_process and self._runs_in_process >= self._config.max_runs_per_process)
        if recycle:
            self._kill_reason = "recycle"
            self.status = "recycling"
            self._dir.tell_scheduler(RunsFinished(self.slot, finished, worker_free=False))
            if not exit_after:
                self._conn_send_stop()
            return
        self.status = "idle"
        self._dir.tell_scheduler(RunsFinished(self.slot, finished, worker_free=True))

    def _conn_send_stop(self) -> None:
        if self._conn is not None:
            try:
                self._conn.send(("stop",))
            except (OSError, ValueError):
                pass

    def _kill_run(self, reason: str) -> None:
        self._kill_reason = reason
        self.status = "killing"
        self._kill_group(signal.SIGTERM)
        self._arm(self._config.kill_grace_s, Deadline(self._gen, "kill"))

    def _on_deadline(self, message: Deadline) -> None:
        if message.gen != self._gen:
            return
        head = self._batch[0] if self._batch else None
        if message.what == "timeout" and head is not None and head.run_id == message.run_id:
            log.warning("run.timeout", slot=self.slot, job_id=head.job_id, job=head.name,
                        index=head.index, timeout_s=head.timeout_s)
            self._kill_run("timeout")
        elif message.what == "kill":
            self._kill_group(signal.SIGKILL)
        elif message.what == "restart" and not self._stopping:
            self._start_process()

    def _on_exit(self, exitcode: int | None) -> None:
        self._cancel_timers()
        self._ready = False
        reason = self._kill_reason
        if reason in ("timeout", "cancel", "shutdown"):
            self._kill_group(signal.SIGKILL)  # the leader is gone: what it left of the run goes too
        run = self._batch.popleft() if self._batch and reason != "recycle" else None
        if self._batch:  # never started: back to the scheduler, no penalty
            self._dir.tell_scheduler(RunRefused(self.slot, tuple(self._batch), "its worker process went away"))
            self._batch.clear()
        described = signal_name(exitcode)
        if run is not None:
            outcome, error = {
                "timeout": (Outcome.TIMEOUT, f"timed out after {run.timeout_s:g}s and was killed ({described})"),
                "cancel": (Outcome.CANCELLED, f"cancelled by an operator ({described})"),
                "shutdown": (Outcome.INTERRUPTED, f"interrupted by the server shutting down ({described})"),
            }.get(reason, (Outcome.CRASHED, f"worker exited on {described} during {run.describe()}"))
            report = RunReport(outcome=outcome, started_at=self._run_started, finished_at=time.time(), error=error)
            dropped = self._logs.note(*self._logs.end_run(run.run_id))
            self._dir.tell_journal(Records((self._result_doc(run, report, {"notes": [dropped] if dropped else []}),
                                            *dropped_line(run, dropped))))
            self._dir.tell_scheduler(RunFinished(self.slot, run, report, worker_free=False))
        if self._stopping or reason == "shutdown":
            self.status = "stopped"
            return
        planned = reason in ("timeout", "cancel", "recycle") or exitcode == EXIT_AFTER_MEMORY_ERROR
        if planned:
            delay: float | None = 0.0
        else:
            delay = self._tracker.exited(time.monotonic(), random.random)
            log.error("worker.crashed", slot=self.slot, pid=self._pid, exit=described,
                      job=run.name if run else None, restart_in_s=delay)
        if delay is None:
            self.status = "degraded"
            log.error("worker.degraded", slot=self.slot, restarts=self._tracker.recent_restarts,
                      window_s=self._config.restart.window_s,
                      reason=f"more than {self._config.restart.max_restarts} restarts in "
                             f"{self._config.restart.window_s:g}s; slot left down")
            self._dir.tell_scheduler(WorkerDown(self.slot, described, degraded=True))
            return
        self.status = "restarting"
        self._dir.tell_scheduler(WorkerDown(self.slot, described))
        if delay <= 0:
            self._start_process()
        else:
            self._arm(delay, Deadline(self._gen, "restart"))

    def _interrupt(self) -> bool:
        """Shutdown: kill the current run (recorded ``interrupted``). True if there was one."""
        self._stopping = True
        if not self._batch:
            return False
        self._kill_run("shutdown")
        return True

    # ------------------------------------------------------------------ journal
    def _result_doc(self, run: Run, report: RunReport, payload: Any) -> dict[str, Any]:
        return result_doc(run, report, payload, worker=self.slot, pid=self._pid)

    def _forward_logs(self, records: Any) -> None:
        admitted = self._logs.admit_records(records)
        docs = line_batches(admitted, {run.run_id: run for run in self._batch})
        if docs:
            self._dir.tell_journal(Records(docs))

    # ------------------------------------------------------------------ timers
    def _arm(self, delay_s: float, message: Deadline) -> None:
        self._timers.append(tell_later(self.actor_ref, delay_s, message))

    def _cancel_timers(self) -> None:
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
