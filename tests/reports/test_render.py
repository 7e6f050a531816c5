"""Every report's template renders (no server needed): its charts' SVG, stable ids, and inert task text."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import pytest
from bs4 import BeautifulSoup

from reports.base import ReportContext
from reports.registry import ReportRegistry
from tests.reports.docs import NOW, XSS, event, result
from web.render import PageContext
from web.reports import render_report

#: Each report, its parameters, and the element ids its page must have (the browser tests use them).
PAGES: dict[str, Any] = {
    "scheduler": ({"window": "1h"}, ["report-scheduler", "scheduler-windows", "window-10m", "window-24h",
                                     "chart-runs", "chart-lateness", "chart-breakdown"]),
    "job": ({"job_id": XSS, "period": 3600.0}, ["report-job", "job-facts", "chart-duration", "chart-lateness",
                                                "chart-timeline", "chart-values", "job-retries", "job-recent"]),
    "test": ({"period": 3600.0}, ["report-test", "test-counts", "chart-outcomes", "chart-tree", "test-jobs"]),
    "workers": ({"period": 3600.0}, ["report-workers", "workers-counts", "workers-slots", "chart-rss",
                                     "chart-restarts", "chart-signals", "workers-events"]),
}


@pytest.fixture
def hostile(store):
    """Runs and events whose every free-text field holds a script."""
    store.insert([
        result(100, job_id=XSS, name=XSS, classname="Test", duration=2, lateness=0.1, rss_kb=2048,
               result_value={XSS: 1, "count": 3, "new_tasks": [{"name": XSS}]}, error=XSS, outcome="failed"),
        result(90, job_id=XSS, name=XSS, classname="Test", attempt=1, duration=1, pid=101, rss_kb=4096,
               result_value={XSS: 2, "count": 4}),
        result(80, job_id="B", name="plain", classname=XSS, parent=[XSS], worker=1, pid=7),
        event(95, "worker.crashed", slot=0, pid=100, exit=f"signal 9 (SIGKILL) {XSS}", job=XSS, restart_in_s=0.1),
    ])
    return store


def page() -> PageContext:
    return PageContext(base="/analytics/", section="reports", csrf="token", read_only=False, login=False,
                       here="reports/x", now=NOW)


@pytest.mark.parametrize("name", sorted(PAGES))
def test_every_report_page_renders_charts_and_keeps_task_text_inert(hostile, name):
    params, ids = PAGES[name]
    info = ReportRegistry(importable=("tests",)).discover().info(name)
    template, data = info.cls(ReportContext.from_store(hostile, now=NOW))(**params)
    values = {p.name: p.text(params.get(p.name)) for p in info.params}
    html = render_report(info, page(), template, data=data, values=values, error=None)
    soup: Any = BeautifulSoup(html, "html.parser")
    assert "<script>alert" not in html and "&lt;script&gt;" in html  # escaped everywhere, never live
    assert [s.get("src") for s in soup.find_all("script")] == ["/analytics/static/app.js"]
    for ident in ["report-title", "report-form", "report-body", "report-json", *ids]:
        assert soup.find(id=ident) is not None, ident
    assert soup.find(id="report-title")["data-report"] == name
    charts = soup.find_all("svg")
    assert charts and all(svg.get("id", "").startswith("chart-") for svg in charts)
    for svg in charts:  # each chart is well-formed XML with its title
        root: Any = ET.fromstring(str(svg).replace("<svg ", '<svg xmlns="http://www.w3.org/2000/svg" ', 1)
                             if "xmlns" not in str(svg) else str(svg))
        assert root.find("{http://www.w3.org/2000/svg}title").text
    assert soup.find(id="report-json")["href"].startswith(f"/analytics/api/v1/reports/{name}")
    for param in info.params:
        assert soup.find(id=f"param-{param.name}") is not None


def test_the_error_frame_keeps_the_form_and_names_the_field(store):
    info = ReportRegistry(importable=("tests",)).discover().info("scheduler")
    html = render_report(info, page(), "report_error.mako", data=None, values={"window": XSS},
                         error=(f"window: must be one of 10m, 1h, 6h, 24h; got {XSS!r}", "window"))
    soup: Any = BeautifulSoup(html, "html.parser")
    assert soup.find(id="report-error")["data-field"] == "window"
    assert soup.find(id="report-form") is not None and soup.find(id="report-no-data") is not None
    assert "<script>alert" not in html and len(soup.find_all("script")) == 1


def test_a_report_outside_the_package_finds_its_template_next_to_it(store):
    info = ReportRegistry(importable=("tests",)).discover([]).info("tests.reports.extra:Extra")
    template, data = info.cls(ReportContext.from_store(store, now=NOW))(word=XSS, count=3, flag=True)
    html = render_report(info, page(), template, data=data, values={"word": XSS, "count": "3", "flag": "true"},
                         error=None)
    soup: Any = BeautifulSoup(html, "html.parser")
    assert soup.find(id="extra-word").text == f"{XSS} x 3 (flag)"
    assert soup.find(id="report-title").text == "Extra <b>title</b>"  # the title is text, not markup
    assert soup.find(id="param-flag").find("option", selected=True)["value"] == "true"
    assert "<script>alert" not in html and "<b>title" not in html
