"""examples/das_pipeline.py: it loads, its jobs validate, and their first runs succeed against the
demo upstream (the store paths overridden by flags, which win over the file)."""

from __future__ import annotations

from pathlib import Path

import pytest

from actors.configfile import load_config
from actors.store import Query
from actors.system import System
from tasks.das.backends import SQLiteDasStore
from tasks.das.demo_upstream import DemoUpstream
from tasks.das.service import DasService
from tasks.das.upstream import Upstreams
from tasks.registry import default_registry

pytestmark = pytest.mark.system

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "das_pipeline.py"


def test_the_example_pipeline_starts_and_every_job_runs(tmp_path):
    with DemoUpstream(ttl_s=20, latency_s=0.0) as demo:
        upstreams = demo.write_config(tmp_path / "das-upstreams.json")
        flags = {"db_uri": f"sqlite:///{tmp_path}/runs.db", "das_db_uri": f"sqlite:///{tmp_path}/das.db",
                 "das_upstreams": str(upstreams), "web": False, "workers": 2}
        settings, jobs = load_config([EXAMPLE], flags)
        assert {j.classname for j in jobs} == {"KeyHotspot", "QueryAnalyzer", "AnalyticsCleanup", "QueryRunner"}
        registry = default_registry()
        for spec in jobs:
            registry.validate_spec(spec)  # the options exist and have the right types
        client = DasService(SQLiteDasStore(tmp_path / "das.db"), Upstreams.from_file(upstreams))
        for i in range(5):
            assert client.call(f"dataset dataset.name=/Primary{i % 2}/Processed/RAW").ok
        system = System(settings, jobs).start()
        try:
            def all_ran() -> bool:
                system.flush()
                docs = system.store.find(Query(type="result", limit=100)).items
                return {d["name"] for d in docs} >= {j.name for j in jobs}

            assert system.wait_until(all_ran, 30, poll_s=0.1)
            docs = system.store.find(Query(type="result", limit=100)).items
            failed = [(d["name"], d.get("error")) for d in docs if d["outcome"] != "success"]
            assert not failed
            hot = next(d for d in docs if d["name"] == "hot-keys")
            assert hot["result"]["selected"] == [["dataset.name", 5]]
            child = hot["result"]["new_tasks"][0]
            assert child["classname"] == "ValueHotspot" and child["kwargs"]["key"] == "dataset.name"
        finally:
            system.shutdown(grace_s=1.0)
            client.close()
