"""Radial charts of `reports.charts`: the pie and the hierarchical "baobab" sunburst."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from markupsafe import Markup

from reports.chartframe import (  # the frame, axes, colours and helpers the renderers share
    GRID,
    INK,
    MUTED,
    OUTCOME_COLOURS,
    PALETTE,
    WIDTH,
    Svg,
    clip,
    colour,
    esc,
    fmt_in,
    num,
    series_colour,
    series_of,
)


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


def pie(spec: Mapping[str, Any], chart_id: str | None) -> Markup:
    svg = Svg(spec, chart_id)
    slices = [(str(s.get("label", "")), num(s.get("value")) or 0.0, series_colour(s, i))
              for i, s in enumerate(series_of(spec))]
    slices = [s for s in slices if s[1] > 0]
    total = math.fsum(v for _, v, _ in slices)
    cx, cy, radius = 250.0, 200.0, 140.0
    unit = str(spec.get("unit") or "")
    legend_x = 480.0
    svg.text(legend_x, 62, f"total: {fmt_in(total, unit)}", size=13, weight="600",
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
                     f'<title>{esc(label)}: {esc(fmt_in(value, unit))} ({pct:.1f}%)</title></path>')
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
                    f'fill="{INK}">{esc(clip(label, 13, 300))}</text><text x="{WIDTH - 30}" y="{y}" font-size="13" '
                    f'text-anchor="end" fill="{MUTED}">{esc(fmt_in(value, unit))} ({pct:.1f}%)</text></g>')
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
    given = num(node.get("value"))
    children = node.get("children") or []
    if given is not None:
        return max(given, 0.0)
    return math.fsum(_node_value(c) for c in children if isinstance(c, Mapping))


def _depth(node: Mapping[str, Any], limit: int = 6) -> int:
    children = [c for c in (node.get("children") or []) if isinstance(c, Mapping)]
    if not children or limit <= 0:
        return 0
    return 1 + max(_depth(c, limit - 1) for c in children)


def baobab(spec: Mapping[str, Any], chart_id: str | None) -> Markup:
    """A sunburst: the root in the middle, each level one ring, each node's angle its share."""
    height = 440
    svg = Svg(spec, chart_id, height=height)
    root = spec.get("data") if isinstance(spec.get("data"), Mapping) else {}
    assert isinstance(root, Mapping)
    total = _node_value(root)
    depth = min(_depth(root), 4)
    unit = str(spec.get("unit") or "")
    cx, cy, inner, outer = 250.0, 240.0, 58.0, 180.0
    central = str(spec.get("central_label") or fmt_in(total, unit))
    svg.add(f'<circle cx="{cx}" cy="{cy}" r="{inner - 2}" fill="#f3f5f8"/>')
    svg.text(cx, cy + 5, clip(central, 13, 2 * inner - 10), size=13, anchor="middle", weight="600",
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
                        f'<title>{esc(trail)}: {esc(fmt_in(child_value, unit))} ({pct:.1f}%)</title></path>')
            arc_len = child_sweep * (r0 + r1) / 2
            if arc_len > 46 and ring > 16:
                middle = a + child_sweep / 2
                rm = (r0 + r1) / 2
                tx, ty = cx + rm * math.sin(middle), cy - rm * math.cos(middle) + 4
                arcs.append(f'<text x="{tx:.1f}" y="{ty:.1f}" font-size="11" text-anchor="middle" fill="{INK}">'
                            f'{esc(clip(label, 11, min(arc_len, 2.2 * ring) - 6))}</text>')
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
            f'{esc(clip(label, size, WIDTH - 30 - x - 150))}</text><text x="{WIDTH - 30}" y="{y}" font-size="{size}" '
            f'text-anchor="end" fill="{MUTED}">{esc(value.strip())}</text></g>')


def _baobab_legend(svg: Svg, spec: Mapping[str, Any], top_level: Sequence[Mapping[str, Any]],
                   total: float) -> str:
    unit = str(spec.get("unit") or "")
    height = svg.height
    rows = ['<g class="legend" data-role="legend">']
    legend_x, y = 480.0, 70.0
    svg.text(legend_x, 50, f"total: {fmt_in(total, unit)}", size=13, weight="600", extra=' data-role="total"')
    room = int((height - 40 - y) // 20)
    shown = 0
    for index, child in enumerate(top_level):
        if room <= 0:
            break
        label = str(child.get("label", ""))
        value = _node_value(child)
        fill = colour(index, label)
        rows.append(_legend_row(legend_x, y, label, f"{fmt_in(value, unit)} ({100.0 * value / total:.1f}%)", fill,
                                bold=True))
        y, room, shown = y + 20, room - 1, shown + 1
        parts = sorted((c for c in (child.get("children") or []) if isinstance(c, Mapping)),
                       key=lambda c: -_node_value(c))
        # Children get the rows left over, at most 4 each while other top-level entries wait.
        waiting = len(top_level) - index - 1
        for part in parts[: max(0, min(4, room - waiting))]:
            part_value = _node_value(part)
            rows.append(_legend_row(legend_x + 18, y, str(part.get("label", "")),
                                    f"{fmt_in(part_value, unit)} ({100.0 * part_value / total:.1f}%)",
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


