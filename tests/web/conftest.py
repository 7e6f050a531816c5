"""Fixtures of the web tests: a real in-process `Server` (2 worker subprocesses, a temporary
SQLite store, tiny intervals, no web server), a real `Facade`, and the app under WebTest at
``/analytics`` as the server mounts it. Waits poll with deadlines; nothing sleeps blindly.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import webtest  # type: ignore[import-untyped]

from actors.config import Settings
from actors.facade import Facade
from actors.server import Server
from tasks.registry import TaskRegistry
from tests import polling
from tests.web.fake_backend import FakeBackend
from web.app import app_for

wait_for = polling.wait_for  # re-exported: the web tests import it from here

T = "tests.web.tasks:"
BASE = "/analytics"
API = "/api/v1"
_names = itertools.count()


class WebTestRegistry(TaskRegistry):
    """The discovered task classes plus a few of ``tests.web.tasks`` (for the class picker)."""

    EXTRA = (T + "Say", T + "Typed")

    def describe(self) -> list[dict[str, Any]]:
        return super().describe() + [{**self.info(name).describe(), "classname": name} for name in self.EXTRA]


def web_settings(tmp_path: Path, **overrides: Any) -> Settings:
    base = {
        "db_uri": f"sqlite:///{tmp_path}/store.db", "workers": 2, "minimum_interval": 0.0, "task_packages": "tests",
        "report_packages": "tests",
        "no_start_offset": True, "retry_delay": 0.05, "retry_max_delay": 0.2, "retry_jitter": 0.0,
        "max_retries": 0, "restart_min_backoff": 0.05, "restart_max_backoff": 0.2, "shutdown_grace": 1.0,
        "journal_flush_interval": 0.01, "task_timeout": 30.0, "web": False,
    }
    base.update(overrides)
    return Settings(base)


def start_system(tmp_path: Path, **overrides: Any) -> Server:
    """The whole server (actors, facade, and the panel when ``web=True``) on a temporary store."""
    return Server(web_settings(tmp_path, **overrides)).start()


def make_facade(system: Server) -> Facade:
    registry = WebTestRegistry(importable=("tests",))
    registry.discover()
    return Facade(system.system, registry)


def client(facade: Any, **options: Any) -> webtest.TestApp:
    """The app as `actors.server.Server` builds it (the ``web_*`` options of the settings), under WebTest.

    *facade* is the real `Facade` of a running server, or a `tests.web.fake_backend.FakeBackend`.
    """
    settings = facade.settings if isinstance(facade, FakeBackend) else facade.system.settings
    return webtest.TestApp(app_for(facade, settings, **options), extra_environ={"SCRIPT_NAME": BASE})


@pytest.fixture(scope="module")
def fake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeBackend]:
    """A `FakeBackend`: the web's whole door, in memory, no actors (milliseconds per test)."""
    backend = FakeBackend(tmp_path_factory.mktemp("fake"))
    yield backend
    backend.close()


def unique(prefix: str = "job") -> str:
    """A job name no other test uses (job ids hash the definition)."""
    return f"{prefix}-{next(_names)}-{time.monotonic_ns()}"




@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_system(tmp_path_factory.mktemp("web-system"))
    wait_for(lambda: all(w["status"] == "idle" for w in running.workers()), 30)
    yield running
    running.shutdown(grace_s=0.5)


@pytest.fixture(scope="module")
def facade(system: Server) -> Facade:
    return make_facade(system)


@pytest.fixture
def app(facade: Facade) -> webtest.TestApp:
    """A fresh app (new session secret, empty cookie jar) on the module's system."""
    return client(facade)


class Api:
    """Small helpers over the JSON API of a `webtest.TestApp`."""

    def __init__(self, app: webtest.TestApp, system: Server | None) -> None:
        self.app, self.system = app, system

    def add(self, classname: str = T + "Say", interval: float = 3600.0, **fields: Any) -> dict[str, Any]:
        body = {"name": fields.pop("name", unique()), "classname": classname, "interval": interval, **fields}
        return self.app.post_json(API + "/jobs", body, status=201).json["job"]

    def runs(self, **query: Any) -> dict[str, Any]:
        if self.system is not None:
            self.system.flush()
        return self.app.get(API + "/runs", {k: v for k, v in query.items() if v is not None}).json

    def wait_runs(self, count: int = 1, timeout: float = 20.0, **query: Any) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []

        def enough() -> bool:
            nonlocal found
            found = self.runs(limit=1000, **query)["runs"]
            return len(found) >= count

        wait_for(enough, timeout)
        return found

    def job(self, job_id: str) -> dict[str, Any]:
        return self.app.get(f"{API}/jobs/{job_id}").json["job"]

    def wait_running(self, job_id: str, timeout: float = 20.0) -> dict[str, Any]:
        def running() -> dict[str, Any] | None:
            return next((r for r in self.app.get(API + "/running").json["running"]
                         if r["job_id"] == job_id and r.get("pid")), None)

        return wait_for(running, timeout)


@pytest.fixture
def api(app: webtest.TestApp, system: Server) -> Api:
    return Api(app, system)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A Server serving the panel for real: waitress on a free port (``web_port=0``)."""
    running = start_system(tmp_path_factory.mktemp("served"), web=True, web_port=0)
    wait_for(lambda: all(w["status"] == "idle" for w in running.workers()), 30)
    yield running
    running.shutdown(grace_s=0.5)
