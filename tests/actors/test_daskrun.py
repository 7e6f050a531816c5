"""`actors.daskrun.run_remote` on the real cluster, without a server: what it publishes, what it
returns, its warm process, its started-once guard, and the kill of a run whose task is released."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest

from actors.daskrun import LOG_TOPIC, run_remote, started_event_name
from tests.dask_cluster import SLOT, DaskCluster

pytestmark = pytest.mark.system

RESULT_S = 30.0
CONFIG = {"memory_mb": 0, "verbose": False, "max_children": 10, "task_packages": ["tests"], "service_options": {},
          "kill_grace_s": 1.0, "max_runs_per_process": 0}


def wire(classname: str, **kwargs) -> dict:
    return {"job_id": uuid.uuid4().hex[:16], "name": "direct", "classname": classname, "kwargs": kwargs, "index": 1,
            "attempt": 0, "due_at": time.time(), "interval": 60.0, "parent": [], "timeout": None,
            "trigger": "schedule"}


@pytest.fixture
def client(dask_cluster: DaskCluster):
    with dask_cluster.client() as connected:
        yield connected


def one_worker(client) -> str:
    return sorted(client.scheduler_info(n_workers=-1)["workers"])[0]


def test_it_publishes_a_started_notice_and_logs_and_returns_the_payload(client):
    events: list[dict] = []
    client.subscribe_topic(LOG_TOPIC, lambda event: events.append(event[1]))
    w = wire("tests.fixtures:Chatty", lines=2)
    run_id = f"{w['job_id']}:1:0"
    out = client.submit(run_remote, w, CONFIG, pure=False, resources={SLOT: 1}).result(RESULT_S)
    assert out["ended"] == "result" and out["payload"]["outcome"] == "success"
    assert out["payload"]["result"] == {"lines": 2} and out["worker"].startswith("tcp://")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not any(e.get("kind") == "logs" for e in events):
        time.sleep(0.02)
    mine = [e for e in events if e.get("run_id") == run_id]
    assert mine[0]["kind"] == "started" and mine[0]["pid"] == out["pid"]
    assert [r[4] for e in mine if e["kind"] == "logs" for r in e["records"]] == ["line 0", "line 1",
                                                                                 "printed to stdout"]


def test_the_task_process_is_kept_warm_and_recycled_after_max_runs(client):
    where = one_worker(client)

    def pid_of(config) -> int:
        out = client.submit(run_remote, wire("tests.dask_tasks:Where"), config, pure=False, workers=[where],
                            resources={SLOT: 1}).result(RESULT_S)
        return out["payload"]["result"]["pid"]

    warm = pid_of(CONFIG)
    assert pid_of(CONFIG) == warm
    recycled = {**CONFIG, "max_runs_per_process": 1}
    first = pid_of(recycled)
    assert first != warm and pid_of(recycled) != first


def test_a_run_that_had_started_is_never_started_again(client, tmp_path):
    w = wire("tests.dask_tasks:CountThenWait", count=str(tmp_path / "count"), release=str(tmp_path / "count"))
    from distributed import Event

    marker = Event(started_event_name(f"{w['job_id']}:1:0"), client=client)
    marker.set()
    try:
        out = client.submit(run_remote, w, CONFIG, pure=False, resources={SLOT: 1}).result(RESULT_S)
    finally:
        marker.clear()
    assert out["ended"] == "lost"
    assert not (tmp_path / "count").exists()  # the task never ran


def test_a_released_task_has_its_process_killed(client, tmp_path):
    marker = tmp_path / "m"
    future = client.submit(run_remote, wire("tests.fixtures:Mark", marker=str(marker), seconds=60), CONFIG,
                           pure=False, resources={SLOT: 1})
    deadline = time.monotonic() + RESULT_S
    while not (marker.exists() and marker.read_text()) and time.monotonic() < deadline:
        time.sleep(0.02)
    pid = int(marker.read_text())
    future.cancel()  # what happens to the tasks of a server that goes away

    def gone() -> bool:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return True
        return state in ("Z", "X")

    deadline = time.monotonic() + 10
    while not gone() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert gone()
