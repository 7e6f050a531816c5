"""The Reports section against a real System: index, every report page and its JSON, 400s naming the
field, 404s, dotted paths, inert task text, memory and crashes recorded by real workers."""

from __future__ import annotations

import time

import pytest

from tests.reports.docs import XSS, result
from tests.web.conftest import API, T, unique, wait_for

pytestmark = pytest.mark.system

R = "tests.reports.tasks:"


@pytest.fixture(scope="module")
def ran(system):
    """A job of the module's System that has run twice (its id), plus hostile stored runs."""
    from tests.web.conftest import client, make_facade

    app = client(make_facade(system))
    job = app.post_json(API + "/jobs", {"name": unique("figures"), "classname": R + "Figures", "interval": 0.2,
                                        "max_runs": 2}, status=201).json["job"]

    def done():
        system.flush()
        return app.get(API + "/runs", {"job_id": job["job_id"]}).json["total"] >= 2

    wait_for(done)
    now = time.time()
    hostile = [dict(result(0, job_id="x" * 16, name=XSS, classname=XSS, error=XSS, outcome="failed"), time=now - 5,
                    start=now - 6, finish=now - 5, due_at=now - 6.5),
               dict(result(0, job_id="t" * 16, name=XSS, classname="Test", result_value={"new_tasks": [{}]}),
                    time=now - 4, start=now - 4.5, finish=now - 4, due_at=now - 4.6)]
    system.store.insert(hostile)
    return job["job_id"]


def test_index_groups_the_reports(app, ran):
    page = app.get("/reports")
    groups = {g["data-group"]: g for g in page.html.find_all(attrs={"data-testid": "report-group"})}
    assert {"General", "Test Reports"} <= set(groups)
    general = {a.text for a in groups["General"].find_all("a")}
    assert {"Scheduler", "Job", "Workers"} <= general
    assert page.html.find(id="report-link-test")["href"] == "/analytics/reports/test"
    assert page.html.find(id="nav-reports")["class"] == ["active"]
    listed = app.get(API + "/reports").json
    assert {"scheduler", "job", "test", "workers"} <= {r["name"] for r in listed["reports"]}
    scheduler = next(r for r in listed["reports"] if r["name"] == "scheduler")
    assert scheduler["params"][0]["choices"] == ["10m", "1h", "6h", "24h"]


@pytest.mark.parametrize(("name", "query"), [("scheduler", {}), ("scheduler", {"window": "24h"}),
                                              ("job", None), ("test", {"period": "2h"}), ("workers", {})])
def test_every_report_renders_with_charts_and_answers_json(app, ran, name, query):
    query = {"job_id": ran} if query is None else query
    page = app.get(f"/reports/{name}", query)
    assert page.status_int == 200 and page.content_type == "text/html"
    assert page.html.find(id="report-title")["data-report"] == name
    charts = page.html.find_all("svg")
    assert charts and all(c["id"].startswith("chart-") for c in charts)
    assert "<script>alert" not in page.text
    form = page.forms["report-form"]
    assert form.method.lower() == "get" and form.action == f"/analytics/reports/{name}"
    answer = app.get(f"{API}/reports/{name}", query).json
    assert answer["report"]["name"] == name and answer["template"] == f"report_{name}.mako"
    assert isinstance(answer["data"], dict) and answer["data"]["charts"]
    assert page.html.find(id="report-json")["href"].startswith(f"/analytics/api/v1/reports/{name}")


def test_the_form_submits_new_parameters(app, ran):
    page = app.get("/reports/scheduler")
    form = page.forms["report-form"]
    form["window"] = "10m"
    shown = form.submit()
    assert shown.request.path_qs.endswith("/reports/scheduler?window=10m")
    assert shown.html.find(id="report-scheduler")["data-window"] == "10m"


def test_scheduler_and_job_figures_match_the_runs(app, ran):
    data = app.get(f"{API}/reports/job", {"job_id": ran}).json["data"]
    assert data["runs"] == 2 and data["by_outcome"]["success"] == 2 and data["scheduled"]
    assert data["value_fields"] == ["hit_ratio", "keys"]
    keys = next(s for s in data["charts"]["values"]["series"] if s["label"] == "keys")
    assert keys["y"] == [10, 20]
    windows = {w["key"]: w for w in app.get(f"{API}/reports/scheduler").json["data"]["windows"]}
    runs = app.get(API + "/runs", {"last": 600, "limit": 1000}).json["runs"]
    assert windows["10m"]["runs"] >= len([r for r in runs if r["time"] >= time.time() - 590])
    assert windows["24h"]["runs"] >= windows["10m"]["runs"] >= 4


@pytest.mark.parametrize(("path", "query", "field", "words"), [
    ("scheduler", {"window": "7m"}, "window", "must be one of '10m', '1h', '6h', '24h'"),
    ("scheduler", {"windw": "1h"}, "windw", "unknown parameter"),
    ("job", {}, "job_id", "required"),
    ("job", {"job_id": "x", "period": "soon"}, "period", "duration"),
    ("test", {"period": "30"}, "period", "must be >= 60"),
    ("workers", {"period": "99d"}, "period", "must be <="),
])
def test_bad_parameters_are_a_400_naming_the_field(app, ran, path, query, field, words):
    page = app.get(f"/reports/{path}", query, status=400)
    error = page.html.find(id="report-error")
    assert error["data-field"] == field and words in error.text
    assert page.forms["report-form"] is not None  # the form is still there to correct it
    body = app.get(f"{API}/reports/{path}", query, status=400).json["error"]
    assert body["status"] == 400 and body["field"] == field and words in body["message"]


def test_a_parameter_naming_nothing_is_a_404_naming_the_field(app, ran):
    page = app.get("/reports/job", {"job_id": "0123456789abcdef"}, status=404)
    error = page.html.find(id="report-error")
    assert error["data-field"] == "job_id" and "no job with id" in error.text
    assert page.forms["report-form"] is not None
    body = app.get(f"{API}/reports/job", {"job_id": "0123456789abcdef"}, status=404).json["error"]
    assert body["status"] == 404 and body["field"] == "job_id"


def test_unknown_reports_are_404_and_dotted_paths_resolve(app, ran):
    assert "unknown report 'nope'" in app.get("/reports/nope", status=404).html.find(id="error-message").text
    assert app.get(API + "/reports/nope", status=404).json["error"]["status"] == 404
    app.get(API + "/reports/os:path", status=404)
    page = app.get("/reports/tests.reports.extra:Extra", {"word": XSS, "count": "4"})
    assert page.html.find(id="extra-word").text == f"{XSS} x 4 (no flag)"
    assert "<script>alert" not in page.text
    assert app.get(API + "/reports/tests.reports.extra:Extra", {"count": "11"}, status=400).json["error"][
        "field"] == "count"
    assert app.get(API + "/reports/reports.scheduler:SchedulerReport").json["data"]["windows"]


def test_a_broken_report_is_a_500_with_a_clear_message(app, ran):
    broken = app.get(API + "/reports/tests.reports.extra:Broken", status=500).json["error"]
    assert "not (template_name, dict)" in broken["message"]
    page = app.get("/reports/tests.reports.extra:NoTemplate", status=500)
    assert "not found next to its module" in page.html.find(id="error-message").text


def test_task_text_is_inert_on_every_page(app, ran):
    for path in ("/reports/scheduler", "/reports/test", "/reports/job?job_id=" + "x" * 16):
        page = app.get(path)
        assert "<script>alert" not in page.text, path
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text, path  # shown, as text
    assert "<script>alert" not in app.get("/reports/workers").text


def test_real_workers_record_memory_and_crashes(app, api, ran, system):
    docs = api.runs(job_id=ran)["runs"]
    assert all(isinstance(d.get("rss_kb"), int) and d["rss_kb"] > 1000 for d in docs)
    die = api.add(R + "Die", 3600, only_once=True)["job_id"]
    api.wait_runs(job_id=die)
    wait_for(lambda: all(w["status"] in ("idle", "busy") for w in system.workers()))

    def crashed():
        system.flush()
        data = app.get(f"{API}/reports/workers", {"period": "1h"}).json["data"]
        return data if data["crashes_by_signal"].get("SIGKILL") else None

    data = wait_for(crashed)
    assert data["rss_recorded"] and data["process_restarts"] >= 1
    assert any(s["crash_replacements"] for s in data["slots"]) or data["crashes"] >= 1
    page = app.get("/reports/workers", {"period": "1h"})
    assert page.html.find(id="chart-rss") is not None
    assert "SIGKILL" in page.html.find(id="chart-signals").text
    assert page.html.find(id="workers-events").find(attrs={"data-event": "worker.crashed"}) is not None


def test_the_say_task_runs_show_in_the_test_free_job_report(app, api):
    job = api.add(T + "Say", 3600)["job_id"]
    api.wait_runs(job_id=job)
    data = app.get(f"{API}/reports/job", {"job_id": job, "period": "10m"}).json["data"]
    assert data["runs"] == 1 and data["value_fields"] == []
    assert app.get("/reports/job", {"job_id": job}).html.find(id="job-no-values") is not None
