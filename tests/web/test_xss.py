"""The XSS probe: a task that returns and logs script payloads (and fails with one), under a job
whose name and arguments carry them too. Every page shows them escaped, never as markup."""

from __future__ import annotations

import html

import pytest

from tests.web.conftest import API, T
from tests.web.tasks import IMG, PAYLOAD

pytestmark = pytest.mark.system

NAME = '<script>alert("name")</script>'
RAW = (PAYLOAD, IMG, NAME, "<svg onload=alert(3)>", '<script>alert("arg")</script>')


def assert_inert(text: str) -> None:
    for raw in RAW:
        assert raw not in text, f"unescaped {raw!r} in the page"
    assert "<script>" not in text.replace('<script src="/analytics/static/app.js" defer></script>', "")


@pytest.fixture(scope="module")
def probes(facade, system):
    from tests.web.conftest import Api, client

    api = Api(client(facade), system)
    ok = api.add(T + "Xss", 3600, name=NAME, kwargs={"note": '<script>alert("arg")</script>'})["job_id"]
    bad = api.add(T + "Xss", 3600, name=NAME + " fails", kwargs={"fail": True})["job_id"]
    api.wait_runs(job_id=ok)
    api.wait_runs(job_id=bad)
    return ok, bad


def test_the_probe_really_stored_markup(app, probes):
    ok, _ = probes
    run = app.get(f"{API}/runs/{ok}/1").json["run"]
    assert run["result"]["html"] == PAYLOAD and any(PAYLOAD in d["msg"] for d in run["logs"])


@pytest.mark.parametrize("page", ["run-ok", "run-bad", "results", "logs-task", "logs-system", "job", "schedule",
                                  "overview", "control"])
def test_pages_show_payloads_escaped(app, probes, page):
    ok, bad = probes
    path = {"run-ok": f"/runs/{ok}/1", "run-bad": f"/runs/{bad}/1", "results": "/results",
            "logs-task": "/logs?type=reslog", "logs-system": "/logs?type=log&limit=1000", "job": f"/jobs/{ok}",
            "schedule": "/schedule", "overview": "/", "control": "/control"}[page]
    text = app.get(path).text
    assert_inert(text)
    if page in ("run-ok", "logs-task"):
        assert html.escape(PAYLOAD, quote=False) in text.replace("&#34;", '"').replace("&#39;", "'")
    if page == "run-ok":
        assert "&lt;img src=x onerror=" in text
    if page in ("job", "schedule", "results", "run-bad"):
        assert "&lt;script&gt;alert(" in text


def test_escaped_text_reads_back_as_the_payload(app, probes):
    ok, bad = probes
    page = app.get(f"/runs/{ok}/1").html
    assert PAYLOAD in page.find(id="run-result").text  # the browser shows the text, does not run it
    assert PAYLOAD in page.find(id="run-logs").text
    assert page.find(id="run-result").find("script") is None
    failed = app.get(f"/runs/{bad}/1").html
    assert PAYLOAD in failed.find(id="run-error").text and failed.find(id="run-error").find("script") is None


def test_json_api_is_not_sniffed_as_html(app, probes):
    resp = app.get(f"{API}/runs/{probes[0]}/1")
    assert resp.content_type == "application/json" and resp.headers["X-Content-Type-Options"] == "nosniff"


def test_live_tail_data_is_json_text(app, probes):
    ok, _ = probes
    text = app.get(API + "/logs/tail", {"type": "reslog", "after": 0, "job_id": ok, "limit": 1}).text
    assert "data: {" in text and PAYLOAD in text  # JSON for the script, which inserts it with textContent
    assert "textContent" in app.get("/static/app.js").text and "innerHTML" not in app.get("/static/app.js").text
