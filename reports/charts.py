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


# ----------------------------------------------------------------------------- line
def _line(spec: Mapping[str, Any], chart_id: str | None) -> Markup:
    svg = _Svg(spec, chart_id)
    xaxis = spec.get("xaxis") or {}
    x_time = xaxis.get("format") == "time"
    lines: list[tuple[str, str, list[tuple[float, float | None]]]] = []
    for index, series in enumerate(_series(spec)):
        points: list[tuple[float, float | None]] = []
        if "x" in series:
            for xv, yv in zip(series.get("x") or [], series.get("y") or [], strict=False):
                xn = _num(xv)
                if xn is not None:
                    points.append((xn, _num(yv)))
        else:
            start, width = _num(xaxis.get("min")) or 0.0, _num(xaxis.get("width")) or 1.0
            points = [(start + (i + 0.5) * width, _num(v)) for i, v in enumerate(series.get("values") or [])]
        points.sort(key=lambda p: p[0])
        lines.append((str(series.get("label", f"series {index + 1}")), _series_colour(series, index), points))
    xs = [p[0] for _, _, pts in lines for p in pts]
    ys = [p[1] for _, _, pts in lines for p in pts if p[1] is not None]
    x_lo = _num(xaxis.get("min")) if xaxis.get("min") is not None else (min(xs) if xs else 0.0)
    x_hi = _num(xaxis.get("max")) if xaxis.get("max") is not None else (max(xs) if xs else 1.0)
    x_lo = 0.0 if x_lo is None else x_lo
    x_hi = x_lo + 1.0 if x_hi is None or x_hi <= x_lo else x_hi
    y_lo = min(0.0, *ys) if ys else 0.0
    y_hi = max(ys) if ys else 1.0
    x_label = _axis_label(xaxis, "time" if x_time else "x")
    if x_time:
        x_label = _time_axis_label(x_label, x_lo, x_hi)
    plot = _Plot(svg, [(label, fill) for label, fill, _ in lines] if spec.get("legend", True) else [],
                 x_lo=x_lo, x_hi=x_hi, y_lo=y_lo, y_hi=y_hi if y_hi > y_lo else y_lo + 1.0, x_label=x_label,
                 y_label=_axis_label(spec.get("yaxis"), "value"), x_time=x_time)
    if not ys:
        svg.no_data((plot.left + plot.right) / 2, (plot.top + plot.bottom) / 2)
    y_unit = (spec.get("yaxis") or {}).get("unit") or ""
    for label, fill, points in lines:
        group = [f'<g class="series" data-series="{esc(label)}">']
        segment: list[str] = []
        segments: list[list[str]] = []
        for xv, yv in points:
            if yv is None:
                if segment:
                    segments.append(segment)
                segment = []
                continue
            segment.append(f"{plot.x(xv):.1f},{plot.y(yv):.1f}")
        if segment:
            segments.append(segment)
        for seg in segments:
            if len(seg) > 1:
                group.append(f'<polyline points="{" ".join(seg)}" fill="none" stroke="{fill}" stroke-width="2" '
                             'stroke-linejoin="round"/>')
        shown = [(xv, yv) for xv, yv in points if yv is not None]
        if len(shown) <= 150:
            for xv, yv in shown:
                where = _utc(xv, "%Y-%m-%d %H:%M:%SZ") if x_time else fmt(xv)
                group.append(f'<circle cx="{plot.x(xv):.1f}" cy="{plot.y(yv):.1f}" r="3" fill="{fill}">'
                             f'<title>{esc(label)}: {esc(fmt(yv))} {esc(y_unit)} at {esc(where)}</title></circle>')
        group.append("</g>")
        svg.add("".join(group))
    return svg.done()


# ----------------------------------------------------------------------------- bars / histogram
def _bars(spec: Mapping[str, Any], chart_id: str | None) -> Markup:
    svg = _Svg(spec, chart_id)
    xaxis = spec.get("xaxis") or {}
    series = _series(spec)
    x_time = xaxis.get("format") == "time"
    categories = [str(c) for c in (spec.get("categories") or [])]
    n = max([len(categories)] + [len(s.get("values") or []) for s in series])
    stacked = bool(spec.get("stacked", True)) or len(series) == 1
    values = [[(_num(v) or 0.0) for v in (s.get("values") or [])] + [0.0] * n for s in series]
    values = [row[:n] for row in values]
    totals = [sum(row[i] for row in values) for i in range(n)] if stacked else \
        [max((row[i] for row in values), default=0.0) for i in range(n)]
    y_hi = max(totals, default=0.0)
    numeric = "min" in xaxis and "width" in xaxis and not categories
    start = _num(xaxis.get("min")) or 0.0
    width = _num(xaxis.get("width")) or 1.0
    x_label = _axis_label(xaxis, "time" if x_time else "category")
    if numeric:
        x_lo, x_hi = start, start + max(n, 1) * width
        if x_time:
            x_label = _time_axis_label(x_label, x_lo, x_hi)
    else:
        x_lo, x_hi = 0.0, float(max(n, 1))
    legend = [(str(s.get("label", f"series {i + 1}")), _series_colour(s, i)) for i, s in enumerate(series)]
    plot = _Plot(svg, legend if spec.get("legend", True) else [], x_lo=x_lo, x_hi=x_hi, y_lo=0.0,
                 y_hi=y_hi if y_hi > 0 else 1.0, x_label=x_label, y_label=_axis_label(spec.get("yaxis"), "count"),
                 x_time=x_time and numeric,
                 categories=None if numeric else (categories + [str(i + 1) for i in range(len(categories), n)]))
    if y_hi <= 0:
        svg.no_data((plot.left + plot.right) / 2, (plot.top + plot.bottom) / 2)
    slot = (plot.right - plot.left) / max(n, 1)
    gap = 0.12 if spec.get("kind") != "histogram" else 0.02
    y_unit = (spec.get("yaxis") or {}).get("unit") or ""
    for index, (label, fill) in enumerate(legend):
        group = [f'<g class="series" data-series="{esc(label)}">']
        for i in range(n):
            value = values[index][i]
            if value <= 0:
                continue
            if stacked:
                base = sum(values[k][i] for k in range(index))
                x0, bar_w = plot.left + slot * (i + gap / 2), slot * (1 - gap)
            else:
                base = 0.0
                bar_w = slot * (1 - gap) / len(legend)
                x0 = plot.left + slot * (i + gap / 2) + bar_w * index
            y_top, y_base = plot.y(base + value), plot.y(base)
            if numeric and x_time:
                where = f"{_utc(start + i * width, '%H:%M')}\u2013{_utc(start + (i + 1) * width, '%H:%M')} UTC"
            elif numeric:
                where = f"{fmt(start + i * width)}\u2013{fmt(start + (i + 1) * width)}"
            else:
                where = categories[i] if i < len(categories) else str(i)
            group.append(f'<rect x="{x0:.1f}" y="{y_top:.1f}" width="{max(bar_w, 0.5):.1f}" '
                         f'height="{max(y_base - y_top, 0.5):.1f}" fill="{fill}"><title>{esc(label)}, {esc(where)}: '
                         f'{esc(fmt(value))} {esc(y_unit)}</title></rect>')
        group.append("</g>")
        svg.add("".join(group))
    return svg.done()


# ----------------------------------------------------------------------------- pie
def _arc(centre: tuple[float, float], radii: tuple[float, float], angles: tuple[float, float]) -> str:
    """The path of an annular sector: radii (inner, outer), angles (from, to) in radians,
    clockwise from 12 o'clock; an inner radius of 0 makes a pie slice."""
    (cx, cy), (r0, r1), (a0, a1) = centre, radii, angles
    if a1 - a0 >= 2 * math.pi - 1e-9:  # a full ring: two circles (drawn with fill-rule evenodd)
        circles = []
        for r in (r1, r0) if r0 > 0 else (r1,):
            circles.append(f"M{cx:.2f},{cy - r:.2f} A{r:.2f},{r:.2f} 0 1 1 {cx:.2f},{cy + r:.2f} "
                           f"A{r:.2f},{r:.2f} 0 1 1 {cx:.2f},{cy - r:.2f} Z")
        return " ".join(circles)

    def point(r: float, a: float) -> str:
        return f"{cx + r * math.sin(a):.2f},{cy - r * math.cos(a):.2f}"

    large = 1 if a1 - a0 > math.pi else 0
    outer = f"M{point(r1, a0)} A{r1:.2f},{r1:.2f} 0 {large} 1 {point(r1, a1)}"
    if r0 <= 0:
        return f"{outer} L{cx:.2f},{cy:.2f} Z"
    return f"{outer} L{point(r0, a1)} A{r0:.2f},{r0:.2f} 0 {large} 0 {point(r0, a0)} Z"


def _pie(spec: Mapping[str, Any], chart_id: str | None) -> Markup:
    svg = _Svg(spec, chart_id)
    slices = [(str(s.get("label", "")), _num(s.get("value")) or 0.0, _series_colour(s, i))
              for i, s in enumerate(_series(spec))]
    slices = [s for s in slices if s[1] > 0]
    total = math.fsum(v for _, v, _ in slices)
    cx, cy, radius = 250.0, 200.0, 140.0
    unit = str(spec.get("unit") or "")
    legend_x = 480.0
    svg.text(legend_x, 62, f"total: {fmt(total)} {unit}".strip(), size=13, weight="600",
             extra=' data-role="total"')
    if total <= 0:
        svg.add(f'<circle cx="{cx}" cy="{cy}" r="{radius}" fill="none" stroke="{GRID}" stroke-width="2"/>')
        svg.no_data(cx, cy)
        svg.legend([], legend_x, 90, WIDTH - 20)
        return svg.done()
    angle = 0.0
    group = ['<g class="slices">']
    for label, value, fill in slices:
        sweep = value / total * 2 * math.pi
        pct = 100.0 * value / total
        path = _arc((cx, cy), (0.0, radius), (angle, angle + sweep))
        group.append(f'<path d="{path}" fill="{fill}" fill-rule="evenodd" stroke="#ffffff" stroke-width="1.5" '
                     f'data-label="{esc(label)}">'
                     f'<title>{esc(label)}: {esc(fmt(value))} {esc(unit)} ({pct:.1f}%)</title></path>')
        if pct >= 6:
            middle = angle + sweep / 2
            tx, ty = cx + radius * 0.65 * math.sin(middle), cy - radius * 0.65 * math.cos(middle) + 4
            group.append(f'<text x="{tx:.1f}" y="{ty:.1f}" font-size="12" font-weight="600" text-anchor="middle" '
                         f'fill="#ffffff">{pct:.0f}%</text>')
        angle += sweep
    group.append("</g>")
    svg.add("".join(group))
    rows = ['<g class="legend" data-role="legend">']
    y = 92.0
    for label, value, fill in slices[:14]:
        pct = 100.0 * value / total
        rows.append(f'<g class="legend-item"><title>{esc(label)}</title><rect x="{legend_x}" y="{y - 11}" width="13" '
                    f'height="13" rx="2" fill="{fill}"/><text x="{legend_x + 20}" y="{y}" font-size="13" '
                    f'fill="{INK}">{esc(_clip(label, 13, 300))}</text><text x="{WIDTH - 30}" y="{y}" font-size="13" '
                    f'text-anchor="end" fill="{MUTED}">{esc(fmt(value))} ({pct:.1f}%)</text></g>')
        y += 21
    if len(slices) > 14:
        rows.append(f'<text x="{legend_x}" y="{y}" font-size="12" fill="{MUTED}">and {len(slices) - 14} more'
                    "</text>")
    rows.append("</g>")
    svg.add("".join(rows))
    return svg.done()


# ----------------------------------------------------------------------------- baobab
def _tint(hex_colour: str, amount: float) -> str:
    """*hex_colour* mixed with white by *amount* (0..1)."""
    value = hex_colour.lstrip("#")
    if len(value) == 3:
        value = "".join(ch * 2 for ch in value)
    try:
        r, g, b = (int(value[i:i + 2], 16) for i in (0, 2, 4))
    except ValueError:
        return hex_colour
    mix = [round(c + (255 - c) * amount) for c in (r, g, b)]
    return "#" + "".join(f"{c:02x}" for c in mix)


def _node_value(node: Mapping[str, Any]) -> float:
    given = _num(node.get("value"))
    children = node.get("children") or []
    if given is not None:
        return max(given, 0.0)
    return math.fsum(_node_value(c) for c in children if isinstance(c, Mapping))


def _depth(node: Mapping[str, Any], limit: int = 6) -> int:
    children = [c for c in (node.get("children") or []) if isinstance(c, Mapping)]
    if not children or limit <= 0:
        return 0
    return 1 + max(_depth(c, limit - 1) for c in children)


def _baobab(spec: Mapping[str, Any], chart_id: str | None) -> Markup:
    """A sunburst: the root in the middle, each level one ring, each node's angle its share."""
    height = 440
    svg = _Svg(spec, chart_id, height=height)
    root = spec.get("data") if isinstance(spec.get("data"), Mapping) else {}
    assert isinstance(root, Mapping)
    total = _node_value(root)
    depth = min(_depth(root), 4)
    unit = str(spec.get("unit") or "")
    cx, cy, inner, outer = 250.0, 240.0, 58.0, 180.0
    central = str(spec.get("central_label") or f"{fmt(total)} {unit}".strip())
    svg.add(f'<circle cx="{cx}" cy="{cy}" r="{inner - 2}" fill="#f3f5f8"/>')
    svg.text(cx, cy + 5, _clip(central, 13, 2 * inner - 10), size=13, anchor="middle", weight="600",
             extra=' data-role="central-label"')
    top_level = [c for c in (root.get("children") or []) if isinstance(c, Mapping)]
    if total <= 0 or depth == 0:
        svg.add(f'<circle cx="{cx}" cy="{cy}" r="{outer}" fill="none" stroke="{GRID}" stroke-width="2"/>')
        svg.no_data(cx, cy + outer + 10)
        svg.legend([], 480, 70, WIDTH - 20)
        return svg.done()
    ring = (outer - inner) / depth
    arcs = ['<g class="rings">']

    def draw(node: Mapping[str, Any], level: int, span: tuple[float, float], fill: str, path: list[str]) -> None:
        a0, sweep = span
        children = [c for c in (node.get("children") or []) if isinstance(c, Mapping)]
        value = _node_value(node)
        if level >= depth or value <= 0:
            return
        a = a0
        for index, child in enumerate(children):
            child_value = _node_value(child)
            if child_value <= 0:
                continue
            child_sweep = sweep * child_value / value
            label = str(child.get("label", ""))
            # A part of its parent is a lighter shade of it (outcomes keep their own colours).
            child_fill = colour(index, label) if level == 0 else OUTCOME_COLOURS.get(label) or _tint(fill, 0.28 * level)
            r0, r1 = inner + level * ring, inner + (level + 1) * ring
            trail = " / ".join([*path, label])
            pct = 100.0 * child_value / total
            arcs.append(f'<path d="{_arc((cx, cy), (r0, r1), (a, a + child_sweep))}" fill="{child_fill}" '
                        f'fill-rule="evenodd" '
                        f'stroke="#ffffff" stroke-width="1" data-label="{esc(label)}" data-depth="{level + 1}">'
                        f'<title>{esc(trail)}: {esc(fmt(child_value))} {esc(unit)} ({pct:.1f}%)</title></path>')
            arc_len = child_sweep * (r0 + r1) / 2
            if arc_len > 46 and ring > 16:
                middle = a + child_sweep / 2
                rm = (r0 + r1) / 2
                tx, ty = cx + rm * math.sin(middle), cy - rm * math.cos(middle) + 4
                arcs.append(f'<text x="{tx:.1f}" y="{ty:.1f}" font-size="11" text-anchor="middle" fill="{INK}">'
                            f'{esc(_clip(label, 11, min(arc_len, 2.2 * ring) - 6))}</text>')
            draw(child, level + 1, (a, child_sweep), child_fill, [*path, label])
            a += child_sweep

    draw(root, 0, (0.0, 2 * math.pi), PALETTE[0], [])
    arcs.append("</g>")
    svg.add("".join(arcs))
    svg.add(_baobab_legend(svg, spec, top_level, total))
    return svg.done()


def _legend_row(x: float, y: float, label: str, value: str, fill: str, *, bold: bool) -> str:
    weight = ' font-weight="600"' if bold else ""
    size = 13 if bold else 12
    return (f'<g class="legend-item"><title>{esc(label)}</title><rect x="{x}" y="{y - 11}" width="12" height="12" '
            f'rx="2" fill="{fill}"/><text x="{x + 18}" y="{y}" font-size="{size}" fill="{INK}"{weight}>'
            f'{esc(_clip(label, size, WIDTH - 30 - x - 150))}</text><text x="{WIDTH - 30}" y="{y}" font-size="{size}" '
            f'text-anchor="end" fill="{MUTED}">{esc(value.strip())}</text></g>')


def _baobab_legend(svg: _Svg, spec: Mapping[str, Any], top_level: Sequence[Mapping[str, Any]],
                   total: float) -> str:
    unit = str(spec.get("unit") or "")
    height = svg.height
    rows = ['<g class="legend" data-role="legend">']
    legend_x, y = 480.0, 70.0
    svg.text(legend_x, 50, f"total: {fmt(total)} {unit}".strip(), size=13, weight="600", extra=' data-role="total"')
    room = int((height - 40 - y) // 20)
    shown = 0
    for index, child in enumerate(top_level):
        if room <= 0:
            break
        label = str(child.get("label", ""))
        value = _node_value(child)
        fill = colour(index, label)
        rows.append(_legend_row(legend_x, y, label, f"{fmt(value)} {unit} ({100.0 * value / total:.1f}%)", fill,
                                bold=True))
        y, room, shown = y + 20, room - 1, shown + 1
        parts = sorted((c for c in (child.get("children") or []) if isinstance(c, Mapping)),
                       key=lambda c: -_node_value(c))
        # Children get the rows left over, at most 4 each while other top-level entries wait.
        waiting = len(top_level) - index - 1
        for part in parts[: max(0, min(4, room - waiting))]:
            part_value = _node_value(part)
            rows.append(_legend_row(legend_x + 18, y, str(part.get("label", "")),
                                    f"{fmt(part_value)} {unit} ({100.0 * part_value / total:.1f}%)",
                                    _tint(fill, 0.28), bold=False))
            y, room = y + 20, room - 1
    if shown < len(top_level):
        rows.append(f'<text x="{legend_x}" y="{y}" font-size="12" fill="{MUTED}">and {len(top_level) - shown} more'
                    "</text>")
    levels = [str(level) for level in (spec.get("levels") or [])]
    inner_name = levels[0] if levels else "first level"
    outer_names = " \u2192 ".join(levels[1:]) or "their parts"
    rows.append(f'<text x="{legend_x}" y="{height - 16}" font-size="11.5" fill="{MUTED}" data-role="levels">'
                f'inner ring: {esc(inner_name)}; outer rings: {esc(outer_names)}; hover a segment for its value'
                "</text>")
    rows.append("</g>")
    return "".join(rows)


# ----------------------------------------------------------------------------- timeline
def _timeline(spec: Mapping[str, Any], chart_id: str | None) -> Markup:
    series = _series(spec)
    lanes = [str(s.get("label", "")) for s in series]
    height = max(200, 130 + 34 * len(lanes))
    svg = _Svg(spec, chart_id, height=height)
    xaxis = spec.get("xaxis") or {}
    times = [t for s in series for t in (_num(v) for v in (s.get("x") or [])) if t is not None]
    x_lo = _num(xaxis.get("min")) if xaxis.get("min") is not None else (min(times) if times else 0.0)
    x_hi = _num(xaxis.get("max")) if xaxis.get("max") is not None else (max(times) if times else 1.0)
    x_lo = 0.0 if x_lo is None else x_lo
    x_hi = x_lo + 1.0 if x_hi is None or x_hi <= x_lo else x_hi
    legend = [(label, _series_colour(s, i)) for i, (label, s) in enumerate(zip(lanes, series, strict=True))]
    top = svg.legend(legend, _MARGIN["left"] + 60, 46, svg.width - _MARGIN["right"]) + 12
    left, right, bottom = _MARGIN["left"] + 60, svg.width - _MARGIN["right"], height - _MARGIN["bottom"]
    lane_h = (bottom - top) / max(len(lanes), 1)

    def x_of(t: float) -> float:
        return left + (t - x_lo) / (x_hi - x_lo) * (right - left)

    ticks, form = time_ticks(x_lo, x_hi)
    axis = ['<g class="x-axis" data-role="x-axis">']
    for tick in ticks:
        x = x_of(tick)
        axis.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{bottom + 5}" stroke="{GRID}"/>'
                    f'<text x="{x:.1f}" y="{bottom + 18}" font-size="11" text-anchor="middle" '
                    f'fill="{MUTED}">{esc(_utc(tick, form))}</text>')
    axis.append(f'<line x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="{MUTED}"/></g>')
    svg.add("".join(axis))
    svg.text((left + right) / 2, height - 14, _time_axis_label(_axis_label(xaxis, "time"), x_lo, x_hi), size=12.5,
             anchor="middle", extra=' data-role="x-label"')
    svg.text(18, (top + bottom) / 2, _axis_label(spec.get("yaxis"), "outcome"), size=12.5, anchor="middle",
             rotate=-90, extra=' data-role="y-label"')
    if not times:
        svg.no_data((left + right) / 2, (top + bottom) / 2)
    for index, (label, fill) in enumerate(legend):
        y = top + lane_h * (index + 0.5)
        group = [f'<g class="series" data-series="{esc(label)}"><text x="{left - 8}" y="{y + 4:.1f}" font-size="12" '
                 f'text-anchor="end" fill="{INK}">{esc(_clip(label, 12, left - 16))}</text>'
                 f'<line x1="{left}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}" stroke="{GRID}"/>']
        marks = [t for t in (_num(v) for v in (series[index].get("x") or [])) if t is not None]
        notes = series[index].get("notes") or []
        for position, t in enumerate(marks[:2000]):
            note = notes[position] if position < len(notes) else ""
            group.append(f'<rect x="{x_of(t) - 1.5:.1f}" y="{y - 9:.1f}" width="3" height="18" fill="{fill}">'
                         f'<title>{esc(label)} at {esc(_utc(t, "%Y-%m-%d %H:%M:%SZ"))}'
                         f'{esc(" - " + str(note)) if note else ""}</title></rect>')
        group.append("</g>")
        svg.add("".join(group))
    return svg.done()


# ----------------------------------------------------------------------------- entry point
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
