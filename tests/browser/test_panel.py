"""The panel in a real browser: overview, adding a job through the Control form and watching
it run, the live tail, cancelling a long run, a server-side validation error, and XSS payloads
staying inert. One served `System` (the demo jobs) for the module; see `conftest`."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

import pytest

from actors.jobs import JobState
from tests.browser.conftest import Api, poll, shot, unique

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.system

#: What the XSS probe puts in a result, a log line and a job name.
XSS = '<img src=x onerror="window.__xss=1">'
#: `Test` arguments that make every run succeed (no stop, spawn or raise).
CALM = {"stop_p": 0, "spawn_p": 0, "raise_p": 0}
WORKER_STATES = {"idle", "busy", "starting", "restarting", "degraded", "stopped"}


def expect(*args, **kwargs):
    """Playwright's `expect`, imported only once the `browser` fixture found the package."""
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(*args, **kwargs)


def reload_until(page: Page, selector: str, timeout: float = 30.0) -> None:
    """Reload *page* until *selector* matches something (pages without a live view)."""

    def present() -> bool:
        if page.locator(selector).count():
            return True
        page.reload()
        return False

    poll(present, timeout, 0.2, f"{selector} on {page.url}")


def test_overview_shows_job_counts_and_workers(page: Page, api: Api) -> None:
    page.goto("")
    expect(page).to_have_title("Overview - das-actors")
    for state in JobState:
        expect(page.locator(f"#count-{state}")).to_have_text(re.compile(r"^\d+$"))

    def counted() -> bool:  # every job (the 4 demo jobs, maybe a spawned child) counted, and runs done
        page.reload()
        total = sum(int(page.inner_text(f"#count-{state}")) for state in JobState)
        return total >= 4 and total == len(api.jobs()) and int(page.inner_text("#runs-hour")) > 0

    poll(counted, 30, 0.3, "the jobs counted by state, and runs in the last hour")
    rows = page.locator("#workers tbody tr")
    expect(rows).to_have_count(2)
    for slot in range(2):
        row = page.locator(f'#workers tbody tr[data-slot="{slot}"]')
        assert row.locator(".badge").inner_text() in WORKER_STATES
        expect(row.locator("td").nth(2)).to_have_text(re.compile(r"^\d+$"))  # the worker's pid
    assert {w["slot"] for w in api.call("workers")["workers"]} == {0, 1}
    shot(page, "overview")


def test_add_a_job_through_the_form_and_watch_it_run(page: Page, api: Api) -> None:
    name, marker = unique("form"), unique("form-marker")
    page.goto("control")
    page.select_option("#classname-picker", "Test")  # the script submits the picker on change
    expect(page).to_have_url(re.compile(r"control\?classname=Test$"))
    for option in ("message", "seed", "stop_p", "spawn_p", "raise_p"):  # generated from Test.task_options
        expect(page.locator(f"#arg-{option}")).to_be_visible()
    expect(page.locator("#arg-message")).to_have_value("hello world")
    page.fill("#add-name", name)
    page.fill("#add-interval", "3600")
    page.fill("#arg-message", marker)
    for option in CALM:
        page.fill(f"#arg-{option}", "0")
    shot(page, "control-form")
    page.click("#add-job-submit")
    expect(page).to_have_url(re.compile(r"/analytics/jobs/[0-9a-f]+$"))
    expect(page.get_by_test_id("flash")).to_contain_text(f"job '{name}' added")
    job_id = page.inner_text("#job-id").strip()
    assert api.call(f"jobs/{job_id}")["job"]["kwargs"]["message"] == marker

    page.goto("schedule")
    row = page.locator(f'#schedule tr[data-job-id="{job_id}"]')
    expect(row).to_contain_text(name)
    expect(row).to_contain_text("Test")
    shot(page, "schedule")

    page.goto(f"results?job_id={job_id}")
    reload_until(page, '#results [data-testid="run-link"]')
    expect(page.locator("#results tbody tr").first.get_by_test_id("outcome")).to_have_text("success")
    shot(page, "results")
    page.locator('#results [data-testid="run-link"]').first.click()
    expect(page).to_have_url(re.compile(rf"/analytics/runs/{job_id}/1(\?attempt=0)?$"))
    expect(page.locator("h1")).to_contain_text(f"Run 1 of {name}")
    expect(page.locator("h1").get_by_test_id("outcome")).to_have_text("success")
    expect(page.locator("#run-result")).to_contain_text(f'"message": "{marker}"')
    expect(page.locator("#run-logs tbody")).to_contain_text(f"{marker} from index=1")
    shot(page, "run")


def test_live_tail_shows_a_new_log_line_without_reloading(page: Page, api: Api) -> None:
    marker = unique("tail-marker")
    page.goto("logs?type=reslog")
    expect(page.get_by_test_id("tail-status")).to_have_text("live")
    page.evaluate("window.__sameDocument = 'still here'")
    api.add("Test", name=unique("tail"), kwargs={"message": marker, **CALM})
    line = page.locator('#tail-lines [data-testid="tail-line"]', has_text=marker)
    expect(line).to_be_visible(timeout=30_000)
    expect(line).to_contain_text(f"{marker} from index=1")
    expect(line).to_contain_text("INFO")
    assert page.evaluate("window.__sameDocument") == "still here"  # arrived live: the page was not reloaded
    expect(page.locator("#logs")).not_to_contain_text(marker)  # not among the lines rendered by the server
    shot(page, "logs-live-tail")


def test_cancel_a_long_run_from_the_running_page(page: Page, api: Api) -> None:
    name = unique("sleep")
    job_id = api.add("Sleep", name=name, kwargs={"seconds": 60})["job_id"]
    poll(lambda: any(r["job_id"] == job_id and r.get("pid") for r in api.call("running")["running"]),
         30, 0.1, f"{name} running in a worker")
    page.goto("running")
    row = page.locator('[data-testid="running-row"]', has_text=name)
    expect(row).to_have_count(1)
    expect(row.locator("td").nth(6)).to_have_text(re.compile(r"^\d+$"))  # the worker's pid
    shot(page, "running")
    row.get_by_test_id("cancel").click()  # confirm() is accepted by the page fixture
    expect(page).to_have_url(re.compile(r"/analytics/running$"))
    expect(page.get_by_test_id("flash")).to_contain_text("is being cancelled")
    run = api.wait_run(job_id, "cancelled", timeout=20)
    assert run["index"] == 1 and (run.get("duration") or 0) < 30

    def gone() -> bool:
        page.reload()
        return not page.locator('[data-testid="running-row"]', has_text=name).count()

    poll(gone, 20, 0.2, f"{name} gone from the Running page")
    page.goto(f"results?job_id={job_id}")
    expect(page.locator("#results tbody tr").first.get_by_test_id("outcome")).to_have_text("cancelled")
    shot(page, "cancelled")


def test_server_side_validation_error_names_the_field_and_adds_nothing(page: Page, api: Api) -> None:
    name = unique("invalid")
    page.goto("control?classname=Sleep")
    expect(page.locator("#arg-seconds")).to_have_value("1.0")
    page.fill("#add-name", name)
    page.fill("#add-interval", "-1")
    # The input's min="0" would stop the browser from sending -1: turn client-side checks off so
    # the server's validation is what answers.
    page.locator("#add-job-form").evaluate("form => { form.noValidate = true; }")
    with page.expect_response(lambda resp: resp.url.endswith("/control/jobs")) as answer:
        page.click("#add-job-submit")
    assert answer.value.status == 400
    error = page.get_by_test_id("form-error")
    expect(error).to_be_visible()
    expect(error).to_have_attribute("data-field", "interval")
    expect(error).to_contain_text("interval")
    expect(page.locator("label.bad #add-interval")).to_have_count(1)  # the field is marked
    expect(page.locator("#add-name")).to_have_value(name)  # the form stays filled in
    expect(page.locator("#add-interval")).to_have_value("-1")
    shot(page, "validation-error")
    assert name not in {job["name"] for job in api.jobs()}


def test_xss_payloads_stay_inert_in_the_browser(page: Page, api: Api, console: list[str]) -> None:
    name = f"xss {XSS} {unique()}"
    job_id = api.add("Test", name=name, kwargs={"message": XSS, **CALM})["job_id"]
    api.wait_run(job_id, "success")

    def assert_inert() -> None:
        assert page.evaluate("typeof window.__xss") == "undefined"
        assert page.locator("img").count() == 0  # the payload is text, never an element
        assert not [m for m in console if "Content Security Policy" in m], console  # nothing even tried to run

    page.goto(f"runs/{job_id}/1")
    expect(page.locator("#run-result")).to_contain_text(f'"message": {json.dumps(XSS)}')  # shown as text
    expect(page.locator("#run-logs tbody")).to_contain_text(f"{XSS} from index=1")
    expect(page.locator("h1")).to_contain_text(XSS)
    assert_inert()
    shot(page, "xss-run")

    page.goto(f"logs?type=reslog&job_id={job_id}")
    expect(page.locator("#logs tbody")).to_contain_text(f"{XSS} from index=1")
    expect(page.get_by_test_id("tail-status")).to_have_text("live")
    api.call(f"jobs/{job_id}/run-now", "POST", {})
    tailed = page.locator('#tail-lines [data-testid="tail-line"]', has_text=f"{XSS} from index=2")
    expect(tailed).to_be_visible(timeout=30_000)  # inserted by the live tail's script, as text
    assert_inert()
    shot(page, "xss-logs")


def test_every_report_renders_its_charts(page: Page, api: Api) -> None:
    api.wait_run(next(j["job_id"] for j in api.jobs() if j["name"] == "hello"), timeout=30)
    hello = next(j["job_id"] for j in api.jobs() if j["name"] == "hello")
    page.goto("reports")
    for name in ("scheduler", "job", "test", "workers", "hotspot", "query", "api"):
        expect(page.locator(f"#report-link-{name}")).to_have_count(1)
    for name, query in (("scheduler", ""), ("job", f"?job_id={hello}"), ("test", ""), ("workers", "")):
        page.goto(f"reports/{name}{query}")
        expect(page.locator("#report-title")).to_be_visible()
        charts = page.locator("#report-body svg")
        assert charts.count() >= 1, f"the {name} report drew no chart"
        box = charts.first.bounding_box()
        assert box is not None and box["width"] > 200  # really laid out, not an empty element
        shot(page, f"report-{name}", full_page=True)
    for name in ("hotspot", "query", "api"):  # the DAS reports: this panel runs without the das service
        page.goto(f"reports/{name}")
        expect(page.locator("#report-title")).to_be_visible()
        expect(page.locator("body")).to_contain_text("das")
        shot(page, f"report-{name}", full_page=True)
