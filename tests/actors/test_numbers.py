"""Numbers at every door (issue 11): every number that enters is checked once, at its door.

The probes: ``interval`` 5e-324 overflowed the scheduler's slot arithmetic and killed the actor
at every restart; a task returning ``next: NaN`` became the heap root (a busy loop) and
``next: 10**400`` killed the worker process; ``GET /runs/<id>/<2**64>`` was a 500. Each is
attacked here at its door (API body, form, config, flag, option, a task's return value, a
stored record read back) and must come back a refusal naming the field and the range, or a
note on the run, never a crash.
"""

from __future__ import annotations

import json
import math
import time

import pytest

from actors.bounds import HORIZON_S, MIN_INTERVAL_S, finite_in, task_next_at
from actors.config import OPTIONS, Settings, coerce
from actors.errors import ConfigError, InvalidJobError, InvalidValueError
from actors.facade import Facade
from actors.jobs import JobSpec, Outcome, RunReport
from actors.jsonsafe import find_unsafe, sanitize
from actors.payload import read_payload
from actors.store.sqlite import SQLiteStore
from actors.system import System
from actors.timetable import Limits, Timetable
from tests.actors.test_system import settings, wait_results
from tests.web.conftest import API, Api, client, make_facade, start_system, unique, wait_for

A = "tests.attack_tasks:"


# ----------------------------------------------------------------------------- the pure doors
@pytest.mark.parametrize("interval", [5e-324, 0.0, -1.0, 0.0009, HORIZON_S * 1.0001, 10**400, float("nan"),
                                      float("inf")])
def test_an_interval_outside_the_range_is_refused_naming_field_and_range(interval):
    with pytest.raises(InvalidJobError) as info:
        JobSpec(name="x", classname="Echo", interval_s=interval)
    assert info.value.field == "interval"
    if isinstance(interval, float) and not math.isfinite(interval):
        assert "finite" in str(info.value)
    else:
        assert ">= 0.001 and <= 1e+09 seconds" in str(info.value)


def test_the_range_edges_are_accepted():
    assert JobSpec(name="x", classname="Echo", interval_s=MIN_INTERVAL_S).interval_s == MIN_INTERVAL_S
    assert JobSpec(name="x", classname="Echo", interval_s=HORIZON_S).interval_s == HORIZON_S


@pytest.mark.parametrize(("field", "value"), [("max_runs", 2**31), ("retries", 10**400), ("timeout", 1e10),
                                              ("only_before", 1e12), ("only_before", -1.0)])
def test_counts_and_times_of_a_job_are_bounded(field, value):
    with pytest.raises(InvalidJobError) as info:
        JobSpec.from_dict({"name": "x", "classname": "Echo", "interval": 60, field: value})
    assert info.value.field == field


def test_huge_ints_are_not_json_anywhere():
    assert find_unsafe({"a": [1, 10**400]}) == "['a'][1]"
    with pytest.raises(InvalidJobError, match="not JSON-safe"):
        JobSpec(name="x", classname="Echo", interval_s=60, kwargs={"n": 2**64})
    notes: list[str] = []
    assert sanitize({"n": 10**5000, "ok": 2**63 - 1}, notes) == {"n": "<integer of 16610 bits>", "ok": 2**63 - 1}
    assert notes == ["result['n']: integer of 16610 bits is beyond 64 bits, stored as a string"]


@pytest.mark.parametrize("value", [float("nan"), float("inf"), 10**400, -5.0, time.time() + 2 * HORIZON_S, "x",
                                   True])
def test_a_task_next_at_out_of_range_becomes_a_note(value):
    now = time.time()
    next_at, note = task_next_at(value, now)
    assert next_at is None
    assert note and note.startswith("next_at: ")


def test_a_task_next_at_in_range_is_kept():
    now = time.time()
    assert task_next_at(now + 60, now) == (now + 60, None)
    assert task_next_at(int(now) - 10, now) == (float(int(now) - 10), None)  # past: "as soon as allowed"


def test_the_worker_door_never_trusts_the_subprocess():
    now = time.time()
    read = read_payload({"outcome": "weird", "started_at": float("nan"), "finished_at": 10**400,
                         "next_at": float("nan"), "resubmit": "yes", "children": "no", "notes": ["n"] * 500,
                         "error": "e" * 100_000, "result": {"r": 1}}, started_default=now - 1, now=now,
                        max_result_bytes=1024)
    report = read.report
    assert report.outcome is Outcome.FAILED and "outcome 'weird'" in (report.error or "")
    assert report.started_at == now - 1 and report.finished_at == now
    assert report.next_at is None and report.resubmit is True and report.children == ()
    assert len(report.error or "") < 9000
    assert any(n.startswith("next_at: nan") for n in read.notes)
    assert read_payload("garbage", started_default=now, now=now, max_result_bytes=0).report.outcome is Outcome.FAILED


def test_the_pure_core_refuses_a_due_time_it_cannot_order():
    tt = Timetable(Limits(minimum_interval_s=0.0, start_offset=False), lambda: 0.5)
    spec = JobSpec(name="x", classname="Echo", interval_s=60)
    with pytest.raises(InvalidJobError, match="finite"):
        tt.add(spec, time.time(), first_due_at=float("nan"))
    assert spec.job_id not in tt  # nothing half-added
    job = tt.add(spec, 1000.0)
    run = tt.start(job.job_id, 1000.0)
    assert run is not None
    report = RunReport(Outcome.SUCCESS, started_at=1000.0, finished_at=1001.0, next_at=float("nan"))
    with pytest.raises(InvalidJobError, match="not a finite epoch"):  # past the door, the core still checks
        tt.finish(job.job_id, report, 1001.0)


def test_options_are_bounded_at_every_door():
    for name, value in (("retry_delay", 1e300), ("task_timeout", float("inf")), ("max_retries", 2**40),
                        ("db_size", 2**60)):
        with pytest.raises(ConfigError, match=name):
            Settings({name: value})
        with pytest.raises(ConfigError, match=name):
            coerce(OPTIONS[name], "1e300" if OPTIONS[name].type is float else str(2**70), from_text=True)
    assert OPTIONS["retry_delay"].param.maximum == HORIZON_S


def test_finite_in_names_field_and_range():
    with pytest.raises(InvalidValueError, match=r"^x must be a finite number within \[0, 10\] seconds, got nan$"):
        finite_in("x", float("nan"), 0, 10)


def test_a_stored_record_with_garbage_numbers_is_refused_on_restore():
    tt = Timetable(Limits(minimum_interval_s=0.0, start_offset=False), lambda: 0.5)
    record = {**JobSpec(name="x", classname="Echo", interval_s=60).to_dict(), "state": "scheduled",
              "due_at": "soon", "run_count": 1}
    with pytest.raises(InvalidValueError, match="due_at"):
        tt.restore(record, time.time())
    with pytest.raises(InvalidValueError, match="run_count"):
        tt.restore({**record, "due_at": 5.0, "run_count": 10**400}, time.time())


# ----------------------------------------------------------------------------- the running server
@pytest.mark.system
@pytest.mark.parametrize("kind", ["nan", "huge", "negative", "beyond", "text"])
def test_a_task_returning_an_unusable_next_at_is_noted_and_the_worker_lives(tmp_path, kind):
    system = start_system(tmp_path, workers=1)
    try:
        wait_for(lambda: system.workers()[0]["status"] == "idle", 30)
        pid = system.workers()[0]["pid"]
        facade = make_facade(system)
        job = facade.add_job({"name": unique(kind), "classname": A + "BadNext", "interval": 3600,
                              "kwargs": {"kind": kind, "key": "next" if kind == "huge" else "next_at"}})
        doc = wait_results(system, job_id=job["job_id"])[0]
        assert doc["outcome"] == "success", doc
        assert any("ignored" in note for note in doc["notes"]), doc["notes"]
        state = facade.job(job["job_id"])
        assert state["state"] == "scheduled"
        assert state["due_at"] == pytest.approx(doc["due_at"] + 3600, abs=1.0)  # the interval, not the garbage
        assert system.workers()[0]["pid"] == pid  # the same process: the worker did not die
        ok, details = facade.health()
        assert ok, details["problems"]
    finally:
        system.shutdown(grace_s=0.2)


@pytest.mark.system
def test_run_index_beyond_any_integer_is_a_400_not_a_500(tmp_path):
    system = start_system(tmp_path)
    try:
        app = client(make_facade(system))
        for index in (str(2**64), str(10**400), "-1"):
            resp = app.get(f"{API}/runs/0123456789abcdef/{index}", status=400)
            assert resp.json["error"]["field"] == "index"
            app.get(f"/runs/0123456789abcdef/{index}", status=400)
        resp = app.get(f"{API}/runs/0123456789abcdef/1", {"attempt": str(2**64)}, status=400)
        assert resp.json["error"]["field"] == "attempt"
        resp = app.get(f"{API}/runs", {"index": str(2**64)}, status=400)
        assert resp.json["error"]["field"] == "index"
    finally:
        system.shutdown(grace_s=0.2)


@pytest.mark.system
def test_the_api_and_the_form_refuse_a_tiny_interval_naming_the_range(tmp_path):
    system = start_system(tmp_path)
    try:
        app = client(make_facade(system))
        resp = app.post(API + "/jobs", json.dumps({"name": unique(), "classname": "Echo", "interval": 5e-324}),
                        content_type="application/json", status=400)
        assert resp.json["error"]["field"] == "interval"
        assert "0.001" in resp.json["error"]["message"] and "1e+09" in resp.json["error"]["message"]
        app.get("/help")
        token = app.app.state.security.csrf_token(app.cookies["das_sid"])
        page = app.post("/control/jobs", {"name": unique(), "classname": "Echo", "interval": "1e-400",
                                          "csrf_token": token}, status=400)
        assert "interval" in page.text
        resp = app.put(API + "/options/retry_delay", json.dumps({"value": 1e300}), content_type="application/json",
                       status=400)
        assert "1e+09" in resp.json["error"]["message"]
        assert Api(app, system).add(interval=0.001)["interval"] == 0.001
    finally:
        system.shutdown(grace_s=0.2)


@pytest.mark.system
def test_a_stored_tiny_interval_does_not_stall_the_restarted_scheduler(tmp_path):
    """A store written before the range existed: the record is set aside, the others run."""
    store = SQLiteStore(tmp_path / "store.db", size_bytes=1 << 24)
    store.open()
    good = JobSpec(name="good", classname="tests.fixtures:Ok", interval_s=0.2)
    bad = {**good.to_dict(), "name": "tiny", "interval": 5e-324, "job_id": "badbadbadbadbad0", "state": "scheduled",
           "due_at": time.time(), "origin": "api"}
    store.save_jobs([{**good.to_dict(), "origin": "api", "state": "scheduled", "due_at": time.time()}, bad])
    store.close()
    system = System(settings(tmp_path)).start()
    try:
        wait_results(system, count=3, job_id=good.job_id)
        ok, details = Facade(system).health()
        assert "badbadbadbadbad0" in details["unrestorable_jobs"], details
        assert ok, details["problems"]  # set aside is not unhealthy: the others run
    finally:
        system.shutdown(grace_s=0.2)
    reopened = SQLiteStore(tmp_path / "store.db", size_bytes=1 << 24)
    reopened.open()
    assert any(r["job_id"] == "badbadbadbadbad0" for r in reopened.load_jobs())  # kept as it was, for the operator
    reopened.close()
