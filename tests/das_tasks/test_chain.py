"""The whole chain in the server: KeyHotspot -> ValueHotspot -> QueryMaintainer, in an in-process
`System` with real worker subprocesses that get the das service from the server options.

Every wait is a poll with a deadline (`System.wait_until`), never a bare sleep.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from actors.jobs import JobSpec, Origin
from actors.messages import ListJobs
from actors.store import Query
from actors.system import System
from tasks.das.backends import SQLiteDasStore
from tasks.das.demo_upstream import DemoUpstream
from tasks.das.service import DasService
from tasks.das.upstream import Upstreams
from tests.actors.test_system import settings

pytestmark = pytest.mark.system


@pytest.fixture
def upstream():
    with DemoUpstream(ttl_s=None) as demo:
        yield demo


def results(system: System, **filters) -> list[dict]:
    system.flush()
    return system.store.find(Query(type="result", limit=1000, **filters)).items


def test_key_hotspot_spawns_value_hotspots_that_spawn_maintainers(tmp_path: Path, upstream: DemoUpstream):
    config = upstream.write_config(tmp_path / "upstreams.json", expire_s=3.0, retries=0)
    das_uri = f"sqlite:///{tmp_path}/das.db"
    # outside traffic, before the server starts: two datasets (one hot) and a site
    client = DasService(SQLiteDasStore(tmp_path / "das.db"), Upstreams.from_file(config))
    for value, calls in (("/Hot/A/RAW", 6), ("/Warm/B/RAW", 3)):
        for _ in range(calls):
            assert client.call(f"dataset dataset.name={value}").ok
    assert client.call("site site.name=T1_CH").ok
    hot_query = {"fields": ["dataset"], "spec": [{"key": "dataset.name", "value": "/Hot/A/RAW"}],
                 "instance": "prod/global"}
    times_before = client.list_queries(key="dataset.name", after=0, before=4e9)

    key_hotspot = JobSpec(
        name="keys", classname="KeyHotspot", interval_s=8.0, origin=Origin.CONFIG,
        kwargs={"period": 600.0, "allowed_gap": 0.0, "mode": "fixed", "fraction": 1, "child_interval": 1.0,
                "child_preempt": 2.5,
                "child_kwargs": {"period": 600.0, "allowed_gap": 0.0, "mode": "fixed", "fraction": 1,
                                 "min_delay": 0.2}})
    system = System(settings(tmp_path, das_db_uri=das_uri, das_upstreams=str(config)), [key_hotspot]).start()
    try:
        kh_id = system.config_jobs[0].job_id

        def jobs_by_class(classname: str) -> list[dict]:
            return [j for j in system.ask(ListJobs()) if j["classname"] == classname]

        assert system.wait_until(lambda: bool(jobs_by_class("ValueHotspot")), 20, poll_s=0.05)
        value_hotspot = jobs_by_class("ValueHotspot")[0]
        assert value_hotspot["name"] == "keyhotspot-valuehotspot-dataset-name"
        assert value_hotspot["parent"] == [kh_id]
        vh_id = value_hotspot["job_id"]

        def maintainer_ran() -> bool:
            return any(d["outcome"] == "success" for d in results(system, classname="QueryMaintainer"))

        assert system.wait_until(maintainer_ran, 30, poll_s=0.05), results(system)
        maintainers = jobs_by_class("QueryMaintainer")
        assert maintainers and all(m["parent"] == [kh_id, vh_id] for m in maintainers)
        assert {m["name"] for m in maintainers} == {"valuehotspot-dataset-name-/Hot/A/RAW-dataset"}
        assert maintainers[0]["kwargs"]["dasquery"] == hot_query

        docs = results(system, classname="QueryMaintainer")
        done = next(d for d in docs if d["outcome"] == "success")
        assert done["parent"] == [kh_id, vh_id]
        assert done["result"]["status"] == "ok" and done["result"]["next_at"] == pytest.approx(
            done["result"]["expire"] - 2.5, abs=1e-6)
        kh_doc = results(system, job_id=kh_id)[0]
        assert kh_doc["outcome"] == "success" and kh_doc["result"]["selected"] == [["dataset.name", 9]]
        vh_doc = next(d for d in results(system, job_id=vh_id) if d["outcome"] == "success")
        assert vh_doc["result"]["selected"] == [["/Hot/A/RAW", 6]]
        # the children are visible in the panel's data: the result filter by parent finds them all
        assert {d["classname"] for d in results(system, parent=kh_id)} >= {"ValueHotspot", "QueryMaintainer"}
        # internal traffic did not count itself: the query log is what the client sent
        assert client.list_queries(key="dataset.name", after=0, before=4e9) == times_before
        assert client.in_cache(hot_query)
    finally:
        system.shutdown(grace_s=1.0)
        client.close()
