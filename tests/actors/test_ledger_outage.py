"""While the run ledger cannot be written, no run starts (its slot cannot be claimed), health
says so, and the runs start once the store is back: a real System on a SQLite file held
under an exclusive lock by another connection."""

from __future__ import annotations

import sqlite3

import pytest

from actors.facade import Facade
from actors.messages import AddJob, GetStatus
from actors.store.sqlite import SQLiteStore
from actors.store.sqlite_ledger import ledger_path
from actors.system import System
from tests.actors.test_system import job, results, settings

pytestmark = pytest.mark.system


def test_no_run_starts_while_the_ledger_is_unavailable_and_all_start_when_it_is_back(tmp_path, monkeypatch):
    original = SQLiteStore._connect

    def quick_busy(store: SQLiteStore, path: str | None = None) -> sqlite3.Connection:
        conn = original(store, path)
        conn.execute("PRAGMA busy_timeout = 20")  # fail fast while the lock is held
        return conn

    monkeypatch.setattr(SQLiteStore, "_connect", quick_busy)
    system = System(settings(tmp_path)).start()
    # The run ledger's own file (beside store.db) held under an exclusive lock.
    locker = sqlite3.connect(ledger_path(str(tmp_path / "store.db")), isolation_level=None, check_same_thread=False)
    try:
        assert system.wait_until(lambda: all(w["status"] == "idle" for w in system.workers()), 30)
        locker.execute("BEGIN EXCLUSIVE")
        spec = job("blocked", "Ok", interval=3600.0)
        system.ask(AddJob(spec))
        assert system.wait_until(lambda: system.ask(GetStatus())["ledger_down_since"] is not None, 20)
        status = system.ask(GetStatus())
        assert status["dispatched"] == 0 and status["running"] == 0 and status["waiting"] == 1
        healthy, details = Facade(system).health()
        assert not healthy and any("run ledger" in problem for problem in details["problems"])
        locker.execute("ROLLBACK")
        assert system.wait_until(lambda: len(results(system, job_id=spec.job_id)) == 1, 30)
        assert system.ask(GetStatus())["ledger_down_since"] is None
    finally:
        if locker.in_transaction:
            locker.execute("ROLLBACK")
        locker.close()
        system.shutdown(grace_s=0.5)
