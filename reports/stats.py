"""Small, exact statistics for the reports: percentiles, outcome groups, time bins, labels.

Percentiles use the *nearest-rank* definition (the value at rank ``ceil(p/100 * n)`` of the
sorted values): every figure is a value that was actually observed, and tests can state it
exactly.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from actors.jobs import Outcome

#: Every outcome, in display order (success first, then the failures, then the others).
OUTCOMES: tuple[str, ...] = tuple(str(o) for o in Outcome)
#: Outcomes counted as failures (everything but success).
FAILURES: tuple[str, ...] = tuple(o for o in OUTCOMES if o != "success")
#: Percentiles the reports show.
PERCENTILES = (50, 90, 99)


def percentile(ordered: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile *p* (0-100] of *ordered* (sorted ascending); None when empty."""
    if not ordered:
        return None
    rank = max(1, math.ceil(p / 100.0 * len(ordered)))
    return float(ordered[min(rank, len(ordered)) - 1])


def summary(values: Iterable[float]) -> dict[str, Any]:
    """``{n, p50, p90, p99, max, mean}`` of *values* (None figures when there are none)."""
    ordered = sorted(values)
    out: dict[str, Any] = {"n": len(ordered)}
    for p in PERCENTILES:
        out[f"p{p}"] = percentile(ordered, p)
    out["max"] = float(ordered[-1]) if ordered else None
    out["mean"] = math.fsum(ordered) / len(ordered) if ordered else None
    return out


def outcome_counts(counts: dict[str, int]) -> dict[str, int]:
    """*counts* with every known outcome present (0 when absent), known ones first."""
    out = {o: int(counts.get(o, 0)) for o in OUTCOMES}
    for key in sorted(k for k in counts if k not in out):
        out[key] = int(counts[key])
    return out


def bin_width(window_s: float, max_bins: int = 120) -> float:
    """A round bin width (1, 5, 15, 30 min, 1, 3, 6 h, 1 d) giving at most *max_bins* bins."""
    for width in (60.0, 300.0, 900.0, 1800.0, 3600.0, 10800.0, 21600.0, 86400.0):
        if window_s / width <= max_bins:
            return width
    return math.ceil(window_s / max_bins / 86400.0) * 86400.0


def duration_label(seconds: float) -> str:
    """``10 min``, ``1 h``, ``24 h``, ``2 d``, ``90 s``."""
    s = float(seconds)
    for unit, size in (("d", 86400.0), ("h", 3600.0), ("min", 60.0)):
        if s >= size and (s / size).is_integer() and not (unit == "d" and s < 172800.0):
            return f"{int(s / size)} {unit}"
    return f"{s:g} s"


def utc(epoch: float | None) -> str:
    """``2026-11-23 04:30:01Z``; '-' for None."""
    if epoch is None:
        return "-"
    try:
        return datetime.fromtimestamp(float(epoch), UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    except (OverflowError, OSError, ValueError):
        return str(epoch)


def number(value: Any) -> float | None:
    """*value* as a finite float, or None (booleans, text, NaN and infinities are not numbers)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def thin(points: Sequence[Any], limit: int) -> list[Any]:
    """At most *limit* of *points*, evenly spaced, the first and the last kept."""
    n = len(points)
    if n <= limit or limit < 2:
        return list(points[:limit] if limit < 2 else points)
    step = (n - 1) / (limit - 1)
    return [points[round(i * step)] for i in range(limit)]


def seconds_text(value: Any) -> str:
    """A duration for a table cell: ``0.8 ms``, ``12.3 ms``, ``1.25 s``, ``3m 5s``, ``2h 10m``; '-' for None."""
    seconds = number(value)
    if seconds is None:
        return "-"
    magnitude = abs(seconds)
    if magnitude < 1.0:
        return f"{seconds * 1000.0:.3g} ms" if magnitude < 0.01 else f"{seconds * 1000.0:.1f} ms"
    if magnitude < 60.0:
        return f"{seconds:.2f} s"
    sign = "-" if seconds < 0 else ""
    minutes, sec = divmod(int(magnitude), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{sign}{days}d {hours}h"
    if hours:
        return f"{sign}{hours}h {minutes}m"
    return f"{sign}{minutes}m {sec}s"
