"""The JSON API against a real System: every route, its answers and its errors."""

from __future__ import annotations

import time

import pytest

from tests.web.conftest import API, T, unique, wait_for

pytestmark = pytest.mark.system


def error(resp, status: int, field: str | None = None) -> str:
    assert resp.status_int == status, resp.text
    assert resp.content_type == "application/json"
    body = resp.json["error"]
    assert body["status"] == status and body["message"]
    if field is not None:
        assert body.get("field") == field, body
    return body["message"]


# ------------------------------------------------------------------------------------------ jobs
def test_job_lifecycle(app, api):
    job = api.add(T + "Say", 3600, kwargs={"message": "hi"}, when="+1h")
    jid = job["job_id"]
    assert job["kwargs"] == {"message": "hi", "lines": 0}  # declared defaults applied
    listed = app.get(API + "/jobs").json["jobs"]
    assert jid in {j["job_id"] for j in listed}
    assert jid not in {j["job_id"] for j in app.get(API + "/jobs", {"due_within": 60}).json["jobs"]}
    assert jid in {j["job_id"] for j in app.get(API + "/jobs", {"due_within": 7200}).json["jobs"]}
    got = app.get(f"{API}/jobs/{jid}").json["job"]
    assert got["state"] == "scheduled" and got["recent_runs"] == [] and got["children"] == []
    assert app.post(f"{API}/jobs/{jid}/pause").json["job"]["state"] == "paused"
    assert app.post(f"{API}/jobs/{jid}/resume").json["job"]["state"] == "scheduled"
    moved = app.post_json(f"{API}/jobs/{jid}/reschedule", {"when": "+10m"}).json["job"]
    assert abs(moved["due_at"] - (time.time() + 600)) < 5
    refused = app.post_json(f"{API}/jobs/{jid}/run-now", {"kwargs": {"message": "other"}}, expect_errors=True)
    assert "run-now takes no body" in error(refused, 400, "kwargs")  # issue 16: it was ignored with a 200
    app.post(f"{API}/jobs/{jid}/run-now")
    [run] = api.wait_runs(job_id=jid)
    assert run["outcome"] == "success" and run["result"]["said"] == "hi"
    assert wait_for(lambda: api.job(jid)["state"] == "scheduled")
    assert app.delete(f"{API}/jobs/{jid}").json["job"]["job_id"] == jid
    error(app.get(f"{API}/jobs/{jid}", expect_errors=True), 404)


def test_jobs_paging_and_state_filter(app, api):
    paused = api.add(when="+1h")["job_id"]
    other = api.add(when="+2h")["job_id"]
    app.post(f"{API}/jobs/{paused}/pause")
    listed = app.get(API + "/jobs", {"state": "paused"}).json
    assert paused in {j["job_id"] for j in listed["jobs"]} and all(j["state"] == "paused" for j in listed["jobs"])
    everything = app.get(API + "/jobs").json
    assert everything["total"] == len(everything["jobs"]) >= 2 and everything["more"] is False
    first = app.get(API + "/jobs", {"limit": 1}).json
    assert len(first["jobs"]) == 1 and first["total"] == everything["total"] and first["more"] is True
    second = app.get(API + "/jobs", {"limit": 1, "offset": 1}).json
    assert second["jobs"][0]["job_id"] == everything["jobs"][1]["job_id"]
    error(app.get(API + "/jobs", {"state": "sleepy"}, expect_errors=True), 400, "state")
    error(app.get(API + "/jobs", {"due_within": "soon"}, expect_errors=True), 400, "due_within")
    app.delete(f"{API}/jobs/{paused}")
    app.delete(f"{API}/jobs/{other}")


def test_run_now_does_not_shift_the_schedule(app, api):
    jid = api.add(T + "Say", 3600, when="+10m")["job_id"]
    due = api.job(jid)["due_at"]
    app.post(f"{API}/jobs/{jid}/run-now")
    [run] = api.wait_runs(job_id=jid)
    assert run["trigger"] == "manual"
    assert wait_for(lambda: api.job(jid)["state"] == "scheduled")
    assert api.job(jid)["due_at"] == pytest.approx(due)


def test_created_job_has_location_header(app):
    resp = app.post_json(API + "/jobs", {"name": unique(), "classname": "Echo", "interval": 3600, "when": "+1h"},
                         status=201)
    assert resp.headers["Location"] == f"/analytics/api/v1/jobs/{resp.json['job']['job_id']}"


@pytest.mark.parametrize(("body", "field"), [
    ({"classname": "Echo", "interval": 60}, "name"),
    ({"name": "x", "interval": 60}, "classname"),
    ({"name": "x", "classname": "Echo"}, "interval"),
    ({"name": "x", "classname": "Echo", "interval": "abc"}, "interval"),
    ({"name": "x", "classname": "Echo", "interval": -1}, "interval"),
    ({"name": "x", "classname": "Echo", "interval": 1e300}, "interval"),
    ({"name": "x", "classname": "NoSuchTask", "interval": 60}, "classname"),
    ({"name": "x", "classname": "no.such.module:Task", "interval": 60}, "classname"),
    ({"name": "x", "classname": "Echo", "interval": 60, "bogus": 1}, "bogus"),
    ({"name": "x", "classname": "Echo", "interval": 60, "parent": ["abc"]}, "parent"),
    ({"name": "x", "classname": "Echo", "interval": 60, "origin": "config"}, "origin"),
    ({"name": "x", "classname": "Echo", "interval": 60, "kwargs": [1]}, "kwargs"),
    ({"name": "x", "classname": "Echo", "interval": 60, "kwargs": {"logger": 1}}, "logger"),
    ({"name": "x", "classname": T + "Say", "interval": 60, "kwargs": {"lines": "many"}}, "lines"),
    ({"name": "x", "classname": T + "Typed", "interval": 60}, "text"),
    ({"name": "x", "classname": "Echo", "interval": 60, "when": "yesterday"}, "when"),
    ({"name": "x", "classname": "Echo", "interval": 60, "when": 1.0}, "when"),
    ({"name": "x", "classname": "Echo", "interval": 60, "when": [1]}, "when"),
    ({"name": "x", "classname": "Echo", "interval": 60, "when": 1e300}, "when"),
    ({"name": "x", "classname": "Echo", "interval": 60, "only_before": "soonish"}, "only_before"),
    ({"name": "x", "classname": "Echo", "interval": 60, "max_runs": 0}, "max_runs"),
    ({"name": "x", "classname": "Echo", "interval": 60, "max_runs": 10**30}, "max_runs"),
    ({"name": "x", "classname": "Echo", "interval": 60, "retries": -1}, "retries"),
    ({"name": "x", "classname": "Echo", "interval": 60, "timeout": 0}, "timeout"),
    ({"name": "x", "classname": "Echo", "interval": 60, "only_once": "yes"}, "only_once"),
])
def test_add_job_refuses_bad_fields_with_400_naming_them(app, body, field):
    error(app.post_json(API + "/jobs", body, expect_errors=True), 400, field)


@pytest.mark.parametrize("raw", [b"", b"{", b"[1, 2]", b'"text"', b'{"name": NaN}', b'{"interval": 1e999}',
                                 b"\xff\xfe", b"[" * 5000 + b"]" * 5000, b'{"a":' * 40 + b"1" + b"}" * 40])
def test_malformed_json_bodies_are_400_on_field_body(app, raw):
    resp = app.post(API + "/jobs", raw, content_type="application/json", expect_errors=True)
    error(resp, 400, "body")


def test_oversized_body_is_413(app):
    resp = app.post(API + "/jobs", b"{" + b" " * 300_000 + b"}", content_type="application/json", expect_errors=True)
    error(resp, 413, "body")


def test_reschedule_errors(app, api):
    jid = api.add(when="+1h")["job_id"]
    error(app.post_json(f"{API}/jobs/{jid}/reschedule", {}, expect_errors=True), 400, "when")
    error(app.post_json(f"{API}/jobs/{jid}/reschedule", {"when": "+1h", "x": 1}, expect_errors=True), 400, "x")
    past = error(app.post_json(f"{API}/jobs/{jid}/reschedule", {"when": 1000}, expect_errors=True), 400, "when")
    assert "past" in past
    error(app.post_json(f"{API}/jobs/{jid}/reschedule", {"when": "later"}, expect_errors=True), 400, "when")
    error(app.post_json(f"{API}/jobs/nope/reschedule", {"when": "+1h"}, expect_errors=True), 404)


@pytest.mark.parametrize(("method", "path"), [
    ("get", "/jobs/0123456789abcdef"), ("delete", "/jobs/0123456789abcdef"),
    ("post", "/jobs/0123456789abcdef/pause"), ("post", "/jobs/0123456789abcdef/resume"),
    ("post", "/jobs/0123456789abcdef/run-now"), ("get", "/runs/0123456789abcdef/1"),
    ("post", "/running/0123456789abcdef:1:0/cancel"),
])
def test_unknown_ids_are_404(app, method, path):
    error(getattr(app, method)(API + path, expect_errors=True), 404)


@pytest.mark.parametrize(("method", "path"), [
    ("put", "/jobs"), ("patch", "/jobs"), ("get", "/jobs/x/pause"), ("delete", "/runs"), ("post", "/workers"),
    ("post", "/options/verbose"), ("get", "/running/x/cancel"), ("options", "/jobs"),
])
def test_wrong_methods_are_405_with_allow(app, method, path):
    resp = getattr(app, method)(API + path, expect_errors=True)
    error(resp, 405)
    assert resp.headers["Allow"]


def test_unknown_api_path_is_json_404(app):
    assert "not found" in error(app.get(API + "/nothing/here", expect_errors=True), 404)


def test_run_now_of_a_running_job_is_409_and_cancel_is_202(app, api, tmp_path):
    marker = tmp_path / "m"
    jid = api.add(T + "Block", 3600, kwargs={"marker": str(marker), "seconds": 60})["job_id"]
    run = api.wait_running(jid)
    assert run["elapsed_s"] >= 0 and run["pid"] > 0 and run["run_id"] == f"{jid}:1:0"
    assert "is running" in error(app.post(f"{API}/jobs/{jid}/run-now", expect_errors=True), 409)
    resp = app.post(f"{API}/running/{run['run_id']}/cancel", status=202)
    assert resp.json["cancel"] == {"run_id": run["run_id"], "cancelling": True}
    [doc] = api.wait_runs(job_id=jid)
    assert doc["outcome"] == "cancelled"
    app.delete(f"{API}/jobs/{jid}")


# ------------------------------------------------------------------------------------------ runs
def test_runs_filters_paging_and_one_run_with_logs(app, api):
    name = unique("runs")
    jid = api.add(T + "Say", 0.05, name=name, max_runs=3, kwargs={"message": "m", "lines": 2})["job_id"]
    runs = api.wait_runs(3, job_id=jid)
    assert [r["index"] for r in runs] == [3, 2, 1]  # newest first
    page = app.get(API + "/runs", {"job_id": jid, "limit": 1}).json
    assert page["total"] == 3 and page["more"] is True and page["runs"][0]["index"] == 3
    page = app.get(API + "/runs", {"job_id": jid, "limit": 2, "offset": 2}).json
    assert page["total"] == 3 and page["more"] is False and [r["index"] for r in page["runs"]] == [1]
    assert app.get(API + "/runs", {"name": name}).json["total"] == 3
    assert app.get(API + "/runs", {"name": name, "index": 2}).json["runs"][0]["index"] == 2
    assert app.get(API + "/runs", {"name": name, "outcome": "failed"}).json["total"] == 0
    assert app.get(API + "/runs", {"name": name, "classname": T + "Say", "last": 600}).json["total"] == 3
    assert app.get(API + "/runs", {"name": name, "last": 0.0}).json["total"] == 0
    run = app.get(f"{API}/runs/{jid}/2").json["run"]
    assert run["index"] == 2 and [d["msg"] for d in run["logs"]] == ["m", "line 0", "line 1"]
    assert app.get(f"{API}/runs/{jid}/2", {"attempt": 0}).json["run"]["attempt"] == 0
    error(app.get(f"{API}/runs/{jid}/2", {"attempt": 5}, expect_errors=True), 404)
    error(app.get(f"{API}/runs/{jid}/two", expect_errors=True), 400, "index")


@pytest.mark.parametrize(("query", "field"), [
    ({"outcome": "great"}, "outcome"), ({"last": "abc"}, "last"), ({"last": "-5"}, "last"),
    ({"last": "inf"}, "last"), ({"limit": "0"}, "limit"), ({"limit": "5000"}, "limit"), ({"offset": "-1"}, "offset"),
    ({"index": "x"}, "index"), ({"job_id": "x" * 600}, "job_id"),
])
def test_runs_query_errors(app, query, field):
    error(app.get(API + "/runs", query, expect_errors=True), 400, field)


def test_running_is_a_list(app):
    assert isinstance(app.get(API + "/running").json["running"], list)


# ------------------------------------------------------------------------------------------ logs
def test_logs_query_by_type_prefix_level_and_job(app, api):
    jid = api.add(T + "Say", 3600, kwargs={"message": "for the log"})["job_id"]
    api.wait_runs(job_id=jid)
    task_lines = app.get(API + "/logs", {"type": "reslog", "job_id": jid}).json
    assert task_lines["total"] == 1 and task_lines["logs"][0]["msg"] == "for the log"
    system = app.get(API + "/logs", {"logger": "das_actors", "level": "info", "limit": 50}).json
    assert system["total"] > 0
    assert all(d["type"] == "log" and d["logger"].startswith("das_actors") and d["level"] >= 20
               for d in system["logs"])
    assert app.get(API + "/logs", {"level": "40", "logger": "das_actors.nothing"}).json["total"] == 0
    error(app.get(API + "/logs", {"type": "result"}, expect_errors=True), 400, "type")
    error(app.get(API + "/logs", {"level": "loud"}, expect_errors=True), 400, "level")


def test_tail_streams_server_sent_events(app, api):
    jid = api.add(T + "Say", 3600, kwargs={"message": "streamed"})["job_id"]
    api.wait_runs(job_id=jid)
    resp = app.get(API + "/logs/tail", {"type": "reslog", "after": 0, "job_id": jid, "limit": 1})
    assert resp.content_type == "text/event-stream"
    assert resp.headers["Cache-Control"].startswith("no-cache")
    events = [block for block in resp.text.split("\n\n") if block.startswith("id:")]
    assert len(events) == 1
    seq_line, data_line = events[0].splitlines()
    import json

    doc = json.loads(data_line.removeprefix("data: "))
    assert seq_line == f"id: {doc['seq']}" and doc["msg"] == "streamed" and doc["job_id"] == jid


def test_tail_resumes_after_last_event_id_and_ends_on_timeout(app, api):
    jid = api.add(T + "Say", 3600, kwargs={"message": "twice", "lines": 1})["job_id"]
    api.wait_runs(job_id=jid)
    first = app.get(API + "/logs/tail", {"type": "reslog", "after": 0, "job_id": jid, "limit": 1}).text
    seq = int(first.split("id: ")[1].split("\n")[0])
    rest = app.get(API + "/logs/tail", {"type": "reslog", "job_id": jid, "limit": 1},
                   headers={"Last-Event-ID": str(seq)}).text
    assert '"line 0"' in rest and '"twice"' not in rest
    quiet = app.get(API + "/logs/tail", {"type": "reslog", "job_id": "nobody", "timeout": 0.2}).text
    assert "id:" not in quiet


@pytest.mark.parametrize(("query", "field"), [({"type": "nope"}, "type"), ({"after": "x"}, "after"),
                                              ({"timeout": "-1"}, "timeout"), ({"level": "x"}, "level")])
def test_tail_errors(app, query, field):
    error(app.get(API + "/logs/tail", query, expect_errors=True), 400, field)


# ------------------------------------------------------------------------------------------ system
def test_workers_options_tasks(app, facade):
    workers = app.get(API + "/workers").json["workers"]
    assert [w["slot"] for w in workers] == [0, 1] and all(w["pid"] for w in workers)
    options = {o["name"]: o for o in app.get(API + "/options").json["options"]}
    assert options["workers"]["value"] == 2 and options["workers"]["live"] is False
    assert options["max_retries"]["live"] is True and options["web"]["value"] is False
    tasks = {t["classname"]: t for t in app.get(API + "/tasks").json["tasks"]}
    assert {"Test", "Echo", "Sleep"} <= set(tasks)
    assert {o["name"] for o in tasks["Test"]["options"]} >= {"message", "seed"}


def test_web_token_is_never_shown(tmp_path):
    from tests.web.conftest import client, make_facade, start_system

    system = start_system(tmp_path, web_token="s3cret-token")
    try:
        app = client(make_facade(system))
        text = app.get(API + "/options", headers={"Authorization": "Bearer s3cret-token"}).text
        assert "s3cret-token" not in text and '"***"' in text
    finally:
        system.shutdown(grace_s=0.5)


def test_set_live_option_and_refusals(app, facade):
    before = facade.system.settings.max_retries
    resp = app.put_json(API + "/options/max_retries", {"value": 3})
    assert resp.json["option"] == {"name": "max_retries", "value": 3, "live": True}
    options = {o["name"]: o for o in app.get(API + "/options").json["options"]}
    assert options["max_retries"]["value"] == 3 and options["max_retries"]["source"] == "runtime"
    assert app.put_json(API + "/options/max_retries", {"value": "2"}).json["option"]["value"] == 2  # text parsed
    error(app.put_json(API + "/options/max_retries", {"value": "many"}, expect_errors=True), 400, "value")
    error(app.put_json(API + "/options/max_retries", {"value": -1}, expect_errors=True), 400, "value")
    error(app.put_json(API + "/options/max_retries", {}, expect_errors=True), 400, "value")
    assert "restart" in error(app.put_json(API + "/options/workers", {"value": 3}, expect_errors=True), 409)
    error(app.put_json(API + "/options/no_such_option", {"value": 1}, expect_errors=True), 404)
    facade.set_option("max_retries", before)


def test_health(app):
    body = app.get(API + "/health").json
    assert body["status"] == "ok" and body["problems"] == [] and body["scheduler"]["jobs"] >= 0
    assert app.get("/healthz").json == {"status": "ok"}
