"""The runs timeline (issue 16): runs as bars per job, coloured by outcome, linked, bounded."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from reports import charts
from reports.charts_gantt import safe_href
from reports.timeline import runs_timeline

NS = "{http://www.w3.org/2000/svg}"
NOW = 1_800_000_000.0


def result(job: str, index: int, start: float, took: float, outcome: str = "success", **extra: Any) -> dict[str, Any]:
    return {"job_id": job, "name": extra.pop("name", f"name-{job}"), "index": index, "attempt": 0,
            "outcome": outcome, "started_at": start, "finished_at": start + took, "duration": took, **extra}


def links(kind: str):
    return lambda doc: f"/analytics/{kind}/{doc['job_id']}/{doc.get('index', '')}"


def timeline(results, running=(), **options):
    return runs_timeline(results, running, now=NOW, run_href=links("runs"), job_href=links("jobs"),
                         running_href=lambda run: "/analytics/running", **options)


def svg_of(spec) -> Any:
    return ET.fromstring(str(charts.render(spec, "timeline-chart")))


def bars(root) -> list[Any]:
    return [e for e in root.iter(f"{NS}rect") if e.get("data-role") == "bar"]


def bar_links(root) -> list[str]:
    return [a.get("href") for a in root.iter(f"{NS}a") if a.get("data-role") == "bar-link"]


def test_each_run_is_a_bar_in_its_jobs_lane_coloured_by_outcome_and_linked_to_its_run():
    spec = timeline([result("a", 1, NOW - 600, 30), result("a", 2, NOW - 300, 2, "failed"),
                     result("b", 1, NOW - 100, 0.005)])
    assert [lane["label"] for lane in spec["lanes"]] == ["name-a", "name-b"]
    root = svg_of(spec)
    drawn = bars(root)
    assert len(drawn) == 3
    assert {b.get("data-outcome") for b in drawn} == {"success", "failed"}
    fills = {b.get("data-outcome"): b.get("fill") for b in drawn}
    assert fills["success"] == charts.OUTCOME_COLOURS["success"] and fills["failed"] == charts.OUTCOME_COLOURS["failed"]
    assert sorted(bar_links(root)) == ["/analytics/runs/a/1", "/analytics/runs/a/2", "/analytics/runs/b/1"]
    assert all(float(b.get("width")) >= 3 for b in drawn)  # a 5 ms run stays visible and clickable
    widths = {b.find(f"{NS}title").text.split(":")[0]: float(b.get("width")) for b in drawn}
    assert widths["name-a run 1"] > widths["name-a run 2"]  # 30 s is longer than 2 s
    lanes = [a.get("href") for a in root.iter(f"{NS}a") if a.get("data-role") == "lane-link"]
    assert lanes == ["/analytics/jobs/a/1", "/analytics/jobs/b/1"]


def test_the_axis_has_clock_labels_and_a_now_line():
    root = svg_of(timeline([result("a", 1, NOW - 3000, 10)]))
    ticks = [t.text for t in root.iter(f"{NS}text") if t.get("data-role") == "x-tick"]
    assert ticks and all(len(t) == 5 and t[2] == ":" for t in ticks), ticks  # HH:MM
    assert any(g.get("data-role") == "now" for g in root.iter(f"{NS}g"))
    label = next(t for t in root.iter(f"{NS}text") if t.get("data-role") == "x-label")
    assert "UTC" in label.text


def test_a_young_window_starts_near_its_first_run():
    spec = timeline([result("a", 1, NOW - 30, 1)])
    assert spec["xaxis"]["min"] == NOW - 120  # at least two minutes, not an empty hour
    spec = timeline([result("a", 1, NOW - 1800, 1)])
    assert NOW - 1900 < spec["xaxis"]["min"] < NOW - 1800


def test_runs_in_progress_are_bars_up_to_now_and_missed_slots_are_not_bars():
    spec = timeline([result("a", 1, NOW - 60, 1), {"job_id": "a", "name": "name-a", "index": None,
                                                   "outcome": "missed", "started_at": None}],
                    running=[{"job_id": "c", "name": "long", "index": 4, "attempt": 0, "started_at": NOW - 20}])
    by_label = {lane["label"]: lane["bars"] for lane in spec["lanes"]}
    assert len(by_label["name-a"]) == 1
    (live,) = by_label["long"]
    assert live["outcome"] == "running" and live["end"] == NOW and live["href"] == "/analytics/running"
    assert "running for 20 s" in live["title"]


def test_the_chart_is_bounded_and_says_what_it_left_out():
    results = [result(f"job{j:02d}", i, NOW - 3000 + j * 10 + i, 1) for j in range(20) for i in range(1, 6)]
    spec = timeline(results, unread=7, max_lanes=5, max_bars_per_lane=3)
    assert len(spec["lanes"]) == 5
    assert {lane["label"] for lane in spec["lanes"]} == {f"name-job{j:02d}" for j in range(15, 20)}  # the newest
    assert all(len(lane["bars"]) == 3 for lane in spec["lanes"])
    assert spec["omitted"]["lanes"] == 15
    assert spec["omitted"]["bars"] == 7 + 15 * 5 + 5 * 2
    root = svg_of(spec)
    note = next(t for t in root.iter(f"{NS}text") if t.get("data-role") == "omitted").text
    assert "15 more jobs not shown" in note and f"{7 + 75 + 10} runs of the window not drawn" in note


def test_two_jobs_with_one_name_get_two_lanes_told_apart():
    spec = timeline([result("aaaaaa11", 1, NOW - 60, 1, name="same"),
                     result("bbbbbb22", 1, NOW - 50, 1, name="same")])
    assert sorted(lane["label"] for lane in spec["lanes"]) == ["same (aaaaaa)", "same (bbbbbb)"]


def test_empty_window_says_so():
    root = svg_of(timeline([]))
    assert [t.text for t in root.iter(f"{NS}text") if t.get("data-role") == "no-data"] == ["no runs in this window"]


def test_only_links_on_this_server_are_kept():
    assert safe_href("/analytics/runs/a/1?attempt=0") and safe_href("runs/a/1")
    for bad in ("javascript:alert(1)", "//evil.example/x", "https://evil.example/", "/\\evil", "", None,
                'x" onload="y'):
        assert safe_href(bad) is None, bad
    spec = charts.gantt_spec("G", [{"label": "<b>", "href": "javascript:alert(1)",
                                    "bars": [{"start": NOW - 10, "end": NOW, "outcome": "success",
                                              "href": "https://evil.example/", "title": "<script>"}]}],
                             x_min=NOW - 60, x_max=NOW)
    raw = str(charts.render(spec))
    assert "javascript:" not in raw and "evil.example" not in raw and "<script>" not in raw
    assert len(bars(ET.fromstring(raw))) == 1  # drawn, just not a link
