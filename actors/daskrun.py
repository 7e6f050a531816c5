"""What a Dask worker runs for one das-actors run: a child process of ours, watched.

`actors.daskworker` submits `run_remote` with the run's wire dict; Dask calls it in one of
its worker threads. The run itself happens where it happens locally, in
`actors.child.child_main`, in a subprocess of the Dask worker, so a run on a cluster is
bounded like a local one:

* its own process group (a kill reaches whatever the task started), the memory cap
  (``RLIMIT_AS``), SIGINT ignored, logs and ``print`` captured: all `actors.child`;
* the timeout is enforced here, next to the process: SIGTERM to the group, ``kill_grace_s``,
  SIGKILL, as `actors.worker` does;
* cancel: Dask cannot stop a running function (dask/distributed#2617), so a thread here
  long-polls a `distributed.Event` named after the run (from `WATCH_AFTER_S` into the run on),
  and when the server sets it the group is killed the same way. A run whose Dask task was
  cancelled or released (its server went away), or whose Dask worker is closing, is killed too;
* log batches are published as they arrive (`distributed.Worker.log_event` on `LOG_TOPIC`,
  with a ``started`` notice first), so the server's live tail follows a remote run; the
  result is the function's return value;
* a run starts at most once: an Event marks it started, and a second execution of the same
  key (Dask re-runs the tasks of a lost worker elsewhere) returns ``lost`` without running,
  so the server records the run crashed and retries it under the job's budget.

The process is kept warm between runs (one per Dask worker thread), as a local worker keeps
its process, and replaced after a kill, a death, a MemoryError or ``max_runs_per_process``
runs. It is a plain `subprocess` joined by a socket pair, not `multiprocessing`: a Dask
worker under a nanny is a daemonic process, and those may not have multiprocessing children.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from multiprocessing.connection import Connection
from typing import Any

from actors.jobs import canonical_json

#: The event topic of run notices (``started``) and log batches, one per cluster.
LOG_TOPIC = "das-actors-runs"
#: Seconds between checks of the process, the deadline and the cancel flag.
POLL_S = 0.05
#: Seconds one long-poll of the cancel Event lasts (a set Event answers at once); a watcher
#: outlives its run by at most this.
CANCEL_WAIT_S = 1.0
#: Seconds a run goes before its cancel watcher starts: a burst of short runs costs the
#: scheduler no waits at all (a run cancelled before it started is cancelled in Dask).
WATCH_AFTER_S = 0.2
#: Seconds a new child process has to say it is ready.
READY_TIMEOUT_S = 120.0
#: Seconds a stopping child has before it is killed.
STOP_TIMEOUT_S = 2.0
#: Default seconds between SIGTERM and SIGKILL (the server sends its own, ``kill_grace_s``).
KILL_GRACE_S = 2.0

#: The child's entry: the same `child_main` a local worker spawns, its config read from the pipe.
_BOOT = ("import sys; from multiprocessing.connection import Connection; from actors.child import child_main; "
         "conn = Connection(int(sys.argv[1])); child_main(conn, conn.recv())")
#: Dask worker states in which a run is killed: the worker is going away (its scheduler is gone, or
#: an operator stopped it); it would otherwise wait for the run before it exits.
_WORKER_GONE = frozenset({"closing", "closed", "failed"})
#: Keys of the config that are the wrapper's, not the child's.
_WRAPPER_KEYS = ("kill_grace_s", "max_runs_per_process")


class ChildStartError(RuntimeError):
    """The child process died or stayed silent before it was ready (a broken install on the worker)."""


def cancel_event_name(run_id: str) -> str:
    """The `distributed.Event` the server sets to cancel (or interrupt) *run_id*."""
    return f"das-actors-cancel-{run_id}"


def started_event_name(run_id: str) -> str:
    """The `distributed.Event` set when *run_id* starts on a worker (at most once)."""
    return f"das-actors-started-{run_id}"


def run_id_of(wire: Mapping[str, Any]) -> str:
    """``job_id:index:attempt`` of a wire dict (`actors.jobs.Run.run_id`)."""
    return f"{wire['job_id']}:{wire['index']}:{wire['attempt']}"


class _Child:
    """One child process (`actors.child.child_main`) and its end of the socket pair."""

    def __init__(self, config: Mapping[str, Any], fingerprint: bytes) -> None:
        self.fingerprint = fingerprint
        parent_sock, child_sock = socket.socketpair()
        child_fd = child_sock.detach()
        try:
            self.process = subprocess.Popen(  # our own interpreter and entry point
                [sys.executable, "-c", _BOOT, str(child_fd)], pass_fds=(child_fd,), process_group=0,
                stdin=subprocess.DEVNULL)
        finally:
            os.close(child_fd)  # or EOF never arrives when the child dies
        self.conn = Connection(parent_sock.detach())
        self.pid = self.process.pid
        self.runs = 0
        self.conn.send({k: v for k, v in config.items() if k not in _WRAPPER_KEYS})
        if not self.conn.poll(READY_TIMEOUT_S):
            self.close()
            raise ChildStartError(f"the task process (pid {self.pid}) was not ready within {READY_TIMEOUT_S:g}s")
        try:
            message = self.conn.recv()
        except (EOFError, OSError):
            code = self.process.wait(STOP_TIMEOUT_S)
            raise ChildStartError(f"the task process (pid {self.pid}) exited before it was ready "
                                  f"(exit status {code}); see the Dask worker's log") from None
        if message[0] != "ready":
            self.close()
            raise ChildStartError(f"the task process said {message[0]!r} before 'ready'")

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill_group(self, sig: int) -> None:
        if self.alive():
            try:
                os.killpg(self.pid, sig)
            except ProcessLookupError:
                pass

    def close(self) -> None:
        """Ask the process to stop; a daemon thread reaps it (or kills it after `STOP_TIMEOUT_S`)."""
        try:
            self.conn.send(("stop",))
        except (OSError, ValueError):
            pass
        threading.Thread(target=self._reap, name=f"das-child-reaper-{self.pid}", daemon=True).start()

    def _reap(self) -> None:
        try:
            self.process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.kill_group(signal.SIGKILL)
            self.process.wait()
        self.conn.close()


#: The warm child of each Dask worker thread (a thread runs one task at a time).
_CHILDREN: dict[int, _Child] = {}


def _child_for(config: Mapping[str, Any]) -> _Child:
    fingerprint = canonical_json(dict(config))
    thread = threading.get_ident()
    child = _CHILDREN.get(thread)
    if child is not None and (not child.alive() or child.fingerprint != fingerprint):
        child.close()
        child = None
    if child is None:
        child = _CHILDREN[thread] = _Child(config, fingerprint)
    return child


def _retire(child: _Child) -> None:
    if _CHILDREN.get(threading.get_ident()) is child:
        del _CHILDREN[threading.get_ident()]
    child.close()


class _CancelWatch:
    """The run's cancel Event, long-polled by a daemon thread that starts only once the run has
    gone `WATCH_AFTER_S`; `fired` says whether the server has set it."""

    def __init__(self, client: Any, name: str) -> None:
        self._client, self._name = client, name
        self._began = time.monotonic()
        self._fired = threading.Event()
        self._done = threading.Event()
        self._thread: threading.Thread | None = None

    def fired(self, now: float) -> bool:
        if self._thread is None and now - self._began >= WATCH_AFTER_S:
            self._thread = threading.Thread(target=self._watch, name=f"das-cancel-watch-{self._name}", daemon=True)
            self._thread.start()
        return self._fired.is_set()

    def _watch(self) -> None:
        from distributed import Event

        event = Event(self._name, client=self._client)
        while not self._done.is_set():
            try:
                if event.wait(CANCEL_WAIT_S):
                    self._fired.set()
                    return
            except Exception:  # noqa: BLE001 - the scheduler is away for a moment: try again
                self._done.wait(CANCEL_WAIT_S)

    def stop(self) -> None:
        self._done.set()


def run_remote(wire: Mapping[str, Any], config: Mapping[str, Any]) -> dict[str, Any]:
    """Run one run on this Dask worker (the function the server submits); see the module docstring.

    Returns ``{"ended": "result", "payload": ...}`` (the child's payload, as locally),
    ``{"ended": "exited", "exitcode": ..., "killed": "" | "timeout" | "cancel" | "released"}``
    (the process died or was killed) or ``{"ended": "lost"}`` (the run had started before, on
    a worker that was lost); each also carries ``worker`` (this worker's address) and ``pid``.
    """
    from distributed import Event, get_client, get_worker

    worker, client = get_worker(), get_client()
    run_id, key = run_id_of(wire), worker.get_current_task()
    started_marker = Event(started_event_name(run_id), client=client)
    if started_marker.is_set():
        return {"ended": "lost", "worker": worker.address, "pid": None}
    started_marker.set()
    child = _child_for(config)
    watch = _CancelWatch(client, cancel_event_name(run_id))
    try:
        return _watch_run(wire, config, child, watch, worker=worker, key=key)
    finally:
        watch.stop()


def _watch_run(wire: Mapping[str, Any], config: Mapping[str, Any], child: _Child, watch: _CancelWatch, *,
               worker: Any, key: Any) -> dict[str, Any]:
    """Send the run to *child* and watch it to its end (result, death or kill)."""
    run_id = run_id_of(wire)
    started_at = time.time()
    began = time.monotonic()
    timeout = wire.get("timeout")
    deadline = began + float(timeout) if timeout else None
    grace = float(config.get("kill_grace_s") or KILL_GRACE_S)
    ended = {"worker": worker.address, "pid": child.pid}
    worker.log_event(LOG_TOPIC, {"kind": "started", "run_id": run_id, "worker": worker.address, "pid": child.pid,
                                 "started_at": started_at})
    try:
        child.conn.send(("runs", [dict(wire)]))
    except (OSError, ValueError):
        pass  # the process is gone: found below
    killed, kill_at = "", 0.0
    while True:
        try:
            message = child.conn.recv() if child.conn.poll(POLL_S) else None
        except (EOFError, OSError):
            break
        if message is not None and message[0] == "logs":  # then the checks: a chatty run times out too
            worker.log_event(LOG_TOPIC, {"kind": "logs", "run_id": run_id, "records": message[1]})
        elif message is not None and message[0] == "results":
            payload = dict(message[1][0][1])
            child.runs += 1
            limit = int(config.get("max_runs_per_process") or 0)
            if payload.get("exit_after") or (limit and child.runs >= limit):
                _retire(child)
            return {**ended, "ended": "result", "payload": payload}
        now = time.monotonic()
        if not killed:
            task = worker.state.tasks.get(key)
            if watch.fired(now):
                killed = "cancel"
            elif task is None or task.state == "cancelled" or worker.status.name in _WORKER_GONE:
                killed = "released"
            elif deadline is not None and now >= deadline:
                killed = "timeout"
            if killed:
                child.kill_group(signal.SIGTERM)
                kill_at = now + grace
        elif kill_at and now >= kill_at:
            child.kill_group(signal.SIGKILL)
            kill_at = 0.0
        if not child.alive() and not child.conn.poll(0):
            break
    exitcode = child.process.wait()
    _retire(child)
    return {**ended, "ended": "exited", "exitcode": exitcode, "killed": killed, "started_at": started_at}
