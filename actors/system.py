"""The whole server in one object: store, Journal, Scheduler, workers, Supervisor.

`System` is what ``das-actors start`` runs, and the test seam that starts everything
in-process on a temporary store with tiny intervals. It owns the order of things:

start     open the store and the data stores (objects, stream messages) -> start the actors
          (journal, scheduler, workers, stream hub) -> route system logs to the journal -> read
          the run ledger's heads -> restore stored jobs, checked against the ledger (runs that
          were in flight are recorded ``interrupted`` and resumed, a run the ledger shows
          finished is not run again, slots missed while the server was down follow the misfire
          policy) -> retire config jobs no longer in the config -> add the config jobs that are
          new.
shutdown  streams stop consuming -> no new runs -> running ones get ``shutdown_grace``
          seconds -> then they are killed and recorded ``interrupted`` -> every job saved ->
          actors stopped in reverse order -> the journal flushed -> the stores closed.

Several instances on one MongoDB store (`actors.lease`, option ``lease_ttl``): the scheduler
starts standing by and a `Leadership` actor decides the role at start and on every tick
after. Taking the lease runs the restore above (so a new leader records the dead leader's
runs in flight ``interrupted`` and resumes them, and plans the missed slots by the misfire
policy); losing it stands the scheduler by. A follower answers reads from a mirror of the
stored job records and hands job changes to the leader through the store (`actors.relay`);
`System.ask` does that by itself. On SQLite one server holds the store (`InstanceLock`).
"""

from __future__ import annotations

import os
import random
import socket
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import pykka
import structlog

from actors import logs
from actors.config import Settings
from actors.daskcompute import DaskCompute
from actors.daskworker import DaskWorker
from actors.errors import ActorUnavailableError
from actors.jobrestore import StoredJobs
from actors.jobs import JobSpec
from actors.journal import Journal, JournalConfig
from actors.lease import LeaseStore, Role
from actors.ledger import LedgerStore
from actors.messages import (
    Configure,
    Drain,
    Flush,
    GetStatus,
    Interrupt,
    Records,
    SaveNow,
    SetLimits,
    Stopping,
)
from actors.relay import RELAYED, RelayClient, RelayStore
from actors.roles import Roles
from actors.routing import Directory
from actors.runtimeconfig import (
    LIVE_WORKER_FIELDS,
    ingest_config_from,
    limits_from,
    restart_policy_from,
    worker_config_from,
)
from actors.scheduler import Scheduler, SchedulerState
from actors.store import Store, open_store
from actors.store.data import data_uri_for, open_object_store, open_stream_store
from actors.store.instancelock import InstanceLock
from actors.streamhub import StreamHub
from actors.streamspec import StreamSpec
from actors.supervisor import Builders, Supervisor
from actors.timetable import Timetable
from actors.uri import dask_address, redact
from actors.worker import Worker
from actors.workerconfig import KILL_GRACE_S

log = structlog.get_logger("das_actors.system")

#: Default timeout of every ask to an actor.
ASK_TIMEOUT_S = 10.0
#: Poll period while waiting for runs to drain at shutdown.
DRAIN_POLL_S = 0.02


def _ask_actor(ref: pykka.ActorRef[Any] | None, what: str, command: Any, timeout: float) -> Any:
    """Ask *ref* (*what*, for the errors) *command*: not running, too slow or dead is an
    `ActorUnavailableError`; what the actor raises is raised here."""
    if ref is None:
        raise ActorUnavailableError(f"{what} is not running")
    try:
        return ref.ask(command, timeout=timeout)
    except pykka.Timeout as exc:
        raise ActorUnavailableError(f"{what} did not answer {type(command).__name__} within {timeout:g}s") from exc
    except pykka.ActorDeadError as exc:
        raise ActorUnavailableError(f"{what} is dead (asked {type(command).__name__})") from exc


class System(Roles, StoredJobs):
    """The running server; see the module docstring. Use as a context manager in tests.
    Several instances on one store: see `actors.roles` (mixed in)."""

    def __init__(self, settings: Settings, jobs: Sequence[JobSpec] = (), *, store: Store | None = None,
                 clock: Callable[[], float] = time.time, rng: Callable[[], float] = random.random,
                 streams: Sequence[StreamSpec] = ()) -> None:
        self.settings = settings
        self.config_jobs = list(jobs)
        self.config_streams = list(streams)
        data_uri = data_uri_for(settings.db_uri, settings.data_uri)
        self.objects = open_object_store(data_uri, db_name=settings.data_db_name, timeout_s=settings.db_timeout)
        self.stream_store = open_stream_store(data_uri, db_name=settings.data_db_name,
                                              max_messages=settings.stream_max_messages,
                                              size_bytes=settings.stream_size, timeout_s=settings.db_timeout)
        self.store = store or open_store(settings.db_uri, size_bytes=settings.db_size,
                                         max_docs=settings.db_max_docs, db_name=settings.db_name,
                                         db_coll=settings.db_coll, convert=settings.db_convert,
                                         timeout_s=settings.db_timeout)
        self.clock = clock
        self.directory = Directory()
        self.limits = limits_from(settings)
        #: This server life's name: its ledger claims' owner and its instance document's id.
        self.instance_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.started_at = time.time()
        self.web_url: str | None = None  # set by the Server once bound (shown in the Instances table)
        self.state = SchedulerState(timetable=Timetable(self.limits, rng), workers=settings.workers,
                                    finished_retention_s=settings.finished_retention,
                                    ledger=self.store if isinstance(self.store, LedgerStore) else None,
                                    owner=self.instance_id, ledger_retention_s=settings.ledger_retention)
        #: Several instances: the lease store (None: this server is alone and leads), the relay to the leader.
        self.leases: LeaseStore | None = (self.store if settings.lease_ttl > 0 and isinstance(self.store, LeaseStore)
                                          else None)
        self._relay = (RelayClient(self.store, self.instance_id)
                       if self.leases is not None and isinstance(self.store, RelayStore) else None)
        self._leadership: pykka.ActorRef[Any] | None = None
        self._lock: InstanceLock | None = None
        if self.leases is not None:
            self.state.standby = True  # until the lease is taken
            self.directory.role = str(Role.FOLLOWER)
        self._supervisor: pykka.ActorRef[Any] | None = None
        self._sink: Callable[[dict[str, Any]], None] | None = None
        self.compute: DaskCompute | None = None  # the Dask cluster, when the compute option names one
        self.worker_config = worker_config_from(settings)

    # ------------------------------------------------------------------ start
    def start(self) -> System:
        """Open the stores, start the actors, restore and add jobs (as the leader). Returns self."""
        self._lock_sqlite()
        try:
            self.store.open()
        except BaseException:
            self._unlock()
            raise
        try:
            self.objects.open()
            self.stream_store.open()
        except BaseException:
            self._close_stores()
            self.store.close()
            self._unlock()
            raise
        d, s = self.directory, self.settings
        journal_config = JournalConfig(buffer_limit=s.journal_buffer, flush_interval_s=s.journal_flush_interval)
        builders = Builders(
            journal=lambda: Journal.start(self.store, journal_config, d, self.state.pressure),
            scheduler=lambda: Scheduler.start(self.state, d, self.clock),
            worker=self._worker_builder(),
            workers=s.workers,
            streams=lambda: StreamHub.start(self.stream_store, ingest_config_from(s), d, restart_policy_from(s),
                                            config_streams=self.config_streams),
        )
        self._supervisor = Supervisor.start(builders, d, restart_policy_from(s))
        try:
            self._supervisor.ask(GetStatus(), timeout=ASK_TIMEOUT_S)  # answered only after on_start started children
            self._sink = self._log_to_journal
            logs.add_sink(self._sink)
            if self.leases is None:
                self._restore()
            else:
                self._start_leadership()
        except BaseException:
            # Whatever failed (an import, a store), never leave actor threads running
            # behind a caller that will not shut them down: they would keep the process alive.
            if self._supervisor is not None and self._supervisor.is_alive():
                self.shutdown(grace_s=0.0)
            else:
                self._close_stores()
                self._unlock()
            raise
        log.info("server.started", workers=s.workers, store=self.store.kind, jobs=len(self.state.timetable),
                 db_uri=redact(s.db_uri), compute=s.compute, instance=self.instance_id, role=self.directory.role)
        return self

    def _worker_builder(self) -> Callable[[int], pykka.ActorRef[Any]]:
        """Local worker processes, or Dask-backed slots (connected here) when ``compute`` names a cluster."""
        address = dask_address(self.settings.compute)
        if address is None:
            return lambda slot: Worker.start(slot, self.worker_config, self.directory)
        try:
            compute = self.compute = DaskCompute(address, self.directory).open()
        except BaseException:
            self.store.close()
            self._unlock()
            raise
        return lambda slot: DaskWorker.start(slot, self.worker_config, self.directory, compute)

    # ------------------------------------------------------------------ live options
    def apply_options(self, settings: Settings) -> None:
        """A live option changed: the scheduler's rules and every worker (its actor, its process,
        and the processes started later) take the new values."""
        self.settings = settings
        self.limits = limits_from(settings)
        self.ask(SetLimits(self.limits, settings.finished_retention))
        self.worker_config = worker_config_from(settings)
        changes = {name: getattr(self.worker_config, name) for name in LIVE_WORKER_FIELDS}
        for ref in self.directory.workers:
            if ref is not None:
                try:
                    ref.tell(Configure(changes))
                except pykka.ActorDeadError:
                    pass  # its successor is built from self.worker_config

    # ------------------------------------------------------------------ asking
    def ask(self, command: Any, timeout: float = ASK_TIMEOUT_S) -> Any:
        """Send a command (an `actors.messages` dataclass) to the scheduler and wait, with a
        timeout, for its answer (what the scheduler raises is raised here). On a follower, a
        job change (`actors.relay.RELAYED`) goes to the leader through the store instead, and the
        answer is the leader's."""
        if self._relay is not None and not self.directory.leading and isinstance(command, RELAYED):
            answer = self._relay.submit(command, timeout)
            self._mirror()  # the leader stored the change before answering: show it here at once
            return answer
        return self._ask_here(command, timeout)

    def _ask_here(self, command: Any, timeout: float = ASK_TIMEOUT_S) -> Any:
        """`ask` this instance's scheduler, whatever the role."""
        return _ask_actor(self.directory.scheduler, "the scheduler", command, timeout)

    def ask_streams(self, command: Any, timeout: float = ASK_TIMEOUT_S) -> Any:
        """Send a command (an `actors.streammessages` dataclass) to the stream hub and wait for its answer
        (on a follower, a change goes to the leader's hub through the store)."""
        if self._relay is not None and not self.directory.leading and isinstance(command, RELAYED):
            return self._relay.submit(command, timeout)
        return self._ask_streams_here(command, timeout)

    def _ask_streams_here(self, command: Any, timeout: float = ASK_TIMEOUT_S) -> Any:
        """`ask_streams` this instance's stream hub, whatever the role."""
        return _ask_actor(self.directory.streams, "the stream hub", command, timeout)

    def workers(self, timeout: float = ASK_TIMEOUT_S) -> list[dict[str, Any]]:
        """Status of every worker slot."""
        out: list[dict[str, Any]] = []
        for slot, ref in enumerate(self.directory.workers):
            try:
                out.append(dict(ref.ask(GetStatus(), timeout=timeout)) if ref is not None  # type: ignore[arg-type]
                           else {"slot": slot, "status": "gone"})
            except (pykka.Timeout, pykka.ActorDeadError):
                out.append({"slot": slot, "status": "unresponsive"})
        return out

    def supervisor_status(self, timeout: float = ASK_TIMEOUT_S) -> dict[str, Any]:
        """The Supervisor's view: actors left down, recent restarts per actor."""
        ref = self._supervisor
        if ref is None:
            raise ActorUnavailableError("the supervisor is not running")
        try:
            return dict(ref.ask(GetStatus(), timeout=timeout))  # type: ignore[arg-type]
        except pykka.Timeout as exc:
            raise ActorUnavailableError(f"the supervisor did not answer within {timeout:g}s") from exc
        except pykka.ActorDeadError as exc:
            raise ActorUnavailableError("the supervisor is dead") from exc

    def yield_to_runs(self, max_wait_s: float) -> float:
        """While a backlog of due runs is being handed out, wait until it is (at most *max_wait_s*);
        seconds waited (`actors.pressure`: the web gives the GIL to the scheduler)."""
        return self.state.pressure.wait(max_wait_s)

    def journal_stats(self, timeout: float = ASK_TIMEOUT_S) -> dict[str, Any]:
        """The Journal's counters (written, buffered, dropped ...)."""
        ref = self.directory.journal
        if ref is None:
            raise ActorUnavailableError("the journal is not running")
        return dict(ref.ask(GetStatus(), timeout=timeout))  # type: ignore[arg-type]

    def flush(self, timeout: float = ASK_TIMEOUT_S) -> None:
        """Save job state and write every buffered document now (tests and shutdown)."""
        self.ask(SaveNow(), timeout=timeout)
        ref = self.directory.journal
        if ref is not None:
            ref.ask(Flush(), timeout=timeout)

    def wait_until(self, predicate: Callable[[], bool], timeout: float, poll_s: float = 0.02) -> bool:
        """Poll *predicate* until it is true or *timeout* passes (the test seam's wait)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            time.sleep(poll_s)
        return predicate()

    # ------------------------------------------------------------------ shutdown
    def shutdown(self, grace_s: float | None = None) -> None:
        """Drain, interrupt what outlives the grace, save, stop in reverse order, close."""
        grace = self.settings.shutdown_grace if grace_s is None else grace_s
        d = self.directory
        self._resign()  # several instances: take no lease now; a leader keeps renewing while it drains
        if self._supervisor is not None and self._supervisor.is_alive():
            self._supervisor.tell(Stopping())
        if d.streams is not None:  # first: nothing new arrives while the rest drains
            try:
                d.streams.stop(block=True, timeout=ASK_TIMEOUT_S)
            except pykka.Timeout:
                log.warning("streams.stop_timeout", timeout_s=ASK_TIMEOUT_S)
        try:
            running = self.ask(Drain())
        except ActorUnavailableError:
            running = []
        for ref in d.workers:
            if ref is not None and ref.is_alive():
                ref.tell(Drain())
        if running:
            log.info("server.draining", running=len(running), grace_s=grace)
            if not self._wait_no_runs(grace):
                for ref in d.workers:
                    if ref is not None and ref.is_alive():
                        ref.tell(Interrupt())
                self._wait_no_runs(KILL_GRACE_S + 2.0)
        try:
            self.ask(SaveNow())
        except ActorUnavailableError:
            log.error("server.state_not_saved", reason="the scheduler did not answer")
        for ref in d.workers:
            if ref is not None:
                ref.stop(block=True, timeout=ASK_TIMEOUT_S)
        if d.scheduler is not None:
            d.scheduler.stop(block=True, timeout=ASK_TIMEOUT_S)
        if self._sink is not None:
            logs.remove_sink(self._sink)
            self._sink = None
        if d.journal is not None:
            try:
                stats: dict[str, Any] = dict(d.journal.ask(Flush(), timeout=ASK_TIMEOUT_S))  # type: ignore[arg-type]
            except (pykka.Timeout, pykka.ActorDeadError):
                stats = {}
            d.journal.stop(block=True, timeout=ASK_TIMEOUT_S)
            log.info("journal.closed", **{k: v for k, v in stats.items() if k != "outage_since"})
        self._release()  # end the lease: a follower takes over at its next look
        if self._supervisor is not None:
            self._supervisor.stop(block=True, timeout=ASK_TIMEOUT_S)
        if self.compute is not None:
            self.compute.close()
        self.store.close()
        self._close_stores()
        log.info("server.stopped")

    def _close_stores(self) -> None:
        """Close the data stores (idempotent)."""
        self.objects.close()
        self.stream_store.close()

    def _wait_no_runs(self, timeout: float) -> bool:
        def idle() -> bool:
            try:
                return self.ask(GetStatus(), timeout=2.0)["running"] == 0  # type: ignore[no-any-return]
            except ActorUnavailableError:
                return True
        return self.wait_until(idle, timeout, DRAIN_POLL_S)

    def __enter__(self) -> System:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    # ------------------------------------------------------------------ system logs
    def _log_to_journal(self, event: dict[str, Any]) -> None:
        """Logging sink: store system log lines as ``log`` documents (task echoes excluded). A follower
        stores none (they are on its stderr and ``log_file``): the leader is the one writer of the
        capped collection, whose seq numbers are then never contended (`actors.store.mongo_seq`)."""
        if str(event.get("logger", "")).startswith("das_actors.task") or not self.directory.leading:
            return
        ref = self.directory.journal
        if ref is not None:
            try:
                ref.tell(Records(({"type": "log", **event},)))
            except pykka.ActorDeadError:
                pass
