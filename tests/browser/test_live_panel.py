"""The panel keeps up by itself (issue 16), in a real browser: the Overview's counts and the
Schedule's rows change without a reload, the timeline's bars open their runs, and the
Schedule stays one line per job at 1280 px. Screenshots of the live Overview and of the
timeline go to ``test-artifacts/browser/`` (``live-overview.png``, ``overview-timeline.png``,
``timeline.png``), and with
``UPDATE_DOC_SCREENSHOTS=1`` to ``docs/panel-overview.png`` and ``docs/panel-timeline.png`` (the
README's pictures).

The served panel refreshes every half second here (``web_refresh``; 5 s by default). "Without
a reload" is checked with a marker set on ``window``: a reload would drop it."""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING

import pytest

from tests.browser.conftest import ARTIFACTS, ROOT, Api, poll, shot, unique

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.system

PANEL_OPTIONS = {"web_refresh": 0.5}
CALM = {"stop_p": 0, "spawn_p": 0, "raise_p": 0}


def to_docs(artefact: str, name: str) -> None:
    """Copy a screenshot to ``docs/`` when asked (``UPDATE_DOC_SCREENSHOTS=1``)."""
    if os.environ.get("UPDATE_DOC_SCREENSHOTS"):
        (ROOT / "docs" / name).write_bytes((ARTIFACTS / f"{artefact}.png").read_bytes())


def expect(*args, **kwargs):
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(*args, **kwargs)


def mark(page: Page) -> None:
    """Leave a marker that only a reload (a new document) would remove."""
    page.evaluate("window.__stayed = 'yes'")


def still_marked(page: Page) -> bool:
    return bool(page.evaluate("window.__stayed === 'yes'"))


def number(page: Page, selector: str) -> int:
    return int(page.inner_text(selector).strip())


def test_overview_counts_change_without_a_reload(page: Page, api: Api) -> None:
    page.goto("")
    expect(page.locator("#live-status")).to_have_text(re.compile(r"^live"))
    mark(page)
    before = number(page, "#count-scheduled") + number(page, "#count-paused")
    paused = api.add("Test", 3600, name=unique("live-count"), when="+1h", kwargs=CALM)
    api.call(f"jobs/{paused['job_id']}/pause", "POST", {})
    poll(lambda: number(page, "#count-scheduled") + number(page, "#count-paused") >= before + 1, 20, 0.1,
         "the new job counted on the Overview without a reload")
    assert still_marked(page), "the page was reloaded"
    assert page.get_attribute("body", "data-refreshed")  # the script swapped the live parts
    shot(page, "live-overview", full_page=True)
    to_docs("live-overview", "panel-overview.png")
    page.locator("#timeline").screenshot(path=str(ARTIFACTS / "overview-timeline.png"))
    to_docs("overview-timeline", "panel-timeline.png")


def test_schedule_row_changes_state_without_a_reload(page: Page, api: Api) -> None:
    job = api.add("Test", 3600, name=unique("live-row"), when="+1h", kwargs=CALM)
    page.goto("schedule")
    row = page.locator(f'tr[data-job-id="{job["job_id"]}"]')
    expect(row).to_have_attribute("data-state", "scheduled")
    mark(page)
    api.call(f"jobs/{job['job_id']}/pause", "POST", {})
    expect(page.locator(f'tr[data-job-id="{job["job_id"]}"]')).to_have_attribute("data-state", "paused")
    assert still_marked(page), "the page was reloaded"
    # one line per job at 1280 px: every row as tall as the others, and less than two lines of text
    heights = page.eval_on_selector_all("#schedule tbody tr", "rows => rows.map(r => r.getBoundingClientRect().height)")
    header = page.eval_on_selector("#schedule thead tr", "row => row.getBoundingClientRect().height")
    assert len(heights) >= 4 and max(heights) <= min(heights) + 2, heights
    assert max(heights) < 1.6 * header, (heights, header)


def test_a_timeline_bar_opens_its_run(page: Page, api: Api) -> None:
    job = api.add("Test", 3600, name=unique("timeline"), kwargs=CALM)
    run = api.wait_run(job["job_id"], "success")
    page.goto(f"jobs/{job['job_id']}")
    bar = page.locator('#timeline svg a[data-role="bar-link"]').first
    expect(bar).to_be_visible()
    expect(page.locator('#timeline svg [data-role="bar"]').first).to_have_attribute("data-outcome", "success")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.locator("#timeline").screenshot(path=str(ARTIFACTS / "timeline.png"))
    bar.click()
    expect(page).to_have_url(re.compile(rf"/runs/{job['job_id']}/{run['index']}(\?|$)"))
    expect(page.locator("body")).to_contain_text(job["name"])
