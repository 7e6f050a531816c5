"""A worker subprocess receives ``services["das"]``, built once per process from the
``das_*`` options; a broken configuration is logged and leaves "das" out."""

from __future__ import annotations

import pytest

from actors.config import Settings
from actors.errors import ConfigError
from actors.store import Query
from tests.actors.test_system import job, start, wait_results

pytestmark = pytest.mark.system

__all__ = ["start"]  # the System fixture of tests/actors/test_system.py

PROBE = "tests.das.probe_tasks:DasProbe"


def test_a_task_in_a_worker_gets_the_das_service_once_per_process(start, demo, tmp_path):
    upstreams = demo.write_config(tmp_path / "upstreams.json")
    system = start([job("probe", PROBE, interval=0.05, max_runs=3)], workers=1,
                   das_db_uri=f"sqlite:///{tmp_path}/das.db", das_upstreams=str(upstreams))
    docs = sorted(wait_results(system, count=3, job_id=system.config_jobs[0].job_id, outcome="success"),
                  key=lambda d: d["index"])
    results = [d["result"] for d in docs]
    assert [d["outcome"] for d in docs] == ["success"] * 3
    assert [(r["has_das"], r["status"], r["records"]) for r in results] == [
        (True, "ok", 3), (True, "cached", 3), (True, "cached", 3)]
    assert len({(r["pid"], r["service"]) for r in results}) == 1  # one service object in the one process
    assert demo.requests == 1


def test_the_das_service_is_absent_when_off_or_broken(start, tmp_path):
    system = start([job("off", PROBE, only_once=True)], workers=1)
    assert wait_results(system, job_id=system.config_jobs[0].job_id)[0]["result"]["has_das"] is False
    broken = start([job("broken", PROBE, only_once=True)], workers=1, db_uri=f"sqlite:///{tmp_path}/other.db",
                   das_db_uri=f"sqlite:///{tmp_path}/das.db", das_upstreams=str(tmp_path / "missing.json"))
    broken_id = broken.config_jobs[0].job_id
    doc = wait_results(broken, job_id=broken_id)[0]
    assert doc["outcome"] == "success" and doc["result"]["has_das"] is False
    broken.flush()
    logs = broken.store.find(Query(type="reslog", job_id=broken_id, limit=100)).items
    assert any("das service is not available" in d["msg"] and "missing.json" in d["msg"] for d in logs), logs


def test_das_db_uri_must_not_be_the_results_store(tmp_path):
    with pytest.raises(ConfigError, match=r"das_db_uri.*must not be the results store"):
        Settings({"db_uri": f"sqlite:///{tmp_path}/x.db", "das_db_uri": f"sqlite:///{tmp_path}/./x.db"})
    Settings({"db_uri": f"sqlite:///{tmp_path}/x.db", "das_db_uri": f"sqlite:///{tmp_path}/das.db"})
