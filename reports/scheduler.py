"""The Scheduler report: load and success rates over the last 10 min, 1 h, 6 h and 24 h.

DAS's SchedulerReport, with its figures kept (runs, successes, failures, busy time, load =
busy time / window, distinct jobs) and lateness percentiles and charts added. One pass over
the last 24 h of result documents (streamed, only the needed fields decoded) computes every
window at once; the 24 h report over 100,000 runs answers in well under a second on the
embedded store (``benchmarks/reports_bench.py``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from actors.store.base import Query
from reports import charts
from reports.base import Report
from reports.stats import OUTCOMES, bin_width, duration_label, outcome_counts, summary

#: The windows of the table: (key, seconds).
WINDOWS: tuple[tuple[str, float], ...] = (("10m", 600.0), ("1h", 3600.0), ("6h", 21600.0), ("24h", 86400.0))
#: Result fields the report reads.
FIELDS = ("outcome", "duration", "started_at", "due_at", "job_id", "classname", "name")


def _name(outcome: Any) -> str:
    return "unknown" if outcome is None else str(outcome)


def _named(counts: dict[Any, int]) -> dict[str, int]:
    named: dict[str, int] = {}
    for outcome, count in counts.items():
        named[_name(outcome)] = named.get(_name(outcome), 0) + count
    return named


class _Tally:
    """Every window's sums from one pass over the runs, plus the chosen window's bins and breakdown."""

    def __init__(self, now: float, chosen: int) -> None:
        self.lows = [now - w for _, w in WINDOWS]
        self.counts: list[dict[str, int]] = [{} for _ in WINDOWS]
        self.busy = [0.0] * len(WINDOWS)
        self.late: list[list[float]] = [[] for _ in WINDOWS]
        self.jobs: list[set[str]] = [set() for _ in WINDOWS]
        self.chosen = chosen
        self.width = bin_width(WINDOWS[chosen][1])
        self.n_bins = round(WINDOWS[chosen][1] / self.width)
        self.bins: dict[str, list[int]] = {}
        self.breakdown: dict[Any, dict[Any, float]] = {}  # classname -> job name -> busy seconds

    def add_all(self, rows: Iterable[tuple[Any, ...]]) -> None:
        """Fold every run into the windows that hold it: the hot loop of the report, over
        ``(seq, time, type, *FIELDS)`` rows (`ReportContext.rows`)."""
        lows, counts, busy, late, jobs = self.lows, self.counts, self.busy, self.late, self.jobs
        n_windows, chosen, bins, breakdown = len(lows), self.chosen, self.bins, self.breakdown
        chosen_low, width, last_bin = lows[chosen], self.width, self.n_bins - 1
        oldest = lows[-1]
        number = (int, float)
        for _seq, t, _type, outcome, stored_duration, start, due, job_id, classname, name in rows:
            if t < oldest:  # defensive: the query bounds the window already
                continue
            duration = stored_duration if stored_duration.__class__ in number and stored_duration > 0 else 0.0
            if start.__class__ in number and due.__class__ in number:
                lateness = start - due
                has_lateness = True
            else:
                has_lateness = False
            # The windows are nested: a run is in every window from the first that holds it.
            first = 0
            while t < lows[first]:
                first += 1
            for k in range(first, n_windows):
                bucket = counts[k]
                bucket[outcome] = bucket.get(outcome, 0) + 1
                inside = t - lows[k]  # the part of the run inside the window
                busy[k] += duration if duration < inside else inside
                if has_lateness:
                    late[k].append(lateness)
                jobs[k].add(job_id)
            if first > chosen:
                continue
            row = bins.get(outcome)
            if row is None:
                row = bins[outcome] = [0] * (last_bin + 1)
            index = int((t - chosen_low) // width)
            row[index if 0 <= index <= last_bin else (0 if index < 0 else last_bin)] += 1
            inside = t - chosen_low
            per_class = breakdown.get(classname)
            if per_class is None:
                per_class = breakdown[classname] = {}
            per_class[name] = per_class.get(name, 0.0) + (duration if duration < inside else inside)

    def rows(self, now: float) -> list[dict[str, Any]]:
        """One row per window: the table of the report."""
        rows = []
        for k, (key, w) in enumerate(WINDOWS):
            by_outcome = outcome_counts(_named(self.counts[k]))
            runs = sum(by_outcome.values()) - by_outcome.get("missed", 0)  # a missed slot never ran
            rows.append({
                "key": key, "label": duration_label(w), "seconds": w, "since": now - w, "runs": runs,
                "successes": by_outcome.get("success", 0), "failures": runs - by_outcome.get("success", 0),
                "by_outcome": by_outcome, "busy_s": self.busy[k], "load": self.busy[k] / w,
                "distinct_jobs": len(self.jobs[k]), "lateness_s": summary(self.late[k]),
            })
        return rows

    def charts(self, chosen_row: dict[str, Any]) -> dict[str, Any]:
        """The chart specs of the chosen window."""
        label = chosen_row["label"]
        per_minute = 60.0 / self.width
        bins: dict[str, list[int]] = {}
        for outcome, per_bin in self.bins.items():
            merged = bins.setdefault(_name(outcome), [0] * len(per_bin))
            for i, count in enumerate(per_bin):
                merged[i] += count
        order = (*OUTCOMES, *sorted(set(bins) - set(OUTCOMES)))
        series = [{"label": o, "values": [c * per_minute for c in bins[o]]} for o in order if o in bins]
        runs = charts.bars_spec(
            f"Runs per minute by outcome, last {label}", series, y_label="runs per minute", y_unit="runs/min",
            x_label=f"finish time ({duration_label(self.width)} bins)", x_min=self.lows[self.chosen],
            x_width=self.width, x_time=True)
        late_ms = [v * 1000.0 for v in self.late[self.chosen]]
        p99 = chosen_row["lateness_s"]["p99"]
        lowest = min(late_ms, default=0.0)
        lateness = charts.histogram_spec(
            f"Lateness of the runs of the last {label} (start - due time)", late_ms, x_label="lateness",
            x_unit="ms", bins=40, lo=lowest if lowest < 0 else 0.0,
            hi=max(1.0, p99 * 1000.0) if p99 is not None else None, label="runs")
        nested: dict[str, dict[str, float]] = {}
        for classname, per_job in self.breakdown.items():
            into = nested.setdefault(str(classname or "?"), {})
            for name, seconds in per_job.items():
                into[str(name)] = into.get(str(name), 0.0) + seconds
        breakdown = charts.baobab_spec(f"Busy time by task class and job, last {label}", nested, unit="s",
                                       levels=["task class", "job"])
        return {"runs": runs, "lateness": lateness, "breakdown": breakdown}


class SchedulerReport(Report):
    """Load averages and success rates of the scheduler over 10 min, 1 h, 6 h and 24 h.

    Counted: the runs that finished in each window. Busy time is the time runs spent
    running inside the window (a run that started before the window counts only its part
    inside it), so load = busy time / window is the average number of busy workers.
    Lateness is how long after its due time a run started (start - due_at). Runs still in
    progress are not counted until they finish.
    """

    report_group = "General"
    report_title = "Scheduler"
    params = [{"name": "window", "type": "str", "default": "1h", "choices": [key for key, _ in WINDOWS],
               "help": "window of the charts: 10m, 1h, 6h or 24h"}]

    def __call__(self, *, window: str = "1h") -> tuple[str, dict[str, Any]]:
        now = self.context.now
        chosen = [key for key, _ in WINDOWS].index(window)
        tally = _Tally(now, chosen)
        tally.add_all(self.context.rows(Query(type="result", since=now - WINDOWS[-1][1], until=now), FIELDS))
        rows = tally.rows(now)
        return "report_scheduler.mako", {
            "now": now, "window": window, "windows": rows, "chosen": rows[chosen], "outcomes": list(OUTCOMES),
            "bin_s": tally.width, "charts": tally.charts(rows[chosen]),
        }
