"""Several instances on one MongoDB store, in process (issue 15), on the real server the suite uses:
one leads and one follows; the follower serves the panel and the API from the store, hands job
changes to the leader and answers with the leader's word (errors included), shows the
instances, is healthy and says its role in /metrics; it takes over when the leader stops. And
two leaders at once (the lease taken from under the first one) run no slot twice: the first
leader meets the second's newer term in the run ledger and stands by.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Iterator
from itertools import pairwise
from typing import Any

import pytest
import webtest  # type: ignore[import-untyped]
from pymongo import MongoClient

from actors.config import Settings
from actors.errors import NotFoundError
from actors.facade import Facade
from actors.jobs import JobSpec, Origin
from actors.messages import GetJob, GetJobsPage
from actors.store.base import Query
from actors.system import System
from web.app import app_for

pytestmark = pytest.mark.system


@pytest.fixture
def options(mongo_service) -> Iterator[dict[str, Any]]:
    name = f"das_lead_{uuid.uuid4().hex[:10]}"
    yield {"workers": 1, "minimum_interval": 0.0, "no_start_offset": True, "journal_flush_interval": 0.01,
           "task_packages": "tests", "web": False, "shutdown_grace": 1.0, "db_uri": mongo_service.uri,
           "db_name": name, "db_timeout": 2.0, "lease_ttl": 1.0, "max_retries": 0}
    client: MongoClient[dict[str, Any]] = MongoClient(mongo_service.uri, serverSelectionTimeoutMS=5000)
    client.drop_database(name)
    client.close()


def wait(predicate: Any, timeout: float = 20.0, every: float = 0.02) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"not within {timeout:g}s: {predicate}")


def page(system: System) -> dict[str, dict[str, Any]]:
    return {job["job_id"]: job for job in system.ask(GetJobsPage(0, 100, None, None, None))["jobs"]}


def test_a_follower_serves_reads_relays_changes_and_takes_over_when_the_leader_stops(options):
    spec = JobSpec(name="tick", classname="tests.fixtures:Ok", interval_s=0.2, origin=Origin.CONFIG)
    leader = System(Settings(options), [spec]).start()
    follower: System | None = None
    try:
        follower = System(Settings(options), [spec]).start()
        assert (leader.directory.role, follower.directory.role) == ("leader", "follower")
        assert leader.directory.term == 1 and follower.directory.term == 0
        # reads: the follower's schedule is the leader's, from the stored records
        wait(lambda: page(follower).get(spec.job_id, {}).get("run_count", 0) >= 2)
        facade = Facade(follower)
        # writes: handed to the leader, which answers; the follower shows the change at once
        paused = facade.pause_job(spec.job_id)  # (a run in flight ends first: the state says running till then)
        assert paused["paused"] and page(leader)[spec.job_id]["paused"]
        assert page(follower)[spec.job_id]["paused"]
        with pytest.raises(NotFoundError, match="no job with id or name 'nope'"):
            facade.pause_job("nope")
        added = facade.add_job({"name": "via-follower", "classname": "tests.fixtures:Ok", "interval": 0.2})
        assert leader.ask(GetJob(added["job_id"])) is not None
        assert facade.job(added["job_id"])["name"] == "via-follower"
        wait(lambda: leader.store.find(Query(type="result", job_id=added["job_id"], outcome="success",
                                             limit=1)).total >= 1)
        # the panel and the API of a follower
        ok, details = facade.health()
        assert ok, details["problems"]
        assert details["leadership"]["role"] == "follower"
        instances = {doc["id"]: doc for doc in facade.instances()}
        assert {doc["role"] for doc in instances.values()} == {"leader", "follower"}
        assert instances[follower.instance_id]["self"] and instances[leader.instance_id]["term"] == 1
        app = webtest.TestApp(app_for(facade, follower.settings), extra_environ={"SCRIPT_NAME": "/analytics"})
        assert app.get("/analytics/healthz").json["status"] == "ok"
        metrics = app.get("/analytics/metrics").text
        assert 'das_instance_role{role="follower"} 1' in metrics and 'das_instance_role{role="leader"} 0' in metrics
        overview = app.get("/analytics/")
        assert overview.html.select_one(f'#instances tr[data-instance="{leader.instance_id}"]')["data-role"] == "leader"
        listed = app.get("/analytics/api/v1/instances").json["instances"]
        assert sorted(doc["role"] for doc in listed) == ["follower", "leader"]
        # the leader stops: the follower takes the lease (a new term), restores and runs the jobs
        facade.resume_job(spec.job_id)
        leader.shutdown(grace_s=1.0)
        stopped = time.time()
        wait(lambda: follower.directory.role == "leader", timeout=3 * options["lease_ttl"])
        assert follower.directory.term == 2
        wait(lambda: follower.store.find(Query(type="result", job_id=spec.job_id, outcome="success",
                                               since=stopped, limit=1)).total >= 1)
        assert Facade(follower).health()[1]["leadership"]["role"] == "leader"
    finally:
        if leader.directory.scheduler is not None and leader.directory.scheduler.is_alive():
            leader.shutdown(grace_s=0.5)
        if follower is not None:
            follower.shutdown(grace_s=0.5)


def test_two_leaders_at_once_run_no_slot_twice_and_the_older_term_stands_by(options):
    """The first leader renews every 10 s (ttl 30 s); the test ends its lease behind its back, so the
    second (ttl 1 s) takes term 2 while the first still believes it leads: both dispatch the same
    jobs for a moment. Each slot is claimed once; the first meets term 2 in the ledger and stands by."""
    specs = [JobSpec(name=f"both-{n}", classname="tests.fixtures:Ok", interval_s=0.3, origin=Origin.CONFIG)
             for n in range(3)]
    first = System(Settings({**options, "lease_ttl": 30.0}), specs).start()
    second: System | None = None
    client: MongoClient[dict[str, Any]] = MongoClient(options["db_uri"], serverSelectionTimeoutMS=5000)
    try:
        assert first.directory.role == "leader"
        second = System(Settings(options), specs).start()
        assert second.directory.role == "follower"
        wait(lambda: first.store.find(Query(type="result", outcome="success", limit=0)).total >= 6)
        client[options["db_name"]]["db_lease"].update_one({"_id": 1}, {"$set": {"until": 0.0}})
        both = wait(lambda: second.directory.role == "leader" and first.directory.role == "leader", 10, 0.002)
        assert both, "never two leaders at once"
        wait(lambda: first.directory.role == "follower", 10)
        status = first.leadership()
        assert status["stepped_down"] == 1 and second.directory.term == 2
        assert "a claim met term 2, newer than ours (1)" in status["stepped_down_because"]  # fenced, not renewed
        window_end = time.time()
        wait(lambda: second.store.find(Query(type="result", outcome="success", since=window_end,
                                             limit=0)).total >= 6)
    finally:
        first.shutdown(grace_s=1.0)
        if second is not None:
            second.shutdown(grace_s=1.0)
    db = client[options["db_name"]]
    ledger = list(db["db_ledger"].find({}))
    results = list(db["db"].find({"type": "result"}))
    client.close()
    successes = Counter((doc["job_id"], round(doc["slot"] * 1000)) for doc in results if doc["outcome"] == "success")
    doubles = {key: n for key, n in successes.items() if n > 1}
    slots: dict[str, list[int]] = {}
    for entry in ledger:
        slots.setdefault(entry["job_id"], []).append(round(entry["slot"] * 1000))
    gaps = sum(round((b - a) / 300) - 1 for found in slots.values() for a, b in pairwise(sorted(found)))
    unrun = [key for key in ((entry["job_id"], round(entry["slot"] * 1000)) for entry in ledger) if not successes[key]]
    terms = Counter(int(entry.get("term") or 0) for entry in ledger)
    owners = {entry["owner"] for entry in ledger}
    print(f"\ntwo leaders: ledger_entries={len(ledger)} by_term={dict(sorted(terms.items()))} "
          f"successes={sum(successes.values())} doubles={len(doubles)} lost={gaps + len(unrun)}")
    assert doubles == {}
    assert gaps == 0 and unrun == []
    assert set(terms) == {1, 2} and owners == {first.instance_id, second.instance_id}
    assert all(entry["state"] == "done" for entry in ledger)
