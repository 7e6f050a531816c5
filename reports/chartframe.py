"""The frame every SVG chart is drawn in: canvas, axes, ticks, colours, escaping.

Why a module of its own: the chart families (`reports.charts_xy`, `reports.charts_radial`)
share this drawing kit, and `reports.charts` (the entry point and the spec builders) uses
both families; with the kit here, every import points one way (kit <- families <- charts).
See `reports.charts` for what a chart is and how reports describe one.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from markupsafe import Markup

from reports import chartunits

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
KINDS = ("line", "bars", "histogram", "pie", "baobab", "timeline", "gantt")

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
MARGIN = {"left": 78, "right": 24, "top": 44, "bottom": 58}


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
    """A compact number: ``1,234``, ``12.3``, ``0.0123``, ``0.00005``, ``12M`` (`reports.chartunits`)."""
    return chartunits.number(value, digits)


def fmt_in(value: float | None, unit: str | None) -> str:
    """*value* with its *unit* for tooltips and totals: ``250 ms`` for 0.25 s, ``3 runs``."""
    return chartunits.quantity(value, unit)


def text_width(text: str, size: float) -> float:
    return 0.58 * size * len(text)


def clip(text: str, size: float, room: float) -> str:
    if text_width(text, size) <= room:
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


def utc(epoch: float, form: str) -> str:
    try:
        return datetime.fromtimestamp(epoch, UTC).strftime(form)
    except (OverflowError, OSError, ValueError):
        return fmt(epoch)


def time_axis_label(label: str, lo: float, hi: float) -> str:
    start, end = utc(lo, "%Y-%m-%d %H:%M"), utc(hi, "%Y-%m-%d %H:%M")
    return f"{label} (UTC, {start} \u2192 {end})"


# ----------------------------------------------------------------------------- the frame
class Svg:
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
            shown = clip(label, 12, 260)
            item_w = 18 + text_width(shown, 12) + 16
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
                   f'fill="{INK}" data-role="title">{esc(clip(self.title, 16, self.width - 40))}</text>')
        return Markup(head + heading + "".join(self.parts) + "</svg>")  # noqa: S704 - every text went through esc()


class Plot:
    """The plotting area of an x/y chart: scales, grid, axes, axis labels."""

    def __init__(self, svg: Svg, legend: Sequence[tuple[str, str]], *, x_lo: float, x_hi: float, y_lo: float,
                 y_hi: float, x_label: str, y_label: str, x_time: bool, y_ticks: int = 5,
                 categories: Sequence[str] | None = None, y_unit: str = "", x_unit: str = "") -> None:
        self.svg = svg
        self.y_unit, self.x_unit = y_unit, x_unit
        top = float(MARGIN["top"])
        if legend:
            top = svg.legend(legend, MARGIN["left"], 46, svg.width - MARGIN["right"]) + 8
        self.left, self.right = MARGIN["left"], svg.width - MARGIN["right"]
        self.top, self.bottom = top, svg.height - MARGIN["bottom"]
        self.y_ticks = axis_ticks(y_lo, y_hi, y_ticks, y_unit)
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
        for tick, label in zip(self.y_ticks, chartunits.tick_labels(self.y_ticks, self.y_unit), strict=True):
            y = self.y(tick)
            grid.append(f'<line x1="{self.left}" y1="{y:.1f}" x2="{self.right}" y2="{y:.1f}" stroke="{GRID}"/>'
                        f'<text x="{self.left - 8}" y="{y + 4:.1f}" font-size="11" text-anchor="end" '
                        f'fill="{MUTED}" data-role="y-tick">{esc(label)}</text>')
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
            labels = [(t, utc(t, form)) for t in ticks]
        else:
            values = [t for t in axis_ticks(self.x_lo, self.x_hi, 8, self.x_unit) if self.x_lo <= t <= self.x_hi]
            labels = list(zip(values, chartunits.tick_labels(values, self.x_unit), strict=True))
        for tick, label in labels:
            x = self.x(tick)
            axis.append(f'<line x1="{x:.1f}" y1="{self.bottom}" x2="{x:.1f}" y2="{self.bottom + 5}" '
                        f'stroke="{MUTED}"/><text x="{x:.1f}" y="{self.bottom + 18}" font-size="11" '
                        f'text-anchor="middle" fill="{MUTED}" data-role="x-tick">{esc(label)}</text>')
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
                        f'fill="{MUTED}"><title>{esc(label)}</title>{esc(clip(label, 11, slot * every - 4))}'
                        "</text>")
        axis.append(self._frame() + "</g>")
        return "".join(axis)


def axis_ticks(lo: float, hi: float, count: int, unit: str | None) -> list[float]:
    """Round ticks over [lo, hi] in *unit*: 1-2-5 steps, or whole minutes and hours for a long
    duration axis (`reports.chartunits.duration_ticks`)."""
    ticks = nice_ticks(lo, hi, count)
    if not chartunits.is_time_unit(unit):
        return ticks
    size = chartunits.seconds_per(str(unit))
    in_seconds = chartunits.duration_ticks(lo * size, hi * size, count, [t * size for t in ticks])
    return [round(t / size, 12) for t in in_seconds]


def axis_label(axis: Mapping[str, Any] | None, default: str) -> str:
    """The axis title: ``label (unit)``; a time unit is not repeated there, each tick carries it."""
    axis = axis or {}
    label = str(axis.get("label") or default)
    unit = axis.get("unit")
    note = axis.get("note")
    text = f"{label} ({unit})" if unit and not chartunits.is_time_unit(unit) else label
    return f"{text}; {note}" if note else text


def axis_unit(axis: Mapping[str, Any] | None) -> str:
    """The unit of an axis spec ("" when none)."""
    return str((axis or {}).get("unit") or "")


def num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def series_of(spec: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    series = spec.get("series") or []
    return [s for s in series if isinstance(s, Mapping)] if isinstance(series, list | tuple) else []


def series_colour(series: Mapping[str, Any], index: int) -> str:
    given = series.get("colour") or series.get("color")
    if isinstance(given, str) and re.fullmatch(r"#[0-9a-fA-F]{3,8}", given):
        return given
    return colour(index, str(series.get("label", "")))
