"""Runs handed to a worker before they are due (``stage_ahead``), on a real System: the run is
with its worker ahead of time and starts at its due time, its timeout counts from then, runs
entering the horizon while a worker waits are appended to its queue, and a worker that refuses
appended runs loses none of them."""

from __future__ import annotations

import copy
import time

import pytest

from actors import worker as worker_module
from actors.jobs import JobSpec, Origin
from actors.messages import AddJob, GetJob, GetStatus
from tests.actors.test_system import results, settings, wait_ready
from tests.polling import wait_for


@pytest.fixture
def start(tmp_path):
    """Start a System with these options, its workers ready; every one is shut down after the test."""
    from actors.system import System

    systems: list[System] = []

    def _start(**overrides):
        system = System(settings(tmp_path, **overrides)).start()
        systems.append(system)
        wait_ready(system)
        return system

    yield _start
    for system in systems:
        system.shutdown(grace_s=1.0)


def add(system, name: str, due_at: float, classname: str = "Echo", **kw) -> str:
    limits = {k: kw.pop(k) for k in ("timeout_s",) if k in kw}
    spec = JobSpec(name=name, classname=classname, interval_s=3600.0, kwargs=kw, only_once=True, origin=Origin.API,
                   **limits)
    system.ask(AddJob(spec, due_at))
    return spec.job_id


def result_of(system, job_id: str) -> dict:
    """The job's first result document, waited for."""
    return wait_for(lambda: results(system, job_id=job_id), 15.0, what=f"the result of {job_id}")[0]


def warm_up(system) -> None:
    """One Echo run, so that the scheduler knows Echo is a fast class (only those are appended)."""
    job_id = add(system, "warm", time.time())
    wait_for(lambda: results(system, job_id=job_id), 20.0, what="the warm-up run")


def test_a_run_is_with_its_worker_before_it_is_due_and_starts_at_its_due_time(start) -> None:
    system = start(stage_ahead=0.6)
    due = time.time() + 1.5
    job_id = add(system, "staged", due, value=1)
    wait_for(lambda: system.ask(GetJob(job_id))["state"] == "running", 10.0, 0.01, "the run handed over")
    assert time.time() < due - 0.2  # handed over ahead of its due time (0.6 s), not when due
    doc = wait_for(lambda: results(system, job_id=job_id), 10.0, what="its result")[0]
    assert doc["outcome"] == "success" and doc["due_at"] == due
    assert due <= doc["started_at"] < due + 0.2, doc["started_at"] - due


def test_a_staged_runs_timeout_counts_from_its_due_time(start) -> None:
    system = start(stage_ahead=0.9)
    due = time.time() + 1.5
    job_id = add(system, "slow", due, classname="Sleep", seconds=0.2, timeout_s=0.6)
    doc = wait_for(lambda: results(system, job_id=job_id), 15.0, what="its result")[0]
    # handed over 0.9 s early: a timeout counted from then (0.6 s) would kill it while it waits
    assert doc["outcome"] == "success", doc
    assert doc["started_at"] >= due


def test_runs_entering_the_horizon_are_appended_to_a_waiting_worker_in_order(start) -> None:
    system = start(workers=1, stage_ahead=0.8)
    warm_up(system)
    due = time.time() + 1.2
    ids = [add(system, f"q{i}", due + 0.1 * i, value=i) for i in range(5)]  # enter the horizon 0.1 s apart
    held = wait_for(lambda: (w := system.workers()[0])["queued"] >= 3 and w, 10.0, 0.01,
                    "runs queued behind the waiting one")
    assert time.time() < due  # all with the one worker before the first is due
    assert held["status"] == "busy"
    docs = [result_of(system, job_id) for job_id in ids]
    assert [d["outcome"] for d in docs] == ["success"] * 5
    for i, d in enumerate(docs):
        assert due + 0.1 * i <= d["started_at"] < due + 0.1 * i + 0.08, (i, d["started_at"] - d["due_at"])


def test_a_worker_that_refuses_appended_runs_loses_none(start, monkeypatch) -> None:
    monkeypatch.setattr(worker_module, "PIPE_SHARE", 0.0)  # every append: "its queue is full"
    system = start(workers=1, stage_ahead=0.5)
    warm_up(system)
    due = time.time() + 0.8
    ids = [add(system, f"r{i}", due + 0.02 * i, value=i) for i in range(6)]
    docs = [result_of(system, job_id) for job_id in ids]
    assert [d["outcome"] for d in docs] == ["success"] * 6
    assert all(d["started_at"] >= d["due_at"] for d in docs)
    wait_for(lambda: (status := system.ask(GetStatus()))["waiting"] == 0 and status["idle"] == [0], 5.0,
             what="the worker idle again, nothing waiting")


def test_without_staging_a_run_is_handed_over_when_due(start) -> None:
    system = start(stage_ahead=0.0)
    due = time.time() + 0.8
    job_id = add(system, "plain", due, value=1)
    wait_for(lambda: system.ask(GetJob(job_id))["state"] != "scheduled", 10.0, 0.005, "the run handed over")
    assert time.time() >= due - 0.005


def _slice_ns(path: str) -> int | None:
    try:
        text = open(path, encoding="ascii").read()  # noqa: SIM115 - read at once
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("se.slice"):
            return int(line.split(":")[1])
    return None


def test_worker_processes_ask_for_a_short_time_slice_where_the_kernel_grants_it(start) -> None:
    import threading

    from actors.childqueue import SHORT_SLICE_NS, short_slice

    granted: list[int | None] = []

    def probe() -> None:  # a thread of ours, so the test process keeps its own slice
        short_slice()
        granted.append(_slice_ns(f"/proc/self/task/{threading.get_native_id()}/sched"))

    thread = threading.Thread(target=probe)
    thread.start()
    thread.join()
    system = start()
    pids = [w["pid"] for w in system.workers()]
    if granted[0] == SHORT_SLICE_NS:  # this kernel takes a custom slice (Linux 6.12+): each worker has it
        wait_for(lambda: all(_slice_ns(f"/proc/{pid}/sched") == SHORT_SLICE_NS for pid in pids), 10.0,
                 what="the workers' short slice")
    else:  # nothing to take: the workers run as before
        assert all(_slice_ns(f"/proc/{pid}/sched") == _slice_ns("/proc/self/sched") for pid in pids)


def test_runs_staged_ahead_are_no_backlog_the_web_gives_way_to(start) -> None:
    """The web waits (``web_yield``) while a backlog of *due* runs is handed out; runs held by a
    worker until their due time are none: a steady load must not make every request wait."""
    from actors.schedstate import due_pending

    system = start(stage_ahead=1.0)
    due = time.time() + 2.5
    job_id = add(system, "ahead", due, value=1)
    wait_for(lambda: system.ask(GetJob(job_id))["state"] == "running", 10.0, 0.01, "the run handed over")
    system.ask(GetStatus())  # one more message: the pressure is noted after each
    assert time.time() < due - 0.3
    assert not system.state.pressure.busy and not system.state.pressure.moving
    snapshot = copy.copy(system.state)  # due_pending pops its heap: not the scheduler's own
    snapshot.ahead = list(system.state.ahead)
    assert due_pending(snapshot, time.time()) == 0 and len(snapshot.running) == 1
    assert due_pending(snapshot, due + 0.01) == 1  # once due (and not finished) it counts
