"""The whole system with ``compute = dask://...``: the proofs of tests/actors/test_system.py (logs,
timeout, cancel, crash, retries) against a real Dask scheduler and two real ``dask worker``
processes (the session's ``dask_cluster``), plus what only a cluster has: a lost Dask worker,
the same run submitted by two servers, placement by resources.

The task processes run on this machine (the cluster is on loopback), so a test can check that
a killed run's process is really gone. Every wait is a poll with a deadline.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from actors.daskcompute import DaskCompute, task_key
from actors.jobs import JobSpec, Origin
from actors.messages import AddJob, CancelRun, GetJob, ListRunning
from actors.routing import Directory
from actors.store import Query
from actors.system import System
from tests.actors.test_system import job, results, settings, wait_results
from tests.dask_cluster import DaskCluster

pytestmark = pytest.mark.system

T = "tests.dask_tasks:"
#: Seconds a run on the cluster may take to be recorded (first runs start a task process).
RESULT_S = 30.0


@pytest.fixture
def start(tmp_path, dask_cluster: DaskCluster):
    systems: list[System] = []

    def _start(jobs=(), *, where: Path = tmp_path, **overrides) -> System:
        where.mkdir(exist_ok=True)
        compute = "dask://" + dask_cluster.address.removeprefix("tcp://")
        system = System(settings(where, compute=compute, **overrides), list(jobs)).start()
        systems.append(system)
        return system

    yield _start
    for system in systems:
        system.shutdown(grace_s=0.5)


def gone(pid: int) -> bool:
    """The process has exited (a zombie waiting for a reaper counts as exited)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state in ("Z", "X")


def parent_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def running_slot(system: System, job_id: str) -> tuple[int, str]:
    assert system.wait_until(lambda: any(r["job_id"] == job_id for r in system.ask(ListRunning())), RESULT_S)
    run = next(r for r in system.ask(ListRunning()) if r["job_id"] == job_id)
    return run["slot"], run["run_id"]


def wait_pid(marker: Path) -> int:
    deadline = time.monotonic() + RESULT_S
    while time.monotonic() < deadline:
        if marker.exists() and marker.read_text():
            return int(marker.read_text())
        time.sleep(0.02)
    raise AssertionError(f"{marker} was never written")


# ------------------------------------------------------------------------------------------------
def test_a_run_on_dask_succeeds_and_its_logs_reach_the_store_while_it_runs(start, tmp_path, dask_cluster):
    marker, release = tmp_path / "pid", tmp_path / "release"
    system = start([job("remote", T + "LogThenWait", marker=str(marker), release=str(release), only_once=True)])
    remote = system.config_jobs[0].job_id
    pid = wait_pid(marker)
    assert parent_of(pid) != os.getpid()  # a process of the Dask worker, not of this server

    def live_line() -> bool:
        system.flush()
        lines = system.store.find(Query(type="reslog", job_id=remote, limit=10)).items
        return any(d["msg"] == "before the wait" for d in lines)

    assert system.wait_until(live_line, RESULT_S, poll_s=0.05)  # the live tail sees the running run
    assert results(system, job_id=remote) == []
    release.touch()
    doc = wait_results(system, RESULT_S, job_id=remote)[0]
    assert doc["outcome"] == "success" and doc["result"] == {"released": True}
    assert doc["pid"] == pid and doc["run_id"] == f"{remote}:1:0"
    with dask_cluster.client() as client:
        assert doc["dask_worker"] in client.scheduler_info(n_workers=-1)["workers"]
    lines = system.store.find(Query(type="reslog", job_id=remote, limit=10)).items
    assert {d["msg"] for d in lines} == {"before the wait", "after the wait"}
    assert all(d["run_id"] == doc["run_id"] and d["name"] == "remote" for d in lines)


def test_print_and_logs_of_a_quick_run_are_stored(start):
    system = start([job("chat", "Chatty", lines=3, only_once=True)])
    chat = system.config_jobs[0].job_id
    assert wait_results(system, RESULT_S, job_id=chat)[0]["result"] == {"lines": 3}

    def all_lines() -> bool:
        system.flush()
        found = {d["msg"] for d in system.store.find(Query(type="reslog", job_id=chat, limit=100)).items}
        return found >= {"line 0", "line 1", "line 2", "printed to stdout"}

    assert system.wait_until(all_lines, 10)


def test_a_hanging_run_times_out_and_its_process_is_killed(start, tmp_path):
    marker = tmp_path / "hang"
    system = start([job("hang", "Hang", marker=str(marker), stubborn=True, timeout_s=0.5, only_once=True)],
                   max_retries=0)
    pid = wait_pid(marker)
    doc = wait_results(system, RESULT_S, job_id=system.config_jobs[0].job_id)[0]
    assert doc["outcome"] == "timeout" and "timed out after 0.5s" in doc["error"]
    assert "SIGKILL" in doc["error"]  # it ignored SIGTERM: the grace ran out
    assert doc["pid"] == pid and gone(pid)
    assert doc["duration"] <= 0.5 + 2.0 + 5.0


def test_cancel_kills_the_running_process(start, tmp_path):
    marker = tmp_path / "m"
    system = start([job("long", "Mark", marker=str(marker), seconds=60, only_once=True)], max_retries=0)
    long_id = system.config_jobs[0].job_id
    pid = wait_pid(marker)
    slot, run_id = running_slot(system, long_id)
    assert system.directory.workers[slot].ask(CancelRun(run_id), timeout=5) is True
    doc = wait_results(system, RESULT_S, job_id=long_id)[0]
    assert doc["outcome"] == "cancelled" and "cancelled by an operator" in doc["error"]
    assert "SIGTERM" in doc["error"] and gone(pid)


def test_a_killed_task_process_is_crashed_and_retried(start, tmp_path):
    marker = tmp_path / "m"
    system = start([job("victim", "Mark", marker=str(marker), seconds=60, only_once=True)])
    pid = wait_pid(marker)
    os.kill(pid, signal.SIGKILL)
    docs = wait_results(system, RESULT_S, count=2, job_id=system.config_jobs[0].job_id)
    crashed = next(d for d in docs if d["attempt"] == 0)
    assert crashed["outcome"] == "crashed" and "signal 9 (SIGKILL)" in crashed["error"]
    assert next(d for d in docs if d["attempt"] == 1)["outcome"] == "success"


def test_a_task_that_exits_is_crashed_with_its_exit_code(start):
    system = start([job("leaver", T + "Exit", code=3, only_once=True)], max_retries=0)
    doc = wait_results(system, RESULT_S, job_id=system.config_jobs[0].job_id)[0]
    assert doc["outcome"] == "crashed" and "exit code 3" in doc["error"]


def test_a_run_waits_for_a_worker_offering_its_resources_and_can_be_cancelled(start, tmp_path):
    system = start([job("ok", "Ok", only_once=True)])
    spec = JobSpec(name="gpu", classname="tests.fixtures:Ok", interval_s=3600, origin=Origin.API,
                   resources={"NOPE": 1}, only_once=True)
    system.ask(AddJob(spec))
    slot, run_id = running_slot(system, spec.job_id)
    assert system.compute is not None
    run = system.state.timetable.get(spec.job_id).running
    assert system.compute.placement(run) == {"SLOT": 1, "NOPE": 1}
    wait_results(system, RESULT_S, job_id=system.config_jobs[0].job_id)  # the cluster works...
    assert not system.wait_until(lambda: bool(results(system, job_id=spec.job_id)), 1.5)  # ...but not for it
    assert system.directory.workers[slot].ask(CancelRun(run_id), timeout=5) is True
    doc = wait_results(system, RESULT_S, job_id=spec.job_id)[0]
    assert doc["outcome"] == "cancelled" and "before it started" in doc["error"]


def clients_wanting(key: str, dask_scheduler=None) -> int:
    """Run on the Dask scheduler: how many clients hold a future of *key*."""
    task = dask_scheduler.tasks.get(key)
    return 0 if task is None else len(task.who_wants)


def test_the_same_run_submitted_by_two_servers_is_computed_once(start, tmp_path, dask_cluster):
    count, release = tmp_path / "count", tmp_path / "release"
    jobs = [job("shared", T + "CountThenWait", count=str(count), release=str(release), only_once=True)]
    first = start(jobs, where=tmp_path / "a")
    assert first.wait_until(count.exists, RESULT_S)
    second = start(jobs, where=tmp_path / "b")  # another server, another store, the same job and run id
    shared = jobs[0].job_id
    with dask_cluster.client() as client:  # both submissions have reached the Dask scheduler
        key = task_key(f"{shared}:1:0")
        assert second.wait_until(lambda: client.run_on_scheduler(clients_wanting, key) == 2, RESULT_S, poll_s=0.05)
    release.touch()
    one = wait_results(first, RESULT_S, job_id=shared)[0]
    two = wait_results(second, RESULT_S, job_id=shared)[0]
    assert one["run_id"] == two["run_id"] == f"{shared}:1:0"
    assert one["outcome"] == two["outcome"] == "success" and one["pid"] == two["pid"]
    assert len(count.read_text().splitlines()) == 1


def test_a_lost_dask_worker_is_a_crash_retried_on_the_other_worker(start, tmp_path, dask_cluster):
    marker = tmp_path / "m"
    system = start([job("victim", "Mark", marker=str(marker), seconds=60, only_once=True)])
    victim = system.config_jobs[0].job_id
    pid = wait_pid(marker)
    nanny = parent_of(parent_of(pid))
    index = next(i for i, p in enumerate(dask_cluster.workers) if p is not None and p.pid == nanny)
    try:
        dask_cluster.kill_worker(index)
        docs = wait_results(system, RESULT_S, count=2, job_id=victim)
        lost = next(d for d in docs if d["attempt"] == 0)
        retried = next(d for d in docs if d["attempt"] == 1)
        assert lost["outcome"] == "crashed" and "dask worker lost" in lost["error"]
        assert retried["outcome"] == "success" and retried["dask_worker"] != lost["dask_worker"]
        assert system.wait_until(lambda: gone(pid), 10)  # the lost worker's task process died with it
        assert system.ask(GetJob(victim))["state"] == "finished"
        assert len(results(system, job_id=victim)) == 2  # Dask did not run attempt 0 again
    finally:
        dask_cluster.start_worker(index)


def test_an_unreachable_scheduler_fails_the_start_naming_the_option(tmp_path):
    from actors.errors import ComputeError
    from tests.dask_cluster import free_port

    with pytest.raises(ComputeError, match=r"compute: cannot reach the Dask scheduler at tcp://127\.0\.0\.1:\d+"):
        DaskCompute(f"tcp://127.0.0.1:{free_port()}", Directory(), connect_timeout_s=0.5).open()


def test_a_memory_hog_fails_under_the_cap_and_the_next_run_works(start):
    system = start([job("hog", "Hog", mb=2048, only_once=True)], worker_memory_mb=400, max_retries=0)
    doc = wait_results(system, RESULT_S, job_id=system.config_jobs[0].job_id)[0]
    assert doc["outcome"] == "failed" and "MemoryError" in doc["error"]
    system.ask(AddJob(JobSpec(name="after", classname="tests.fixtures:Ok", interval_s=60, origin=Origin.API)))
    assert wait_results(system, RESULT_S, name="after")[0]["outcome"] == "success"


def test_shutdown_interrupts_a_run_past_the_grace_and_kills_its_process(tmp_path, dask_cluster):
    marker = tmp_path / "m"
    compute = "dask://" + dask_cluster.address.removeprefix("tcp://")
    system = System(settings(tmp_path, compute=compute), [job("long", "Mark", marker=str(marker), seconds=60)]).start()
    pid = wait_pid(marker)
    system.shutdown(grace_s=0.3)
    from actors.store.sqlite import SQLiteStore

    store = SQLiteStore(str(tmp_path / "store.db"), size_bytes=1 << 26)
    store.open()
    try:
        docs = store.find(Query(type="result")).items
        assert [d["outcome"] for d in docs] == ["interrupted"]
        assert "interrupted by the server shutting down" in docs[0]["error"]
    finally:
        store.close()
    deadline = time.monotonic() + 10
    while not gone(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert gone(pid)


def test_a_restarted_dask_scheduler_crashes_the_runs_in_flight_and_they_are_retried(tmp_path):
    """A private cluster (the session's must stay up): the scheduler is SIGKILLed mid-run, its
    workers leave, the server refuses to submit while it reconnects, and the retry runs once the
    scheduler and workers are back."""
    from tests.dask_cluster import _terminate, start_cluster

    try:
        (tmp_path / "cluster").mkdir()
        cluster = start_cluster(tmp_path / "cluster")
    except (LookupError, RuntimeError) as exc:
        if os.environ.get("CI"):
            pytest.fail(f"no Dask cluster: {exc}")
        pytest.skip(f"no Dask cluster: {exc}")
    marker = tmp_path / "m"
    compute = "dask://" + cluster.address.removeprefix("tcp://")
    system = System(settings(tmp_path, compute=compute),
                    [job("victim", "Mark", marker=str(marker), seconds=60, only_once=True)]).start()
    try:
        victim = system.config_jobs[0].job_id
        pid = wait_pid(marker)
        _terminate(cluster.scheduler, signal.SIGKILL)
        cluster.scheduler = None
        crashed = wait_results(system, RESULT_S, job_id=victim)[0]
        assert crashed["outcome"] == "crashed" and "scheduler-connection-lost" in crashed["error"]
        assert system.wait_until(lambda: all(p is None or p.poll() is not None for p in cluster.workers), RESULT_S)
        assert system.wait_until(lambda: gone(pid), 10)  # the workers took their task processes with them
        cluster.start()
        docs = wait_results(system, 60, count=2, job_id=victim)
        assert next(d for d in docs if d["attempt"] == 1)["outcome"] == "success"
    finally:
        system.shutdown(grace_s=0.5)
        cluster.close()


def test_a_server_stores_the_logs_of_its_own_runs_only(start, tmp_path):
    mine = start([job("chat", "Chatty", lines=2, only_once=True)], where=tmp_path / "mine")
    other = start([], where=tmp_path / "other")  # the same cluster, another server
    chat = mine.config_jobs[0].job_id
    wait_results(mine, RESULT_S, job_id=chat)

    def logged() -> bool:
        mine.flush()
        return mine.store.find(Query(type="reslog", job_id=chat, limit=10)).total >= 3

    assert mine.wait_until(logged, 10)
    other.flush()
    assert other.store.find(Query(type="reslog", limit=10)).items == []
