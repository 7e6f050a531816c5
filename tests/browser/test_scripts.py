"""Scripts in Debian's Chromium, end to end (issue 14's "done when"): write a script with a plot in the
editor, run it now and watch a log line arrive live, then the plot; save it, schedule it, see it run;
trigger it through the API with a parameter and an Idempotency-Key twice (one run); a task's webhook
reaches a loopback receiver after two failures, as the Actions page shows. The script page with its
output is saved in ``test-artifacts/browser/``, and as ``docs/script-editor.png`` (the README's
screenshot) when ``UPDATE_DOC_SCREENSHOTS=1`` is set."""

from __future__ import annotations

import json
import os
import time
import urllib.request
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from actors import webhooks
from actors.configfile import load_config
from actors.server import Server
from tasks.registry import TaskRegistry
from tests.browser.conftest import DEMO, ROOT, poll, shot, unique

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

SCREENSHOT = ROOT / "docs" / "script-editor.png"
SCRIPT = '''"""Temperatures of the week: a plot and a table."""
import time

import matplotlib.pyplot as plt
import pandas as pd

task_options = [{"name": "days", "type": "int", "default": 7, "help": "how many days"}]

days = args["days"]
print(f"reading {days} days of temperatures")
time.sleep(1.5)  # the line above reaches the page while the run goes on
temps = [18 + (d * 7) % 9 for d in range(days)]
frame = pd.DataFrame({"day": range(1, days + 1), "max C": temps})
plt.figure(figsize=(6, 3))
plt.plot(frame["day"], frame["max C"], marker="o")
plt.title(f"max temperature, {days} days")
display(frame)
result = {"hottest": max(temps), "days": days}
'''


@pytest.fixture(scope="module")
def panel(browser: Browser, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The demo config on a free port, with quick action retries (this module's own server)."""
    registry = TaskRegistry(importable=("tests",))
    registry.discover()
    store = tmp_path_factory.mktemp("browser-scripts") / "store.db"
    flags = {"db_uri": f"sqlite:///{store}", "workers": 2, "minimum_interval": 0.0, "no_start_offset": True,
             "task_packages": "tests", "web": True, "web_port": 0, "journal_flush_interval": 0.01,
             "shutdown_grace": 1.0, "act_retry_delay": 0.3, "act_retry_max_delay": 0.6}
    settings, jobs = load_config([DEMO], flags, make_job=registry.validate_spec)
    system = Server(settings, jobs).start()
    try:
        poll(lambda: all(w["status"] == "idle" for w in system.workers()), 30, what="both workers idle")
        yield system
    finally:
        system.shutdown(grace_s=0.5)


def post(base_url: str, path: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
    request = urllib.request.Request(base_url + "api/v1/" + path, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json", **(headers or {})})
    with urllib.request.urlopen(request, timeout=15) as resp:
        return resp.status, json.load(resp)


def get(base_url: str, path: str) -> Any:
    with urllib.request.urlopen(base_url + "api/v1/" + path, timeout=15) as resp:
        return json.load(resp)


def set_editor_text(page: Page, text: str) -> None:
    page.locator("#script-source").evaluate(
        "(t, text) => t.editorView.dispatch({changes: {from: 0, to: t.editorView.state.doc.length, insert: text}})",
        text)


def test_write_run_now_save_schedule_and_trigger_a_script(page: Page, base_url: str, panel: Server,
                                                          console: list[str]):
    from playwright.sync_api import expect

    name = unique("weather")
    page.goto("scripts")
    page.get_by_test_id("new-script-name").fill(name)
    page.get_by_test_id("new-script").click()
    expect(page.get_by_test_id("script-version")).to_have_text("new, not saved yet")
    editor = page.locator(".cm-editor")
    expect(editor).to_be_visible()
    gutter, content = editor.locator(".cm-gutters"), editor.locator(".cm-content")
    boxes = gutter.bounding_box(), content.bounding_box()
    assert boxes[0] and boxes[1] and boxes[0]["y"] == boxes[1]["y"]  # styled: side by side (CSP nonce)
    set_editor_text(page, SCRIPT)
    editor.locator(".cm-content").click()
    page.keyboard.press("Control+End")
    page.keyboard.type("# typed in the browser")
    expect(page.locator("#script-source")).to_have_value(SCRIPT + "# typed in the browser")
    page.get_by_test_id("script-args").fill('{"days": 9}')

    page.get_by_test_id("run-script").click()
    line = page.get_by_test_id("live-line").filter(has_text="reading 9 days of temperatures")
    expect(line).to_be_visible()
    assert page.get_by_test_id("live-run-status").inner_text() in ("queued", "running")  # live: before the result
    expect(page.get_by_test_id("live-run-status")).to_have_text("success", timeout=30_000)
    image = page.locator("#live-run-output .output-image img")
    expect(image).to_be_visible()
    poll(lambda: image.evaluate("i => i.complete && i.naturalWidth > 0"), 15, what="the plot is drawn")
    expect(page.locator("#live-run-output .output-table td").filter(has_text="23")).to_have_count(1)
    page.set_viewport_size({"width": 1280, "height": 1250})
    page.get_by_test_id("live-run").scroll_into_view_if_needed()
    page.evaluate("window.scrollTo(0, 0)")
    shot(page, "script-run-now", full_page=True)
    assert not [m for m in console if "Content Security Policy" in m or m.startswith("pageerror")], console
    if os.environ.get("UPDATE_DOC_SCREENSHOTS"):
        SCREENSHOT.write_bytes((ROOT / "test-artifacts" / "browser" / "script-run-now.png").read_bytes())
    page.set_viewport_size({"width": 1280, "height": 800})

    page.get_by_test_id("save-script").click()
    expect(page.get_by_test_id("flash")).to_contain_text("saved as version 1")
    expect(page.get_by_test_id("script-version")).to_have_text("v1")
    page.get_by_test_id("script-interval").fill("2")
    page.get_by_test_id("schedule-script").click()
    expect(page.get_by_test_id("flash")).to_contain_text("runs every 2s")
    job_id = page.get_by_test_id("script-job").locator("a").inner_text()
    runs = poll(lambda: [r for r in get(base_url, f"runs?job_id={job_id}")["runs"] if r["outcome"] == "success"],
                40, what="a scheduled run")
    assert runs[0]["result"]["hottest"] == 26 and runs[0]["result"]["days"] == 7
    post(base_url, f"jobs/{job_id}/pause", {})

    def one_offs() -> int:
        return sum(r["trigger"] == "one-off" for r in get(base_url, f"runs?name={name}&limit=1000")["runs"])

    before = one_offs()
    key = {"Idempotency-Key": f"browser-{name}"}
    first = post(base_url, f"scripts/{name}/runs", {"params": {"days": 3}}, key)
    second = post(base_url, f"scripts/{name}/runs", {"params": {"days": 3}}, key)
    assert (first[0], second[0]) == (202, 200) and first[1]["run_id"] == second[1]["run_id"]
    done = poll(lambda: (s := get(base_url, first[1]["status_url"].split("/api/v1/", 1)[1])["status"])["finished"]
                and s, 40, what="the triggered run")
    assert done["state"] == "success" and done["result"]["days"] == 3
    time.sleep(0.5)  # a second run, had the key not held, would be stored by now (journal flush 10 ms)
    assert one_offs() == before + 1
    page.goto(first[1]["run_url"].split("/analytics/", 1)[1])
    expect(page.locator(".output-image img")).to_be_visible()
    expect(page.locator("#run-params")).to_contain_text('"days":3')


def test_a_scripts_webhook_reaches_the_receiver_after_two_failures(page: Page, base_url: str, panel: Server,
                                                                    httpserver: HTTPServer):
    from playwright.sync_api import expect

    statuses, seen = [500, 500, 200], []

    def answer(request: Request) -> Response:
        seen.append(({k.lower(): v for k, v in request.headers.items()}, request.get_data()))
        return Response("ok", status=statuses.pop(0) if len(statuses) > 1 else statuses[0])

    httpserver.expect_request("/receiver", method="POST").respond_with_handler(answer)
    target = unique("receiver")
    page.goto("actions")
    form = page.get_by_test_id("add-target")
    form.locator("input[name=name]").fill(target)
    form.locator("input[name=url]").fill(httpserver.url_for("/receiver"))
    form.locator("button[type=submit]").click()
    flash = page.get_by_test_id("flash")
    expect(flash).to_contain_text("signing secret")
    secret = flash.inner_text().rsplit(": ", 1)[1].strip()

    name = unique("notify")
    page.goto(f"scripts/{name}")
    set_editor_text(page, f"act.webhook({target!r}, {{'alert': 'too hot', 'max': 25}})\nprint('alert queued')\n")
    page.get_by_test_id("run-script").click()
    expect(page.get_by_test_id("live-run-status")).to_have_text("success", timeout=30_000)
    page.goto(f"actions?target={target}")
    row = page.locator("#actions tbody tr").first
    poll(lambda: (page.reload(), row.get_by_test_id("action-state").inner_text() == "delivered")[1], 30,
         what="the action delivered")
    row.get_by_test_id("action-link").click()
    expect(page.locator("#attempts tbody tr")).to_have_count(3)
    assert [c.inner_text() for c in page.locator("#attempts tbody tr td:nth-child(3)").all()] == ["500", "500", "200"]
    shot(page, "action-delivered")
    assert len(seen) == 3
    ids = {webhooks.verify(secret, headers, body, now=time.time()) for headers, body in seen}
    assert len(ids) == 1 and json.loads(seen[-1][1]) == {"alert": "too hot", "max": 25}

