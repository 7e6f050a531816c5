"""The whole actor system in-process: real worker subprocesses, real signals, a temp store.

Every wait is a poll with a deadline (`System.wait_until`), never a bare sleep.
"""

from __future__ import annotations

import itertools
import os
import signal
import time
from pathlib import Path

import pytest

from actors.config import Settings
from actors.jobs import JobSpec, JobState, Origin
from actors.messages import AddJob, GetJob, GetStatus, ListJobs
from actors.server import Server
from actors.store import Query
from actors.system import System

pytestmark = pytest.mark.system

F = "tests.fixtures:"


def settings(tmp_path: Path, **overrides) -> Settings:
    base = {
        "db_uri": f"sqlite:///{tmp_path}/store.db", "workers": 2, "minimum_interval": 0.0, "task_packages": "tests",
        "no_start_offset": True, "retry_delay": 0.05, "retry_max_delay": 0.2, "retry_jitter": 0.0,
        "max_retries": 2, "restart_min_backoff": 0.05, "restart_max_backoff": 0.2, "restart_window": 60.0,
        "restart_max": 5, "shutdown_grace": 2.0, "journal_flush_interval": 0.01, "task_timeout": 30.0,
        "web": False,
    }
    base.update(overrides)
    return Settings(base)


def job(name, classname, interval=3600.0, **kw) -> JobSpec:
    limits = {k: kw.pop(k) for k in ("only_once", "max_runs", "only_before", "timeout_s", "max_retries") if k in kw}
    builtin = ":" in classname or classname in ("Test", "Sleep", "Echo")
    return JobSpec(name=name, classname=classname if builtin else F + classname,
                   interval_s=interval, kwargs=kw, origin=Origin.CONFIG, **limits)


@pytest.fixture
def start(tmp_path):
    systems: list[System] = []

    def _start(jobs=(), **overrides) -> System:
        system = System(settings(tmp_path, **overrides), list(jobs)).start()
        systems.append(system)
        return system

    yield _start
    for system in systems:
        system.shutdown(grace_s=0.5)


def results(system: System | Server, **filters) -> list[dict]:
    system.flush()
    return system.store.find(Query(type="result", limit=1000, **filters)).items


def wait_results(system: System | Server, timeout: float = 20.0, count: int = 1, **filters) -> list[dict]:
    found: list[dict] = []

    def enough() -> bool:
        nonlocal found
        found = results(system, **filters)
        return len(found) >= count

    assert system.wait_until(enough, timeout, poll_s=0.05), f"expected {count} results for {filters}, got {found}"
    return found


def worker_pids(system: System) -> list:
    return [w.get("pid") for w in system.workers()]


def wait_ready(system: System, timeout: float = 20.0) -> None:
    assert system.wait_until(lambda: all(w["status"] == "idle" for w in system.workers()), timeout)


# ------------------------------------------------------------------------------------------------
def test_config_jobs_run_and_results_logs_reach_the_store(start):
    system = start([job("chat", "Chatty", lines=3)])
    docs = wait_results(system, job_id=system.config_jobs[0].job_id)
    assert docs[0]["outcome"] == "success" and docs[0]["result"] == {"lines": 3}
    assert docs[0]["index"] == 1 and docs[0]["attempt"] == 0 and docs[0]["due_at"] <= docs[0]["started_at"]
    logs = system.store.find(Query(type="reslog", job_id=system.config_jobs[0].job_id, limit=100)).items
    assert {d["msg"] for d in logs} >= {"line 0", "line 1", "line 2", "printed to stdout"}
    assert system.store.find(Query(type="log", logger_prefix="das_actors", limit=5)).total > 0


def test_task_next_resubmit_and_limits(start):
    system = start([job("next", "Next", delay=0.3, max_runs=3), job("stop", "Stop", interval=0.05)])
    nxt, stop = (j.job_id for j in system.config_jobs)
    docs = wait_results(system, count=3, job_id=nxt)
    dues = sorted(d["due_at"] for d in docs)
    assert [round(b - a, 6) for a, b in itertools.pairwise(dues)] == [0.3, 0.3]  # next honoured exactly
    assert all(d["started_at"] >= d["due_at"] for d in docs)
    assert system.wait_until(lambda: system.ask(GetJob(nxt))["state"] == "finished", 5)
    assert "max_runs reached (3 runs)" in system.ask(GetJob(nxt))["note"]
    wait_results(system, job_id=stop)
    assert system.wait_until(lambda: system.ask(GetJob(stop))["state"] == "finished", 5)
    time.sleep(0.3)  # a finished job must not run again: give it the chance to misbehave
    assert len(results(system, job_id=stop)) == 1


def test_children_get_ancestry_and_malformed_ones_are_reported(start):
    children = [
        {"name": "kid", "classname": F + "Spawn", "interval": 0.05, "only_once": True,
         "kwargs": {"children": [{"name": "grandkid", "classname": F + "Ok", "interval": 0.05, "only_once": True}]}},
        {"name": "broken", "classname": "NoSuchTask", "interval": 1},
        {"name": "neg", "classname": F + "Ok", "interval": -5},
    ]
    system = start([job("parent", "Spawn", only_once=True, children=children)])
    parent_id = system.config_jobs[0].job_id
    parent_doc = wait_results(system, job_id=parent_id)[0]
    assert len(parent_doc["child_errors"]) == 2
    assert any("NoSuchTask" in e for e in parent_doc["child_errors"])
    assert any("interval" in e for e in parent_doc["child_errors"])
    grandkid = wait_results(system, name="grandkid")[0]
    kid = wait_results(system, name="kid")[0]
    assert kid["parent"] == [parent_id]
    assert grandkid["parent"] == [parent_id, kid["job_id"]]
    assert {d["name"] for d in results(system, parent=parent_id)} == {"kid", "grandkid"}


def test_a_parent_that_spawns_the_same_child_at_every_run_keeps_one_child_job(start):
    kid = {"name": "kid", "classname": F + "Ok", "interval": 0.05, "only_once": True}
    system = start([job("parent", "Spawn", interval=1.0, max_runs=3, children=[kid])])
    parent_id = system.config_jobs[0].job_id
    wait_results(system, count=3, job_id=parent_id)
    # The kid runs once per parent run that found it finished (a parent run while it still waits
    # only updates it): at least twice, as one job whose run numbers go on.
    docs = wait_results(system, count=2, name="kid")
    assert len({d["job_id"] for d in docs}) == 1  # one child, extended at each parent run
    assert sorted(d["index"] for d in docs) == list(range(1, len(docs) + 1))  # its history goes on
    kids = [j for j in system.ask(ListJobs()) if j["name"] == "kid"]
    assert len(kids) == 1 and kids[0]["parent"] == [parent_id]


def test_retries_exactly_max_retries_then_abandoned(start):
    system = start([job("bad", "Fail")], max_retries=2)
    bad = system.config_jobs[0].job_id
    docs = wait_results(system, count=3, job_id=bad)
    assert system.wait_until(lambda: system.ask(GetJob(bad))["state"] == "abandoned", 5)
    time.sleep(0.3)  # an abandoned job must not run again
    docs = results(system, job_id=bad)
    assert sorted((d["index"], d["attempt"]) for d in docs) == [(1, 0), (1, 1), (1, 2)]
    assert all(d["outcome"] == "failed" and "ValueError: failing on purpose" in d["error"] for d in docs)
    assert "Traceback" in docs[0]["traceback"]
    view = system.ask(GetJob(bad))
    assert view["last_error"].startswith("ValueError") and "abandoned after 2 retries" in view["note"]


def test_soft_failure_is_a_failure(start):
    system = start([job("soft", "Fail", soft=True)], max_retries=0)
    doc = wait_results(system, job_id=system.config_jobs[0].job_id)[0]
    assert doc["outcome"] == "failed" and doc["error"] == "soft failure"


def test_unstorable_result_is_stored_stringified_with_notes(start):
    system = start([job("weird", "Unstorable", only_once=True)])
    doc = wait_results(system, job_id=system.config_jobs[0].job_id)[0]
    assert doc["outcome"] == "success"
    assert doc["result"]["ok"] == [1, 2] and doc["result"]["a_b"] == 1 and doc["result"]["_x"] == 2
    assert doc["result"]["3"] == "int key" and isinstance(doc["result"]["when"], str)
    assert len(doc["notes"]) >= 4


def test_sigkill_of_a_worker_mid_run_is_recorded_crashed_retried_and_the_worker_comes_back(start, tmp_path):
    marker = tmp_path / "mark"
    system = start([job("victim", "Mark", marker=str(marker), seconds=60, only_once=True)])
    assert system.wait_until(marker.exists, 20)
    pid = int(marker.read_text())
    os.kill(pid, signal.SIGKILL)
    victim = system.config_jobs[0].job_id
    docs = wait_results(system, count=2, job_id=victim)
    crashed = next(d for d in docs if d["attempt"] == 0)
    assert crashed["outcome"] == "crashed" and "signal 9 (SIGKILL)" in crashed["error"]
    assert next(d for d in docs if d["attempt"] == 1)["outcome"] == "success"
    wait_ready(system)
    assert pid not in worker_pids(system)


def test_hanging_task_times_out_within_timeout_plus_grace(start, tmp_path):
    marker = tmp_path / "hang"
    system = start([job("hang", "Hang", marker=str(marker), stubborn=True, timeout_s=0.5, only_once=True)],
                   max_retries=0)
    hang = system.config_jobs[0].job_id
    doc = wait_results(system, timeout=15, job_id=hang)[0]
    assert doc["outcome"] == "timeout" and "timed out after 0.5s" in doc["error"]
    assert "SIGKILL" in doc["error"]  # it ignored SIGTERM, so the grace ran out
    assert doc["duration"] <= 0.5 + 2.0 + 1.0
    wait_ready(system)


def test_memory_hog_is_recorded_as_failure_and_the_worker_comes_back(start):
    system = start([job("hog", "Hog", mb=2048, only_once=True)], worker_memory_mb=400, max_retries=0)
    doc = wait_results(system, job_id=system.config_jobs[0].job_id)[0]
    assert doc["outcome"] == "failed" and "MemoryError" in doc["error"]
    wait_ready(system)
    system.ask(AddJob(JobSpec(name="after", classname=F + "Ok", interval_s=60, origin=Origin.API)))
    assert wait_results(system, name="after")[0]["outcome"] == "success"


def test_restart_intensity_exceeded_degrades_the_slot_and_others_keep_running(start):
    system = start([job("steady", "Ok", interval=0.1)], restart_max=2, restart_window=60.0)
    wait_ready(system)
    for _ in range(3):  # 2 restarts allowed; the 3rd death exceeds the intensity
        assert system.wait_until(lambda: system.workers()[0]["status"] in ("idle", "busy"), 10)
        victim = system.workers()[0]["pid"]
        os.kill(victim, signal.SIGKILL)
        assert system.wait_until(  # a new process is up, or the slot gave up
            lambda v=victim: system.workers()[0]["status"] == "degraded"
            or (system.workers()[0]["pid"] != v and system.workers()[0]["status"] in ("idle", "busy")), 10)
    assert system.wait_until(lambda: system.workers()[0]["status"] == "degraded", 10)
    assert "degraded" in system.ask(GetStatus())["down"][0]
    before = len(results(system, name="steady"))
    wait_results(system, count=before + 5, name="steady")
    assert system.workers()[1]["status"] in ("idle", "busy")


def test_a_due_run_waits_while_every_worker_is_busy_and_starts_when_one_frees(start, tmp_path):
    m1, m2 = tmp_path / "m1", tmp_path / "m2"
    system = start([job("busy1", "Mark", marker=str(m1), seconds=1.0, only_once=True),
                    job("busy2", "Mark", marker=str(m2), seconds=1.0, only_once=True)], workers=2)
    assert system.wait_until(lambda: m1.exists() and m2.exists(), 20)
    queued = system.ask(AddJob(JobSpec(name="queued", classname=F + "Ok", interval_s=60, origin=Origin.API)))
    assert system.ask(GetJob(queued["job_id"]))["state"] == "waiting"
    doc = wait_results(system, name="queued")[0]
    busy_finish = min(d["finished_at"] for d in results(system) if d["name"].startswith("busy"))
    assert doc["started_at"] >= busy_finish - 0.05


def test_one_job_never_runs_twice_at_once(start, tmp_path):
    marker = tmp_path / "m"
    system = start([job("slow", "Mark", interval=0.05, marker=str(marker), seconds=0.6, max_runs=1)], workers=2)
    slow = system.config_jobs[0].job_id
    wait_results(system, job_id=slow)
    docs = results(system, job_id=slow)
    assert len(docs) == 1


def test_shutdown_interrupts_runs_past_the_grace_and_saves_them(tmp_path):
    marker = tmp_path / "m"
    system = System(settings(tmp_path), [job("long", "Mark", marker=str(marker), seconds=60)]).start()
    assert system.wait_until(marker.exists, 20)
    t0 = time.monotonic()
    system.shutdown(grace_s=0.3)
    assert time.monotonic() - t0 < 0.3 + 2.0 + 3.0
    from actors.store.sqlite import SQLiteStore
    store = SQLiteStore(str(tmp_path / "store.db"), size_bytes=1 << 26)
    store.open()
    docs = store.find(Query(type="result")).items
    assert [d["outcome"] for d in docs] == ["interrupted"]
    [record] = [r for r in store.load_jobs() if r["name"] == "long"]
    assert record["next_trigger"] == "resume" and record["state"] == "scheduled"
    store.close()


def test_restart_resumes_the_schedule_without_duplicating_config_jobs(tmp_path):
    jobs = [job("periodic", "Ok", interval=3600.0)]
    system = System(settings(tmp_path), jobs).start()
    wait_results(system, job_id=jobs[0].job_id)
    due = system.ask(GetJob(jobs[0].job_id))["due_at"]
    system.shutdown()
    again = System(settings(tmp_path), jobs).start()
    try:
        view = again.ask(GetJob(jobs[0].job_id))
        assert view["due_at"] == due and view["run_count"] == 1
        assert len(again.ask(ListJobs())) == 1
        assert view["state"] == JobState.SCHEDULED
    finally:
        again.shutdown()


def test_a_failed_start_leaves_no_actor_running(tmp_path, monkeypatch):
    import pykka

    import web.app

    def broken(facade, **_options):
        raise RuntimeError("panel exploded")

    monkeypatch.setattr(web.app, "make_app", broken)
    from actors.server import Server

    system = Server(settings(tmp_path, web=True, web_port=0), [job("j", "Ok")])
    with pytest.raises(RuntimeError, match="panel exploded"):
        system.start()
    assert system.wait_until(lambda: not pykka.ActorRegistry.get_all(), 10)  # nothing keeps the process alive
