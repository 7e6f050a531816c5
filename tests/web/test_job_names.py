"""Jobs by name wherever an id is accepted (issue 16): the API, the pages, the operations; a
name two jobs share is a 409 that lists their ids; ancestry shows names with the ids."""

from __future__ import annotations

import pytest

from tests.web.conftest import API, T, unique

pytestmark = pytest.mark.system


def test_a_unique_name_works_where_an_id_does(app, api):
    name = unique("named")
    job = api.add(T + "Say", 3600, name=name, when="+1h")
    assert app.get(f"{API}/jobs/{name}").json["job"]["job_id"] == job["job_id"]
    assert app.post(f"{API}/jobs/{name}/pause").json["job"]["state"] == "paused"
    assert app.post(f"{API}/jobs/{name}/resume").json["job"]["state"] == "scheduled"
    page = app.get(f"/jobs/{name}")
    assert page.html.find(id="job-id").text == job["job_id"]
    app.delete(f"{API}/jobs/{name}")
    assert app.get(f"{API}/jobs/{job['job_id']}", expect_errors=True).status_int == 404


def test_a_shared_name_is_a_409_listing_the_ids(app, api):
    name = unique("twin")
    first = api.add(T + "Say", 3600, name=name, when="+1h", kwargs={"message": "one"})["job_id"]
    second = api.add(T + "Say", 3600, name=name, when="+1h", kwargs={"message": "two"})["job_id"]
    resp = app.get(f"{API}/jobs/{name}", expect_errors=True)
    assert resp.status_int == 409
    message = resp.json["error"]["message"]
    assert "2 jobs are named" in message and first in message and second in message
    assert app.post(f"{API}/jobs/{name}/pause", expect_errors=True).status_int == 409  # nothing paused
    assert {api.job(first)["state"], api.job(second)["state"]} == {"scheduled"}
    for job_id in (first, second):
        app.delete(f"{API}/jobs/{job_id}")


def test_an_unknown_name_is_a_404(app):
    assert app.get(f"{API}/jobs/{unique('nobody')}", expect_errors=True).status_int == 404


def test_ancestry_shows_names_with_ids(app, api):
    parent_name = unique("parent")
    child_def = {"name": unique("child"), "classname": "tests.fixtures:Ok", "interval": 3600}
    parent = api.add("tests.fixtures:Spawn", 3600, name=parent_name, kwargs={"children": [child_def]})
    children: list[dict] = []

    def spawned() -> bool:
        children[:] = app.get(f"{API}/jobs/{parent['job_id']}").json["job"]["children"]
        return bool(children)

    from tests.web.conftest import wait_for

    wait_for(spawned)
    child = app.get(f"{API}/jobs/{children[0]['job_id']}").json["job"]
    assert child["ancestors"] == [{"job_id": parent["job_id"], "name": parent_name}]
    page = app.get(f"/jobs/{child['job_id']}").html.find(id="job-ancestry")
    assert parent_name in page.text and parent["job_id"] in page.text
