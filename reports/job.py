"""The Job report: one job's runs over a period: durations, lateness, outcomes, retries, results.

This report is also the example of where work belongs (see `reports.base`): it computes
nothing heavy itself. An analytics task does its work in a worker process and returns its
figures; each run's return value is stored as the run's ``result``; this report charts the
numeric fields of those stored results over time ("values the task computed").
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from actors.errors import ReportParamError
from actors.store.base import Query
from reports import charts
from reports.base import Report
from reports.stats import OUTCOMES, duration_label, number, outcome_counts, summary, thin

#: Newest runs read for the charts (the page says when the period holds more).
MAX_RUNS = 2000
#: Runs in the table of recent runs.
RECENT = 20
#: Result fields charted at most.
MAX_VALUE_SERIES = 6
#: Points drawn per series at most.
MAX_POINTS = 600


class JobReport(Report):
    """Durations, lateness, outcomes, retries and result values of one job over a period.

    The job is named by its id (the Schedule and Job pages show it). A job that has been
    removed or has finished is still reported while its runs are stored.
    """

    report_group = "General"
    report_title = "Job"
    params = [
        {"name": "job_id", "type": "str", "required": True, "help": "the job's id (16 hex digits, see Schedule)"},
        {"name": "period", "type": "duration", "default": 86400, "minimum": 60, "maximum": 7 * 86400,
         "help": "how far back: seconds, or 30m, 6h, 2d (at most 7d)"},
    ]

    def __call__(self, *, job_id: str, period: float = 86400) -> tuple[str, dict[str, Any]]:
        ctx = self.context
        now = ctx.now
        job = ctx.job(job_id)
        page = ctx.find(Query(type="result", job_id=job_id, since=now - period, until=now, limit=MAX_RUNS))
        if job is None and not page.items and ctx.find(Query(type="result", job_id=job_id, limit=1)).total == 0:
            raise ReportParamError("job_id", f"no job with id {job_id[:40]!r} and no stored runs of one", status=404)
        runs = sorted(page.items, key=lambda d: (d.get("time") or 0.0, d.get("seq") or 0))
        newest = runs[-1] if runs else None
        about = _about(job, newest, job_id)
        by_outcome = outcome_counts(Counter(str(d.get("outcome")) for d in runs))
        durations = [(d["started_at"], d.get("duration")) for d in runs if number(d.get("started_at")) is not None]
        lateness = [(d["started_at"], d["started_at"] - d["due_at"]) for d in runs
                    if number(d.get("started_at")) is not None and number(d.get("due_at")) is not None]
        retried = {d.get("index") for d in runs if (d.get("attempt") or 0) > 0}
        retries = [_row(d) for d in runs if d.get("index") in retried]
        start = now - period
        label = duration_label(period)
        # The charts span the period, or only its part since the first run (a new job's runs
        # would otherwise be squeezed against the right edge).
        first = min((t for d in runs for t in (number(d.get("started_at")), number(d.get("time"))) if t is not None),
                    default=start)
        shown_from = max(start, first - max(0.05 * (now - first), 1.0))
        timeline = charts.timeline_spec(
            f"Outcome of each run, last {label}",
            [(o, [d["time"] for d in runs if d.get("outcome") == o]) for o in OUTCOMES
             if by_outcome.get(o) or o == "success"],
            x_min=shown_from, x_max=now,
            notes={o: [f"run {d.get('index')}.{d.get('attempt', 0)}" for d in runs if d.get("outcome") == o]
                   for o in OUTCOMES})
        points = thin(durations, MAX_POINTS)
        duration_chart = charts.line_spec(
            f"Duration of each run, last {label}", [{"label": "duration", "x": [p[0] for p in points],
                                                     "y": [p[1] for p in points], "colour": charts.PALETTE[0]}],
            y_label="duration", y_unit="s", x_label="start time", x_min=shown_from, x_max=now)
        late_points = thin(lateness, MAX_POINTS)
        lateness_chart = charts.line_spec(
            f"Lateness of each run (start - due time), last {label}",
            [{"label": "lateness", "x": [p[0] for p in late_points], "y": [p[1] * 1000.0 for p in late_points],
              "colour": charts.PALETTE[1]}],
            y_label="lateness", y_unit="ms", x_label="start time", x_min=shown_from, x_max=now)
        values, fields = _result_values(runs, shown_from, now, label)
        return "report_job.mako", {
            "now": now, "job_id": job_id, "period": period, "job": about, "scheduled": job is not None,
            "runs": len(runs), "total_in_period": page.total, "capped": page.total > len(runs),
            "max_runs": MAX_RUNS, "by_outcome": by_outcome,
            "duration_s": summary(v for v in (number(d) for _, d in durations) if v is not None),
            "lateness_s": summary(v for _, v in lateness),
            "retries": retries, "retried_runs": len(retried),
            "recent": [_row(d) for d in reversed(runs[-RECENT:])],
            "value_fields": fields,
            "charts": {"duration": duration_chart, "lateness": lateness_chart, "timeline": timeline,
                       "values": values},
        }


def _about(job: dict[str, Any] | None, newest: dict[str, Any] | None, job_id: str) -> dict[str, Any]:
    """What the page says about the job: its record if scheduled, else what its newest run says."""
    if job is not None:
        keys = ("job_id", "name", "classname", "interval", "state", "due_at", "run_count", "last_outcome", "origin",
                "parent")
        return {k: job.get(k) for k in keys}
    newest = newest or {}
    return {"job_id": job_id, "name": newest.get("name"), "classname": newest.get("classname"), "interval": None,
            "state": "not scheduled", "due_at": None, "run_count": None, "last_outcome": newest.get("outcome"),
            "origin": None, "parent": newest.get("parent") or []}


def _row(doc: dict[str, Any]) -> dict[str, Any]:
    keys = ("index", "attempt", "trigger", "outcome", "due_at", "started_at", "finished_at", "duration", "error",
            "worker", "pid", "seq", "job_id")
    return {k: doc.get(k) for k in keys}


def _result_values(runs: list[dict[str, Any]], start: float, now: float,
                   label: str) -> tuple[dict[str, Any], list[str]]:
    """A line chart of the numeric top-level fields of the runs' results (the task's own figures)."""
    series: dict[str, list[tuple[float, float]]] = {}
    for doc in runs:
        result = doc.get("result")
        if not isinstance(result, dict):
            continue
        for key, value in result.items():
            number_value = number(value)
            if number_value is not None and key not in ("index",):
                series.setdefault(str(key), []).append((doc["time"], number_value))
    chosen = sorted(series, key=lambda k: (-len(series[k]), k))[:MAX_VALUE_SERIES]
    spec = charts.line_spec(
        f"Numeric result fields of each run, last {label}",
        [{"label": key, "x": [p[0] for p in thin(series[key], MAX_POINTS)],
          "y": [p[1] for p in thin(series[key], MAX_POINTS)]} for key in chosen],
        y_label="value returned by the task", x_label="finish time", x_min=start, x_max=now)
    return spec, chosen
