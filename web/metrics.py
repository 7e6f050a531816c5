"""``/metrics``: the facade's counters as Prometheus text exposition (format 0.0.4).

Families: runs by outcome, run duration and lateness histograms, waiting and running
runs, jobs by state, workers by status, the journal's buffer and counters, this
instance's role and the leader's term, and the scheduler's own counters. Every known label
value is always present (0 when unseen), so a series never disappears from a dashboard.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from actors.jobs import JobState, Outcome

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
#: Worker statuses always exported (others appear when seen).
WORKER_STATUSES = ("starting", "idle", "busy", "restarting", "degraded", "unresponsive", "gone")
_NAME = re.compile(r"[^a-zA-Z0-9_]")


def _label(value: Any) -> str:
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "0"
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "+Inf" if value > 0 else "-Inf"
        return repr(value)
    return str(value)


class _Text:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def family(self, name: str, kind: str, help_text: str) -> None:
        self.lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]

    def sample(self, name: str, value: Any, labels: Mapping[str, Any] | None = None) -> None:
        rendered = ",".join(f'{k}="{_label(v)}"' for k, v in (labels or {}).items())
        self.lines.append(f"{name}{{{rendered}}} {_number(value)}" if rendered else f"{name} {_number(value)}")

    def single(self, name: str, kind: str, help_text: str, value: Any) -> None:
        self.family(name, kind, help_text)
        self.sample(name, value)

    def labelled(self, name: str, kind: str, help_text: str, label: str, counts: Mapping[str, Any]) -> None:
        self.family(name, kind, help_text)
        for key, value in counts.items():
            self.sample(name, value, {label: key})

    def histogram(self, name: str, help_text: str, snapshot: Mapping[str, Any]) -> None:
        self.family(name, "histogram", help_text)
        buckets: Sequence[Sequence[Any]] = snapshot.get("buckets") or [["+Inf", snapshot.get("count", 0)]]
        for bound, count in buckets:
            le = "+Inf" if bound == "+Inf" else _number(float(bound))
            self.sample(f"{name}_bucket", count, {"le": le})
        self.sample(f"{name}_sum", float(snapshot.get("sum", 0.0)))
        self.sample(f"{name}_count", snapshot.get("count", 0))


def prometheus_text(data: Mapping[str, Any]) -> str:
    """Render `Facade.metrics` output."""
    out = _Text()
    runs: Mapping[str, Any] = data.get("runs") or {}
    outcomes = {str(o): 0 for o in Outcome} | dict(runs.get("outcomes") or {})
    out.labelled("das_runs_total", "counter", "Finished runs by outcome.", "outcome", outcomes)
    out.histogram("das_run_duration_seconds", "Run duration (start to finish), seconds.",
                  runs.get("duration_s") or {})
    out.histogram("das_run_lateness_seconds", "Run lateness (actual start minus due time), seconds.",
                  runs.get("lateness_s") or {})
    out.single("das_queue_waiting", "gauge", "Due runs waiting for a free worker.", data.get("waiting", 0))
    out.single("das_runs_running", "gauge", "Runs in progress.", data.get("running", 0))
    states = {str(s): 0 for s in JobState} | dict(data.get("jobs_by_state") or {})
    out.labelled("das_jobs", "gauge", "Jobs by state.", "state", states)
    workers = Counter(str(w.get("status", "unknown")) for w in data.get("workers") or [])
    out.labelled("das_workers", "gauge", "Worker slots by status.", "status",
                 dict.fromkeys(WORKER_STATUSES, 0) | dict(workers))
    journal: Mapping[str, Any] = data.get("journal") or {}
    out.single("das_journal_buffered", "gauge", "Documents buffered by the journal, not yet stored.",
               journal.get("buffered", 0))
    out.single("das_journal_dropped_total", "counter", "Documents dropped while the store was down.",
               journal.get("dropped", 0))
    out.single("das_journal_written_total", "counter", "Documents written to the store.", journal.get("written", 0))
    out.single("das_journal_failed_writes_total", "counter", "Store writes that failed (and were retried).",
               journal.get("failed_writes", 0))
    leadership: Mapping[str, Any] = data.get("leadership") or {}
    role = str(leadership.get("role") or "leader")
    out.labelled("das_instance_role", "gauge", "This instance's role (several instances on one store: one leader).",
                 "role", {"leader": int(role == "leader"), "follower": int(role == "follower")})
    out.single("das_leader_term", "gauge", "The leader's term this instance knows (0: alone on its store).",
               leadership.get("term") or 0)
    skip = {"runs", "waiting", "running", "jobs_by_state", "workers", "journal", "leadership"}
    for key, value in sorted(data.items()):
        if key in skip or isinstance(value, bool) or not isinstance(value, int | float):
            continue
        name = "das_scheduler_" + _NAME.sub("_", key) + "_total"
        out.single(name, "counter", f"Scheduler counter {key!r}.", value)
    return "\n".join(out.lines) + "\n"
