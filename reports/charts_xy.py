"""Cartesian charts of `reports.charts`: lines (time series), bars and histograms, the outcome timeline."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from markupsafe import Markup

from reports.chartframe import (  # the frame, axes, colours and helpers the renderers share
    GRID,
    INK,
    MARGIN,
    MUTED,
    Plot,
    Svg,
    axis_label,
    axis_unit,
    clip,
    esc,
    fmt_in,
    num,
    series_colour,
    series_of,
    time_axis_label,
    time_ticks,
    utc,
)


# ----------------------------------------------------------------------------- line
def line(spec: Mapping[str, Any], chart_id: str | None) -> Markup:
    svg = Svg(spec, chart_id)
    xaxis = spec.get("xaxis") or {}
    x_time = xaxis.get("format") == "time"
    lines: list[tuple[str, str, list[tuple[float, float | None]]]] = []
    for index, series in enumerate(series_of(spec)):
        points: list[tuple[float, float | None]] = []
        if "x" in series:
            for xv, yv in zip(series.get("x") or [], series.get("y") or [], strict=False):
                xn = num(xv)
                if xn is not None:
                    points.append((xn, num(yv)))
        else:
            start, width = num(xaxis.get("min")) or 0.0, num(xaxis.get("width")) or 1.0
            points = [(start + (i + 0.5) * width, num(v)) for i, v in enumerate(series.get("values") or [])]
        points.sort(key=lambda p: p[0])
        lines.append((str(series.get("label", f"series {index + 1}")), series_colour(series, index), points))
    xs = [p[0] for _, _, pts in lines for p in pts]
    ys = [p[1] for _, _, pts in lines for p in pts if p[1] is not None]
    x_lo = num(xaxis.get("min")) if xaxis.get("min") is not None else (min(xs) if xs else 0.0)
    x_hi = num(xaxis.get("max")) if xaxis.get("max") is not None else (max(xs) if xs else 1.0)
    x_lo = 0.0 if x_lo is None else x_lo
    x_hi = x_lo + 1.0 if x_hi is None or x_hi <= x_lo else x_hi
    y_lo = min(0.0, *ys) if ys else 0.0
    y_hi = max(ys) if ys else 1.0
    x_label = axis_label(xaxis, "time" if x_time else "x")
    if x_time:
        x_label = time_axis_label(x_label, x_lo, x_hi)
    plot = Plot(svg, [(label, fill) for label, fill, _ in lines] if spec.get("legend", True) else [],
                 x_lo=x_lo, x_hi=x_hi, y_lo=y_lo, y_hi=y_hi if y_hi > y_lo else y_lo + 1.0, x_label=x_label,
                 y_label=axis_label(spec.get("yaxis"), "value"), x_time=x_time, y_unit=axis_unit(spec.get("yaxis")),
                 x_unit="" if x_time else axis_unit(xaxis))
    if not ys:
        svg.no_data((plot.left + plot.right) / 2, (plot.top + plot.bottom) / 2)
    y_unit = axis_unit(spec.get("yaxis"))
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
                where = utc(xv, "%Y-%m-%d %H:%M:%SZ") if x_time else fmt_in(xv, axis_unit(xaxis))
                group.append(f'<circle cx="{plot.x(xv):.1f}" cy="{plot.y(yv):.1f}" r="3" fill="{fill}">'
                             f'<title>{esc(label)}: {esc(fmt_in(yv, y_unit))} at {esc(where)}</title></circle>')
        group.append("</g>")
        svg.add("".join(group))
    return svg.done()


# ----------------------------------------------------------------------------- bars / histogram
def bars(spec: Mapping[str, Any], chart_id: str | None) -> Markup:
    svg = Svg(spec, chart_id)
    xaxis = spec.get("xaxis") or {}
    series = series_of(spec)
    x_time = xaxis.get("format") == "time"
    categories = [str(c) for c in (spec.get("categories") or [])]
    n = max([len(categories)] + [len(s.get("values") or []) for s in series])
    stacked = bool(spec.get("stacked", True)) or len(series) == 1
    values = [[(num(v) or 0.0) for v in (s.get("values") or [])] + [0.0] * n for s in series]
    values = [row[:n] for row in values]
    totals = [sum(row[i] for row in values) for i in range(n)] if stacked else \
        [max((row[i] for row in values), default=0.0) for i in range(n)]
    y_hi = max(totals, default=0.0)
    numeric = "min" in xaxis and "width" in xaxis and not categories
    start = num(xaxis.get("min")) or 0.0
    width = num(xaxis.get("width")) or 1.0
    x_label = axis_label(xaxis, "time" if x_time else "category")
    if numeric:
        x_lo, x_hi = start, start + max(n, 1) * width
        if x_time:
            x_label = time_axis_label(x_label, x_lo, x_hi)
    else:
        x_lo, x_hi = 0.0, float(max(n, 1))
    legend = [(str(s.get("label", f"series {i + 1}")), series_colour(s, i)) for i, s in enumerate(series)]
    plot = Plot(svg, legend if spec.get("legend", True) else [], x_lo=x_lo, x_hi=x_hi, y_lo=0.0,
                 y_hi=y_hi if y_hi > 0 else 1.0, x_label=x_label, y_label=axis_label(spec.get("yaxis"), "count"),
                 x_time=x_time and numeric, y_unit=axis_unit(spec.get("yaxis")),
                 x_unit="" if x_time or not numeric else axis_unit(xaxis),
                 categories=None if numeric else (categories + [str(i + 1) for i in range(len(categories), n)]))
    if y_hi <= 0:
        svg.no_data((plot.left + plot.right) / 2, (plot.top + plot.bottom) / 2)
    slot = (plot.right - plot.left) / max(n, 1)
    gap = 0.12 if spec.get("kind") != "histogram" else 0.02
    y_unit, x_unit = axis_unit(spec.get("yaxis")), axis_unit(xaxis)
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
                where = f"{utc(start + i * width, '%H:%M')}\u2013{utc(start + (i + 1) * width, '%H:%M')} UTC"
            elif numeric:
                where = f"{fmt_in(start + i * width, x_unit)}\u2013{fmt_in(start + (i + 1) * width, x_unit)}"
            else:
                where = categories[i] if i < len(categories) else str(i)
            group.append(f'<rect x="{x0:.1f}" y="{y_top:.1f}" width="{max(bar_w, 0.5):.1f}" '
                         f'height="{max(y_base - y_top, 0.5):.1f}" fill="{fill}"><title>{esc(label)}, {esc(where)}: '
                         f'{esc(fmt_in(value, y_unit))}</title></rect>')
        group.append("</g>")
        svg.add("".join(group))
    return svg.done()


# ----------------------------------------------------------------------------- timeline
def timeline(spec: Mapping[str, Any], chart_id: str | None) -> Markup:
    series = series_of(spec)
    lanes = [str(s.get("label", "")) for s in series]
    height = max(200, 130 + 34 * len(lanes))
    svg = Svg(spec, chart_id, height=height)
    xaxis = spec.get("xaxis") or {}
    times = [t for s in series for t in (num(v) for v in (s.get("x") or [])) if t is not None]
    x_lo = num(xaxis.get("min")) if xaxis.get("min") is not None else (min(times) if times else 0.0)
    x_hi = num(xaxis.get("max")) if xaxis.get("max") is not None else (max(times) if times else 1.0)
    x_lo = 0.0 if x_lo is None else x_lo
    x_hi = x_lo + 1.0 if x_hi is None or x_hi <= x_lo else x_hi
    legend = [(label, series_colour(s, i)) for i, (label, s) in enumerate(zip(lanes, series, strict=True))]
    top = svg.legend(legend, MARGIN["left"] + 60, 46, svg.width - MARGIN["right"]) + 12
    left, right, bottom = MARGIN["left"] + 60, svg.width - MARGIN["right"], height - MARGIN["bottom"]
    lane_h = (bottom - top) / max(len(lanes), 1)

    def x_of(t: float) -> float:
        return left + (t - x_lo) / (x_hi - x_lo) * (right - left)

    ticks, form = time_ticks(x_lo, x_hi)
    axis = ['<g class="x-axis" data-role="x-axis">']
    for tick in ticks:
        x = x_of(tick)
        axis.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{bottom + 5}" stroke="{GRID}"/>'
                    f'<text x="{x:.1f}" y="{bottom + 18}" font-size="11" text-anchor="middle" '
                    f'fill="{MUTED}">{esc(utc(tick, form))}</text>')
    axis.append(f'<line x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="{MUTED}"/></g>')
    svg.add("".join(axis))
    svg.text((left + right) / 2, height - 14, time_axis_label(axis_label(xaxis, "time"), x_lo, x_hi), size=12.5,
             anchor="middle", extra=' data-role="x-label"')
    svg.text(18, (top + bottom) / 2, axis_label(spec.get("yaxis"), "outcome"), size=12.5, anchor="middle",
             rotate=-90, extra=' data-role="y-label"')
    if not times:
        svg.no_data((left + right) / 2, (top + bottom) / 2)
    for index, (label, fill) in enumerate(legend):
        y = top + lane_h * (index + 0.5)
        group = [f'<g class="series" data-series="{esc(label)}"><text x="{left - 8}" y="{y + 4:.1f}" font-size="12" '
                 f'text-anchor="end" fill="{INK}">{esc(clip(label, 12, left - 16))}</text>'
                 f'<line x1="{left}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}" stroke="{GRID}"/>']
        marks = [t for t in (num(v) for v in (series[index].get("x") or [])) if t is not None]
        notes = series[index].get("notes") or []
        for position, t in enumerate(marks[:2000]):
            note = notes[position] if position < len(notes) else ""
            group.append(f'<rect x="{x_of(t) - 1.5:.1f}" y="{y - 9:.1f}" width="3" height="18" fill="{fill}">'
                         f'<title>{esc(label)} at {esc(utc(t, "%Y-%m-%d %H:%M:%SZ"))}'
                         f'{esc(" - " + str(note)) if note else ""}</title></rect>')
        group.append("</g>")
        svg.add("".join(group))
    return svg.done()


