"""`FakeBackend`: the web's `Backend` protocol in memory, so web tests need no actors.

The real `actors.facade.Facade` needs a running System (worker subprocesses, a store); most
of what the web tests check (security rules, parsing, rendering, escaping, status codes)
does not. This fake keeps jobs in a dict, runs and logs in a real embedded store on a temp
file (so queries, paging and tails behave as the real ones), validates jobs with the real
`JobSpec` and task registry, and options with the real `Settings`: an app over it answers in
milliseconds. A few test modules keep the real server (tests/web/test_api.py,
test_server.py, the browser suite) to prove the whole path.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Collection, Iterator, Mapping
from pathlib import Path
from typing import Any

from actors import config as options_registry
from actors.config import Settings
from actors.datafacade import DataDoor
from actors.errors import ConflictError, InvalidValueError, NotFoundError
from actors.jobs import JobSpec, JobState, Origin, in_state
from actors.store.base import Page, Query
from actors.store.data import open_object_store, open_stream_store
from actors.store.sqlite import SQLiteStore
from actors.streammessages import ListStreams
from actors.timeish import parse_when
from reports.base import ReportContext
from reports.registry import ReportRegistry
from reports.registry import default_registry as report_registry
from tasks.registry import TaskRegistry, default_registry
from web.backend import Backend


class _DataSide:
    """What the data door (`actors.datafacade.DataDoor`) reads of a System: real object and stream
    stores on temp files, and no stream hub (listing streams gives none; naming one is a 404)."""

    def __init__(self, backend: FakeBackend, workdir: Path) -> None:
        self._backend = backend
        self.objects = open_object_store(f"sqlite:///{workdir}/fake-data.db")
        self.objects.open()
        self.stream_store = open_stream_store(f"sqlite:///{workdir}/fake-data.db")
        self.stream_store.open()

    @property
    def settings(self) -> Settings:
        return self._backend.settings

    def ask_streams(self, command: Any, timeout: float = 10.0) -> Any:
        if isinstance(command, ListStreams):
            return []
        raise NotFoundError(f"no stream named {getattr(command, 'name', '')!r}")

    def close(self) -> None:
        self.objects.close()
        self.stream_store.close()


class FakeBackend(DataDoor):
    """See the module docstring. ``settings`` is public: tests change options through it."""

    def __init__(self, workdir: Path, settings: Settings | None = None,
                 registry: TaskRegistry | None = None) -> None:
        self.settings = settings or Settings({"task_packages": "tests", "report_packages": "tests",
                                              "minimum_interval": 0.0})
        self.registry = registry or default_registry(("tests",))
        self.store = SQLiteStore(str(workdir / "fake.db"), size_bytes=64 * 1024 * 1024)
        self.store.open()
        self.system = _DataSide(self, workdir)  # type: ignore[assignment]  # the part of a System the data door reads
        self._jobs: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self.healthy = True
        self.interact = None  # no scripts, triggers or actions in memory (the real server's tests cover them)
        self.act = None

    def close(self) -> None:
        self.store.close()
        self.system.close()  # type: ignore[attr-defined]

    # ------------------------------------------------------------------ the server
    @property
    def read_only(self) -> bool:
        return bool(self.settings.web_read_only)

    def workers(self) -> list[dict[str, Any]]:
        return [{"slot": 0, "status": "idle", "pid": 4242, "run": None, "restarts": 0}]

    def instances(self) -> list[dict[str, Any]]:
        return [{"id": "fake:4242:0", "host": "fake", "pid": 4242, "role": "leader", "term": 0, "lease_until": None,
                 "heartbeat": None, "alive": True, "alone": True}]

    def yield_to_runs(self, max_wait_s: float) -> float:
        return 0.0  # no scheduler: never busy

    def tasks(self) -> list[dict[str, Any]]:
        return list(self.registry.describe())

    def options(self) -> list[dict[str, Any]]:
        return [{**o, "value": self.settings.get(o["name"]), "source": self.settings.source(o["name"])}
                for o in options_registry.describe_options()]

    def set_option(self, name: str, value: Any) -> dict[str, Any]:
        option = options_registry.OPTIONS.get(name)
        if option is None:
            raise NotFoundError(f"unknown option {name!r}")
        if not option.live:
            raise ConflictError(f"option {name!r} cannot change on a running server")
        try:
            coerced = options_registry.coerce(option, value, from_text=isinstance(value, str), where=option.flag)
        except Exception as exc:
            raise InvalidValueError(str(exc), field="value", value=value) from exc
        self.settings = self.settings.replace(**{name: coerced})
        return {"name": name, "value": coerced, "live": True}

    def tiles(self, since: float) -> dict[str, Any]:
        return {"aggregate": None, "act": None,
                "interact": {"scripts": None, "jobs": len(self._jobs), "running": 0, "waiting": 0, "failures": 0}}

    def health(self) -> tuple[bool, dict[str, Any]]:
        problems = [] if self.healthy else ["scheduler: made up for the test"]
        return self.healthy, {"problems": problems}

    def metrics(self) -> dict[str, Any]:
        states = dict.fromkeys((str(s) for s in JobState), 0)
        for job in self._jobs.values():
            states[job["state"]] += 1
        return {"runs": {}, "waiting": 0, "running": 0, "jobs_by_state": states, "dispatched": 0, "finished": 0,
                "coalesced": 0, "workers": self.workers(), "journal": {}}

    def reports(self) -> ReportRegistry:
        return report_registry(("tests",))

    def report_context(self, now: float | None = None) -> ReportContext:
        return ReportContext(self.store, find=self.runs, job=self._job_or_none, workers=self.workers, now=now)

    # ------------------------------------------------------------------ jobs
    def add_job(self, data: Mapping[str, Any]) -> dict[str, Any]:
        fields = dict(data)
        when = fields.pop("when", None)
        now = time.time()
        due = now if when in (None, "") else parse_when(when, now=now)
        fields["origin"] = str(Origin.API)
        spec = self.registry.validate_spec(JobSpec.from_dict(fields))
        with self._lock:
            record = self._jobs.setdefault(spec.job_id, {
                **spec.to_dict(), "state": str(JobState.SCHEDULED), "due_at": due, "created_at": now,
                "run_count": 0, "runs_total": 0, "failures_total": 0, "retries_used": 0, "attempt": 0,
                "paused": False, "note": "", "last_outcome": None, "last_error": None, "run_id": None})
            return dict(record)

    def jobs(self, *, due_within_s: float | None = None, limit: int = 100_000, offset: int = 0,
             state: str | None = None, tag: str | None = None) -> list[dict[str, Any]]:
        return list(self.jobs_page(due_within_s=due_within_s, limit=limit, offset=offset, state=state,
                                   tag=tag)["jobs"])

    def jobs_page(self, *, due_within_s: float | None = None, limit: int = 100, offset: int = 0,
                  state: str | None = None, tag: str | None = None, fold_children: bool = False) -> dict[str, Any]:
        del fold_children  # the fake has no children to fold
        horizon = None if due_within_s is None else time.time() + due_within_s
        with self._lock:
            chosen = sorted((dict(j) for j in self._jobs.values()
                             if (state is None or in_state(j["state"], state))
                             and (tag is None or tag in (j.get("tags") or ()))
                             and (horizon is None or (j["due_at"] is not None and j["due_at"] <= horizon))),
                            key=lambda j: (j["due_at"] is None, j["due_at"] or 0.0, j["name"]))
        page = chosen[offset:offset + limit]
        return {"jobs": page, "total": len(chosen), "more": offset + len(page) < len(chosen)}

    def job(self, job_id: str) -> dict[str, Any]:
        found = self._job_or_none(job_id)
        if found is None:
            raise NotFoundError(f"no job with id {job_id!r}")
        found["recent_runs"] = self.runs(Query(type="result", job_id=job_id, limit=10)).items
        found["children"], found["ancestors"] = [], []
        return found

    def _job_or_none(self, job_id: str) -> dict[str, Any] | None:
        with self._lock:
            found = self._jobs.get(job_id)
            return None if found is None else dict(found)

    def _change(self, job_id: str, **changes: Any) -> dict[str, Any]:
        with self._lock:
            if job_id not in self._jobs:
                raise NotFoundError(f"no job with id {job_id!r}")
            self._jobs[job_id].update(changes)
            return dict(self._jobs[job_id])

    def remove_job(self, job_id: str) -> dict[str, Any]:
        removed = self.job(job_id)
        with self._lock:
            del self._jobs[job_id]
        return removed

    def pause_job(self, job_id: str) -> dict[str, Any]:
        return self._change(job_id, state=str(JobState.PAUSED), paused=True)

    def resume_job(self, job_id: str) -> dict[str, Any]:
        return self._change(job_id, state=str(JobState.SCHEDULED), paused=False)

    def run_now(self, job_id: str) -> dict[str, Any]:
        return self._change(job_id, state=str(JobState.WAITING))

    def backfill(self, job_id: str, start: Any, end: Any) -> dict[str, Any]:
        raise NotFoundError(f"backfill is not faked: no run ledger here ({job_id!r})")

    def reschedule(self, job_id: str, when: Any) -> dict[str, Any]:
        return self._change(job_id, due_at=parse_when(when, now=time.time()))

    # ------------------------------------------------------------------ runs and logs
    def record(self, *docs: Mapping[str, Any]) -> None:
        """Store documents as the journal would (tests put runs and log lines in with this)."""
        self.store.insert([dict(doc) for doc in docs])

    def runs(self, query: Query) -> Page:
        return self.store.find(query)

    def run(self, job_id: str, index: int, attempt: int | None = None) -> dict[str, Any]:
        items = [d for d in self.store.find(Query(type="result", job_id=job_id, index=index, limit=100)).items
                 if attempt is None or d.get("attempt") == attempt]
        if not items:
            raise NotFoundError(f"no run {index} of job {job_id!r}")
        result = dict(items[0])
        logs = self.store.find(Query(type="reslog", job_id=job_id, index=index, limit=1000)).items
        result["logs"] = sorted(logs, key=lambda d: d.get("seq", 0))
        return result

    def running(self) -> list[dict[str, Any]]:
        return []

    def cancel(self, run_id: str) -> dict[str, Any]:
        raise NotFoundError(f"no running run {run_id!r}")

    def logs(self, query: Query) -> Page:
        return self.store.find(query)

    def tail(self, after_seq: int, types: Collection[str] | None, stop: Any) -> Iterator[dict[str, Any]]:
        seq = after_seq
        while not stop.is_set():
            docs = self.store.read_after(seq, types, 500)
            for doc in docs:
                seq = doc["seq"]
                yield doc
            if not docs:
                stop.wait(0.05)

    def last_seq(self) -> int:
        return self.store.last_seq()


def _conforms(backend: FakeBackend) -> Backend:
    """mypy checks here that the fake has every method of the protocol, with its signature."""
    return backend
