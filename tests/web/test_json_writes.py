"""API writes take ``application/json`` or nothing: the bodies a page may send anywhere never arrive.

A browser sends ``text/plain``, form-encoded and multipart bodies cross-site without a
preflight; ``application/json`` needs one, which this server never grants. So an API write
declaring any other type (or a body with no type) is a 415 naming the header, and no handler
runs: no job is added, no option changed. HTML form posts (form-encoded, with their CSRF
token) are untouched (``test_pages.py`` adds jobs through them).
"""

from __future__ import annotations

import http.client
import json

import pytest

from tests.web.conftest import API, client, make_facade, start_system, unique

pytestmark = pytest.mark.system


def job_body(name: str) -> str:
    return json.dumps({"name": name, "classname": "Echo", "interval": 3600, "when": "+1h"})


def names(app) -> set[str]:
    return {j["name"] for j in app.get(API + "/jobs", {"limit": 1000}).json["jobs"]}


@pytest.mark.parametrize("content_type", [
    "text/plain", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
    "application/jsonx", "text/json", "application/json-patch+json",
])
def test_a_json_body_under_another_type_is_415_and_adds_nothing(app, content_type):
    name = unique("typed")
    resp = app.post(API + "/jobs", job_body(name), content_type=content_type, expect_errors=True)
    assert resp.status_int == 415, resp.text
    assert resp.json["error"]["field"] == "Content-Type" and "application/json" in resp.json["error"]["message"]
    assert name not in names(app)


def test_a_body_without_a_type_is_415(app):
    resp = app.post(API + "/jobs", job_body(unique()), content_type="", expect_errors=True)
    assert resp.status_int == 415 and "without" in resp.json["error"]["message"]


def test_put_and_delete_are_checked_too(app, api):
    resp = app.put(API + "/options/max_retries", '{"value": 3}', content_type="text/plain", expect_errors=True)
    assert resp.status_int == 415
    assert next(o for o in app.get(API + "/options").json["options"] if o["name"] == "max_retries")["value"] != 3
    jid = api.add(when="+1h")["job_id"]
    assert app.delete(API + f"/jobs/{jid}", "x", content_type="text/plain", expect_errors=True).status_int == 415
    assert app.post(API + f"/jobs/{jid}/pause", "", content_type="text/plain", expect_errors=True).status_int == 415
    assert api.job(jid)["state"] == "scheduled"


@pytest.mark.parametrize("content_type", ["application/json", "application/json; charset=utf-8", "Application/JSON"])
def test_json_is_accepted(app, content_type):
    name = unique("json")
    app.post(API + "/jobs", job_body(name), content_type=content_type, status=201)
    assert name in names(app)


def test_a_write_with_no_body_needs_no_type(app, api):
    jid = api.add(when="+1h")["job_id"]
    assert app.post(API + f"/jobs/{jid}/pause").json["job"]["state"] == "paused"


def test_refusal_comes_after_authentication(tmp_path):
    system = start_system(tmp_path, web_token="json-token")
    try:
        locked = client(make_facade(system))
        assert locked.post(API + "/jobs", job_body(unique()), content_type="text/plain",
                           expect_errors=True).status_int == 401
        assert locked.post(API + "/jobs", job_body(unique()), content_type="text/plain",
                           headers={"Authorization": "Bearer json-token"}, expect_errors=True).status_int == 415
    finally:
        system.shutdown(grace_s=0.5)


def test_a_cross_site_text_plain_post_to_the_real_server_is_415(tmp_path):
    """What a page's ``fetch(url, {method: "POST", mode: "no-cors", body})`` sends, minus the Origin
    header a browser adds (which the Origin rule refuses on its own)."""
    system = start_system(tmp_path, web=True, web_port=0)
    try:
        name, port = unique("plain"), system.web_port
        assert port
        status, answer = _ask(port, "POST", "/analytics/api/v1/jobs", job_body(name),
                              {"Content-Type": "text/plain;charset=UTF-8"})
        assert status == 415 and answer["error"]["field"] == "Content-Type"
        status, listing = _ask(port, "GET", "/analytics/api/v1/jobs?limit=1000")
        assert status == 200 and name not in {j["name"] for j in listing["jobs"]}
    finally:
        system.shutdown(grace_s=0.5)


def _ask(port: int, method: str, path: str, body: str | None = None, headers: dict | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, body, headers or {})
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read())
    finally:
        conn.close()
