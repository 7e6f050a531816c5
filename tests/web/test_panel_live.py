"""A panel that keeps up (issue 16): live parts, the timeline, the one-line Schedule with its tabs
and state-aware action menus. Over `FakeBackend` (milliseconds); the browser side (a value
changing without a reload, a bar click) is in tests/browser/test_live_panel.py.
"""

from __future__ import annotations

import re
import time
from html.parser import HTMLParser

import pytest

from tests.web.conftest import API, client, unique
from web.job_menu import PAUSE, REMOVE, RESCHEDULE, RESUME, RUN_NOW, allowed_actions

#: The pages whose changing parts refresh by themselves, and the parts each must have.
LIVE_PAGES = {
    "/": {"tiles", "job-counts", "workers", "timeline", "last-failures-live"},
    "/schedule": {"schedule-live"},
    "/running": {"running-live"},
    "/results": {"results-live"},
    "JOB": {"job-head", "job-state", "timeline", "job-runs-live", "job-children-live"},
}


class Elements(HTMLParser):
    """Every start tag of a page as (tag, attributes)."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def elements(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = Elements()
    parser.feed(html)
    return parser.tags


@pytest.fixture(scope="module")
def job(fake):
    return fake.add_job({"name": unique("live"), "classname": "Echo", "interval": 3600, "when": "+90s"})


def result_doc(job: dict, index: int, started: float, took: float, outcome: str = "success") -> dict:
    return {"type": "result", "time": started + took, "job_id": job["job_id"], "name": job["name"],
            "classname": "Echo", "index": index, "attempt": 0, "trigger": "schedule", "started_at": started,
            "finished_at": started + took, "duration": took, "outcome": outcome}


def chart_of(html: str) -> str:
    """The timeline's ``<svg>`` in a page."""
    found = re.search(r'<svg [^>]*id="timeline-chart".*?</svg>', html, re.S)
    assert found, "no timeline on the page"
    return found.group(0)


def path_of(path: str, job: dict) -> str:
    return f"/jobs/{job['job_id']}" if path == "JOB" else path


# ------------------------------------------------------------------------------------------ live refresh
@pytest.mark.parametrize("path", sorted(LIVE_PAGES))
def test_live_pages_mark_their_changing_parts_and_carry_no_inline_script(fake, job, path):
    page = client(fake).get(path_of(path, job))
    tags = elements(page.text)
    live = [attrs.get("id") for _, attrs in tags if "data-live" in attrs]
    assert LIVE_PAGES[path] <= set(live), live
    assert len(live) == len(set(live)) and None not in live  # each part is found again by its id
    body = next(attrs for tag, attrs in tags if tag == "body")
    assert body["data-refresh"] == "5"  # the option web_refresh's default
    scripts = [attrs for tag, attrs in tags if tag == "script"]
    assert scripts and all(s.get("src") for s in scripts)  # CSP default-src 'self': no inline script
    assert not [a for _, attrs in tags for a in attrs if a.startswith("on")]  # nor inline handlers
    assert "script-src" not in page.headers["Content-Security-Policy"]  # default-src 'self' governs scripts


def test_the_refresh_interval_is_the_option_and_zero_turns_it_off(fake):
    assert 'data-refresh="1.5"' in client(fake, refresh_s=1.5).get("/").text
    assert 'data-refresh="0"' in client(fake, refresh_s=0.0).get("/").text


def test_the_script_refreshes_by_itself_pauses_when_hidden_and_backs_off(fake):
    js = client(fake).get("/static/app.js").text
    for needle in ("[data-live][id]", "X-Das-Live", "visibilitychange", "document.hidden", "wait * 2", "DOMParser"):
        assert needle in js, needle


def test_a_live_refresh_leaves_the_one_shot_messages_for_the_next_page(fake, job):
    app = client(fake)
    page = app.get("/schedule?tab=all")
    form = next(f for f in page.forms.values() if f.action.endswith(f"/jobs/{job['job_id']}/run-now"))
    form.submit(status=303)
    refreshed = app.get("/schedule", headers={"X-Das-Live": "1"})
    assert 'data-testid="flash"' not in refreshed.text  # the script fetched this: no one reads it
    shown = app.get("/schedule")
    assert 'data-testid="flash"' in shown.text  # the next page the user opens still says it


# ------------------------------------------------------------------------------------------ timeline
def test_the_overview_and_the_job_page_draw_the_last_hours_runs_as_linked_bars(fake, job):
    other = fake.add_job({"name": unique("other"), "classname": "Echo", "interval": 3600, "when": "+1h"})
    now = time.time()
    fake.record(result_doc(job, 1, now - 900, 12.0), result_doc(job, 2, now - 300, 0.2, "failed"),
                result_doc(other, 1, now - 200, 3.0), result_doc(job, 3, now - 7200, 1.0))  # the last: too old
    app = client(fake)
    chart = chart_of(app.get("/").text)
    assert f'href="/analytics/runs/{job["job_id"]}/1?attempt=0"' in chart
    assert f'href="/analytics/runs/{job["job_id"]}/2?attempt=0"' in chart
    assert f'href="/analytics/runs/{other["job_id"]}/1?attempt=0"' in chart
    assert f'/analytics/runs/{job["job_id"]}/3' not in chart  # older than an hour
    assert 'data-outcome="failed"' in chart and 'data-outcome="success"' in chart
    assert re.search(r'data-role="x-tick">\d\d:\d\d<', chart)  # clock labels on the axis
    job_chart = chart_of(app.get(f"/jobs/{job['job_id']}").text)
    assert f'/analytics/runs/{job["job_id"]}/2?attempt=0' in job_chart
    assert other["job_id"] not in job_chart  # the Job page shows that job's runs only


def test_the_timeline_reads_a_bounded_number_of_runs(fake, monkeypatch):
    from web import timeline

    monkeypatch.setattr(timeline, "READ_LIMIT", 5)
    busy = fake.add_job({"name": unique("busy"), "classname": "Echo", "interval": 3600, "when": "+1h"})
    now = time.time()
    fake.record(*[result_doc(busy, i, now - 600 + i, 0.5) for i in range(1, 13)])
    chart = chart_of(client(fake).get(f"/jobs/{busy['job_id']}").text)
    assert chart.count('data-role="bar"') <= 6  # the newest READ_LIMIT (the edge may tie)
    assert re.search(r'data-role="omitted"[^>]*>\d+ runs of the window not drawn', chart)
    assert f"/runs/{busy['job_id']}/12?" in chart  # the newest are the ones kept


# ------------------------------------------------------------------------------------------ schedule
@pytest.mark.parametrize(("state", "paused", "run_id", "expected"), [
    ("scheduled", False, None, (RUN_NOW, PAUSE, RESCHEDULE, REMOVE)),
    ("waiting", False, None, (RUN_NOW, PAUSE, RESCHEDULE, REMOVE)),
    ("running", False, "j:1:0", (PAUSE, REMOVE)),
    ("running", True, "j:1:0", (RESUME, REMOVE)),
    ("paused", True, None, (RUN_NOW, RESUME, RESCHEDULE, REMOVE)),
    ("finished", False, None, (RUN_NOW, RESCHEDULE, REMOVE)),
    ("abandoned", False, None, (RUN_NOW, RESCHEDULE, REMOVE)),
    ("quarantined", False, None, (RUN_NOW, RESCHEDULE, REMOVE)),
])
def test_a_jobs_state_decides_its_actions(state, paused, run_id, expected):
    assert allowed_actions({"state": state, "paused": paused, "run_id": run_id}) == expected


@pytest.fixture(scope="module")
def ended(fake):
    job = fake.add_job({"name": unique("ended"), "classname": "Echo", "interval": 3600, "when": "+1h"})
    fake._change(job["job_id"], state="finished", due_at=None)
    return job


def row_of(html: str, job_id: str) -> str:
    found = re.search(rf'<tr data-job-id="{job_id}".*?</tr>', html, re.S)
    assert found, f"no row for {job_id}"
    return found.group(0)


def test_finished_jobs_have_their_own_tab(fake, job, ended):
    app = client(fake)
    active = app.get("/schedule").text
    assert f'data-job-id="{job["job_id"]}"' in active and f'data-job-id="{ended["job_id"]}"' not in active
    assert re.search(r'id="tab-active"[^>]*class="active"', active)
    done = app.get("/schedule", {"tab": "ended"}).text
    assert f'data-job-id="{ended["job_id"]}"' in done and f'data-job-id="{job["job_id"]}"' not in done
    every = app.get("/schedule", {"tab": "all"}).text
    assert f'data-job-id="{ended["job_id"]}"' in every and f'data-job-id="{job["job_id"]}"' in every
    counts = dict(re.findall(r'id="tab-(\w+)".*?<span class="count">(\d+)</span>', active, re.S))
    assert int(counts["all"]) == int(counts["active"]) + int(counts["ended"]) and int(counts["ended"]) >= 1
    api = app.get(API + "/jobs", {"state": "ended"}).json["jobs"]
    assert ended["job_id"] in {j["job_id"] for j in api} and job["job_id"] not in {j["job_id"] for j in api}


def test_a_schedule_row_is_one_line_with_relative_times_and_a_menu_of_allowed_actions(fake, job, ended):
    app = client(fake)
    row = row_of(app.get("/schedule").text, job["job_id"])
    assert "<br" not in row  # one line per job
    due = re.search(r'<time datetime="([^"]+)" title="([^"]+)" data-testid="due">([^<]+)</time>', row)
    assert due, row
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", due.group(1))
    assert due.group(2).endswith("Z (UTC)")  # the absolute time on hover
    assert re.fullmatch(r"in (\d+ s|1 min)", due.group(3)), due.group(3)  # due in 90 s, said as people say it
    assert f'title="{job["name"]} (id {job["job_id"]})"' in row  # the id on hover, not on a second line
    assert '<details class="menu"' in row
    for action in ("run-now", "pause", "reschedule", "remove"):
        assert f'id="{action}-{job["job_id"]}"' in row
    finished = row_of(app.get("/schedule", {"tab": "ended"}).text, ended["job_id"])
    assert f'id="pause-{ended["job_id"]}"' not in finished and f'id="resume-{ended["job_id"]}"' not in finished
    assert f'id="run-now-{ended["job_id"]}"' in finished and f'id="remove-{ended["job_id"]}"' in finished
    forms = re.findall(r"<form [^>]*>.*?</form>", finished, re.S)
    assert forms and all('method="post"' in f and 'name="csrf_token"' in f for f in forms)


def test_the_job_page_offers_only_what_the_state_allows(fake, ended):
    page = client(fake).get(f"/jobs/{ended['job_id']}").text
    assert f'id="pause-{ended["job_id"]}"' not in page and f'id="run-now-{ended["job_id"]}"' in page


def test_a_state_filter_still_works_beside_the_tabs(fake, job, ended):
    page = client(fake).get("/schedule", {"state": "finished"}).text
    assert f'data-job-id="{ended["job_id"]}"' in page and f'data-job-id="{job["job_id"]}"' not in page
    client(fake).get("/schedule", {"tab": "nope"}, status=400)
