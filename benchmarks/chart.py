"""A small, dependency-free SVG writer for the lateness distributions (CDF, log-scale x axis)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path

from benchmarks.common import percentile


@dataclass(frozen=True)
class Series:
    """One curve: a label, its samples (ms), a colour and an optional SVG dash pattern."""

    label: str
    values_ms: Sequence[float]
    color: str
    dash: str = ""
    missed: int | None = None


@dataclass(frozen=True)
class Marker:
    """A vertical reference line (e.g. a target) at *x_ms*."""

    x_ms: float
    label: str
    color: str = "#555"


WIDTH = 860
LEFT, RIGHT = 78, 24
PANEL_H, PANEL_GAP, HEADER_H, AXIS_H, LEGEND_ROW = 300, 80, 58, 46, 18
#: The tail panel's y axis: share of runs later than x, from 100 % down to 0.01 %.
TAIL_DECADES = 4


def lateness_cdf_svg(series: Sequence[Series], *, title: str, subtitle: str = "",
                     markers: Sequence[Marker] = ()) -> str:
    """The SVG text: two panels sharing a log-scale lateness axis (ms): the CDF (share of runs started
    within x, linear %) and its tail (share of runs later than x, log %), where p99 and max are read."""
    present = [s for s in series if s.values_ms]
    lows = [max(min(s.values_ms), 1e-3) for s in present]
    highs = [max(s.values_ms) for s in present] + [m.x_ms for m in markers]
    lo_exp = math.floor(math.log10(min(lows))) if lows else -1
    lo_exp = max(lo_exp, -3)
    hi_exp = math.ceil(math.log10(max(*highs, 10 ** (lo_exp + 1)))) if highs else 3
    if hi_exp <= lo_exp:
        hi_exp = lo_exp + 1
    plot_w = WIDTH - LEFT - RIGHT
    top1 = HEADER_H
    top2 = top1 + PANEL_H + PANEL_GAP
    legend_top = top2 + PANEL_H + AXIS_H + 18
    height = legend_top + LEGEND_ROW * len(series) + 12

    def x_of(ms: float) -> float:
        v = math.log10(max(ms, 10.0**lo_exp))
        return LEFT + (v - lo_exp) / (hi_exp - lo_exp) * plot_w

    def y_cdf(share: float) -> float:
        return top1 + (1.0 - share) * PANEL_H

    def y_tail(share: float) -> float:  # share in (0, 1]; clamped at 10^-TAIL_DECADES
        v = math.log10(max(share, 10.0**-TAIL_DECADES))
        return top2 + (-v / TAIL_DECADES) * PANEL_H

    out: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="12">',
        f'<rect width="{WIDTH}" height="{height}" fill="white"/>',
        f'<text x="{WIDTH / 2}" y="22" text-anchor="middle" font-size="16" font-weight="bold">{escape(title)}</text>',
    ]
    if subtitle:
        out.append(f'<text x="{WIDTH / 2}" y="42" text-anchor="middle" fill="#444">{escape(subtitle)}</text>')
    for top in (top1, top2):
        out.extend(_x_axis(top, plot_w, lo_exp, hi_exp, x_of))
        for i, m in enumerate(markers):
            x = x_of(m.x_ms)
            out.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + PANEL_H}" stroke="{m.color}" '
                       'stroke-dasharray="2 4" stroke-width="1.5"/>')
            out.append(f'<text x="{x + 4:.1f}" y="{top + 14 + 14 * i}" fill="{m.color}">{escape(m.label)}</text>')
    for pct in range(0, 101, 10):
        y = y_cdf(pct / 100)
        out.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{LEFT + plot_w}" y2="{y:.1f}" stroke="#eee"/>')
        out.append(f'<text x="{LEFT - 8}" y="{y + 4:.1f}" text-anchor="end">{pct}</text>')
    for d in range(TAIL_DECADES + 1):
        share = 10.0**-d
        y = y_tail(share)
        out.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{LEFT + plot_w}" y2="{y:.1f}" stroke="#eee"/>')
        out.append(f'<text x="{LEFT - 8}" y="{y + 4:.1f}" text-anchor="end">{100 * share:g}</text>')
    for top, label in ((top1, "runs started within that lateness (%)"),
                       (top2, "runs later than that (%, log scale)")):
        out.append(f'<rect x="{LEFT}" y="{top}" width="{plot_w}" height="{PANEL_H}" fill="none" stroke="#333"/>')
        out.append(f'<text transform="translate(20 {top + PANEL_H / 2}) rotate(-90)" text-anchor="middle">'
                   f'{escape(label)}</text>')
        out.append(f'<text x="{LEFT + plot_w / 2}" y="{top + PANEL_H + 38}" text-anchor="middle">'
                   'lateness = actual start \u2212 due time (ms, log scale)</text>')
    out.append(f'<text x="{LEFT + 6}" y="{top2 + PANEL_H - 8}" fill="#666">'
               'tail: where a curve crosses 1 % is its p99, where it ends its max</text>')
    for s in present:
        ordered = sorted(s.values_ms)
        n = len(ordered)
        dash = f' stroke-dasharray="{s.dash}"' if s.dash else ""
        step = max(1, n // 800)
        cdf = [(x_of(ordered[0]), y_cdf(0.0))]
        cdf += [(x_of(ordered[i]), y_cdf((i + 1) / n)) for i in range(0, n, step)]
        cdf.append((x_of(ordered[-1]), y_cdf(1.0)))
        # the tail in full resolution where it matters: every sample of the last 1 %, a subsample before
        tail_from = max(0, n - max(1, n // 100) - 1)
        idx = [*range(0, tail_from, step), *range(tail_from, n)]
        tail = [(x_of(ordered[i]), y_tail((n - i) / n)) for i in idx]
        for points in (cdf, tail):
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            out.append(f'<polyline points="{path}" fill="none" stroke="{s.color}" stroke-width="2"{dash}/>')
    y = legend_top
    for s in series:
        dash = f' stroke-dasharray="{s.dash}"' if s.dash else ""
        out.append(f'<line x1="{LEFT}" y1="{y - 4}" x2="{LEFT + 34}" y2="{y - 4}" stroke="{s.color}" '
                   f'stroke-width="2"{dash}/>')
        out.append(f'<text x="{LEFT + 42}" y="{y}">{escape(_legend(s))}</text>')
        y += LEGEND_ROW
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _x_axis(top: float, plot_w: float, lo_exp: int, hi_exp: int, x_of: Callable[[float], float]) -> list[str]:
    out: list[str] = []
    for exp in range(lo_exp, hi_exp + 1):
        x = x_of(10.0**exp)
        out.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + PANEL_H}" stroke="#ddd"/>')
        out.append(f'<text x="{x:.1f}" y="{top + PANEL_H + 18}" text-anchor="middle">{_tick(10.0**exp)}</text>')
        if exp < hi_exp:
            for minor in range(2, 10):
                xm = x_of(minor * 10.0**exp)
                out.append(f'<line x1="{xm:.1f}" y1="{top + PANEL_H}" x2="{xm:.1f}" y2="{top + PANEL_H + 4}" '
                           'stroke="#999"/>')
    return out


def write_lateness_svg(path: Path, series: Sequence[Series], *, title: str, subtitle: str = "",
                       markers: Sequence[Marker] = ()) -> Path:
    """Write `lateness_cdf_svg` to *path*; returns the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(lateness_cdf_svg(series, title=title, subtitle=subtitle, markers=markers), encoding="utf-8")
    return path


def _legend(s: Series) -> str:
    if not s.values_ms:
        return f"{s.label}: no data"
    ordered = sorted(s.values_ms)
    p50, p99 = percentile(ordered, 50), percentile(ordered, 99)
    missed = "" if s.missed is None else f", missed {s.missed:,}"
    return (f"{s.label}: p50 {_ms(p50)}, p99 {_ms(p99)}, max {_ms(ordered[-1])} "
            f"({len(ordered):,} runs{missed})")


def _ms(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.1f} ms" if value >= 10 else f"{value:.2f} ms"


def _tick(value: float) -> str:
    return f"{value:g}" if value >= 0.001 else f"{value:.0e}"
