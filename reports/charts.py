"""Server-side SVG charts: time series, bars, histograms, pies, timelines, Gantt lanes and the "baobab".

No JavaScript, no CSS, no third-party code: each chart is one self-contained ``<svg>``
element, drawn with presentation attributes only (the panel's Content-Security-Policy
forbids inline styles), and scales with the page (``viewBox``, ``width="100%"``): the
drawing is 1000 units wide, so at a 1280 px screen it is drawn at about 1:1.

Reports describe a chart as a plain JSON-safe *spec* dict (the shapes DAS used for its
never-written templates, plus a ``kind``), so the same data is the page's chart and the
API's answer; templates draw it with ``charts.render(spec, chart_id)``. Builders make the
specs: `line_spec`, `bars_spec`, `histogram_spec`, `pie_spec`, `baobab_spec` (from a nested
dict, like DAS's ``nested_to_baobab``), `timeline_spec` and `gantt_spec` (runs as bars per job).

Every chart has a title (also the SVG ``<title>``, for screen readers), axis labels with
units where there are axes, a legend, and tooltips (``<title>`` on each mark). Every piece
of text is escaped here (``<``, ``&``, quotes; characters XML cannot hold are dropped), so
the result is marked safe (`markupsafe.Markup`) for the templates. Empty data draws the
frame with "no data".
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from markupsafe import Markup

from reports.chartframe import KINDS, OUTCOME_COLOURS, PALETTE, fmt, fmt_in, nice_ticks, num, time_ticks
from reports.charts_gantt import gantt
from reports.charts_radial import baobab, pie
from reports.charts_xy import bars, line, timeline

# ----------------------------------------------------------------------------- entry point
_RENDERERS = {"line": line, "bars": bars, "histogram": bars, "pie": pie, "baobab": baobab, "timeline": timeline,
              "gantt": gantt}


def render(spec: Mapping[str, Any] | None, chart_id: str | None = None) -> Markup:
    """The SVG of chart *spec* (see the builders), with element id *chart_id*."""
    if not isinstance(spec, Mapping):
        spec = {"kind": "bars", "title": "(no chart)", "series": []}
    renderer = _RENDERERS.get(str(spec.get("kind")))
    if renderer is None:
        raise ValueError(f"unknown chart kind {spec.get('kind')!r} (known: {', '.join(KINDS)})")
    return renderer(spec, chart_id)


# ----------------------------------------------------------------------------- spec builders
def line_spec(title: str, series: Sequence[Mapping[str, Any]], *, y_label: str, y_unit: str = "",
              x_label: str = "time", x_time: bool = True, x_min: float | None = None,
              x_max: float | None = None) -> dict[str, Any]:
    """A time series (or x/y line) chart: *series* are ``{label, x: [...], y: [...], colour?}``."""
    xaxis: dict[str, Any] = {"label": x_label}
    if x_time:
        xaxis["format"] = "time"
    if x_min is not None:
        xaxis["min"] = x_min
    if x_max is not None:
        xaxis["max"] = x_max
    return {"kind": "line", "title": title, "legend": True, "xaxis": xaxis,
            "yaxis": {"label": y_label, "unit": y_unit}, "series": [dict(s) for s in series]}


def bars_spec(title: str, series: Sequence[Mapping[str, Any]], *, y_label: str, y_unit: str = "",
              categories: Sequence[str] | None = None, x_label: str = "", x_min: float | None = None,
              x_width: float | None = None, x_time: bool = False, stacked: bool = True) -> dict[str, Any]:
    """Bars over categories, or over bins ``[x_min + i*x_width, ...)`` (time bins when *x_time*)."""
    xaxis: dict[str, Any] = {"label": x_label}
    if x_min is not None and x_width is not None:
        xaxis.update(min=x_min, width=x_width)
    if x_time:
        xaxis["format"] = "time"
    spec: dict[str, Any] = {"kind": "bars", "title": title, "legend": True, "stacked": stacked, "xaxis": xaxis,
                            "yaxis": {"label": y_label, "unit": y_unit}, "series": [dict(s) for s in series]}
    if categories is not None:
        spec["categories"] = [str(c) for c in categories]
    return spec


def histogram_spec(title: str, values: Iterable[float], *, x_label: str, x_unit: str = "", bins: int = 30,
                   y_label: str = "runs", label: str = "runs", lo: float | None = None,
                   hi: float | None = None, colour_: str | None = None) -> dict[str, Any]:
    """A histogram of *values* in *bins* equal bins over [lo, hi] (default: min .. max); values
    outside are counted in the first or last bin, and the x label says so."""
    isfinite = math.isfinite
    data = [float(v) for v in values if isinstance(v, int | float) and not isinstance(v, bool) and isfinite(v)]
    low = lo if lo is not None else min(data, default=0.0)
    high = hi if hi is not None else max(data, default=1.0)
    if high <= low:
        high = low + (abs(low) * 0.1 or 1.0)
    bins = max(1, int(bins))
    width = (high - low) / bins
    counts = [0] * bins
    last = bins - 1
    below = above = 0
    for value in data:
        index = int((value - low) // width)
        if index < 0:
            below += 1
            index = 0
        elif index > last:
            above += value > high
            index = last
        counts[index] += 1
    clipped = below + above
    note = f"{clipped} value(s) outside [{fmt(low)}, {fmt(high)}] counted in the end bins" if clipped else ""
    return {"kind": "histogram", "title": title, "legend": True, "stacked": True,
            "xaxis": {"label": x_label, "unit": x_unit, "min": low, "width": width, "bins": bins, "note": note},
            "yaxis": {"label": y_label}, "series": [{"label": label, "values": counts,
                                                     **({"colour": colour_} if colour_ else {})}]}


def pie_spec(title: str, parts: Sequence[tuple[str, float]] | Mapping[str, float], *,
             unit: str = "") -> dict[str, Any]:
    """A pie of (label, value) parts (zero parts are dropped when drawn)."""
    items = list(parts.items()) if isinstance(parts, Mapping) else list(parts)
    return {"kind": "pie", "title": title, "labels": True, "percentage": True, "unit": unit,
            "series": [{"label": str(label), "value": value} for label, value in items]}


def baobab_spec(title: str, nested: Mapping[str, Any], *, unit: str = "", central_label: str | None = None,
                levels: Sequence[str] = (), max_children: int = 12) -> dict[str, Any]:
    """A hierarchical breakdown from a nested dict ``{label: number | {label: ...}}`` (DAS's
    ``nested_to_baobab``); at most *max_children* per node, the rest summed as "other"."""

    def node(label: str, value: Any) -> dict[str, Any]:
        if isinstance(value, Mapping):
            children = [node(str(k), v) for k, v in value.items()]
            children = [c for c in children if c["value"] > 0]
            children.sort(key=lambda c: (-c["value"], c["label"]))
            if len(children) > max_children:
                rest = children[max_children - 1:]
                children = [*children[: max_children - 1],
                            {"label": f"other ({len(rest)})", "value": math.fsum(c["value"] for c in rest)}]
            return {"label": label, "value": math.fsum(c["value"] for c in children), "children": children}
        number = num(value)
        return {"label": label, "value": max(number or 0.0, 0.0)}

    data = node("root", nested)
    return {"kind": "baobab", "title": title, "unit": unit, "levels": list(levels),
            "central_label": central_label or fmt_in(data["value"], unit), "external": False,
            "data": data}


def timeline_spec(title: str, lanes: Sequence[tuple[str, Sequence[float]]], *, x_min: float, x_max: float,
                  y_label: str = "outcome", notes: Mapping[str, Sequence[str]] | None = None) -> dict[str, Any]:
    """Events on a time axis, one lane per label (e.g. one per outcome)."""
    series = []
    for label, times in lanes:
        entry: dict[str, Any] = {"label": label, "x": list(times)}
        if notes and label in notes:
            entry["notes"] = list(notes[label])
        series.append(entry)
    return {"kind": "timeline", "title": title, "legend": True,
            "xaxis": {"label": "time", "format": "time", "min": x_min, "max": x_max},
            "yaxis": {"label": y_label}, "series": series}


def gantt_spec(title: str, lanes: Sequence[Mapping[str, Any]], *, x_min: float, x_max: float,
               now: float | None = None, omitted_note: str = "", x_label: str = "time") -> dict[str, Any]:
    """Intervals on a time axis, one lane per label: *lanes* are ``{label, href?, bars: [{start, end,
    outcome, href?, title?}]}`` (see `reports.charts_gantt`); *omitted_note* says what was left out."""
    return {"kind": "gantt", "title": title, "xaxis": {"label": x_label, "format": "time", "min": x_min,
                                                        "max": x_max},
            "now": now, "lanes": [dict(lane) for lane in lanes], "omitted": {"note": omitted_note}}


# The renderers live beside this module (they use its frame and helpers); bound here at the end.


__all__ = ["KINDS", "OUTCOME_COLOURS", "PALETTE", "baobab_spec", "bars_spec", "fmt", "gantt_spec", "histogram_spec",
           "line_spec", "nice_ticks", "pie_spec", "render", "time_ticks", "timeline_spec"]
