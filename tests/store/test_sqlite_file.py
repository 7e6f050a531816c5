"""The SQLite file under faults (issue 11).

The probe: the SQLite file deleted while the server ran; writes went on into the unlinked
inode, health stayed ok, and after a restart every job and result added through the API was
gone. Here the file is deleted for real under a running server: the journal must notice,
recreate it from what the open connection still sees, save every job again, and a restart on
the same path must find every job and result, from before and after the deletion. A file
*replaced* by another is left alone and reported unhealthy.
"""

from __future__ import annotations

import os
import sqlite3

import pytest

from actors.store import Query
from actors.store.sqlite import SQLiteStore
from actors.store.sqlite_file import file_problem
from tests.actors.test_system import wait_results
from tests.web.conftest import client, make_facade, start_system, unique, wait_for

OK = "tests.fixtures:Ok"


def test_the_store_notices_a_deleted_file_and_recovers_it_whole(tmp_path):
    path = tmp_path / "s.db"
    store = SQLiteStore(path, size_bytes=1 << 20)
    store.open()
    try:
        store.insert([{"type": "log", "msg": f"line {i}"} for i in range(10)])
        store.save_jobs([{"job_id": "j1", "name": "one"}])
        assert store.problem() is None
        os.remove(path)
        assert "was deleted while open" in (store.problem() or "")
        store.insert([{"type": "log", "msg": "after the deletion"}])  # goes to the unlinked inode
        how = store.recover()
        assert "recreated" in how and path.exists() and store.problem() is None
        assert store.find(Query(type="log", limit=100)).total == 11
        assert [j["job_id"] for j in store.load_jobs()] == ["j1"]
        store.insert([{"type": "log", "msg": "into the new file"}])
    finally:
        store.close()
    reopened = SQLiteStore(path, size_bytes=1 << 20)
    reopened.open()
    assert reopened.find(Query(type="log", limit=100)).total == 12
    reopened.close()


def test_a_replaced_file_is_reported_not_touched(tmp_path):
    path = tmp_path / "s.db"
    store = SQLiteStore(path, size_bytes=1 << 20)
    store.open()
    try:
        other = tmp_path / "other.db"
        sqlite3.connect(other).close()
        os.replace(other, path)
        assert "was replaced by another file" in (store.problem() or "")
        with pytest.raises(Exception, match="nothing to recover"):
            store.recover()
    finally:
        store.close()
    assert file_problem(str(path), None) is None


@pytest.mark.system
def test_a_running_server_recreates_its_deleted_file_and_loses_nothing(tmp_path):
    db = tmp_path / "store.db"
    system = start_system(tmp_path)
    try:
        facade = make_facade(system)
        before = facade.add_job({"name": unique("before"), "classname": OK, "interval": 3600})
        wait_results(system, job_id=before["job_id"])
        os.remove(db)
        wait_for(lambda: system.journal_stats()["store_recoveries"] == 1, 15)
        assert db.exists()
        after = facade.add_job({"name": unique("after"), "classname": OK, "interval": 3600})
        wait_results(system, job_id=after["job_id"])
        assert client(facade).get("/healthz").status_int == 200
    finally:
        system.shutdown(grace_s=0.2)
    restarted = start_system(tmp_path)
    try:
        facade = make_facade(restarted)
        for job in (before, after):
            assert facade.job(job["job_id"])["name"] == job["name"]
            assert wait_results(restarted, job_id=job["job_id"])
    finally:
        restarted.shutdown(grace_s=0.2)


@pytest.mark.system
def test_a_running_server_with_a_replaced_file_is_unhealthy(tmp_path):
    db = tmp_path / "store.db"
    system = start_system(tmp_path)
    try:
        app = client(make_facade(system))
        assert app.get("/healthz").status_int == 200
        other = tmp_path / "other.db"
        sqlite3.connect(other).close()
        os.replace(other, db)
        problems = wait_for(lambda: (r := app.get("/healthz", expect_errors=True)).status_int == 503
                            and r.json["problems"], 15)
        assert any("was replaced by another file" in p for p in problems), problems
        wait_for(lambda: system.journal_stats()["store_problem"], 15)
    finally:
        system.shutdown(grace_s=0.2)
