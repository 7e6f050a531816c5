"""A poison job cannot take the scheduler down (issue 11).

The probe: six jobs whose rule overflowed crashed the Scheduler actor at every restart, spent
the restart intensity, and every page answered 503 for good. Here one job's rule (and, in
another test, one stored record) raises *inside* the Scheduler's handling; that job must be
set aside (state ``quarantined``, its error shown in the API and the panel) while the others
keep running, the actor is never restarted, and ``/healthz`` stays 200.
"""

from __future__ import annotations

import functools
import time

import pytest

from actors.facade import Facade
from actors.jobs import JobSpec
from actors.store.sqlite import SQLiteStore
from actors.system import System
from actors.timetable import Timetable
from tests.actors.test_system import settings, wait_results
from tests.web.conftest import API, client, make_facade, start_system, unique, wait_for

pytestmark = pytest.mark.system

OK = "tests.fixtures:Ok"


def _poison(monkeypatch, method: str, victims: set[str]) -> None:
    """Make `Timetable.<method>` raise for the jobs in *victims* (filled in after they exist)."""
    original = getattr(Timetable, method)

    def poisoned(self, job_id, *args, **kwargs):
        if job_id in victims:
            raise OverflowError("math range error (poisoned on purpose)")
        return original(self, job_id, *args, **kwargs)

    monkeypatch.setattr(Timetable, method, poisoned)


@pytest.mark.parametrize("method", ["finish", "start"])
def test_a_job_whose_rule_raises_is_set_aside_and_the_others_keep_running(tmp_path, monkeypatch, method):
    victims: set[str] = set()
    _poison(monkeypatch, method, victims)
    system = start_system(tmp_path, workers=2)
    try:
        facade = make_facade(system)
        app = client(facade)
        poisons = []
        for _ in range(6):  # the probe's six: more than the restart intensity (restart_max 5)
            spec = facade.registry.validate_spec(JobSpec(name=unique("poison"), classname=OK, interval_s=0.05))
            victims.add(spec.job_id)
            poisons.append(facade.add_job({"name": spec.name, "classname": OK, "interval": 0.05})["job_id"])
        healthy = facade.add_job({"name": unique("healthy"), "classname": OK, "interval": 0.05})["job_id"]

        def set_aside(job_id: str) -> dict | None:
            job = facade.job(job_id)
            return job if job["state"] == "quarantined" else None

        for job_id in poisons:
            job = wait_for(functools.partial(set_aside, job_id))
            assert "OverflowError" in job["last_error"] and "poisoned on purpose" in job["last_error"]
            assert job["note"].startswith("set aside: ")
        before = len(wait_results(system, job_id=healthy, count=3))
        wait_results(system, job_id=healthy, count=before + 3)  # still running, long after the poison

        supervisor = system.supervisor_status()
        assert supervisor["restarts"].get("scheduler:0", 0) == 0 and not supervisor["down"]
        resp = app.get(API + "/jobs", {"state": "quarantined"})
        assert {j["job_id"] for j in resp.json["jobs"]} == set(poisons)
        page = app.get(f"/jobs/{poisons[0]}")
        assert "quarantined" in page.text and "poisoned on purpose" in page.text
        assert poisons[1] in app.get("/schedule", {"state": "quarantined"}).text
        assert app.get("/healthz").status_int == 200

        victims.clear()  # the operator fixed the cause: reschedule brings it back
        app.post_json(f"{API}/jobs/{poisons[0]}/reschedule", {"when": "+0s"})
        wait_results(system, job_id=poisons[0], count=1 if method == "start" else 2)
    finally:
        system.shutdown(grace_s=0.2)


def test_a_stored_record_that_fails_restore_is_set_aside_and_the_rest_restores(tmp_path):
    store = SQLiteStore(tmp_path / "store.db", size_bytes=1 << 24)
    store.open()
    good = JobSpec(name="good", classname=OK, interval_s=0.1)
    odd = JobSpec(name="odd", classname=OK, interval_s=0.1)
    now = time.time()
    store.save_jobs([
        {**good.to_dict(), "origin": "api", "state": "scheduled", "due_at": now},
        {**odd.to_dict(), "origin": "api", "state": "scheduled", "due_at": 1e300},
        {**good.to_dict(), "name": "unbuildable", "job_id": "ffffffffffffffff", "origin": "api", "state": "bogus"},
    ])
    store.close()
    system = System(settings(tmp_path)).start()
    try:
        wait_results(system, count=3, job_id=good.job_id)
        facade = Facade(system)
        assert facade.job(odd.job_id)["state"] == "quarantined"
        assert "restoring its stored record" in facade.job(odd.job_id)["last_error"]
        ok, details = facade.health()
        assert ok, details["problems"]
        assert "ffffffffffffffff" in details["unrestorable_jobs"]
    finally:
        system.shutdown(grace_s=0.2)
