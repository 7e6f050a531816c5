"""Numbers on charts as people read them: ``250 ms``, ``1.5 min``, ``0.00005``, ``12M``; never ``5e-05``.

Why a module of its own: a chart axis labelled "duration (s)" with ticks ``0``, ``5e-05``, ``0.0001``
makes the reader do the arithmetic. Here a quantity in a time unit (``ms``, ``s``, ``min``, ``h`` ...)
is shown in the unit that fits its size, the unit written on each tick and tooltip; any other
number is written in plain decimals (small ones too) or with an SI suffix (large ones). The
frame (`reports.chartframe`) formats every tick, tooltip and total through here.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

#: Time units a chart spec may name, and their size in seconds.
TIME_UNITS = {"us": 1e-6, "\u00b5s": 1e-6, "ms": 1e-3, "s": 1.0, "sec": 1.0, "second": 1.0, "seconds": 1.0,
              "min": 60.0, "minute": 60.0, "minutes": 60.0, "h": 3600.0, "hour": 3600.0, "hours": 3600.0,
              "d": 86400.0, "day": 86400.0, "days": 86400.0}
#: The units a duration is shown in, largest first.
DISPLAY_UNITS = (("d", 86400.0), ("h", 3600.0), ("min", 60.0), ("s", 1.0), ("ms", 1e-3), ("\u00b5s", 1e-6))
#: Round steps of a duration axis longer than two minutes, seconds (whole minutes, hours, days).
DURATION_STEPS = (60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0, 10800.0, 21600.0, 43200.0, 86400.0,
                  172800.0, 604800.0, 2592000.0)
#: Large plain numbers: (from this magnitude, divided by, suffix); below 10 million, digits with commas.
_SI = ((1e15, 1e15, "P"), (1e12, 1e12, "T"), (1e9, 1e9, "G"), (1e7, 1e6, "M"))


def is_time_unit(unit: str | None) -> bool:
    """True when *unit* names a time unit (so values in it are durations)."""
    return bool(unit) and str(unit).strip().lower().replace("\u03bc", "\u00b5") in TIME_UNITS


def seconds_per(unit: str) -> float:
    """The size of time unit *unit* in seconds."""
    return TIME_UNITS[unit.strip().lower().replace("\u03bc", "\u00b5")]


def plain(value: float, max_decimals: int = 6) -> str:
    """*value* in plain decimals, at most *max_decimals*, trailing zeros dropped: ``0.00005``, ``2.5``, ``3``."""
    if not math.isfinite(value):
        return "-"
    text = f"{value:,.{max_decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _decimals_for(magnitude: float, significant: int) -> int:
    """Decimals that show *significant* digits of a number of *magnitude* (at most 15)."""
    if magnitude <= 0 or not math.isfinite(magnitude):
        return 0
    return max(0, min(15, significant - 1 - math.floor(math.log10(magnitude))))


def number(value: float | None, significant: int = 3) -> str:
    """A compact number for text: ``1,234``, ``12.3``, ``0.0123``, ``0.00005``, ``12M``, ``1.5G``."""
    if value is None or not math.isfinite(value):
        return "-"
    if value == 0:
        return "0"
    magnitude = abs(value)
    for threshold, size, suffix in _SI:
        if magnitude >= threshold:
            return plain(value / size, _decimals_for(magnitude / size, significant)) + suffix
    if float(value).is_integer():
        return f"{int(value):,}"
    if magnitude >= 100:
        return f"{value:,.0f}"
    return plain(value, _decimals_for(magnitude, significant))


def display_unit(seconds: float) -> tuple[str, float]:
    """The unit a duration of *seconds* (magnitude) reads best in: ``("ms", 0.001)`` for 0.25."""
    magnitude = abs(seconds)
    for name, size in DISPLAY_UNITS:
        if magnitude >= size:
            return name, size
    return DISPLAY_UNITS[-1]


def duration(seconds: float | None, unit: tuple[str, float] | None = None, significant: int = 3) -> str:
    """*seconds* as ``250 ms``, ``4.2 s``, ``1.5 min``, ``2 h`` (in *unit* when given)."""
    if seconds is None or not math.isfinite(seconds):
        return "-"
    if seconds == 0 and unit is None:
        return "0 s"
    name, size = unit or display_unit(seconds)
    scaled = seconds / size
    if scaled == 0:
        return f"0 {name}"
    return f"{plain(scaled, _decimals_for(abs(scaled), significant))} {name}"


def quantity(value: float | None, unit: str | None) -> str:
    """*value* with *unit* for a tooltip or a total: a duration in its best unit, else ``number unit``."""
    if value is None or not math.isfinite(value):
        return "-"
    if is_time_unit(unit):
        return duration(value * seconds_per(str(unit)))
    return f"{number(value)} {unit}".strip() if unit else number(value)


def duration_ticks(lo_s: float, hi_s: float, count: int, nice: Sequence[float]) -> list[float]:
    """Tick values (seconds) for a duration axis over [lo_s, hi_s]: *nice* (1-2-5 steps) below two
    minutes, whole minutes, hours or days above."""
    span = hi_s - lo_s
    if span <= 120 or not (math.isfinite(lo_s) and math.isfinite(hi_s)):
        return list(nice)
    step = next((s for s in DURATION_STEPS if span / s <= count), DURATION_STEPS[-1])
    first = math.floor(lo_s / step) * step
    ticks: list[float] = []
    value = first
    while value < hi_s + step * 0.999 and len(ticks) <= 60:
        ticks.append(value)
        value += step
    return ticks


def tick_labels(ticks: Sequence[float], unit: str | None) -> list[str]:
    """The labels of axis *ticks* whose values are in *unit*: durations share the unit that fits the
    largest tick (``0 ms``, ``250 ms``, ``500 ms``; ``0 min``, ``1.5 min``); other numbers are plain."""
    if is_time_unit(unit):
        size = seconds_per(str(unit))
        largest = max((abs(t) * size for t in ticks), default=0.0)
        shared = display_unit(largest) if largest > 0 else ("s", 1.0)
        return [duration(t * size, shared, significant=4) for t in ticks]
    step = min((abs(b - a) for a, b in itertools.pairwise(ticks) if b != a), default=1.0)
    largest = max((abs(t) for t in ticks), default=0.0)
    if largest >= 1e7:
        return [number(t) for t in ticks]
    decimals = _decimals_for(step, 2)
    return [plain(t, decimals) for t in ticks]
