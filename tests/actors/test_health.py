"""``/healthz`` tells the truth (issue 11).

The probe: after a restart nothing was dispatched while ``/healthz`` said 200. Here each way the
server can stop doing its job while its actors still answer is caused for real, and ``/healthz``
must answer 503 naming it: due runs wait while workers are idle (the waker is dead), the
scheduler makes no progress (its thread is stuck), a worker slot is degraded.
"""

from __future__ import annotations

import functools
import os
import signal
import threading

import pytest

from actors import scheduler as scheduler_module
from actors.messages import Housekeep
from actors.waker import Waker
from tests.web.conftest import client, make_facade, start_system, unique, wait_for

pytestmark = pytest.mark.system

OK = "tests.fixtures:Ok"


def _problems(app) -> list[str]:
    resp = app.get("/healthz", expect_errors=True)
    return [] if resp.status_int == 200 else resp.json["problems"]


def test_healthy_server_says_ok(tmp_path):
    system = start_system(tmp_path, health_stall_after=0.5)
    try:
        facade = make_facade(system)
        facade.add_job({"name": unique(), "classname": OK, "interval": 0.1})
        wait_for(lambda: all(w["status"] in ("idle", "busy") for w in system.workers()), 30)
        app = client(facade)
        assert app.get("/healthz").json == {"status": "ok"}
    finally:
        system.shutdown(grace_s=0.2)


def test_due_runs_waiting_beside_idle_workers_is_unhealthy(tmp_path, monkeypatch):
    monkeypatch.setattr(Waker, "wake_at", lambda self, at: None)  # the waker never ticks again
    system = start_system(tmp_path, health_stall_after=0.5)
    try:
        wait_for(lambda: all(w["status"] == "idle" for w in system.workers()), 30)
        facade = make_facade(system)
        facade.add_job({"name": unique(), "classname": OK, "interval": 3600, "when": "+1s"})
        app = client(facade)
        problems = wait_for(lambda: _problems(app), 15)
        assert any("due runs have waited" in p and "idle" in p for p in problems), problems
    finally:
        system.shutdown(grace_s=0.2)


def test_a_scheduler_without_progress_is_unhealthy(tmp_path, monkeypatch):
    stuck, release = threading.Event(), threading.Event()
    original = scheduler_module.HANDLERS[Housekeep]

    def housekeep(self, message):
        if stuck.is_set():
            release.wait(60)  # the actor's thread is stuck in one handler
        return original(self, message)

    monkeypatch.setitem(scheduler_module.HANDLERS, Housekeep, housekeep)
    system = start_system(tmp_path, health_stall_after=0.5)
    try:
        app = client(make_facade(system))
        assert _problems(app) == []
        stuck.set()
        problems = wait_for(lambda: [p for p in _problems(app) if "no progress" in p], 15)
        assert problems[0].startswith("scheduler: no progress for ")
    finally:
        release.set()
        system.shutdown(grace_s=0.2)


def _replaced_or_degraded(system, pid: int) -> bool:
    worker = system.workers()[0]
    return worker["pid"] != pid or worker["status"] == "degraded"


def test_a_degraded_worker_is_unhealthy(tmp_path):
    system = start_system(tmp_path, workers=2, restart_max=1, restart_window=600.0)
    try:
        app = client(make_facade(system))
        wait_for(lambda: all(w["status"] == "idle" for w in system.workers()), 30)
        for _ in range(2):  # one restart allowed; the second death degrades the slot
            pid = wait_for(lambda: system.workers()[0]["status"] == "idle" and system.workers()[0]["pid"], 30)
            os.kill(pid, signal.SIGKILL)
            wait_for(functools.partial(_replaced_or_degraded, system, pid))
        problems = wait_for(lambda: _problems(app), 15)
        assert any(p.startswith("worker 0: degraded") for p in problems), problems
    finally:
        system.shutdown(grace_s=0.2)
