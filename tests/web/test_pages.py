"""The HTML pages against a real System: each page renders, the forms work without JavaScript."""

from __future__ import annotations

import time

import pytest

from tests.web.conftest import API, T, unique, wait_for

pytestmark = pytest.mark.system

PAGES = ["/", "/schedule", "/running", "/results", "/logs", "/logs?type=reslog", "/control", "/reports", "/help",
         "/login"]


def form_for(page, action_end: str):
    return next(f for f in page.forms.values() if f.action.endswith(action_end))


@pytest.mark.parametrize("path", PAGES)
def test_every_page_renders_with_the_menu(app, path):
    page = app.get(path)
    assert page.content_type == "text/html"
    for section in ("overview", "schedule", "running", "results", "logs", "control", "reports", "help"):
        link = page.html.find(id=f"nav-{section}")
        assert link is not None and link["href"].startswith("/analytics/")
    assert page.html.find("link", rel="stylesheet")["href"] == "/analytics/static/style.css"


def test_static_files(app):
    assert "EventSource" in app.get("/static/app.js").text
    assert app.get("/static/style.css").content_type == "text/css"
    app.get("/static/nope.css", status=404)
    app.get("/static/../app.py", status=404)


def test_overview_counts_workers_and_last_failures(app, api):
    failing = api.add("tests.fixtures:Fail", 3600)["job_id"]
    api.wait_runs(job_id=failing)
    page = app.get("/")
    assert int(page.html.find(id="runs-hour").text) >= 1
    assert int(page.html.find(id="failures-hour").text) >= 1
    assert int(page.html.find(id="count-abandoned").text) >= 1
    assert len(page.html.find(id="workers").find("tbody").find_all("tr")) == 2
    failures = page.html.find(id="last-failures")
    assert failing in str(failures) and "failing on purpose" in failures.text


def test_schedule_sorted_filtered_with_actions(app, api):
    soon = api.add(when="+60s")
    later = api.add(when="+2h")
    page = app.get("/schedule")
    ids = [row["data-job-id"] for row in page.html.select("tr[data-testid=job-row]")]
    assert ids.index(soon["job_id"]) < ids.index(later["job_id"])
    filtered = app.get("/schedule", {"due_within": 600})
    ids = [row["data-job-id"] for row in filtered.html.select("tr[data-testid=job-row]")]
    assert soon["job_id"] in ids and later["job_id"] not in ids
    assert filtered.html.find(id="due-within")["value"] == "600"
    for action in ("run-now", "pause", "remove", "reschedule"):
        assert page.html.find(id=f"{action}-{soon['job_id']}") is not None
    app.get("/schedule", {"due_within": "soon"}, status=400)
    one = app.get("/schedule", {"limit": 1})
    assert len(one.html.select("tr[data-testid=job-row]")) == 1 and int(one.html.find(id="total").text) >= 2
    assert len(one.click(linkid="next-page").html.select("tr[data-testid=job-row]")) == 1
    app.get("/schedule", {"state": "nope"}, status=400)


def test_pause_resume_reschedule_remove_through_the_forms(app, api):
    jid = api.add(when="+1h")["job_id"]
    page = app.get("/schedule")
    done = form_for(page, f"/jobs/{jid}/pause").submit(status=303).follow()
    assert api.job(jid)["state"] == "paused" and "paused" in done.html.find(attrs={"data-testid": "flash"}).text
    done = form_for(done, f"/jobs/{jid}/resume").submit(status=303).follow()
    assert api.job(jid)["state"] == "scheduled"
    form = form_for(done, f"/jobs/{jid}/reschedule")
    form["when"] = "+3h"
    form.submit(status=303)
    assert abs(api.job(jid)["due_at"] - (time.time() + 3 * 3600)) < 10
    form = form_for(app.get("/schedule"), f"/jobs/{jid}/reschedule")
    form["when"] = "1000"  # 1970: the past is refused with a message
    refusal = form.submit(status=400)
    assert "past" in refusal.html.find(id="error-message").text
    assert refusal.html.find(id="error-message")["data-field"] == "when"
    form["when"] = "whenever"
    assert "accepted formats" in form.submit(status=400).text
    done = form_for(app.get(f"/jobs/{jid}"), f"/jobs/{jid}/remove").submit(status=303)
    assert done.headers["Location"] == "/analytics/schedule"  # its own page is gone
    app.get(f"/jobs/{jid}", status=404)


def test_run_now_through_the_form(app, api):
    jid = api.add(when="+1h")["job_id"]
    form_for(app.get(f"/jobs/{jid}"), f"/jobs/{jid}/run-now").submit(status=303)
    assert api.wait_runs(job_id=jid)[0]["outcome"] == "success"


def test_running_page_shows_elapsed_pid_and_cancels(app, api, tmp_path):
    jid = api.add(T + "Block", 3600, kwargs={"marker": str(tmp_path / "m"), "seconds": 60})["job_id"]
    run = api.wait_running(jid)
    page = app.get("/running")
    row = page.html.find("tr", attrs={"data-run-id": run["run_id"]})
    assert str(run["pid"]) in row.text
    form_for(page, f"/running/{run['run_id']}/cancel").submit(status=303)
    assert api.wait_runs(job_id=jid)[0]["outcome"] == "cancelled"
    assert app.get("/running").html.find("tr", attrs={"data-run-id": run["run_id"]}) is None
    form_for(page, f"/running/{run['run_id']}/cancel").submit(status=404)  # already gone


def test_results_filters_paging_and_links(app, api):
    name = unique("paged")
    # misfire "all" with a minute of grace: a slot that falls due while the previous run still goes runs late, not
    # recorded missed (a loaded machine: the default grace is one period, 20 ms), so exactly five results
    jid = api.add(T + "Say", 0.02, name=name, max_runs=5, misfire="all", misfire_grace=60)["job_id"]
    api.wait_runs(5, job_id=jid)
    page = app.get("/results", {"name": name, "limit": 2})
    assert page.html.find(id="total").text == "5"
    rows = page.html.find(id="results").find("tbody").find_all("tr")
    assert len(rows) == 2
    older = page.click(linkid="next-page")
    assert older.html.find(id="total").text == "5"
    assert "showing 3" in older.html.find(attrs={"data-testid": "pager"}).text
    assert older.click(linkid="prev-page").html.find(id="total").text == "5"
    run_page = page.click(href=f"/analytics/runs/{jid}/5")
    assert run_page.html.find(id="run-result") is not None
    assert app.get("/results", {"job_id": jid, "outcome": "failed"}).html.find(id="total").text == "0"
    app.get("/results", {"outcome": "meh"}, status=400)
    app.get("/results", {"last": "yesterday"}, status=400)


def test_run_page_shows_result_timing_error_traceback_and_logs(app, api):
    ok = api.add(T + "Say", 3600, kwargs={"message": "shown on the run page", "lines": 1})["job_id"]
    bad = api.add("tests.fixtures:Fail", 3600)["job_id"]
    api.wait_runs(job_id=ok)
    api.wait_runs(job_id=bad)
    page = app.get(f"/runs/{ok}/1")
    assert '"said": "shown on the run page"' in page.html.find(id="run-result").text
    logs = page.html.find(id="run-logs").text
    assert "shown on the run page" in logs and "line 0" in logs and "INFO" in logs
    assert page.html.find(id="run-duration").text.endswith("s")
    failed = app.get(f"/runs/{bad}/1")
    assert "failing on purpose" in failed.html.find(id="run-error").text
    assert "Traceback" in failed.html.find(id="run-traceback").text
    app.get(f"/runs/{ok}/9", status=404)
    app.get(f"/runs/{ok}/one", status=400)


def test_job_page_definition_ancestry_children_and_runs(app, api):
    kid = {"name": unique("kid"), "classname": "tests.fixtures:Ok", "interval": 3600}
    parent = api.add("tests.fixtures:Spawn", 3600, kwargs={"children": [kid]}, only_once=True)["job_id"]
    api.wait_runs(job_id=parent)
    child = wait_for(lambda: next((j for j in app.get(API + "/jobs").json["jobs"] if j["name"] == kid["name"]), None))
    page = app.get(f"/jobs/{parent}")
    assert page.html.find(id="job-id").text == parent
    assert [a.text for a in page.html.select("[data-testid=child-link]")] == [kid["name"]]
    assert len(page.html.find(id="job-runs").find("tbody").find_all("tr")) == 1
    child_page = page.click(href=f"/analytics/jobs/{child['job_id']}")
    assert [a["href"] for a in child_page.html.select("[data-testid=parent-link]")] == [f"/analytics/jobs/{parent}"]
    assert child_page.click(href=f"/analytics/jobs/{parent}").html.find(id="job-id").text == parent
    app.get("/jobs/0123456789abcdef", status=404)


def test_logs_page_filters_levels_and_child_loggers(app, api):
    jid = api.add(T + "Say", 3600, kwargs={"message": "to the log page"})["job_id"]
    api.wait_runs(job_id=jid)
    task = app.get("/logs", {"type": "reslog", "job_id": jid})
    assert "to the log page" in task.html.find(id="logs").text and task.html.find(id="total").text == "1"
    system = app.get("/logs", {"logger": "das_actors", "level": "info"})
    names = [a.text for a in system.html.select("[data-testid=logger-link]")]
    assert names and all(n.startswith("das_actors.") and n.count(".") == 1 for n in names)
    tail = system.html.find(id="live-tail")
    assert tail["data-stream-url"] == "/analytics/api/v1/logs/tail?type=log&logger=das_actors&level=20"
    chosen = app.get("/logs", {"level": "error"}).html.find(id="filter-level").find("option", selected=True)
    assert chosen["value"] == "error"
    app.get("/logs", {"type": "everything"}, status=400)


def test_control_lists_options_and_sets_a_live_one(app, facade):
    page = app.get("/control")
    rows = {tr["data-option"]: tr for tr in page.html.select("tr[data-option]")}
    assert "restart" in rows["workers"].text and page.html.find(id="option-workers") is None
    assert rows["web_token"].find(id="value-web_token").text in ("", "***")
    before = facade.system.settings.max_retries
    form = next(f for f in page.forms.values()
                if f.action.endswith("/control/options") and f["name"].value == "max_retries")
    form["value"] = "4"
    done = form.submit(status=303).follow()
    assert facade.system.settings.max_retries == 4 and "max_retries = 4" in done.text
    form = next(f for f in done.forms.values()
                if f.action.endswith("/control/options") and f["name"].value == "max_retries")
    form["value"] = "lots"
    assert "expects int" in form.submit(status=400).html.find(id="error-message").text
    facade.set_option("max_retries", before)


def test_add_job_through_the_generated_form(app, api):
    picker = app.get("/control").forms["class-picker"]
    picker["classname"] = T + "Typed"
    page = picker.submit()
    form = page.forms["add-job-form"]
    assert {"arg_text", "arg_count", "arg_ratio", "arg_flag", "arg_items", "arg_extra"} <= set(form.fields)
    assert form["arg_count"].value == "2" and form["arg_items"].value == "[]"
    name = unique("typed")
    form["name"] = name
    form["interval"] = "3600"
    form["arg_text"] = "<b>hi</b>"
    form["arg_count"] = "7"
    form["arg_flag"] = True
    form["arg_items"] = '[1, "two"]'
    form["kwargs"] = '{"undeclared": true}'
    form["when"] = "+1h"
    done = form.submit(status=303)
    jid = done.headers["Location"].rsplit("/", 1)[1]
    job = api.job(jid)
    assert job["name"] == name and job["classname"] == T + "Typed"
    assert job["kwargs"] == {"text": "<b>hi</b>", "count": 7, "ratio": 0.5, "flag": True, "items": [1, "two"],
                             "extra": None, "undeclared": True}
    assert "added" in done.follow().html.find(attrs={"data-testid": "flash"}).text


def test_the_form_refuses_an_argument_a_strict_class_does_not_declare(app):
    picker = app.get("/control").forms["class-picker"]
    picker["classname"] = T + "Say"
    form = picker.submit().forms["add-job-form"]
    form["name"], form["interval"], form["kwargs"] = unique("strict"), "3600", '{"mesage": "typo"}'
    page = form.submit(status=400)
    assert "unknown argument &#39;mesage&#39;" in page.text or "unknown argument 'mesage'" in page.text


@pytest.mark.parametrize(("field", "value", "words"), [
    ("arg_count", "seven", "count"), ("arg_items", "[1,", "items"), ("interval", "", "interval"),
    ("interval", "-3", "interval"), ("arg_text", "", "text"), ("max_runs", "0", "max_runs"),
    ("when", "never", "when"), ("kwargs", "[]", "kwargs"), ("name", "", "name"),
])
def test_add_job_form_errors_name_the_field_and_keep_the_input(app, field, value, words):
    picker = app.get("/control").forms["class-picker"]
    picker["classname"] = T + "Typed"
    form = picker.submit().forms["add-job-form"]
    form["name"] = unique("bad")
    form["arg_text"] = "kept text"
    form[field] = value
    resp = form.submit(status=400)
    error = resp.html.find(id="form-error")
    assert words in error.text and error["data-field"] == field.removeprefix("arg_")
    again = resp.forms["add-job-form"]
    assert again[field].value == value
    if field != "arg_text":
        assert again["arg_text"].value == "kept text"


def test_reports_and_help(app):
    assert app.get("/reports").html.find(id="report-link-scheduler")["href"] == "/analytics/reports/scheduler"
    help_page = app.get("/help")
    from actors.timeish import describe_formats

    assert describe_formats() in help_page.html.find(id="timeish-formats").text
    assert "no drift" in help_page.html.find(id="rules").text
    assert "task_options" in help_page.text


def test_unknown_page_is_an_html_404_and_wrong_method_405(app):
    resp = app.get("/nowhere", status=404)
    assert resp.content_type == "text/html" and resp.html.find(id="error-message")["data-status"] == "404"
    resp = app.put("/schedule", status=405)
    assert "not allowed" in resp.html.find(id="error-message").text
