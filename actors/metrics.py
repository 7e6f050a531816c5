"""Run counters and histograms for ``/metrics`` (Prometheus) and the overview page.

Pure and small: the Scheduler updates one `RunMetrics` as runs finish (it is the only
writer); readers take a `snapshot`. Histograms use fixed bucket bounds, cumulative in
the Prometheus way.
"""

from __future__ import annotations

import bisect
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

#: Bucket upper bounds, seconds.
DURATION_BUCKETS_S = (0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 60.0, 300.0, 1800.0, 3600.0)
LATENESS_BUCKETS_S = (0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 30.0, 60.0, 300.0)


@dataclass(slots=True)
class Histogram:
    """Counts per bucket (the last one is +Inf), sum and count."""

    bounds: tuple[float, ...]
    counts: list[int] = field(default_factory=list)
    total: float = 0.0
    count: int = 0

    def __post_init__(self) -> None:
        if not self.counts:
            self.counts = [0] * (len(self.bounds) + 1)

    def observe(self, value: float) -> None:
        """Add one observation."""
        self.counts[bisect.bisect_left(self.bounds, value)] += 1
        self.total += value
        self.count += 1

    def snapshot(self) -> dict[str, Any]:
        """Cumulative buckets ``[[le, count], ...]`` with ``+Inf`` last, plus sum and count."""
        running, buckets = 0, []
        for bound, n in zip((*self.bounds, float("inf")), self.counts, strict=True):
            running += n
            buckets.append(["+Inf" if bound == float("inf") else bound, running])
        return {"buckets": buckets, "sum": self.total, "count": self.count}


@dataclass(slots=True)
class RunMetrics:
    """Runs by outcome, run duration and lateness (actual start minus due time)."""

    outcomes: Counter[str] = field(default_factory=Counter)
    duration: Histogram = field(default_factory=lambda: Histogram(DURATION_BUCKETS_S))
    lateness: Histogram = field(default_factory=lambda: Histogram(LATENESS_BUCKETS_S))

    def observe(self, outcome: str, duration_s: float, lateness_s: float | None) -> None:
        """Record one finished run."""
        self.outcomes[outcome] += 1
        self.duration.observe(max(0.0, duration_s))
        if lateness_s is not None:
            self.lateness.observe(max(0.0, lateness_s))

    def count_missed(self, count: int) -> None:
        """Record *count* slots missed (they never ran: no duration, no lateness)."""
        self.outcomes["missed"] += count

    def snapshot(self) -> dict[str, Any]:
        """A JSON-safe copy."""
        return {"outcomes": dict(self.outcomes), "duration_s": self.duration.snapshot(),
                "lateness_s": self.lateness.snapshot()}
