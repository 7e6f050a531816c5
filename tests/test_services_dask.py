"""The session's Dask cluster (tests/dask_cluster.py) is a real one: keyed, impure submissions run
on the worker processes, a key is computed once however often it is submitted, and a SIGKILLed
worker leaves the cluster (and can be started again)."""

from __future__ import annotations

import os
import uuid

import pytest

from tests.dask_cluster import SLOT, WORKERS, DaskCluster, count_call

RESULT_TIMEOUT_S = 30


@pytest.fixture
def client(dask_cluster: DaskCluster):
    with dask_cluster.client() as connected:
        yield connected


def test_keyed_impure_submit_runs_on_a_worker_process(client, tmp_path):
    calls = tmp_path / "calls.txt"
    key = f"run-{uuid.uuid4().hex}"
    future = client.submit(count_call, str(calls), 21, key=key, pure=False, resources={SLOT: 1}, retries=0)
    assert future.key == key
    assert future.result(timeout=RESULT_TIMEOUT_S) == 42
    pid, value = calls.read_text().split()
    assert value == "21" and int(pid) != os.getpid()  # computed in a worker process, not here


def test_the_same_key_submitted_twice_is_computed_once(dask_cluster, client, tmp_path):
    calls = tmp_path / "calls.txt"
    key = f"run-{uuid.uuid4().hex}"
    first = client.submit(count_call, str(calls), 1, key=key, pure=False, resources={SLOT: 1})
    again = client.submit(count_call, str(calls), 1, key=key, pure=False, resources={SLOT: 1})
    with dask_cluster.client() as other:  # another client (another server instance) with the same key
        from_other = other.submit(count_call, str(calls), 1, key=key, pure=False, resources={SLOT: 1})
        assert from_other.result(timeout=RESULT_TIMEOUT_S) == 2
    assert first.result(timeout=RESULT_TIMEOUT_S) == again.result(timeout=RESULT_TIMEOUT_S) == 2
    assert len(calls.read_text().splitlines()) == 1


def test_a_killed_worker_leaves_the_cluster_and_can_come_back(dask_cluster):
    assert dask_cluster.worker_names() == ["worker-0", "worker-1"]
    dask_cluster.kill_worker(0)
    try:
        dask_cluster.wait_for_workers(WORKERS - 1, timeout_s=30)
        assert dask_cluster.worker_names() == ["worker-1"]
    finally:
        dask_cluster.start_worker(0)
    assert dask_cluster.worker_names() == ["worker-0", "worker-1"]
