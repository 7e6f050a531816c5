"""The OpenAPI document matches the routes; /metrics is Prometheus text; 503 when an actor is gone."""

from __future__ import annotations

import re

import pytest
from openapi_spec_validator import validate
from prometheus_client.parser import text_string_to_metric_families

from tests.web.conftest import API, client, make_facade, start_system, wait_for

pytestmark = pytest.mark.system

#: A sample line of the text exposition format: name{labels} value
SAMPLE = re.compile(r'[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*",?)*\})? '
                    r'(?:[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?|[-+]?Inf|NaN)')


def api_routes(app) -> set[tuple[str, str]]:
    """(METHOD, /path/{param}) of every route of the app under /api/v1."""
    routes = set()
    for route in app.app.routes:
        if route.rule.startswith(API + "/"):
            path = re.sub(r"<(\w+)(?::[^>]*)?>", r"{\1}", route.rule.removeprefix(API))
            routes.add((route.method, path))
    return routes


def test_openapi_document_is_valid_and_describes_every_route(app):
    doc = app.get(API + "/openapi.json").json
    validate(doc)
    assert doc["servers"] == [{"url": "/analytics/api/v1"}]
    described = {(method.upper(), path) for path, item in doc["paths"].items() for method in item}
    routes = api_routes(app)
    assert routes <= described  # every route, templated as the app has it ...
    for method, path in described - routes:  # ... and the catalog's concrete instances of one of them
        assert any(m == method and re.fullmatch(re.sub(r"{\w+}", "[^/]+", template), path)
                   for m, template in routes), (method, path)
    assert {"/options/max_retries", "/reports/scheduler"} <= set(doc["paths"])
    for path, item in doc["paths"].items():
        names = set(re.findall(r"{(\w+)}", path))
        for operation in item.values():
            assert names == {p["name"] for p in operation["parameters"] if p["in"] == "path"}, path
            assert operation["summary"] and any(code.startswith("2") for code in operation["responses"])


def test_metrics_are_prometheus_text(app, api):
    api.wait_runs(job_id=api.add(when=None)["job_id"])
    resp = app.get("/metrics")
    assert resp.content_type == "text/plain" and "version=0.0.4" in resp.headers["Content-Type"]
    for line in resp.text.splitlines():
        assert line.startswith("# HELP ") or line.startswith("# TYPE ") or SAMPLE.fullmatch(line), line
    families = {f.name: f for f in text_string_to_metric_families(resp.text)}
    assert {"das_runs", "das_run_duration_seconds", "das_run_lateness_seconds", "das_queue_waiting", "das_jobs",
            "das_workers", "das_journal_buffered", "das_journal_dropped", "das_journal_written"} <= set(families)
    runs = {s.labels["outcome"]: s.value for s in families["das_runs"].samples}
    assert runs["success"] >= 1 and set(runs) >= {"failed", "crashed", "timeout", "cancelled", "interrupted"}
    duration = families["das_run_duration_seconds"]
    assert duration.type == "histogram"
    buckets = [s for s in duration.samples if s.name.endswith("_bucket")]
    assert buckets[-1].labels["le"] == "+Inf"
    count = next(s.value for s in duration.samples if s.name.endswith("_count"))
    assert buckets[-1].value == count >= 1
    assert [b.value for b in buckets] == sorted(b.value for b in buckets)  # cumulative
    workers = {s.labels["status"]: s.value for s in families["das_workers"].samples}
    assert sum(workers.values()) == 2
    states = {s.labels["state"] for s in families["das_jobs"].samples}
    assert {"scheduled", "waiting", "running", "paused", "abandoned", "finished"} <= states


def test_a_dead_scheduler_is_503_everywhere(tmp_path):
    system = start_system(tmp_path)
    try:
        app = client(make_facade(system))
        assert app.get("/healthz").json == {"status": "ok"}
        supervisor, scheduler = system.directory.supervisor, system.directory.scheduler
        assert supervisor is not None and scheduler is not None
        supervisor.tell("stopping")  # so that it does not restart the scheduler
        scheduler.stop()
        wait_for(lambda: not scheduler.is_alive())
        health = app.get("/healthz", status=503).json
        assert health["status"] == "unhealthy" and "scheduler" in health["problems"][0]
        assert app.get(API + "/health", status=503).json["status"] == "unhealthy"
        for path in (API + "/jobs", API + "/running", "/metrics"):
            assert app.get(path, status=503).json["error"]["status"] == 503
        resp = app.post_json(API + "/jobs", {"name": "x", "classname": "Echo", "interval": 60}, status=503)
        assert "scheduler" in resp.json["error"]["message"]
        page = app.get("/schedule", status=503)
        assert "scheduler" in page.html.find(id="error-message").text
        assert app.get(API + "/runs").status_int == 200  # the store still answers
    finally:
        system.shutdown(grace_s=0.2)
