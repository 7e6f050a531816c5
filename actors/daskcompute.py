"""The server's one connection to a Dask cluster, shared by every Dask worker slot.

With ``compute = "dask://host:port"`` each worker slot is a `actors.daskworker.DaskWorker`;
they all submit through one `DaskCompute`: one `distributed.Client`, one subscription to the
run notices and log batches the wrappers publish (`actors.daskrun.LOG_TOPIC`), one to the
cluster's own events (a worker leaving), and one collector of finished tasks.

* Submitting: ``client.submit(run_remote, wire, config, key="das-run-<run_id>", pure=False,
  retries=0, resources=...)``. The run id names the attempt (``job:index:attempt``), so the
  same run submitted twice, by this server or another one, is one task, computed once.
  Placement is the job's ``resources`` on top of ``{"SLOT": 1}`` when the cluster's workers
  advertise ``SLOT``.
* Results: an `distributed.as_completed` with results gathers finished tasks on the
  client's event loop; a collector thread tells each owner a `DaskRunDone`.
* Logs go straight to the journal as ``reslog`` line batches (`actors.rundocs.line_batches`), as
  they arrive, for the runs this server submitted (other servers may share the cluster);
  ``started`` notices go to the owner (`DaskRunStarted`).
* A worker that leaves the cluster is reported to the owners of runs that started there
  (`DaskWorkerLost`).
* Cancel sets the run's `distributed.Event`, which the wrapper watches; when the owner is done
  with a run, its task is released and its Events cleared (fire and forget, on the event loop).

Event-loop callbacks only ever *tell* actors (non-blocking); everything that waits on the
scheduler runs in the actor threads or the collector thread.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pykka
import structlog

from actors.daskrun import LOG_TOPIC, cancel_event_name, run_remote, started_event_name
from actors.errors import ComputeError
from actors.jobs import Run
from actors.messages import Records
from actors.routing import Directory
from actors.rundocs import line_batches

log = structlog.get_logger("das_actors.dask")

#: Seconds to connect to the Dask scheduler at start.
CONNECT_TIMEOUT_S = 10.0
#: Seconds between refreshes of what the workers advertise (``SLOT``, resources), at most.
WORKERS_REFRESH_S = 30.0
#: Seconds the client has to close at shutdown.
CLOSE_TIMEOUT_S = 5.0
#: The resource a worker offers once per run it may take (``dask worker --resources SLOT=1``).
SLOT = "SLOT"
#: The prefix of every task key (the Dask dashboard groups tasks by it).
KEY_PREFIX = "das-run-"
#: Runs remembered after they were forgotten, so that a late log batch still finds its run (log
#: batches of runs this server never submitted, another server's on the same cluster, are ignored).
RECENT_RUNS = 10_000


@dataclass(frozen=True, slots=True)
class DaskRunStarted:
    """The wrapper started *run_id* on Dask worker *worker*, in process *pid* (a remote pid)."""

    run_id: str
    worker: str
    pid: int | None
    started_at: float


@dataclass(frozen=True, slots=True)
class DaskRunDone:
    """The task of *run_id* ended: ``status`` is Dask's (finished, error, cancelled), ``result``
    the wrapper's return value, or the error's text."""

    run_id: str
    status: str
    result: Any


@dataclass(frozen=True, slots=True)
class DaskWorkerLost:
    """Dask worker *worker* left the cluster while it had these task keys."""

    worker: str
    keys: frozenset[str]


@dataclass(slots=True)
class _Tracked:
    run: Run
    owner: pykka.ActorRef[Any]
    future: Any
    worker: str = ""
    cancel_set: bool = False  # its cancel Event was set (and must be cleared)


def task_key(run_id: str) -> str:
    """The Dask key of a run: one task per attempt, whoever submits it."""
    return KEY_PREFIX + run_id


class DaskCompute:
    """See the module docstring. `open` connects (or raises `ComputeError`), `close` disconnects."""

    def __init__(self, address: str, directory: Directory, *, connect_timeout_s: float = CONNECT_TIMEOUT_S) -> None:
        self.address = address
        self._dir = directory
        self._connect_timeout_s = connect_timeout_s
        self._client: Any = None
        self._completed: Any = None
        self._tracked: dict[str, _Tracked] = {}
        self._lock = threading.Lock()
        self._added = threading.Event()
        self._closed = False
        self._collector: threading.Thread | None = None
        self._workers: dict[str, dict[str, float]] = {}
        self._workers_at = 0.0
        self._warned: set[tuple[str, ...]] = set()
        self._recent: OrderedDict[str, Run] = OrderedDict()
        self._subscribed_on: Any = None  # the client's scheduler connection our topics were subscribed on

    # ------------------------------------------------------------------ lifecycle
    def open(self) -> DaskCompute:
        """Connect, subscribe, start the collector. `ComputeError` when the scheduler cannot be reached."""
        self._connect()
        self._collector = threading.Thread(target=self._collect, name="dask-collector", daemon=True)
        self._collector.start()
        log.info("dask.connected", scheduler=self.address, workers=len(self._workers),
                 default_resources=self.default_resources())
        return self

    def _connect(self) -> None:
        try:
            from distributed import Client, as_completed
        except ImportError as exc:
            raise ComputeError(f"compute={self.address}: the distributed package is not installed "
                               "(pip install 'das-actors[dask]')") from exc
        old, self._client = self._client, None
        if old is not None:
            try:
                old.close(timeout=CLOSE_TIMEOUT_S)
            except (OSError, RuntimeError) as exc:  # it gave up already: nothing to release
                log.warning("dask.close_failed", error=str(exc))
        try:
            client = Client(self.address, timeout=self._connect_timeout_s, set_as_default=False)
        except OSError as exc:  # TimeoutError included
            raise ComputeError(f"compute: cannot reach the Dask scheduler at {self.address} within "
                               f"{self._connect_timeout_s:g}s: {exc}") from exc
        self._subscribe(client)
        self._completed = as_completed(loop=client.loop, with_results=True, raise_errors=False)
        self._client = client
        self._refresh_workers(force=True)

    def _subscribe(self, client: Any) -> None:
        client.subscribe_topic(LOG_TOPIC, self._on_run_event)
        client.subscribe_topic("all", self._on_cluster_event)
        self._subscribed_on = client.scheduler_comm

    def _ensure_connected(self) -> None:
        """Actor thread, before a submission. A client that reconnected is subscribed again (Dask
        does not send the subscriptions again); one that gave up reconnecting (after
        ``connect_timeout_s``) is replaced; one still reconnecting refuses (`ComputeError`)."""
        client = self._client
        status = "closed" if client is None else str(client.status)
        if status == "running":
            if client.scheduler_comm is not self._subscribed_on:
                self._subscribe(client)
                log.warning("dask.reconnected", scheduler=self.address)
            return
        if status in ("connecting", "newly-created"):
            raise ComputeError(f"compute: reconnecting to the Dask scheduler at {self.address}")
        self._connect()
        log.warning("dask.reconnected", scheduler=self.address, new_client=True)

    def close(self) -> None:
        """Release every task still tracked, stop the collector, disconnect."""
        self._closed = True
        self._added.set()
        with self._lock:
            tracked, self._tracked = self._tracked, {}
        client = self._client
        if client is None:
            return
        for item in tracked.values():
            if not item.future.done():
                item.future.cancel()
        if self._collector is not None:
            self._collector.join(CLOSE_TIMEOUT_S)
        try:
            client.close(timeout=CLOSE_TIMEOUT_S)
        except (OSError, RuntimeError) as exc:  # already gone: nothing to release
            log.warning("dask.close_failed", error=str(exc))
        self._client = None

    # ------------------------------------------------------------------ runs
    def submit(self, run: Run, config: Mapping[str, Any], owner: pykka.ActorRef[Any]) -> None:
        """Submit *run* (its wrapper gets *config*); *owner* will be told `DaskRunStarted` and `DaskRunDone`."""
        if self._closed:
            raise ComputeError(f"compute: the connection to the Dask scheduler at {self.address} is closed")
        self._ensure_connected()
        resources = self.placement(run)
        try:
            future = self._client.submit(run_remote, run.to_wire(), dict(config), key=task_key(run.run_id),
                                         pure=False, retries=0, resources=resources or None)
        except Exception as exc:  # whatever the client raises, the run was not submitted
            raise ComputeError(f"compute: submitting {run.describe()} to the Dask scheduler at {self.address} "
                               f"failed: {type(exc).__name__}: {exc}") from exc
        with self._lock:
            self._tracked[run.run_id] = _Tracked(run, owner, future)
        self._completed.add(future)
        self._added.set()

    def placement(self, run: Run) -> dict[str, float]:
        """The resources *run* asks Dask for: ``{"SLOT": 1}`` if the cluster has slots, plus the job's own.
        Warns (once per combination) when no worker known now offers them all."""
        self._refresh_workers()
        resources = {**self.default_resources(), **dict(run.resources)}
        if run.resources and not any(all(offered.get(name, 0) >= amount for name, amount in resources.items())
                                     for offered in self._workers.values()):
            wanted = tuple(sorted(f"{name}={amount:g}" for name, amount in resources.items()))
            if wanted not in self._warned:
                self._warned.add(wanted)
                log.warning("dask.no_worker_offers", job=run.name, job_id=run.job_id, resources=dict(resources),
                            note="the run waits in Dask until a worker offering these resources joins")
        return resources

    def default_resources(self) -> dict[str, float]:
        """``{"SLOT": 1}`` when a worker of the cluster advertises SLOT, else nothing."""
        return {SLOT: 1} if any(SLOT in offered for offered in self._workers.values()) else {}

    def cancel(self, run_id: str) -> None:
        """Ask the wrapper of *run_id* to kill its process; a task not started yet is cancelled in Dask too."""
        with self._lock:
            item = self._tracked.get(run_id)
            if item is not None:
                item.cancel_set = True
        self._fire("event_set", cancel_event_name(run_id))
        if item is not None and not item.worker and not item.future.done():
            item.future.cancel()

    def was_started(self, run_id: str) -> bool:
        """Whether a wrapper has started *run_id* (a scheduler round trip; for the rare worker-lost race)."""
        from distributed import Event

        try:
            return bool(Event(started_event_name(run_id), client=self._client).is_set())
        except (OSError, RuntimeError):
            return False

    def forget(self, run_id: str, *, cancel_task: bool = False) -> None:
        """The owner is done with *run_id*: release its task (cancel it if asked) and clear its Events."""
        with self._lock:
            item = self._tracked.pop(run_id, None)
            if item is not None:
                self._recent[run_id] = item.run
                if len(self._recent) > RECENT_RUNS:
                    self._recent.popitem(last=False)
        if item is not None and cancel_task and not item.future.done():
            item.future.cancel()
        else:  # a released task is never run again; one Dask re-runs (a lost worker's) must find the mark
            self._fire("event_clear", started_event_name(run_id))
        if item is None or item.cancel_set:
            self._fire("event_clear", cancel_event_name(run_id))

    def describe(self) -> dict[str, Any]:
        """The connection for the status page."""
        client = self._client
        return {"scheduler": self.address, "connection": "closed" if client is None else str(client.status),
                "workers": len(self._workers), "default_resources": self.default_resources(),
                "tracked": len(self._tracked)}

    # ------------------------------------------------------------------ internals
    def _fire(self, operation: str, name: str) -> None:
        """Call an Event operation of the scheduler without waiting (on the client's event loop)."""
        client = self._client
        if client is None:
            return

        async def call() -> None:
            try:
                await getattr(client.scheduler, operation)(name=name)
            except (OSError, RuntimeError) as exc:
                log.warning("dask.event_failed", operation=operation, name=name, error=str(exc))

        client.loop.add_callback(call)

    def _refresh_workers(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and (now - self._workers_at < WORKERS_REFRESH_S or self._client is None):
            return
        self._workers_at = now
        try:
            info = self._client.scheduler_info(n_workers=-1)
        except (OSError, RuntimeError) as exc:
            log.warning("dask.workers_unknown", error=str(exc))
            return
        self._workers = {address: dict(w.get("resources") or {}) for address, w in info.get("workers", {}).items()}

    def _collect(self) -> None:
        """Collector thread: tell each finished task's owner, until closed."""
        while not self._closed:
            self._added.clear()
            try:
                future, result = next(self._completed)
            except StopIteration:
                self._added.wait()
                continue
            run_id = str(future.key)[len(KEY_PREFIX):]
            with self._lock:
                item = self._tracked.get(run_id)
            if item is None:
                continue  # already forgotten (classified otherwise)
            if future.status == "error":
                _, exc, _ = result
                result = f"{type(exc).__name__}: {exc}"
            elif future.status == "cancelled":
                result = str(result) or "cancelled"
            _tell(item.owner, DaskRunDone(run_id, str(future.status), result))
            del future, result, item  # the task is released once the owner forgets it too

    def _on_run_event(self, event: tuple[float, Any]) -> None:
        """Event loop: a wrapper's ``started`` notice or log batch."""
        msg = event[1]
        run_id = str(msg.get("run_id"))
        with self._lock:
            item = self._tracked.get(run_id)
            if item is not None and msg.get("kind") == "started":
                item.worker = str(msg.get("worker"))
            run = item.run if item is not None else self._recent.get(run_id)
        if msg.get("kind") == "logs" and run is not None:
            self._dir.tell_journal(Records(line_batches(msg.get("records") or (), {run_id: run})))
        elif msg.get("kind") == "started" and item is not None:
            _tell(item.owner, DaskRunStarted(run_id, str(msg.get("worker")), msg.get("pid"),
                                             float(msg.get("started_at") or time.time())))

    def _on_cluster_event(self, event: tuple[float, Any]) -> None:
        """Event loop: the scheduler's own events; a worker leaving concerns the runs it had."""
        msg = event[1]
        if not isinstance(msg, Mapping) or msg.get("action") != "remove-worker":
            return
        worker = str(msg.get("worker"))
        keys = frozenset(str(k) for k in msg.get("processing-tasks") or ())
        self._workers.pop(worker, None)
        with self._lock:
            owners = {id(i.owner): i.owner for i in self._tracked.values()
                      if i.worker == worker or task_key(i.run.run_id) in keys}
        log.warning("dask.worker_lost", worker=worker, runs_in_flight=len(keys), expected=msg.get("expected"))
        for owner in owners.values():
            _tell(owner, DaskWorkerLost(worker, keys))


def _tell(ref: pykka.ActorRef[Any], message: Any) -> None:
    try:
        ref.tell(message)
    except pykka.ActorDeadError:
        log.warning("message.dropped", to="dask worker", message=type(message).__name__, reason="actor is dead")
