"""The whole server in one object: store, Journal, Scheduler, workers, Supervisor.

`System` is what ``das-actors start`` runs, and the test seam that starts everything
in-process on a temporary store with tiny intervals. It owns the order of things:

start     open the store -> start the actors (journal, scheduler, workers) -> route system
          logs to the journal -> restore stored jobs (runs that were in flight are recorded
          ``interrupted`` and resumed) -> retire config jobs no longer in the config -> add
          the config jobs that are new.
shutdown  no new runs -> running ones get ``shutdown_grace`` seconds -> then they are killed
          and recorded ``interrupted`` -> every job saved -> actors stopped in reverse order
          -> the journal flushed -> the store closed.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from typing import Any

import pykka
import structlog

from actors import logs
from actors.config import Settings
from actors.errors import ActorUnavailableError
from actors.jobs import JobSpec, Origin
from actors.journal import Journal, JournalConfig
from actors.messages import (
    AddJobs,
    Configure,
    Drain,
    Flush,
    GetStatus,
    Interrupt,
    Records,
    RestoreJobs,
    SaveJobs,
    SaveNow,
    SetLimits,
    Stopping,
)
from actors.plugins import packages_option
from actors.policy import RestartPolicy, RetryPolicy
from actors.routing import Directory
from actors.scheduler import Scheduler, SchedulerState
from actors.services import service_option_names
from actors.store import Store, open_store
from actors.supervisor import Builders, Supervisor
from actors.timetable import Limits, Timetable
from actors.uri import redact
from actors.worker import KILL_GRACE_S, Worker, WorkerConfig

log = structlog.get_logger("das_actors.system")

#: Default timeout of every ask to an actor.
ASK_TIMEOUT_S = 10.0
#: Job records restored per message at start.
RESTORE_CHUNK = 5_000
#: Poll period while waiting for runs to drain at shutdown.
DRAIN_POLL_S = 0.02


def limits_from(settings: Settings) -> Limits:
    """The timetable's live-tunable numbers from the options."""
    return Limits(
        minimum_interval_s=settings.minimum_interval,
        retry=RetryPolicy(max_retries=settings.max_retries, base_delay_s=settings.retry_delay,
                          max_delay_s=settings.retry_max_delay, jitter=settings.retry_jitter),
        start_offset=not settings.no_start_offset,
        default_timeout_s=settings.task_timeout or None,
        max_children_per_run=settings.max_children_per_run,
    )


def service_options(settings: Settings) -> dict[str, Any]:
    """The option values the service plugins are built from (their own options and ``db_uri``)."""
    return {name: settings.get(name) for name in (*service_option_names(), "db_uri")}


def restart_policy_from(settings: Settings) -> RestartPolicy:
    """The worker/actor restart policy from the options."""
    return RestartPolicy(max_restarts=settings.restart_max, window_s=settings.restart_window,
                         min_backoff_s=settings.restart_min_backoff, max_backoff_s=settings.restart_max_backoff,
                         random_factor=settings.restart_jitter, reset_after_s=settings.restart_reset_after)


def worker_config_from(settings: Settings) -> WorkerConfig:
    """What every worker process is started with, from the options."""
    return WorkerConfig(memory_mb=settings.worker_memory_mb, max_runs_per_process=settings.worker_max_runs,
                        restart=restart_policy_from(settings), verbose=settings.verbose,
                        max_children=settings.max_children_per_run,
                        task_packages=packages_option(settings.task_packages),
                        service_options=service_options(settings), result_max_bytes=settings.result_max_bytes,
                        log_max_lines=settings.log_max_lines, log_max_bytes=settings.log_max_bytes,
                        keep_task_processes=settings.keep_task_processes)


#: The `WorkerConfig` fields a live option may change on running workers.
LIVE_WORKER_FIELDS = ("max_children", "verbose", "result_max_bytes", "log_max_lines", "log_max_bytes",
                      "keep_task_processes")


class System:
    """The running server; see the module docstring. Use as a context manager in tests."""

    def __init__(self, settings: Settings, jobs: Sequence[JobSpec] = (), *, store: Store | None = None,
                 clock: Callable[[], float] = time.time, rng: Callable[[], float] = random.random) -> None:
        self.settings = settings
        self.config_jobs = list(jobs)
        self.store = store or open_store(settings.db_uri, size_bytes=settings.db_size,
                                         max_docs=settings.db_max_docs, db_name=settings.db_name,
                                         db_coll=settings.db_coll, convert=settings.db_convert,
                                         timeout_s=settings.db_timeout)
        self.clock = clock
        self.directory = Directory()
        self.limits = limits_from(settings)
        self.state = SchedulerState(timetable=Timetable(self.limits, rng), workers=settings.workers,
                                    finished_retention_s=settings.finished_retention)
        self._supervisor: pykka.ActorRef[Any] | None = None
        self._sink: Callable[[dict[str, Any]], None] | None = None
        self.worker_config = worker_config_from(settings)

    # ------------------------------------------------------------------ start
    def start(self) -> System:
        """Open the store, start the actors, restore and add jobs. Returns self."""
        self.store.open()
        d, s = self.directory, self.settings
        journal_config = JournalConfig(buffer_limit=s.journal_buffer, flush_interval_s=s.journal_flush_interval)
        builders = Builders(
            journal=lambda: Journal.start(self.store, journal_config, d),
            scheduler=lambda: Scheduler.start(self.state, d, self.clock),
            worker=lambda slot: Worker.start(slot, self.worker_config, d),
            workers=s.workers,
        )
        self._supervisor = Supervisor.start(builders, d, restart_policy_from(s))
        try:
            self._supervisor.ask(GetStatus(), timeout=ASK_TIMEOUT_S)  # answered only after on_start started children
            self._sink = self._log_to_journal
            logs.add_sink(self._sink)
            self._restore()
        except BaseException:
            # Whatever failed (an import, a store), never leave actor threads running
            # behind a caller that will not shut them down: they would keep the process alive.
            if self._supervisor is not None and self._supervisor.is_alive():
                self.shutdown(grace_s=0.0)
            raise
        log.info("server.started", workers=s.workers, store=self.store.kind, jobs=len(self.state.timetable),
                 db_uri=redact(s.db_uri))
        return self

    def _restore(self) -> None:
        """Stream the stored jobs into the scheduler (a chunk at a time: a 100k-job restart never
        holds every record at once), record runs that were in flight as interrupted, retire config
        jobs no longer configured, add the configured ones that are new."""
        now = self.clock()
        current = {spec.job_id for spec in self.config_jobs}
        known: set[str] = set()
        retired: list[tuple[str, str]] = []
        interrupted = 0
        chunk: list[dict[str, Any]] = []
        for record in self.store.iter_jobs(RESTORE_CHUNK):
            job_id = str(record.get("job_id"))
            if record.get("running"):
                self.directory.tell_journal(Records((_interrupted_doc(record, now),)))
                interrupted += 1
            if record.get("origin") != str(Origin.CONFIG) or job_id in current:
                chunk.append(record)
                known.add(job_id)
            else:
                retired.append((job_id, str(record.get("name"))))
            if len(chunk) >= RESTORE_CHUNK:
                self.ask(RestoreJobs(chunk), timeout=ASK_TIMEOUT_S)
                chunk = []
        if chunk:
            self.ask(RestoreJobs(chunk), timeout=ASK_TIMEOUT_S)
        if interrupted:
            log.warning("runs.interrupted", count=interrupted,
                        note="runs in flight when the server stopped; resumed now")
        if retired:
            self.directory.tell_journal(SaveJobs((), tuple(job_id for job_id, _ in retired)))
            log.info("jobs.retired", count=len(retired), names=sorted({name for _, name in retired}),
                     note="config jobs no longer in the config files")
        new = [spec for spec in self.config_jobs if spec.job_id not in known]
        if new:
            self.ask(AddJobs(new), timeout=max(ASK_TIMEOUT_S, len(new) / 10_000))

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
        timeout, for its answer (what the scheduler raises is raised here)."""
        ref = self.directory.scheduler
        if ref is None:
            raise ActorUnavailableError("the scheduler is not running")
        try:
            return ref.ask(command, timeout=timeout)
        except pykka.Timeout as exc:
            raise ActorUnavailableError(f"the scheduler did not answer {type(command).__name__} within "
                                        f"{timeout:g}s") from exc
        except pykka.ActorDeadError as exc:
            raise ActorUnavailableError(f"the scheduler is dead (asked {type(command).__name__})") from exc

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
        if self._supervisor is not None and self._supervisor.is_alive():
            self._supervisor.tell(Stopping())
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
        if self._supervisor is not None:
            self._supervisor.stop(block=True, timeout=ASK_TIMEOUT_S)
        self.store.close()
        log.info("server.stopped")

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
        """Logging sink: store system log lines as ``log`` documents (task echoes excluded)."""
        if str(event.get("logger", "")).startswith("das_actors.task"):
            return
        ref = self.directory.journal
        if ref is not None:
            try:
                ref.tell(Records(({"type": "log", **event},)))
            except pykka.ActorDeadError:
                pass


def _interrupted_doc(record: dict[str, Any], now: float) -> dict[str, Any]:
    running = record["running"]
    return {
        "type": "result", "time": now, "job_id": record["job_id"], "name": record["name"],
        "classname": record["classname"], "index": running.get("index"), "attempt": running.get("attempt", 0),
        "trigger": running.get("trigger", "schedule"), "parent": list(record.get("parent") or []),
        "due_at": running.get("due_at"), "started_at": record.get("last_started_at"), "finished_at": now,
        "duration": None, "outcome": "interrupted", "worker": None, "pid": None, "result": {}, "notes": [],
        "error": "the server stopped or died while this run was in flight; the run is resumed",
        "traceback": None,
    }
