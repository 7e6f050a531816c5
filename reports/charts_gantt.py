"""The Gantt chart of `reports.charts`: runs as bars on a time axis, one lane per job.

Why a renderer of its own: the outcome timeline (`reports.charts_xy.timeline`) marks instants
per outcome; an operator asking "what ran when, for how long, and how did it end" needs
intervals per job. Each bar spans a run's start to its end (or to now, for a run in
progress), is coloured by outcome, and is a link (``<a href>``, no script) to the run's page;
each lane's label links to the job. What the spec says was left out (lanes, bars) is written
under the chart, so a bounded chart never pretends to be complete.

Spec (see `reports.charts.gantt_spec`)::

    {"kind": "gantt", "title", "xaxis": {"min", "max", "label"}, "now": epoch | None,
     "lanes": [{"label", "href"?, "bars": [{"start", "end", "outcome", "href"?, "title"?}]}],
     "omitted": {"lanes": n, "bars": n, "note"?: text}}

Links are kept only when they are paths on this server (``/...`` or relative), never
``javascript:`` or another host.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

from reports.chartframe import GRID, INK, MUTED, OUTCOME_COLOURS, PALETTE, Svg, clip, esc, num, time_ticks, utc

#: Colours of bar states beyond the run outcomes.
EXTRA_COLOURS = {"running": "#2457c5", "missed": "#8e7cc3"}
#: Drawing geometry (user units; the SVG is 1000 wide).
LANE_H, BAR_H, LABEL_W, RIGHT = 24, 16, 170, 24
#: Narrowest bar drawn, user units (a 5 ms run is still visible and clickable).
MIN_BAR_W = 3.0
_SAFE_HREF = re.compile(r"(?:/(?![/\\])|[A-Za-z0-9_.~%-])[^\s\"'<>\\]*")


def outcome_colour(outcome: str) -> str:
    """The fill of a bar with *outcome* (outcomes share the colours of every other chart)."""
    return OUTCOME_COLOURS.get(outcome) or EXTRA_COLOURS.get(outcome) or PALETTE[-1]


def safe_href(value: Any) -> str | None:
    """*value* when it is a link on this server (an absolute path or a relative one), else None."""
    if not isinstance(value, str) or not value or len(value) > 2000 or ":" in value.split("?", 1)[0]:
        return None
    return value if _SAFE_HREF.fullmatch(value) else None


def _link(href: Any, inner: str, extra: str = "") -> str:
    target = safe_href(href)
    if target is None:
        return inner
    return f'<a href="{esc(target)}"{extra}>{inner}</a>'


@dataclass(frozen=True, slots=True)
class _Frame:
    """Where the lanes are drawn: the plot's edges (user units) and its time span."""

    left: float
    right: float
    top: float
    bottom: float
    x_lo: float
    x_hi: float

    def x(self, t: float) -> float:
        """The x of time *t*, clamped to the plot."""
        clamped = min(max(t, self.x_lo), self.x_hi)
        return self.left + (clamped - self.x_lo) / (self.x_hi - self.x_lo) * (self.right - self.left)


def gantt(spec: Mapping[str, Any], chart_id: str | None) -> Markup:
    """The SVG of a ``gantt`` *spec*."""
    lanes = [lane for lane in (spec.get("lanes") or []) if isinstance(lane, Mapping)]
    xaxis = spec.get("xaxis") or {}
    x_lo = num(xaxis.get("min")) or 0.0
    x_hi = num(xaxis.get("max")) or x_lo + 1.0
    outcomes = sorted({str(bar.get("outcome") or "") for lane in lanes for bar in (lane.get("bars") or [])
                       if isinstance(bar, Mapping)} - {""})
    svg = Svg(spec, chart_id)
    top = 56.0
    if outcomes:
        top = svg.legend([(o, outcome_colour(o)) for o in outcomes], LABEL_W, 46, svg.width - RIGHT) + 16
    svg.height = int(top + LANE_H * max(len(lanes), 1) + 64)  # the frame is drawn at done(): fits the lanes
    frame = _Frame(float(LABEL_W), float(svg.width - RIGHT), top, top + LANE_H * max(len(lanes), 1), x_lo,
                   x_hi if x_hi > x_lo else x_lo + 1.0)
    _axes(svg, frame, spec)
    if not lanes:
        svg.no_data((frame.left + frame.right) / 2, top + LANE_H / 2 + 4)
    for index, lane in enumerate(lanes):
        svg.add(_lane(frame, lane, top + LANE_H * index))
    note = str((spec.get("omitted") or {}).get("note") or "")
    if note:
        svg.text(frame.left, frame.bottom + 54, note, size=12, fill=MUTED, extra=' data-role="omitted"')
    return svg.done()


def _axes(svg: Svg, frame: _Frame, spec: Mapping[str, Any]) -> None:
    """The clock axis with its grid, the "now" line, and the axis titles."""
    top, bottom, left, right = frame.top, frame.bottom, frame.left, frame.right
    ticks, form = time_ticks(frame.x_lo, frame.x_hi, 8)
    axis = ['<g class="x-axis" data-role="x-axis">']
    for tick in ticks:
        x = frame.x(tick)
        axis.append(f'<line x1="{x:.1f}" y1="{top:.1f}" x2="{x:.1f}" y2="{bottom + 5:.1f}" stroke="{GRID}"/>'
                    f'<text x="{x:.1f}" y="{bottom + 18:.1f}" font-size="11" text-anchor="middle" fill="{MUTED}" '
                    f'data-role="x-tick">{esc(utc(tick, form))}</text>')
    axis.append(f'<line x1="{left}" y1="{bottom:.1f}" x2="{right}" y2="{bottom:.1f}" stroke="{MUTED}"/></g>')
    svg.add("".join(axis))
    now = num(spec.get("now"))
    if now is not None and frame.x_lo <= now <= frame.x_hi:
        x = frame.x(now)
        svg.add(f'<g data-role="now"><line x1="{x:.1f}" y1="{top - 4:.1f}" x2="{x:.1f}" y2="{bottom:.1f}" '
                f'stroke="{INK}" stroke-dasharray="3 3"/><text x="{x - 3:.1f}" y="{top - 7:.1f}" font-size="11" '
                f'text-anchor="end" fill="{INK}">now {esc(utc(now, "%H:%M:%S"))}</text></g>')
    label = str((spec.get("xaxis") or {}).get("label") or "time")
    span = f"{utc(frame.x_lo, '%Y-%m-%d %H:%M')} \u2192 {utc(frame.x_hi, '%H:%M')}"
    svg.text((left + right) / 2, bottom + 38, f"{label} (UTC, {span})", size=12.5, anchor="middle",
             extra=' data-role="x-label"')
    svg.text(16, (top + bottom) / 2, str((spec.get("yaxis") or {}).get("label") or "job"), size=12.5,
             anchor="middle", rotate=-90, extra=' data-role="y-label"')


def _lane(frame: _Frame, lane: Mapping[str, Any], y: float) -> str:
    """One job's lane from height *y*: its label (a link to the job) and its bars (links to the runs)."""
    name = str(lane.get("label") or "")
    title = esc(name)
    text = (f'<text x="{frame.left - 8}" y="{y + LANE_H / 2 + 4:.1f}" font-size="12" text-anchor="end" '
            f'fill="{INK}"><title>{title}</title>{esc(clip(name, 12, frame.left - 40))}</text>')
    group = [f'<g class="lane" data-role="lane" data-lane="{title}">',
             f'<line x1="{frame.left}" y1="{y + LANE_H:.1f}" x2="{frame.right}" y2="{y + LANE_H:.1f}" '
             f'stroke="{GRID}"/>', _link(lane.get("href"), text, ' data-role="lane-link"')]
    for bar in lane.get("bars") or []:
        if not isinstance(bar, Mapping):
            continue
        start, end = num(bar.get("start")), num(bar.get("end"))
        if start is None:
            continue
        end = start if end is None or end < start else end
        if end < frame.x_lo or start > frame.x_hi:
            continue
        x0, x1 = frame.x(start), frame.x(end)
        width = max(x1 - x0, MIN_BAR_W)
        x0 = min(x0, frame.right - width)
        outcome = str(bar.get("outcome") or "")
        tip = str(bar.get("title") or f"{name}: {outcome}")
        rect = (f'<rect x="{x0:.1f}" y="{y + (LANE_H - BAR_H) / 2:.1f}" width="{width:.1f}" height="{BAR_H}" '
                f'rx="2" fill="{outcome_colour(outcome)}" data-role="bar" data-outcome="{esc(outcome)}">'
                f'<title>{esc(tip)}</title></rect>')
        group.append(_link(bar.get("href"), rect, ' data-role="bar-link"'))
    group.append("</g>")
    return "".join(group)
