"""Benchmark: the Scheduler report over 24 h of 100,000 runs on the embedded (SQLite) store.

Fills a temporary SQLite store with *runs* synthetic result documents spread evenly over the
last 24 h (about 200 jobs of three classes, 93 % successes, failures with tracebacks, child
jobs, worker pids and memory), plus half as many task log lines interleaved (so the query
must use its index, not scan everything), inserted with `SQLiteStore.insert` in batches of
5,000 as the Journal does. Then times ``SchedulerReport(ReportContext.from_store(store))
(window="24h")`` -- every window from 10 min to 24 h, the runs-per-minute chart, the lateness
histogram and the busy-time breakdown, i.e. the whole 24 h read -- *repeats* times in this
process (the first call is a cold one: a fresh connection). Target: under 1 s, every call.

``python -m benchmarks.reports_bench [--runs N] [--repeats K]`` prints the figures; ``make
bench`` runs it as the ``reports`` scenario (the `benchmarks.scenario` unit protocol:
``... das scheduler_report PARAMS_JSON OUT_JSON WORKDIR``).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.scenario import write_unit

FULL = {"runs": 100_000, "repeats": 5}
QUICK = {"runs": 20_000, "repeats": 3}
DAY = 86400.0
BATCH = 5000
TRACEBACK = "Traceback (most recent call last):\n" + "".join(
    f'  File "/srv/tasks/module{i}.py", line {10 * i}, in step{i}\n    value = compute(value)\n' for i in range(6)
) + "RuntimeError: Test task chaos: raising on purpose\n"


def synthetic_runs(count: int, now: float, seed: int = 1) -> list[dict[str, Any]]:
    """*count* result documents finishing evenly over [now - 24 h, now], oldest first."""
    rng = random.Random(seed)
    classes = ("Echo", "Test", "Sleep")
    outcomes = ["success"] * 93 + ["failed"] * 5 + ["crashed", "timeout"]
    docs = []
    for i in range(count):
        job = rng.randrange(200)
        classname = classes[job % 3]
        finish = now - DAY + (i + 0.5) * DAY / count
        duration = rng.expovariate(1 / (2.0 if classname == "Sleep" else 0.05))
        start = finish - duration
        due = start - rng.expovariate(1 / 0.004)
        outcome = rng.choice(outcomes)
        failed = outcome != "success"
        docs.append({
            "type": "result", "time": finish, "job_id": f"{job:016x}", "name": f"{classname.lower()}-{job}",
            "classname": classname, "index": i // 200 + 1, "attempt": 0, "trigger": "schedule",
            "parent": [f"{job - 1:016x}"] if job % 20 == 0 else [], "due_at": due, "started_at": start,
            "finished_at": finish, "duration": duration, "outcome": outcome,
            "error": "RuntimeError: Test task chaos: raising on purpose" if failed else None,
            "traceback": TRACEBACK if outcome == "failed" else None, "worker": i % 2, "pid": 4000 + i % 2,
            "result": {} if failed else {"message": "hello world", "index": i // 200 + 1, "value": rng.random()},
            "notes": [], "rss_kb": 52_000 + rng.randrange(4000),
        })
    return docs


def task_lines(count: int, now: float) -> list[dict[str, Any]]:
    """*count* task log lines (``reslog``) over the same 24 h."""
    return [{"type": "reslog", "time": now - DAY + (i + 0.25) * DAY / count, "job_id": f"{i % 200:016x}",
             "name": f"echo-{i % 200}", "classname": "Echo", "index": i // 200 + 1, "attempt": 0, "level": 20,
             "logger": f"task.echo-{i % 200}", "msg": f"hello world from index={i // 200 + 1}"} for i in range(count)]


def fill(store: Any, runs: int, now: float) -> float:
    """Insert the runs and the log lines, interleaved, in batches; returns the seconds it took."""
    t0 = time.perf_counter()
    results, lines = synthetic_runs(runs, now), task_lines(runs // 2, now)
    merged = sorted(results + lines, key=lambda d: d["time"])
    for position in range(0, len(merged), BATCH):
        store.insert(merged[position:position + BATCH])
    return time.perf_counter() - t0


def scheduler_report(params: dict[str, Any], workdir: Path) -> dict[str, Any]:
    """The scenario: fill, then time the 24 h Scheduler report *repeats* times."""
    from actors.store.sqlite import SQLiteStore
    from reports.base import ReportContext
    from reports.scheduler import SchedulerReport

    runs, repeats = int(params["runs"]), int(params.get("repeats", 5))
    now = time.time()
    path = workdir / "reports-bench.db"
    store = SQLiteStore(path, size_bytes=4 * 2**30)
    store.open()
    try:
        fill_s = fill(store, runs, now)
        store.close()  # the report reads through a new connection, as a web request would
        store.open()
        times, counted = [], None
        for _ in range(repeats):
            t0 = time.perf_counter()
            _, data = SchedulerReport(ReportContext.from_store(store, now=now))(window="24h")
            times.append(time.perf_counter() - t0)
            counted = data["windows"][-1]["runs"]
        if counted != runs:
            raise AssertionError(f"the report counted {counted} runs over 24 h, {runs} were stored")
        ordered = sorted(times)
        return {"runs": runs, "log_lines": runs // 2, "fill_s": round(fill_s, 3), "db_mb": round(
            os.path.getsize(path) / 2**20, 1), "first_s": round(times[0], 4), "median_s": round(
            ordered[len(ordered) // 2], 4), "max_s": round(ordered[-1], 4), "times_s": [round(t, 4) for t in times],
            "counted": counted, "load_24h": round(data["windows"][-1]["load"], 4)}
    finally:
        store.close()


SCENARIOS: dict[str, Callable[[dict[str, Any], Path], dict[str, Any]]] = {"scheduler_report": scheduler_report}


def figures(outcome: dict[str, Any], side: Any) -> list[dict[str, Any]]:
    """`benchmarks.figures.Figure` keyword arguments for the table (*side* is `benchmarks.figures.side_of`)."""
    data, error = side(outcome, "das:scheduler_report")
    runs = int(outcome["params"]["runs"])
    k = f"{runs // 1000:,}k" if runs % 1000 == 0 else f"{runs:,}"
    value = None if data is None else data.get("max_s")
    note = None if data is None else (
        f"slowest of {len(data['times_s'])} calls (first, cold: {data['first_s']} s; median {data['median_s']} s); "
        f"SchedulerReport(window=24h) through ReportContext.from_store on a {data['db_mb']} MB SQLite file holding "
        f"{runs:,} runs and {data['log_lines']:,} task log lines (filled in {data['fill_s']} s)")
    return [{"key": "reports.scheduler_24h_s", "label": f"report: scheduler report over 24 h of {k} runs on the "
             "embedded store", "unit": "s", "das": value, "aps": None, "better": "lower", "target": "< 1 s",
             "check": lambda v, r: v < 1.0, "das_error": error, "aps_note": "no reports", "note": note}]


def main(argv: list[str]) -> int:
    if len(argv) == 5 and argv[0] == "das":  # the benchmarks.scenario unit protocol
        _system, name, params_json, out, workdir = argv
        ok = write_unit(out, lambda: SCENARIOS[name](json.loads(params_json), Path(workdir)))
        return 0 if ok else 1
    parser = argparse.ArgumentParser(prog="python -m benchmarks.reports_bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=FULL["runs"], help="result documents over 24 h")
    parser.add_argument("--repeats", type=int, default=FULL["repeats"], help="report calls timed")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="das-bench-reports-") as workdir:
        data = scheduler_report({"runs": args.runs, "repeats": args.repeats}, Path(workdir))
    print(json.dumps(data, indent=2))
    verdict = "met" if data["max_s"] < 1.0 else "MISSED"
    print(f"scheduler report over 24 h of {args.runs:,} runs: slowest {data['max_s']} s, median {data['median_s']} s"
          f" (target < 1 s: {verdict})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
