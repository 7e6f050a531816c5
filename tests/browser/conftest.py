"""Fixtures of the browser tests: one real `Server` per module serving the panel for real
(waitress on a free port, a temporary SQLite store, 2 worker subprocesses, the demo jobs of
``examples/demo.py``), and Playwright's sync API driving Debian's Chromium
(``/usr/bin/chromium``, installed by ``scripts/provision-services.sh``; Playwright's own
browser download does not work here and is never used).

Without the browser or the ``playwright`` package the tests fail when ``CI`` is set and
skip with the reason otherwise. Screenshots go to ``test-artifacts/browser/`` (a failing
test also leaves ``FAILED-<test>.png`` there). Waits are Playwright's auto-waiting or polls
with deadlines; nothing sleeps blindly.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import os
import re
import time
import urllib.error
import urllib.request
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from actors.configfile import load_config
from actors.server import Server
from tasks.registry import TaskRegistry
from tests.polling import wait_for

poll = wait_for  # the browser tests call it poll

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, ViewportSize

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "browser"
DEMO = ROOT / "examples" / "demo.py"
CHROMIUM = Path("/usr/bin/chromium")
#: Flags that work on this machine's closed network (see the machine notes); Playwright adds
#: ``--headless`` and a fresh, empty ``--user-data-dir`` of its own to every launch.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VIEWPORT: ViewportSize = {"width": 1280, "height": 800}
#: Milliseconds a Playwright action or assertion waits by default.
TIMEOUT_MS = 15_000
_names = itertools.count()


def missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if importlib.util.find_spec("playwright") is None:
        return "the playwright package is not installed (pip install -e '.[test]'; never `playwright install`)"
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        return f"{CHROMIUM} is missing: run scripts/provision-services.sh (installs Debian's chromium package)"
    return None


def unique(prefix: str = "browser") -> str:
    """A name no other test uses (job ids hash the definition)."""
    return f"{prefix}-{next(_names)}-{time.monotonic_ns()}"




def shot(page: Page, name: str, *, full_page: bool = False) -> Path:
    """Save a screenshot of *page* as ``test-artifacts/browser/<name>.png``."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


class Api:
    """The JSON API of the served panel over plain HTTP (set-up and checks beside the browser)."""

    def __init__(self, base_url: str) -> None:
        self.base = base_url + "api/v1/"

    def call(self, path: str, method: str = "GET", body: dict[str, Any] | None = None) -> dict[str, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=15) as resp:
                return dict(json.load(resp))
        except urllib.error.HTTPError as exc:
            raise AssertionError(f"{method} {path}: {exc.code} {exc.read()[:500]!r}") from None

    def add(self, classname: str, interval: float = 3600.0, **fields: Any) -> dict[str, Any]:
        body = {"name": fields.pop("name", unique()), "classname": classname, "interval": interval, **fields}
        return dict(self.call("jobs", "POST", body)["job"])

    def jobs(self) -> list[dict[str, Any]]:
        return list(self.call("jobs?limit=1000")["jobs"])

    def runs(self, job_id: str) -> list[dict[str, Any]]:
        return list(self.call(f"runs?job_id={job_id}&limit=1000")["runs"])

    def wait_run(self, job_id: str, outcome: str | None = None, timeout: float = 30.0) -> dict[str, Any]:
        """The first stored run of *job_id* (with *outcome*, if given), waiting for it."""

        def found() -> dict[str, Any] | None:
            return next((r for r in self.runs(job_id) if outcome is None or r.get("outcome") == outcome), None)

        return dict(poll(found, timeout, 0.1, f"a {outcome or ''} run of {job_id}"))


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium under Playwright, headless (or the reason why not: fail on CI, else skip)."""
    reason = missing()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"browser tests cannot run: {reason}")
        pytest.skip(reason)
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def panel(browser: Browser, tmp_path_factory: pytest.TempPathFactory,
          request: pytest.FixtureRequest) -> Iterator[Server]:
    """A `Server` with the demo jobs serving the panel on a free port (after the browser check);
    a test module may set more options in its ``PANEL_OPTIONS``."""
    registry = TaskRegistry(importable=("tests",))
    registry.discover()
    store = tmp_path_factory.mktemp("browser") / "store.db"
    flags = {"db_uri": f"sqlite:///{store}", "workers": 2, "minimum_interval": 0.0, "no_start_offset": True,
             "task_packages": "tests",
             "web": True, "web_port": 0, "journal_flush_interval": 0.01, "shutdown_grace": 1.0,
             "retry_delay": 0.5, "restart_min_backoff": 0.05, "restart_max_backoff": 0.2,
             **getattr(request.module, "PANEL_OPTIONS", {})}
    settings, jobs = load_config([DEMO], flags, make_job=registry.validate_spec)
    system = Server(settings, jobs).start()
    try:
        poll(lambda: len(system.workers()) == 2 and all(w["status"] == "idle" for w in system.workers()),
             30, what="both workers idle")
        yield system
    finally:
        system.shutdown(grace_s=0.5)


@pytest.fixture(scope="module")
def base_url(panel: Server) -> str:
    url = panel.web_url
    assert url and re.fullmatch(r"http://127\.0\.0\.1:\d+/analytics/", url), url
    return url


@pytest.fixture(scope="module")
def api(base_url: str) -> Api:
    return Api(base_url)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    report = yield
    if report.when == "call":
        item.stash[_FAILED] = report.failed
    return report


_FAILED = pytest.StashKey[bool]()


@pytest.fixture
def console() -> list[str]:
    """Console messages and uncaught errors of the test's `page`."""
    return []


@pytest.fixture
def page(browser: Browser, base_url: str, console: list[str], request: pytest.FixtureRequest) -> Iterator[Page]:
    """A fresh context (empty cookie jar, 1280x800, light theme) at the panel; dialogs accepted;
    what the page prints to its console goes to `console`."""
    context = browser.new_context(base_url=base_url, viewport=VIEWPORT, color_scheme="light")
    context.set_default_timeout(TIMEOUT_MS)
    opened = context.new_page()
    opened.on("console", lambda msg: console.append(f"{msg.type}: {msg.text}"))
    opened.on("pageerror", lambda exc: console.append(f"pageerror: {exc}"))
    opened.on("dialog", lambda dialog: dialog.accept())  # the confirm() of cancel / remove forms
    try:
        yield opened
    finally:
        if request.node.stash.get(_FAILED, False):
            try:
                shot(opened, f"FAILED-{request.node.name}", full_page=True)
            except Exception:
                pass
        context.close()
