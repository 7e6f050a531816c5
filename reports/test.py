"""The Test report: what the ``Test`` chaos jobs did in the last period.

DAS's TestReport "did very little"; this one counts the runs of ``Test`` jobs by outcome,
the child jobs they spawned, the runs that stopped their job, and shows the spawn tree
(root job -> spawned jobs -> outcomes) as a hierarchical breakdown.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from actors.store.base import Query
from reports import charts
from reports.base import Report
from reports.stats import OUTCOMES, duration_label, outcome_counts

#: Class names under which the Test task runs (its registered name and its dotted paths).
TEST_CLASSNAMES = ("Test", "tasks.test:Test", "tasks.test.Test")
FIELDS = ("job_id", "name", "classname", "parent", "outcome", "result")


class TestReport(Report):
    """Runs of the Test chaos task in the last period: outcomes, spawned children, stops."""

    __test__ = False  # not a pytest test class, whatever its name

    report_group = "Test Reports"
    report_title = "Test"
    params = [{"name": "period", "type": "duration", "default": 3600, "minimum": 60, "maximum": 7 * 86400,
               "help": "how far back: seconds, or 30m, 6h, 2d (at most 7d)"}]

    def __call__(self, *, period: float = 3600) -> tuple[str, dict[str, Any]]:
        now = self.context.now
        since = now - period
        docs = [doc for classname in TEST_CLASSNAMES
                for doc in self.context.stream(Query(type="result", classname=classname, since=since, until=now),
                                               FIELDS)]
        names = {d["job_id"]: str(d["name"] or d["job_id"]) for d in docs}
        outcomes: Counter[str] = Counter()
        jobs: dict[str, dict[str, Any]] = {}
        tree: dict[str, dict[str, dict[str, int]]] = {}
        spawned = stops = child_runs = 0
        for doc in docs:
            outcome = str(doc["outcome"])
            outcomes[outcome] += 1
            result = doc["result"] if isinstance(doc["result"], dict) else {}
            children = result.get("new_tasks")
            made = len(children) if isinstance(children, list) else 0
            spawned += made
            stopped = result.get("resubmit") is False
            stops += stopped
            parent = [p for p in (doc["parent"] or []) if isinstance(p, str)]
            child_runs += bool(parent)
            row = jobs.setdefault(doc["job_id"], {
                "job_id": doc["job_id"], "name": names[doc["job_id"]], "parent": parent[-1] if parent else None,
                "root": parent[0] if parent else None, "runs": 0, "by_outcome": Counter(), "spawned": 0,
                "stops": 0})
            row["runs"] += 1
            row["by_outcome"][outcome] += 1
            row["spawned"] += made
            row["stops"] += stopped
            root = names.get(parent[0], parent[0][:8]) if parent else names[doc["job_id"]]
            branch = "(its own runs)" if not parent else names[doc["job_id"]]
            leaf = tree.setdefault(root, {}).setdefault(branch, {})
            leaf[outcome] = leaf.get(outcome, 0) + 1
        table = sorted(jobs.values(), key=lambda r: (r["root"] is not None, -r["runs"], r["name"]))
        for row in table:
            row["by_outcome"] = outcome_counts(row["by_outcome"])
            row["parent_name"] = names.get(row["parent"]) if row["parent"] else None
        label = duration_label(period)
        by_outcome = outcome_counts(outcomes)
        pie = charts.pie_spec(f"Outcomes of Test runs, last {label}",
                              [(o, n) for o, n in by_outcome.items() if n], unit="runs")
        baobab = charts.baobab_spec(f"Test runs by root job, spawned job and outcome, last {label}", tree,
                                    unit="runs", levels=["root job", "spawned job", "outcome"])
        return "report_test.mako", {
            "now": now, "period": period, "runs": len(docs), "by_outcome": by_outcome,
            "successes": by_outcome.get("success", 0), "failures": len(docs) - by_outcome.get("success", 0),
            "spawned": spawned, "stops": stops, "child_runs": child_runs, "jobs": table,
            "outcomes": list(OUTCOMES), "charts": {"outcomes": pie, "tree": baobab},
        }
