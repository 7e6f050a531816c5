"""The thin facade the web panel, the JSON API and the CLI use to read and steer the server.

`web/` never reaches into actor internals: it calls these methods, which read the store
and ask the actors (always with a timeout). Every method returns JSON-safe data or raises
one of the exceptions of `actors.errors`, whose message names the field and the value
(the API turns them into 400 / 404 / 409 / 503).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection, Iterator, Mapping
from typing import Any

import structlog

from actors import config as options_registry
from actors.actlog import ActLog
from actors.config import Settings
from actors.datafacade import DataDoor
from actors.errors import (
    ActorUnavailableError,
    ConfigError,
    ConflictError,
    DasActorsError,
    InvalidJobError,
    InvalidValueError,
    NotFoundError,
)
from actors.health import check_health
from actors.interact import SCRIPT_CLASS, Interact
from actors.jobs import JobSpec, Origin
from actors.messages import (
    AddJob,
    BackfillJob,
    CancelRun,
    GetJob,
    GetJobsPage,
    GetMetrics,
    ListRunning,
    PauseJob,
    RemoveJob,
    RescheduleJob,
    ResumeJob,
    RunJobNow,
)
from actors.plugins import packages_option
from actors.runtimeconfig import limits_from, service_options
from actors.services import build_services
from actors.store.base import Page, Query
from actors.system import System
from actors.timeish import parse_when, parse_when_in_zone
from actors.timerules import floor_notes
from reports.base import ReportContext
from reports.registry import ReportRegistry
from reports.registry import default_registry as report_registry
from tasks.registry import TaskRegistry, default_registry

log = structlog.get_logger("das_actors.facade")


class Facade(DataDoor):
    """Read and steer a running `System`; see the module docstring (objects and streams: `DataDoor`)."""

    def __init__(self, system: System, registry: TaskRegistry | None = None) -> None:
        self.system = system
        self.registry = registry or default_registry(packages_option(system.settings.task_packages))
        self.started_at = time.time()
        self._services: dict[str, Any] | None = None
        #: Scripts and triggers, and the Actions log: set by the composition root (`actors.server`),
        #: which opens their stores; None when the facade is used without them.
        self.interact: Interact | None = None
        self.act: ActLog | None = None

    @property
    def services(self) -> dict[str, Any]:
        """Shared services for reports, as tasks get them (built once by the service plugins)."""
        if self._services is None:
            def failed(name: str, exc: BaseException) -> None:
                log.error("services.unavailable", service=name, error=f"{type(exc).__name__}: {exc}")

            self._services = build_services(service_options(self.system.settings), failed)
        return self._services

    # ------------------------------------------------------------------ jobs
    def jobs(self, *, due_within_s: float | None = None, limit: int = 100_000, offset: int = 0,
             state: str | None = None, tag: str | None = None) -> list[dict[str, Any]]:
        """Jobs soonest due first (jobs without a due time last); one page of them."""
        return list(self.jobs_page(due_within_s=due_within_s, limit=limit, offset=offset, state=state,
                                   tag=tag)["jobs"])

    def jobs_page(self, *, due_within_s: float | None = None, limit: int = 100, offset: int = 0,
                  state: str | None = None, tag: str | None = None, fold_children: bool = False) -> dict[str, Any]:
        """``{"jobs": [...], "total": n, "more": bool}``: one page, sorted by the scheduler (with *tag*);
        *fold_children*: ended children counted on their parent's row, not listed."""
        if limit < 0 or offset < 0:
            raise InvalidJobError(f"limit and offset must be >= 0, got {limit} and {offset}", field="limit")
        return dict(self.system.ask(GetJobsPage(offset, limit, due_within_s, state, tag, fold_children)))

    def job(self, job_id: str) -> dict[str, Any]:
        """One job (by id, or by a name only one job has) with its ancestors, children and recent runs."""
        found = dict(self.system.ask(GetJob(job_id)))
        found["recent_runs"] = self.runs(Query(type="result", job_id=found["job_id"], limit=10)).items
        return found

    def add_job(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """Validate and add a job (origin ``api``). ``when`` (TIMEISH or epoch) sets the first run."""
        fields = dict(data)
        when = fields.pop("when", None)
        now = time.time()
        first_due = None if when in (None, "") else parse_when(when, now=now)
        if isinstance(fields.get("only_before"), str) and fields["only_before"].strip():
            fields["only_before"] = parse_when(fields["only_before"], now=now, field="only_before", allow_past=True)
        fields["origin"] = str(Origin.API)
        if fields.get("classname") == SCRIPT_CLASS and not self.system.settings.scripts:
            raise InvalidJobError("classname: scripts are turned off on this server (option scripts), so no job may "
                                  "run one", field="classname", value=SCRIPT_CLASS)
        spec = self.registry.validate_spec(JobSpec.from_dict(fields))
        record = dict(self.system.ask(AddJob(spec, first_due)))
        log.info("job.added", job=spec.name, job_id=spec.job_id, classname=spec.classname, origin="api")
        notes = floor_notes(spec, limits_from(self.system.settings))
        if notes:  # the rule changed what was asked: say so where the user meets it
            record["warnings"] = notes
            log.warning("job.interval_floored", job=spec.name, job_id=spec.job_id, note=notes[0])
        return record

    def remove_job(self, job_id: str) -> dict[str, Any]:
        """Remove a job; a running run finishes and is not rescheduled."""
        return dict(self._operate(RemoveJob(job_id)))

    def pause_job(self, job_id: str) -> dict[str, Any]:
        """Stop dispatching a job until resumed."""
        return dict(self._operate(PauseJob(job_id)))

    def resume_job(self, job_id: str) -> dict[str, Any]:
        """Dispatch a paused job again."""
        return dict(self._operate(ResumeJob(job_id)))

    def run_now(self, job_id: str) -> dict[str, Any]:
        """Run a job as soon as a worker is free."""
        return dict(self._operate(RunJobNow(job_id)))

    def reschedule(self, job_id: str, when: Any) -> dict[str, Any]:
        """Move a job's next run to *when* (TIMEISH text or epoch); the past is refused."""
        return dict(self._operate(RescheduleJob(job_id, parse_when(when, now=time.time()))))

    def backfill(self, job_id: str, start: Any, end: Any) -> dict[str, Any]:
        """Run the job's past slots in [start, end] that the run ledger shows neither run nor claimed,
        once each, oldest first (TIMEISH text or epoch; a date-time without an offset is read in the
        job's time zone). Answers ``{"job", "slots", "queued", "skipped"}``."""
        found = self.system.ask(GetJob(job_id))
        job_id = found["job_id"]  # a name resolved to its id
        now, zone = time.time(), found.get("tz")
        first = parse_when_in_zone(start, zone, now=now, field="from")
        last = parse_when_in_zone(end, zone, now=now, field="to")
        answer = dict(self._operate(BackfillJob(job_id, first, last)))
        log.info("job.backfill_requested", job_id=job_id, start=first, end=last, queued=answer.get("queued"))
        return answer

    def _operate(self, command: Any) -> Any:
        try:
            return self.system.ask(command)
        except InvalidJobError as exc:  # the job's state refuses it now (it is running ...)
            raise ConflictError(str(exc)) from exc

    # ------------------------------------------------------------------ runs and logs
    def runs(self, query: Query) -> Page:
        """Result documents, newest first, with real totals."""
        return self.system.store.find(query)

    def run(self, job_id: str, index: int, attempt: int | None = None) -> dict[str, Any]:
        """One result document with its log lines (the latest attempt unless *attempt* is given)."""
        page = self.system.store.find(Query(type="result", job_id=job_id, index=index, limit=100))
        items = [d for d in page.items if attempt is None or d.get("attempt") == attempt]
        if not items:
            raise NotFoundError(f"no run {index}{'' if attempt is None else f' attempt {attempt}'} of job {job_id!r}")
        result = dict(items[0])
        logs = self.system.store.find(Query(type="reslog", job_id=job_id, index=index, limit=1000)).items
        result["logs"] = sorted((d for d in logs if d.get("attempt") == result.get("attempt")),
                                key=lambda d: d.get("seq", 0))
        return result

    def running(self) -> list[dict[str, Any]]:
        """Runs in progress, with elapsed seconds and the worker pid."""
        pids = {w.get("slot"): w for w in self.system.workers()}
        running = self.system.ask(ListRunning())
        now = time.time()  # after the asks: a run that started meanwhile is not "-0.01 s" old
        out = []
        for run in running:
            worker = pids.get(run["slot"], {})
            started = (worker.get("run") or {}).get("started_at")
            out.append({**run, "pid": worker.get("pid"), "started_at": started,
                        "elapsed_s": None if started is None else round(now - started, 3)})
        return out

    def cancel(self, run_id: str) -> dict[str, Any]:
        """Kill a run in progress (recorded ``cancelled``; on a follower the leader does it)."""
        if not self.system.directory.leading:
            return dict(self.system.ask(CancelRun(run_id)))
        for run in self.system.ask(ListRunning()):
            if run["run_id"] == run_id:
                if not self.system.directory.tell_worker(run["slot"], CancelRun(run_id)):
                    raise ActorUnavailableError(f"worker {run['slot']} is not there to cancel {run_id}")
                log.info("run.cancel_requested", run=run_id, job=run["name"])
                return {"run_id": run_id, "cancelling": True}
        raise NotFoundError(f"no running run {run_id!r}")

    def logs(self, query: Query) -> Page:
        """System (``log``) or task (``reslog``) log lines, newest first."""
        return self.system.store.find(query)

    def tail(self, after_seq: int, types: Collection[str] | None, stop: Any) -> Iterator[dict[str, Any]]:
        """New documents as they are stored (the live tail), until *stop* (an Event) is set."""
        from actors.store import base

        tail_documents = getattr(base, "tail_documents", None)
        if tail_documents is not None:
            yield from tail_documents(self.system.store, after_seq, types, stop)
            return
        seq = after_seq
        while not stop.is_set():  # pragma: no cover - fallback until every store has tail
            docs = self.system.store.read_after(seq, types, 500)
            for doc in docs:
                seq = doc["seq"]
                yield doc
            if not docs:
                stop.wait(0.2)

    def last_seq(self) -> int:
        """The newest stored document's seq (where a live tail starts)."""
        return self.system.store.last_seq()

    # ------------------------------------------------------------------ system
    def workers(self) -> list[dict[str, Any]]:
        """Each worker slot: status (idle, busy, restarting, degraded ...), pid, current run."""
        return self.system.workers()

    def yield_to_runs(self, max_wait_s: float) -> float:
        """Wait (at most *max_wait_s*) while due runs are being handed out; seconds waited."""
        return self.system.yield_to_runs(max_wait_s)

    def instances(self) -> list[dict[str, Any]]:
        """Every server on this store (several instances, one leader): id, host, pid, role, term, lease
        end, last heartbeat and its age, alive, ``self`` for this one. A server alone lists itself."""
        return self.system.instances()

    def tasks(self) -> list[dict[str, Any]]:
        """The task registry with each class's options."""
        return list(self.registry.describe())

    def options(self) -> list[dict[str, Any]]:
        """Every option: current value, default, source, whether it applies live."""
        settings = self.system.settings
        secret = ("web_token", "web_read_token")  # shown as set or not, never the value (a reader sees this)
        return [{**o, "value": settings.get(o["name"]), "source": settings.source(o["name"])}
                for o in options_registry.describe_options() if o["name"] not in secret] + [
            {**o, "value": "***" if settings.get(o["name"]) else "", "source": settings.source(o["name"])}
            for o in options_registry.describe_options() if o["name"] in secret]

    def set_option(self, name: str, value: Any) -> dict[str, Any]:
        """Change a live option now (text is parsed as on the command line). Others need a restart."""
        try:
            option = options_registry.lookup(name, where="option")
        except ConfigError as exc:
            raise NotFoundError(str(exc)) from exc
        if not option.live:
            raise ConflictError(f"option {name!r} cannot change on a running server; set it in the config file "
                                "or with its flag and restart")
        try:
            coerced = options_registry.coerce(option, value, from_text=isinstance(value, str), where=option.flag)
        except ConfigError as exc:
            raise InvalidValueError(str(exc), field="value", value=value) from exc
        new: Settings = self.system.settings.replace(**{name: coerced})
        if name == "verbose":
            logging.getLogger().setLevel(logging.DEBUG if coerced else logging.INFO)
        self.system.apply_options(new)  # the scheduler's rules and every worker
        log.info("option.changed", option=name, value=coerced)
        return {"name": name, "value": coerced, "live": True}

    @property
    def read_only(self) -> bool:
        """True when the web interface must refuse every change."""
        return bool(self.system.settings.web_read_only)

    def health(self) -> tuple[bool, dict[str, Any]]:
        """(healthy, details): see `actors.health` (the actors answer and make progress, no due run
        waits beside an idle worker, nothing degraded, the store is there)."""
        return check_health(self.system, self.started_at)

    def tiles(self, since: float) -> dict[str, Any]:
        """The Overview's three areas: Aggregate (data), Interact & Compute, Act; None for one that is not
        configured on this server. *since* bounds the "last hour" figures."""
        metrics = self.metrics()
        states = dict(metrics.get("jobs_by_state") or {})
        failures = sum(self.runs(Query(type="result", outcome=o, since=since, limit=0)).total
                       for o in ("failed", "crashed", "timeout"))
        interact = {"scripts": None, "jobs": sum(states.values()), "running": int(metrics.get("running") or 0),
                    "waiting": int(metrics.get("waiting") or 0), "failures": failures}
        if self.interact is not None and self.interact.enabled:
            try:
                interact["scripts"] = self.interact.book.count()
            except DasActorsError as exc:
                log.warning("overview.scripts_unavailable", error=str(exc))
        act = None
        if self.act is not None:
            try:
                act = self.act.counts(since)
            except DasActorsError as exc:
                log.warning("overview.actions_unavailable", error=str(exc))
        aggregate = None
        try:
            streams = self.streams()
            aggregate = {"objects": int(self.objects(limit=1)["total"]), "streams": len(streams),
                         "messages_per_s": round(sum(float((s.get("status") or {}).get("rate") or 0.0)
                                                     for s in streams), 3)}
        except (DasActorsError, AttributeError) as exc:  # no data stores on this server (a bare System)
            log.warning("overview.data_unavailable", error=f"{type(exc).__name__}: {exc}")
        return {"aggregate": aggregate, "interact": interact, "act": act}

    def reports(self) -> ReportRegistry:
        """The reports this server can show (built-in, entry points, ``report_packages``)."""
        return report_registry(packages_option(self.system.settings.report_packages))

    def report_context(self, now: float | None = None) -> ReportContext:
        """What a report may read on this server (`reports.base.ReportContext`)."""

        def job(job_id: str) -> dict[str, Any] | None:
            try:
                return self.job(job_id)
            except NotFoundError:
                return None

        return ReportContext(self.system.store, find=self.runs, job=job, workers=self.workers, now=now,
                             services=self.services)

    def metrics(self) -> dict[str, Any]:
        """Counters and histograms for ``/metrics`` and the overview page."""
        data: dict[str, Any] = dict(self.system.ask(GetMetrics()))
        data["workers"] = self.workers()
        try:
            data["leadership"] = self.system.leadership()
        except DasActorsError:
            data["leadership"] = {}
        try:
            data["journal"] = self.system.journal_stats(timeout=2.0)
        except Exception:  # noqa: BLE001 - metrics must render even while the journal restarts
            data["journal"] = {}
        return data
