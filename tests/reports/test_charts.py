"""The SVG charts: well-formed XML, a title, axis labels with units, a legend, escaped text, empty data."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import pytest
from markupsafe import Markup, escape

from reports import charts

NS = "{http://www.w3.org/2000/svg}"
NOW = 1_800_000_000.0
EVIL = "<script>alert('x')</script> & \"q\""


def parse(svg: str) -> Any:
    root: Any = ET.fromstring(str(svg))
    assert root.tag == f"{NS}svg"
    return root


def texts(root: Any, role: str) -> list[str]:
    return ["".join(e.itertext()) for e in root.iter() if e.get("data-role") == role]


def legend_labels(root: Any) -> list[str]:
    return [e.findtext(f"{NS}title") or "" for e in root.iter(f"{NS}g") if e.get("class") == "legend-item"]


SPECS = {
    "line": lambda: charts.line_spec(f"Durations {EVIL}", [
        {"label": f"duration {EVIL}", "x": [NOW - 60, NOW - 30, NOW], "y": [1.0, 2.5, 0.5]},
        {"label": "second", "x": [NOW - 50, NOW - 10], "y": [0.2, None]}], y_label="duration", y_unit="s"),
    "bars": lambda: charts.bars_spec(f"Runs {EVIL}", [
        {"label": "success", "values": [1, 2, 3]}, {"label": f"failed {EVIL}", "values": [0, 1, 0]}],
        y_label="runs per minute", y_unit="runs/min", x_label="finish time", x_min=NOW - 180, x_width=60,
        x_time=True),
    "categories": lambda: charts.bars_spec("Crashes", [{"label": "crashes", "values": [3, 1]}],
                                           categories=["SIGKILL", EVIL], y_label="crashes", x_label="signal"),
    "histogram": lambda: charts.histogram_spec(f"Lateness {EVIL}", [1, 2, 2, 3, 50], x_label="lateness",
                                               x_unit="ms", bins=5, label=f"runs {EVIL}"),
    "pie": lambda: charts.pie_spec(f"Outcomes {EVIL}", [("success", 3), (EVIL, 1)], unit="runs"),
    "baobab": lambda: charts.baobab_spec(f"Busy {EVIL}", {"Test": {"hello": 3, EVIL: 1}, "Echo": {"x": 2}},
                                         unit="s", levels=["class", "job"]),
    "timeline": lambda: charts.timeline_spec(f"Outcomes {EVIL}", [("success", [NOW - 50, NOW - 20]),
                                                                  (EVIL, [NOW - 10])], x_min=NOW - 60, x_max=NOW),
    "gantt": lambda: charts.gantt_spec(f"Runs {EVIL}", [
        {"label": f"job {EVIL}", "bars": [{"start": NOW - 50, "end": NOW - 40, "outcome": "success",
                                           "title": f"run {EVIL}"}]}], x_min=NOW - 60, x_max=NOW),
}
#: (axis labels expected) per kind: charts with axes name them, with units (a time unit is on each tick).
AXES = {"line": ("time (UTC", "duration"), "bars": ("finish time (UTC", "runs per minute (runs/min)"),
        "categories": ("signal", "crashes"), "histogram": ("lateness", "runs"),
        "timeline": ("time (UTC", "outcome"), "gantt": ("time (UTC", "job")}


@pytest.mark.parametrize("kind", sorted(SPECS))
def test_every_chart_is_valid_svg_with_title_axes_legend_and_escaped_text(kind):
    spec = SPECS[kind]()
    svg = charts.render(spec, f"chart-{kind}")
    assert isinstance(svg, Markup) and str(escape(svg)) == str(svg)  # marked safe: templates embed it as is
    root = parse(svg)
    assert root.get("id") == f"chart-{kind}" and root.get("viewBox").startswith("0 0 1000 ")
    assert root.find(f"{NS}title").text == spec["title"]  # the accessible name, unescaped by the parser
    assert texts(root, "title")[0].startswith(spec["title"][:20])
    if kind in AXES:
        x_label, y_label = AXES[kind]
        assert texts(root, "x-label")[0].startswith(x_label)
        assert texts(root, "y-label")[0].startswith(y_label)
    legend = legend_labels(root)
    assert legend, "every chart has a legend"
    raw = str(svg)
    assert "<script" not in raw and "&lt;script&gt;" in raw
    if kind not in ("histogram",):
        assert any(EVIL in label for label in legend) or EVIL in "".join(root.itertext())
    assert not texts(root, "no-data")


@pytest.mark.parametrize("kind", sorted(SPECS))
def test_empty_data_draws_the_frame_and_says_so(kind):
    empty = {
        "line": charts.line_spec("Empty", [], y_label="duration", y_unit="s", x_min=NOW - 60, x_max=NOW),
        "bars": charts.bars_spec("Empty", [], y_label="runs", x_min=NOW - 60, x_width=60, x_time=True),
        "categories": charts.bars_spec("Empty", [{"label": "crashes", "values": []}], categories=[],
                                       y_label="crashes", x_label="signal"),
        "histogram": charts.histogram_spec("Empty", [], x_label="lateness", x_unit="ms"),
        "pie": charts.pie_spec("Empty", []),
        "baobab": charts.baobab_spec("Empty", {}),
        "timeline": charts.timeline_spec("Empty", [("success", [])], x_min=NOW - 60, x_max=NOW),
        "gantt": charts.gantt_spec("Empty", [], x_min=NOW - 60, x_max=NOW),
    }[kind]
    empty["empty"] = "nothing <here>"
    root = parse(charts.render(empty, "chart-empty"))
    assert root.find(f"{NS}title").text == "Empty"
    assert texts(root, "no-data") == ["nothing <here>"]


def test_line_points_are_placed_in_order_and_gaps_break_the_line():
    spec = charts.line_spec("T", [{"label": "s", "x": [NOW, NOW - 20, NOW - 10, NOW - 5],
                                   "y": [4.0, 1.0, None, 2.0]}], y_label="v", x_min=NOW - 20, x_max=NOW)
    root = parse(charts.render(spec))
    lines = list(root.iter(f"{NS}polyline"))
    assert len(lines) == 1  # (NOW-20) alone, then a gap, then NOW-5 -> NOW
    xs = [float(p.split(",")[0]) for p in lines[0].get("points").split()]
    assert xs == sorted(xs) and len(xs) == 2
    assert len(list(root.iter(f"{NS}circle"))) == 3


def test_stacked_bars_stack_and_tooltips_give_values():
    spec = charts.bars_spec("T", [{"label": "a", "values": [2, 0]}, {"label": "b", "values": [3, 1]}],
                            y_label="n", categories=["x", "y"], x_label="c")
    root = parse(charts.render(spec))
    rects = [r for r in root.iter(f"{NS}rect") if r.find(f"{NS}title") is not None]
    tips = sorted(r.find(f"{NS}title").text for r in rects)
    assert tips == ["a, x: 2", "b, x: 3", "b, y: 1"]
    a_x, b_x = (next(r for r in rects if r.find(f"{NS}title").text.startswith(p)) for p in ("a, x", "b, x"))
    assert float(b_x.get("y")) + float(b_x.get("height")) == pytest.approx(float(a_x.get("y")), abs=0.2)


def test_histogram_counts_are_exact_and_outliers_go_to_the_end_bins():
    spec = charts.histogram_spec("H", [0, 0.5, 1, 1.5, 2, 9.5, 100, -3], x_label="v", bins=10, lo=0, hi=10)
    assert spec["series"][0]["values"] == [3, 2, 1, 0, 0, 0, 0, 0, 0, 2]
    assert spec["xaxis"]["width"] == 1.0 and "2 value(s) outside" in spec["xaxis"]["note"]
    assert charts.histogram_spec("H", [5, 5, 5], x_label="v", bins=3)["series"][0]["values"] == [3, 0, 0]


def test_pie_percentages_and_a_single_full_slice():
    root = parse(charts.render(charts.pie_spec("P", [("a", 1), ("b", 3), ("zero", 0)])))
    titles = [p.find(f"{NS}title").text for p in root.iter(f"{NS}path")]
    assert titles == ["a: 1 (25.0%)", "b: 3 (75.0%)"]
    whole = parse(charts.render(charts.pie_spec("P", [("only", 5)])))
    (path,) = list(whole.iter(f"{NS}path"))
    assert path.get("d").count("A") == 2  # a full circle is two arcs (one cannot close on itself)


def test_baobab_nests_values_groups_the_tail_and_labels_levels():
    nested = {f"job{i}": i + 1 for i in range(15)}
    spec = charts.baobab_spec("B", {"Big": nested, "Small": {"one": 1}}, unit="runs", max_children=5,
                              levels=["class", "job"])
    data = spec["data"]
    assert data["value"] == sum(range(1, 16)) + 1
    big = data["children"][0]
    assert big["label"] == "Big" and [c["label"] for c in big["children"]][:4] == ["job14", "job13", "job12", "job11"]
    assert big["children"][-1] == {"label": "other (11)", "value": float(sum(range(1, 12)))}
    root = parse(charts.render(spec))
    depths = {p.get("data-depth") for p in root.iter(f"{NS}path")}
    assert depths == {"1", "2"}
    assert texts(root, "central-label") == ["121 runs"]
    assert "inner ring: class; outer rings: job" in texts(root, "levels")[0]


def test_text_that_xml_cannot_hold_is_dropped_and_unknown_kinds_refused():
    root = parse(charts.render(charts.pie_spec("bell\x07 and nul\x00", [("x\x1b[31m", 1)])))
    assert root.find(f"{NS}title").text == "bell and nul"
    with pytest.raises(ValueError, match="unknown chart kind"):
        charts.render({"kind": "radar"})
    assert parse(charts.render(None)) is not None


def test_ticks_are_round():
    assert charts.nice_ticks(0, 9.3) == [0, 2, 4, 6, 8, 10]
    assert charts.nice_ticks(0, 0) == [0, 0.2, 0.4, 0.6, 0.8, 1.0]
    ticks, form = charts.time_ticks(NOW - 3600, NOW)
    assert form == "%H:%M" and all(t % 600 == 0 for t in ticks) and 4 <= len(ticks) <= 8
    assert charts.fmt(1234.0) == "1,234" and charts.fmt(0.5) == "0.5" and charts.fmt(None) == "-"


# ------------------------------------------------------------------------------ human units (issue 16)
def ticks(root: Any, role: str) -> list[str]:
    return texts(root, role)


def test_a_duration_axis_of_tiny_values_reads_in_microseconds_never_in_e_notation():
    spec = charts.line_spec("Durations", [{"label": "d", "x": [NOW - 60, NOW - 30, NOW], "y": [2e-05, 5e-05, 8e-05]}],
                            y_label="duration", y_unit="s")
    svg = str(charts.render(spec))
    root = parse(svg)
    labels = ticks(root, "y-tick")
    assert labels and all(label.endswith(" \u00b5s") for label in labels), labels
    assert "20 \u00b5s" in labels or "40 \u00b5s" in labels
    assert not any("e-0" in text for text in root.itertext()), "an e-notation number on the chart"
    tooltips = [e.text or "" for e in root.iter(f"{NS}title")]
    assert any("50 \u00b5s" in t for t in tooltips), tooltips  # the point's tooltip in the same human unit


@pytest.mark.parametrize(("values", "unit", "expected"), [
    ([0.0, 0.3, 0.9], "s", ["0 s", "0.2 s", "0.4 s", "0.6 s", "0.8 s", "1 s"]),
    ([0.0, 0.03, 0.09], "s", ["0 ms", "20 ms", "40 ms", "60 ms", "80 ms", "100 ms"]),
    ([0.0, 1500.0, 2900.0], "ms", ["0 s", "1 s", "2 s", "3 s"]),
    ([0.0, 200.0, 420.0], "s", ["0 min", "2 min", "4 min", "6 min", "8 min"]),
    ([0.0, 3000.0, 7000.0], "s", ["0 h", "0.5 h", "1 h", "1.5 h", "2 h"]),
])
def test_duration_axes_pick_the_unit_that_fits(values, unit, expected):
    spec = charts.line_spec("D", [{"label": "d", "x": [NOW - 2, NOW - 1, NOW], "y": values}], y_label="duration",
                            y_unit=unit)
    root = parse(charts.render(spec))
    assert ticks(root, "y-tick") == expected
    assert texts(root, "y-label") == ["duration"]  # the unit is on each tick, not the title


def test_a_histogram_of_lateness_in_ms_has_human_ticks_on_x():
    root = parse(charts.render(charts.histogram_spec("L", [0.01, 0.02, 0.05], x_label="lateness", x_unit="ms",
                                                     bins=5, lo=0.0, hi=0.05)))
    labels = ticks(root, "x-tick")
    assert labels and all(label.endswith(" \u00b5s") for label in labels), labels
    assert not any("e-0" in text for text in root.itertext())


def test_plain_numbers_are_plain():
    assert [charts.fmt(v) for v in (5e-05, 0.000123, 1234.0, 12.34, 2.5e9, 0.0)] == [
        "0.00005", "0.000123", "1,234", "12.3", "2.5G", "0"]
    root = parse(charts.render(charts.line_spec("P", [{"label": "p", "x": [NOW - 1, NOW], "y": [0.0, 0.0001]}],
                                                y_label="share")))
    assert ticks(root, "y-tick")[:3] == ["0", "0.00002", "0.00004"]
