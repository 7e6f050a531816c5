"""A job's placement (``resources``, issue 15) through the JSON API: accepted, shown, checked at the door."""

from __future__ import annotations

from tests.web.conftest import API, client, unique


def test_a_job_with_resources_is_created_and_shows_them(fake):
    app = client(fake)
    body = {"name": unique("gpu"), "classname": "Echo", "interval": 3600, "resources": {"GPU": 1}, "when": "+1h"}
    job = app.post_json(API + "/jobs", body, status=201).json["job"]
    assert job["resources"] == {"GPU": 1}
    assert app.get(f"{API}/jobs/{job['job_id']}").json["job"]["resources"] == {"GPU": 1}


def test_bad_resources_are_a_400_naming_the_field(fake):
    body = {"name": unique("gpu"), "classname": "Echo", "interval": 3600, "resources": {"GPU": -1}}
    resp = client(fake).post_json(API + "/jobs", body, expect_errors=True)
    assert resp.status_int == 400 and resp.json["error"]["field"] == "resources"
