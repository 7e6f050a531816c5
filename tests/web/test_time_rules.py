"""Cron, jitter, misfire and backfill at the doors: the JSON API (and its OpenAPI schema, which
must agree with what the server accepts and refuses), the add-job form, the job page, the
runs tables, ``/metrics``. Against a real in-process server; waits poll with deadlines."""

from __future__ import annotations

import time
from datetime import datetime
from zoneinfo import ZoneInfo

import jsonschema  # a test-only validation
import pytest

from tests.web.conftest import API, T, unique, wait_for
from web.openapi import openapi_document

pytestmark = pytest.mark.system


def new_job_schema_check(body: dict) -> bool:
    """Does the OpenAPI document's NewJob schema allow *body*?"""
    doc = openapi_document()
    schema = {**doc["components"]["schemas"]["NewJob"], "components": doc["components"]}
    validator = jsonschema.Draft202012Validator(schema)
    return validator.is_valid(body)


def refused(app, body: dict) -> dict:
    return app.post_json(API + "/jobs", body, status=400).json["error"]


def test_a_cron_job_through_the_api_shows_its_schedule_and_next_fire_times_in_its_zone(app, api):
    body = {"name": unique("nightly"), "classname": T + "Say", "cron": "30 2 * * *", "tz": "Europe/Zurich",
            "jitter": 30}
    assert new_job_schema_check(body)
    job = app.post_json(API + "/jobs", body, status=201).json["job"]
    assert (job["cron"], job["tz"], job["interval"], job["jitter"]) == ("30 2 * * *", "Europe/Zurich", None, 30.0)
    detail = api.job(job["job_id"])
    schedule = detail["schedule"]
    assert "02:30" in schedule["description"] and "Europe/Zurich" in schedule["description"]
    assert schedule["tz"] == "Europe/Zurich" and schedule["jitter"] == 30.0
    assert len(schedule["next"]) == 5
    for fire in schedule["next"]:
        moment = datetime.fromtimestamp(fire["at"], ZoneInfo("Europe/Zurich"))
        assert (moment.hour, moment.minute) == (2, 30) and moment.second < 30 + 1
        assert fire["local"].startswith(moment.strftime("%Y-%m-%d 02:30")) and fire["local"][-4:] in (" CET", "CEST")
    page = app.get(f"/jobs/{job['job_id']}")
    assert "At 02:30" in page.html.find(id="job-schedule").text
    assert page.html.find(id="job-tz").text == "Europe/Zurich" and "30" in page.html.find(id="job-jitter").text
    assert len(page.html.find(id="job-next-fires").find_all("li")) == 5
    app.delete(f"{API}/jobs/{job['job_id']}")


@pytest.mark.parametrize(("fields", "field", "words"), [
    ({"cron": "61 * * * *"}, "cron", "is invalid"),
    ({"cron": "0 0 30 2 *"}, "cron", "never fires"),
    ({"cron": "* * * *"}, "cron", "needs five"),
    ({"cron": "0 * * * *", "interval": 60}, "cron", "not both"),
    ({}, "interval", "needs a schedule"),
    ({"interval": 60, "tz": "Europe/Zurich"}, "tz", "cron schedules only"),
    ({"cron": "0 * * * *", "tz": "Mars/Olympus"}, "tz", "not a known time zone"),
    ({"interval": 60, "jitter": 61}, "jitter", "must not exceed the interval"),
    ({"interval": 60, "misfire": "later"}, "misfire", "must be one of"),
    ({"interval": 60, "misfire_grace": -1}, "misfire_grace", ">= 0"),
    ({"interval": 60, "max_catchup": 0}, "max_catchup", "within [1, 10000]"),
    ({"interval": 0.0001}, "interval", "0.001"),
])
def test_bad_time_fields_are_400s_naming_the_field(app, fields, field, words):
    body = {"name": unique("bad"), "classname": T + "Say", **fields}
    error = refused(app, body)
    assert error["field"] == field and words in error["message"]
    beyond_a_schema = (("cron", "never fires"), ("tz", "not a known time zone"),
                       ("jitter", "must not exceed the interval"))  # said in the schema's description
    if (field, words) not in beyond_a_schema:
        assert not new_job_schema_check(body), f"the schema allows what the server refuses: {body}"


@pytest.mark.parametrize("fields", [
    {"interval": 60, "jitter": 5, "misfire": "skip"},
    {"cron": "*/15 9-17 * * MON-FRI", "tz": "America/New_York", "misfire": "all", "max_catchup": 3},
    {"cron": "@hourly", "misfire_grace": "unlimited"},
    {"cron": "0 12 * * 5L", "misfire_grace": 120, "misfire": "coalesce"},
])
def test_good_time_fields_are_in_the_schema_and_accepted(app, fields):
    body = {"name": unique("good"), "classname": T + "Say", "when": "+1h", **fields}
    assert new_job_schema_check(body)
    job = app.post_json(API + "/jobs", body, status=201).json["job"]
    app.delete(f"{API}/jobs/{job['job_id']}")


def test_backfill_runs_each_past_slot_once_and_never_doubles_one(app, api, system):
    job = api.add(T + "Say", 1.0, when="+1h")
    jid = job["job_id"]
    now = time.time()
    start, end = now - 6.5, now - 2.5
    answer = app.post_json(f"{API}/jobs/{jid}/backfill", {"from": start, "to": end}, status=202).json
    assert answer["backfill"]["queued"] == answer["backfill"]["slots"] == 4
    runs = api.wait_runs(4, job_id=jid)
    assert sorted(r["trigger"] for r in runs) == ["backfill"] * 4
    slots = sorted(r["slot"] for r in runs)
    assert all(start <= s <= end for s in slots) and len(set(slots)) == 4
    assert [r["due_at"] for r in sorted(runs, key=lambda r: r["slot"])] == slots
    again = app.post_json(f"{API}/jobs/{jid}/backfill", {"from": start, "to": end}, status=202).json["backfill"]
    assert (again["queued"], again["skipped"]) == (0, 4)  # the ledger has them all
    assert api.job(jid)["due_at"] == job["due_at"]  # the schedule is untouched
    app.delete(f"{API}/jobs/{jid}")


@pytest.mark.parametrize(("body", "field"), [
    ({"from": "+1h", "to": "+2h"}, "to"),
    ({"from": 2_000_000_000.0, "to": 1_000_000_000.0}, "from"),
    ({"from": "-", "to": "+1m"}, "from"),
    ({"from": 1.0}, "to"),
    ({"from": 1.0, "to": 2.0, "extra": 1}, "extra"),
])
def test_bad_backfills_are_400s_naming_the_field(app, api, body, field):
    jid = api.add(T + "Say", 3600.0, when="+1h")["job_id"]
    error = app.post_json(f"{API}/jobs/{jid}/backfill", body, status=400).json["error"]
    assert error["field"] == field
    app.delete(f"{API}/jobs/{jid}")


def test_a_backfill_of_too_many_slots_is_refused_naming_the_count(app, api):
    jid = api.add(T + "Say", 0.01, when="+1h")["job_id"]
    now = time.time()
    error = app.post_json(f"{API}/jobs/{jid}/backfill", {"from": now - 200, "to": now - 1}, status=400).json["error"]
    assert "at most 10000" in error["message"] and error["field"] == "to"
    assert 19_800 <= int(error["message"].split("holds ")[1].split()[0]) <= 19_901
    app.delete(f"{API}/jobs/{jid}")


def test_backfill_of_an_unknown_job_is_404(app):
    app.post_json(f"{API}/jobs/0123456789abcdef/backfill", {"from": 1.0, "to": 2.0}, status=404)


def test_missed_slots_show_in_results_the_job_page_and_metrics(app, api, tmp_path):
    marker = tmp_path / "m"
    jid = api.add(T + "Block", 0.2, kwargs={"marker": str(marker), "seconds": 0.9}, misfire="skip",
                  max_runs=2)["job_id"]
    missed = api.wait_runs(1, job_id=jid, outcome="missed")
    doc = missed[0]
    assert doc["index"] is None and doc["outcome"] == "missed" and doc["slot"] is not None and doc["count"] >= 1
    results = app.get("/results", {"job_id": jid, "outcome": "missed"})
    assert results.html.find(attrs={"data-testid": "missed-slot"}) is not None
    assert "missed" in app.get(f"/jobs/{jid}").html.find(id="job-runs").text
    metrics = app.get("/metrics").text
    line = next(li for li in metrics.splitlines() if li.startswith('das_runs_total{outcome="missed"}'))
    assert float(line.split()[-1]) >= 1
    wait_for(lambda: api.job(jid)["state"] == "finished", 30)
    app.delete(f"{API}/jobs/{jid}")


def test_the_add_job_form_takes_a_cron_schedule(app, api):
    form = app.get("/control").forms["add-job-form"]
    name = unique("form-cron")
    form["name"] = name
    form["cron"] = "0 6 * * *"
    form["tz"] = "Asia/Tokyo"
    form["jitter"] = "10"
    form["misfire"] = "skip"
    done = form.submit(status=303)
    jid = done.headers["Location"].rsplit("/", 1)[1]
    job = api.job(jid)
    assert (job["cron"], job["tz"], job["interval"], job["jitter"], job["misfire"]) == (
        "0 6 * * *", "Asia/Tokyo", None, 10.0, "skip")
    app.delete(f"{API}/jobs/{jid}")


def test_the_add_job_form_names_a_bad_cron_field(app):
    form = app.get("/control").forms["add-job-form"]
    form["name"] = unique("form-bad")
    form["cron"] = "every day"
    resp = form.submit(status=400)
    assert resp.html.find(id="form-error")["data-field"] == "cron"
    assert resp.forms["add-job-form"]["cron"].value == "every day"
