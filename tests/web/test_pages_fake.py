"""Every page and API read over `FakeBackend`: hostile stored text stays inert, bad ids and
parameters answer 400/404 naming the field, in milliseconds (no actors, no workers).

The same pages over the real server are in test_pages.py and test_xss.py; this module
covers the web layer alone, with documents a task could never produce through a worker
(markup in every field a page shows).
"""

from __future__ import annotations

import time

import pytest

from tests.web.conftest import API, client

EVIL = '<script>alert("x")</script>'
IMG = '<img src=x onerror="alert(2)">'


@pytest.fixture(scope="module")
def stored(fake):
    job = fake.add_job({"name": f"job {EVIL}", "classname": "Echo", "interval": 60, "kwargs": {"value": IMG}})
    now = time.time()
    fake.record(
        {"type": "result", "time": now, "job_id": job["job_id"], "name": job["name"], "classname": "Echo",
         "index": 1, "attempt": 0, "trigger": "schedule", "parent": [], "due_at": now - 1, "started_at": now - 1,
         "finished_at": now, "duration": 1.0, "outcome": "failed", "worker": 0, "pid": 1, "notes": [EVIL],
         "result": {"html": EVIL, IMG: [EVIL]}, "error": f"ValueError: {EVIL}", "traceback": IMG},
        {"type": "reslog", "time": now, "job_id": job["job_id"], "index": 1, "attempt": 0, "level": 30,
         "logger": f"task.{EVIL}", "msg": f"line {IMG}"},
        {"type": "log", "time": now, "level": 40, "logger": "das_actors.test", "msg": EVIL, "event": EVIL},
    )
    return job


@pytest.mark.parametrize("path", ["/", "/schedule", "/running", "/results", "/logs?type=reslog", "/logs?type=log",
                                  "/control", "/help", "/reports", "JOB", "RUN"])
def test_every_page_shows_stored_markup_as_text(fake, stored, path):
    path = {"JOB": f"/jobs/{stored['job_id']}", "RUN": f"/runs/{stored['job_id']}/1"}.get(path, path)
    text = client(fake).get(path).text
    for raw in (EVIL, IMG):
        assert raw not in text, f"{raw!r} unescaped on {path}"
    assert "<script>" not in text.replace('<script src="/analytics/static/app.js" defer></script>', "")
    if path.startswith(("/jobs/", "/runs/", "/schedule", "/results")):
        assert "&lt;script&gt;alert(" in text  # shown, as text


@pytest.mark.parametrize(("path", "status", "field"), [
    ("/runs/0123456789abcdef/notanumber", 400, "index"),
    (f"{API}/runs/0123456789abcdef/notanumber", 400, "index"),
    (f"{API}/runs?limit=0", 400, "limit"),
    (f"{API}/runs?outcome=great", 400, "outcome"),
    (f"{API}/jobs?due_within=nan", 400, "due_within"),
    (f"{API}/jobs/0123456789abcdef", 404, None),
    ("/jobs/0123456789abcdef", 404, None),
    (f"{API}/reports/nope", 404, None),
])
def test_bad_reads_answer_with_the_field(fake, path, status, field):
    resp = client(fake).get(path, expect_errors=True)
    assert resp.status_int == status, resp.text
    if path.startswith(API):
        body = resp.json["error"]
        assert body["status"] == status and (field is None or body["field"] == field)
    elif field is not None:
        assert field in resp.text


def test_the_api_reads_what_the_backend_holds(fake, stored):
    app = client(fake)
    listed = app.get(API + "/jobs").json
    assert stored["job_id"] in [j["job_id"] for j in listed["jobs"]]
    run = app.get(f"{API}/runs/{stored['job_id']}/1").json["run"]
    assert run["result"]["html"] == EVIL and run["logs"][0]["msg"] == f"line {IMG}"
