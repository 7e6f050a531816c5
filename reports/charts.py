"""Server-side SVG charts: time series, bars, histograms, pies, timelines and the "baobab".

No JavaScript, no CSS, no third-party code: each chart is one self-contained ``<svg>``
element, drawn with presentation attributes only (the panel's Content-Security-Policy
forbids inline styles), and scales with the page (``viewBox``, ``width="100%"``): the
drawing is 1000 units wide, so at a 1280 px screen it is drawn at about 1:1.

Reports describe a chart as a plain JSON-safe *spec* dict (the shapes DAS used for its
never-written templates, plus a ``kind``), so the same data is the page's chart and the
API's answer; templates draw it with ``charts.render(spec, chart_id)``. Builders make the
specs: `line_spec`, `bars_spec`, `histogram_spec`, `pie_spec`, `baobab_spec` (from a nested
dict, like DAS's ``nested_to_baobab``) and `timeline_spec`.

Every chart has a title (also the SVG ``<title>``, for screen readers), axis labels with
units where there are axes, a legend, and tooltips (``<title>`` on each mark). Every piece
of text is escaped here (``<``, ``&``, quotes; characters XML cannot hold are dropped), so
the result is marked safe (`markupsafe.Markup`) for the templates. Empty data draws the
frame with "no data".
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from markupsafe import Markup

#: Drawing size of the x/y charts (user units; the SVG scales to its container).
WIDTH, HEIGHT = 1000, 360
#: Categorical colours (Tableau 10: distinguishable, print and colour-blind friendly enough).
PALETTE = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f",
           "#bab0ac")
#: Fixed colours of run outcomes, so that every chart agrees.
OUTCOME_COLOURS = {"success": "#59a14f", "failed": "#e15759", "crashed": "#b07aa1", "timeout": "#f28e2b",
                   "interrupted": "#9c755f", "cancelled": "#bab0ac"}
FONT = "system-ui, -apple-system, Segoe UI, Roboto, sans-serif"
INK, MUTED, GRID = "#1d2430", "#5b6472", "#e3e7ed"
KINDS = ("line", "bars", "histogram", "pie", "baobab", "timeline")

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_MARGIN = {"left": 78, "right": 24, "top": 44, "bottom": 58}


# ----------------------------------------------------------------------------- text
def esc(value: Any) -> str:
    """*value* as text safe in SVG/HTML content and attributes."""
    return html.escape(_NOT_XML.sub("", str(value)), quote=True)


def colour(index: int, label: str | None = None) -> str:
    """The outcome colour of *label*, else palette colour *index*."""
    if label is not None and label in OUTCOME_COLOURS:
        return OUTCOME_COLOURS[label]
    return PALETTE[index % len(PALETTE)]


def fmt(value: float | None, digits: int = 3) -> str:
    """A compact number: ``1,234``, ``12.3``, ``0.0123``, ``1.2e+09``."""
    if value is None or not math.isfinite(value):
        return "-"
    if value == 0:
        return "0"
    magnitude = abs(value)
    if magnitude >= 1e7 or magnitude < 1e-3:
        return f"{value:.2g}"
    if float(value).is_integer():
        return f"{int(value):,}"
    if magnitude >= 100:
        return f"{value:,.0f}"
    return f"{value:.{digits}g}"


def _text_width(text: str, size: float) -> float:
    return 0.58 * size * len(text)


def _clip(text: str, size: float, room: float) -> str:
    if _text_width(text, size) <= room:
        return text
    keep = max(1, int(room / (0.58 * size)) - 1)
    return text[:keep] + "\u2026"


# ----------------------------------------------------------------------------- axes
def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """About *count* round tick values covering [lo, hi] (steps of 1, 2, 2.5 or 5 x 10^k)."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return [0.0, 1.0]
    if hi <= lo:
        hi = lo + (abs(lo) or 1.0)
    raw = (hi - lo) / max(count, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    start = math.floor(lo / step) * step
    ticks: list[float] = []
    value = start
    while value < hi + step * 0.999:
        ticks.append(round(value, 12))
        value += step
        if len(ticks) > 50:  # pragma: no cover - defensive
            break
    return ticks


_TIME_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400,
               172800, 604800)


def time_ticks(lo: float, hi: float, count: int = 8) -> tuple[list[float], str]:
    """Round UTC tick times in [lo, hi] and their strftime format."""
    span = max(hi - lo, 1.0)
    step = next((s for s in _TIME_STEPS if span / s <= count), _TIME_STEPS[-1])
    first = math.ceil(lo / step) * step
    ticks: list[float] = []
    value = float(first)
    while value <= hi and len(ticks) <= 60:
        ticks.append(value)
        value += step
    form = "%H:%M:%S" if step < 60 else "%H:%M" if step < 86400 else "%m-%d"
    return ticks, form


def _utc(epoch: float, form: str) -> str:
    try:
        return datetime.fromtimestamp(epoch, UTC).strftime(form)
    except (OverflowError, OSError, ValueError):
        return fmt(epoch)


def _time_axis_label(label: str, lo: float, hi: float) -> str:
    start, end = _utc(lo, "%Y-%m-%d %H:%M"), _utc(hi, "%Y-%m-%d %H:%M")
    return f"{label} (UTC, {start} \u2192 {end})"


# ----------------------------------------------------------------------------- the frame
class _Svg:
    """Accumulates SVG elements; `done` wraps them with the title and the accessible name."""

    def __init__(self, spec: Mapping[str, Any], chart_id: str | None, width: int = WIDTH,
                 height: int = HEIGHT) -> None:
        self.width, self.height = width, height
        self.title = str(spec.get("title") or "Chart")
        self.kind = str(spec.get("kind") or "")
        self.chart_id = chart_id
        self.empty = str(spec.get("empty") or "no data in this window")
        self.parts: list[str] = []

    def add(self, element: str) -> None:
        self.parts.append(element)

    def text(self, x: float, y: float, content: str, *, size: float = 12, anchor: str = "start",
             fill: str = INK, weight: str | None = None, rotate: float | None = None,
             extra: str = "") -> None:
        attrs = f'x="{x:.1f}" y="{y:.1f}" font-size="{size:g}" text-anchor="{anchor}" fill="{fill}"'
        if weight:
            attrs += f' font-weight="{weight}"'
        if rotate is not None:
            attrs += f' transform="rotate({rotate:g} {x:.1f} {y:.1f})"'
        self.add(f"<text {attrs}{extra}>{esc(content)}</text>")

    def legend(self, items: Sequence[tuple[str, str]], x0: float, y0: float, right: float) -> float:
        """A wrapped row legend (swatch + label) from (x0, y0); returns the y below it."""
        x, y = x0, y0
        group = ['<g class="legend" data-role="legend">']
        for label, fill in items:
            shown = _clip(label, 12, 260)
            item_w = 18 + _text_width(shown, 12) + 16
            if x + item_w > right and x > x0:
                x, y = x0, y + 18
            group.append(f'<g class="legend-item"><title>{esc(label)}</title>'
                         f'<rect x="{x:.1f}" y="{y - 10:.1f}" width="12" height="12" rx="2" fill="{esc(fill)}"/>'
                         f'<text x="{x + 17:.1f}" y="{y:.1f}" font-size="12" fill="{INK}">{esc(shown)}</text></g>')
            x += item_w
        group.append("</g>")
        self.add("".join(group))
        return y + 10

    def no_data(self, x: float, y: float, message: str | None = None) -> None:
        self.text(x, y, message or self.empty, size=14, anchor="middle", fill=MUTED, extra=' data-role="no-data"')

    def done(self) -> Markup:
        ident = labelled = title_attr = ""
        if self.chart_id:
            title_id = esc(f"{self.chart_id}-title")
            ident, labelled, title_attr = f' id="{esc(self.chart_id)}"', f' aria-labelledby="{title_id}"', \
                f' id="{title_id}"'
        head = (f'<svg xmlns="http://www.w3.org/2000/svg"{ident} class="chart chart-{esc(self.kind)}" '
                f'data-kind="{esc(self.kind)}" role="img"{labelled} viewBox="0 0 {self.width} {self.height}" '
                f'width="100%" preserveAspectRatio="xMidYMid meet" font-family="{esc(FONT)}">'
                f'<title{title_attr}>{esc(self.title)}</title>'
                f'<rect x="0" y="0" width="{self.width}" height="{self.height}" fill="#ffffff"/>')
        heading = (f'<text x="{self.width / 2:.1f}" y="22" font-size="16" font-weight="600" text-anchor="middle" '
                   f'fill="{INK}" data-role="title">{esc(_clip(self.title, 16, self.width - 40))}</text>')
        return Markup(head + heading + "".join(self.parts) + "</svg>")  # noqa: S704 - every text went through esc()


class _Plot:
    """The plotting area of an x/y chart: scales, grid, axes, axis labels."""

    def __init__(self, svg: _Svg, legend: Sequence[tuple[str, str]], *, x_lo: float, x_hi: float, y_lo: float,
                 y_hi: float, x_label: str, y_label: str, x_time: bool, y_ticks: int = 5,
                 categories: Sequence[str] | None = None) -> None:
        self.svg = svg
        top = float(_MARGIN["top"])
        if legend:
            top = svg.legend(legend, _MARGIN["left"], 46, svg.width - _MARGIN["right"]) + 8
        self.left, self.right = _MARGIN["left"], svg.width - _MARGIN["right"]
        self.top, self.bottom = top, svg.height - _MARGIN["bottom"]
        self.y_ticks = nice_ticks(y_lo, y_hi, y_ticks)
        self.y_lo, self.y_hi = min(self.y_ticks[0], y_lo), max(self.y_ticks[-1], y_hi)
        self.x_lo, self.x_hi = x_lo, x_hi if x_hi > x_lo else x_lo + 1.0
        self.x_time = x_time
        self.categories = categories
        self._axes(x_label, y_label)

    def x(self, value: float) -> float:
        return self.left + (value - self.x_lo) / (self.x_hi - self.x_lo) * (self.right - self.left)

    def y(self, value: float) -> float:
        span = (self.y_hi - self.y_lo) or 1.0
        return self.bottom - (value - self.y_lo) / span * (self.bottom - self.top)

    def _axes(self, x_label: str, y_label: str) -> None:
        svg = self.svg
        grid = ['<g class="grid" data-role="y-axis">']
        for tick in self.y_ticks:
            y = self.y(tick)
            grid.append(f'<line x1="{self.left}" y1="{y:.1f}" x2="{self.right}" y2="{y:.1f}" stroke="{GRID}"/>'
                        f'<text x="{self.left - 8}" y="{y + 4:.1f}" font-size="11" text-anchor="end" '
                        f'fill="{MUTED}">{esc(fmt(tick))}</text>')
        grid.append("</g>")
        svg.add("".join(grid))
        if self.categories is not None:
            svg.add(self._category_axis(self.categories))
        else:
            svg.add(self._value_axis())
        svg.text((self.left + self.right) / 2, svg.height - 14, x_label, size=12.5, anchor="middle", fill=INK,
                 extra=' data-role="x-label"')
        middle = (self.top + self.bottom) / 2
        svg.text(20, middle, y_label, size=12.5, anchor="middle", fill=INK, rotate=-90,
                 extra=' data-role="y-label"')

    def _frame(self) -> str:
        return (f'<line x1="{self.left}" y1="{self.bottom}" x2="{self.right}" y2="{self.bottom}" '
                f'stroke="{MUTED}"/><line x1="{self.left}" y1="{self.top}" x2="{self.left}" '
                f'y2="{self.bottom}" stroke="{MUTED}"/>')

    def _value_axis(self) -> str:
        axis = ['<g class="x-axis" data-role="x-axis">']
        if self.x_time:
            ticks, form = time_ticks(self.x_lo, self.x_hi)
            labels = [(t, _utc(t, form)) for t in ticks]
        else:
            labels = [(t, fmt(t)) for t in nice_ticks(self.x_lo, self.x_hi, 8) if self.x_lo <= t <= self.x_hi]
        for tick, label in labels:
            x = self.x(tick)
            axis.append(f'<line x1="{x:.1f}" y1="{self.bottom}" x2="{x:.1f}" y2="{self.bottom + 5}" '
                        f'stroke="{MUTED}"/><text x="{x:.1f}" y="{self.bottom + 18}" font-size="11" '
                        f'text-anchor="middle" fill="{MUTED}">{esc(label)}</text>')
        axis.append(self._frame() + "</g>")
        return "".join(axis)

    def _category_axis(self, categories: Sequence[str]) -> str:
        n = max(len(categories), 1)
        slot = (self.right - self.left) / n
        every = max(1, math.ceil(n / max(1, int((self.right - self.left) / 90))))
        axis = ['<g class="x-axis" data-role="x-axis">']
        for i in range(0, len(categories), every):
            label = categories[i]
            x = self.left + slot * (i + 0.5)
            axis.append(f'<text x="{x:.1f}" y="{self.bottom + 18}" font-size="11" text-anchor="middle" '
                        f'fill="{MUTED}"><title>{esc(label)}</title>{esc(_clip(label, 11, slot * every - 4))}'
                        "</text>")
        axis.append(self._frame() + "</g>")
        return "".join(axis)


def _axis_label(axis: Mapping[str, Any] | None, default: str) -> str:
    axis = axis or {}
    label = str(axis.get("label") or default)
    unit = axis.get("unit")
    note = axis.get("note")
    text = f"{label} ({unit})" if unit else label
    return f"{text}; {note}" if note else text


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _series(spec: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    series = spec.get("series") or []
    return [s for s in series if isinstance(s, Mapping)] if isinstance(series, list | tuple) else []


def _series_colour(series: Mapping[str, Any], index: int) -> str:
    given = series.get("colour") or series.get("color")
    if isinstance(given, str) and re.fullmatch(r"#[0-9a-fA-F]{3,8}", given):
        return given
    return colour(index, str(series.get("label", "")))


# ----------------------------------------------------------------------------- entry point
# The renderers live beside this module and use its frame and helpers, all defined above.
from reports.charts_radial import _baobab, _pie  # noqa: E402
from reports.charts_xy import _bars, _line, _timeline  # noqa: E402

_RENDERERS = {"line": _line, "bars": _bars, "histogram": _bars, "pie": _pie, "baobab": _baobab,
              "timeline": _timeline}


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
        number = _num(value)
        return {"label": label, "value": max(number or 0.0, 0.0)}

    data = node("root", nested)
    return {"kind": "baobab", "title": title, "unit": unit, "levels": list(levels),
            "central_label": central_label or f"{fmt(data['value'])} {unit}".strip(), "external": False,
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


# The renderers live beside this module (they use its frame and helpers); bound here at the end.
