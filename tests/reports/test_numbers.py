"""Each built-in report's figures against a store filled with known runs and events (exact numbers)."""

from __future__ import annotations

import pytest

from actors.errors import ReportParamError
from reports.base import ReportContext
from reports.job import JobReport
from reports.scheduler import SchedulerReport
from reports.test import TestReport
from reports.workers import WorkersReport, exit_kind
from tests.reports.docs import NOW, event, result

# ----------------------------------------------------------------------------- scheduler
#: (age s, outcome, duration s, lateness s or None, job, class) of every run; see the expectations below.
RUNS = [
    (60.0, "success", 10.0, 0.5, "A", "Echo"),
    (100.0, "success", 1.0, None, "B", "Echo"),      # no due time: no lateness
    (300.0, "failed", 4.0, 1.0, "B", "Echo"),
    (600.0, "success", 0.0, 0.25, "B", "Echo"),      # exactly 10 min old: inside the 10 min window
    (1800.0, "success", 7200.0, 2.0, "A", "Sleep"),  # started 2.5 h ago: 1800 s of it inside the last hour
    (7200.0, "crashed", 3.0, 3.0, "C", "Test"),
    (50_000.0, "timeout", 20.0, 4.0, "D", "Test"),
    (90_000.0, "success", 5.0, 9.0, "E", "Echo"),    # older than 24 h: in no window
]


@pytest.fixture
def scheduler_store(store):
    store.insert([result(age, outcome=outcome, duration=dur, lateness=late, job_id=job, classname=cls)
                  for age, outcome, dur, late, job, cls in RUNS])
    store.insert([{"type": "reslog", "time": NOW - 10, "job_id": "A", "index": 1, "attempt": 0, "level": 20,
                   "logger": "task.a", "msg": "not a run"}, event(20, "server.started", logger="das_actors.system")])
    return store


def test_scheduler_windows(scheduler_store):
    template, data = SchedulerReport(ReportContext.from_store(scheduler_store, now=NOW))(window="10m")
    assert template == "report_scheduler.mako"
    rows = {row["key"]: row for row in data["windows"]}
    assert [row["key"] for row in data["windows"]] == ["10m", "1h", "6h", "24h"]
    expected = {  # runs, successes, failures, busy s, distinct jobs, (p50, p90, p99, max) lateness s
        "10m": (4, 3, 1, 15.0, 2, (0.5, 1.0, 1.0, 1.0)),
        "1h": (5, 4, 1, 1815.0, 2, (0.5, 2.0, 2.0, 2.0)),
        "6h": (6, 4, 2, 7218.0, 3, (1.0, 3.0, 3.0, 3.0)),
        "24h": (7, 4, 3, 7238.0, 4, (1.0, 4.0, 4.0, 4.0)),
    }
    for key, (runs, ok, failed, busy, jobs, late) in expected.items():
        row = rows[key]
        assert (row["runs"], row["successes"], row["failures"], row["distinct_jobs"]) == (runs, ok, failed, jobs), key
        assert row["busy_s"] == pytest.approx(busy) and row["load"] == pytest.approx(busy / row["seconds"]), key
        lateness = row["lateness_s"]
        assert (lateness["p50"], lateness["p90"], lateness["p99"], lateness["max"]) == late, key
        assert lateness["n"] == runs - 1  # the run without a due time has no lateness
        assert sum(row["by_outcome"].values()) == runs
    assert rows["24h"]["by_outcome"] == {"success": 4, "failed": 1, "crashed": 1, "timeout": 1, "interrupted": 0,
                                         "cancelled": 0, "missed": 0}
    assert data["chosen"] is data["windows"][0]


def test_scheduler_charts_of_the_chosen_window(scheduler_store):
    _, data = SchedulerReport(ReportContext.from_store(scheduler_store, now=NOW))(window="10m")
    runs = data["charts"]["runs"]
    assert runs["kind"] == "bars" and runs["xaxis"]["width"] == 60 and runs["xaxis"]["min"] == NOW - 600
    series = {s["label"]: s["values"] for s in runs["series"]}
    assert series == {"success": [1.0] + [0.0] * 7 + [1.0, 1.0], "failed": [0.0] * 5 + [1.0] + [0.0] * 4}
    assert runs["yaxis"] == {"label": "runs per minute", "unit": "runs/min"}
    lateness = data["charts"]["lateness"]
    assert sum(lateness["series"][0]["values"]) == 3 and lateness["xaxis"]["unit"] == "ms"
    _, hour = SchedulerReport(ReportContext.from_store(scheduler_store, now=NOW))(window="1h")
    tree = hour["charts"]["breakdown"]["data"]
    assert tree["value"] == pytest.approx(1815.0)
    assert {c["label"]: c["value"] for c in tree["children"]} == {"Sleep": 1800.0, "Echo": 15.0}
    _, day = SchedulerReport(ReportContext.from_store(scheduler_store, now=NOW))(window="24h")
    assert day["bin_s"] == 900 and len(day["charts"]["runs"]["series"][0]["values"]) == 96
    # 15 min bins, in runs per minute: one run in a bin is 1/15 run/min
    assert sum(sum(s["values"]) for s in day["charts"]["runs"]["series"]) == pytest.approx(7 / 15)


def test_scheduler_counts_a_run_without_outcome_or_duration(store):
    odd = result(30.0, job_id="Z")
    del odd["outcome"], odd["duration"]
    store.insert([odd])
    _, data = SchedulerReport(ReportContext.from_store(store, now=NOW))(window="10m")
    row = data["windows"][0]
    assert row["runs"] == 1 and row["by_outcome"]["unknown"] == 1 and row["busy_s"] == 0.0
    assert [s["label"] for s in data["charts"]["runs"]["series"]] == ["unknown"]


def test_scheduler_on_an_empty_store(store):
    _, data = SchedulerReport(ReportContext.from_store(store, now=NOW))(window="24h")
    assert all(row["runs"] == 0 and row["load"] == 0 and row["lateness_s"]["p50"] is None
               for row in data["windows"])


# ----------------------------------------------------------------------------- job
def job_runs():
    return [
        result(3000, job_id="J", name="nightly", index=1, duration=2.0, lateness=0.1, result_value={"keys": 10}),
        result(2000, job_id="J", name="nightly", index=2, outcome="failed", duration=1.0, lateness=0.3,
               error="boom <b>"),
        result(1990, job_id="J", name="nightly", index=2, attempt=1, trigger="retry", duration=4.0, lateness=0.2,
               result_value={"keys": 12, "ratio": 0.5, "flag": True, "text": "x"}),
        result(1000, job_id="J", name="nightly", index=3, duration=3.0, lateness=0.4, result_value={"keys": 7}),
        result(90_000, job_id="J", name="nightly", index=0, duration=9.0),  # before the period
        result(500, job_id="K", name="other"),
    ]


def test_job_report_figures(store):
    store.insert(job_runs())
    template, data = JobReport(ReportContext.from_store(store, now=NOW))(job_id="J", period=3600)
    assert template == "report_job.mako"
    assert data["runs"] == 4 and not data["capped"] and not data["scheduled"]
    assert data["job"]["name"] == "nightly" and data["job"]["state"] == "not scheduled"
    assert data["by_outcome"]["success"] == 3 and data["by_outcome"]["failed"] == 1
    assert (data["duration_s"]["p50"], data["duration_s"]["max"]) == (2.0, 4.0)
    assert data["lateness_s"]["p50"] == pytest.approx(0.2) and data["lateness_s"]["max"] == pytest.approx(0.4)
    assert [(r["index"], r["attempt"]) for r in data["retries"]] == [(2, 0), (2, 1)]
    assert data["retries"][0]["error"] == "boom <b>" and data["retried_runs"] == 1
    assert [r["index"] for r in data["recent"]] == [3, 2, 2, 1]
    assert data["value_fields"] == ["keys", "ratio"]
    values = {s["label"]: s["y"] for s in data["charts"]["values"]["series"]}
    assert values == {"keys": [10, 12, 7], "ratio": [0.5]}
    assert data["charts"]["duration"]["series"][0]["y"] == [2.0, 1.0, 4.0, 3.0]
    lanes = {s["label"]: len(s["x"]) for s in data["charts"]["timeline"]["series"]}
    assert lanes == {"success": 3, "failed": 1}


def test_job_report_caps_the_runs_it_reads(store, monkeypatch):
    store.insert(job_runs())
    monkeypatch.setattr("reports.job.MAX_RUNS", 2)
    _, data = JobReport(ReportContext.from_store(store, now=NOW))(job_id="J", period=3600)
    assert data["capped"] and data["runs"] == 2 and data["total_in_period"] == 4
    assert [r["index"] for r in data["recent"]] == [3, 2]  # the newest


def test_job_report_refuses_an_unknown_job(store):
    store.insert(job_runs())
    with pytest.raises(ReportParamError) as caught:
        JobReport(ReportContext.from_store(store, now=NOW))(job_id="nope", period=3600)
    assert caught.value.field == "job_id"
    # a job with stored runs, none in the period, is known (an empty report)
    _, data = JobReport(ReportContext.from_store(store, now=NOW))(job_id="K", period=60)
    assert data["runs"] == 0


def test_job_report_uses_the_job_record_when_scheduled(store):
    store.insert(job_runs())
    record = {"job_id": "J", "name": "nightly", "classname": "Echo", "interval": 3600.0, "state": "scheduled"}
    context = ReportContext(store, job=lambda job_id: dict(record) if job_id == "J" else None, now=NOW)
    _, data = JobReport(context)(job_id="J", period=3600)
    assert data["scheduled"] and data["job"]["interval"] == 3600.0 and data["job"]["state"] == "scheduled"


# ----------------------------------------------------------------------------- test
def test_test_report_counts(store):
    root, child = "R" * 16, "C" * 16
    store.insert([
        result(100, job_id=root, name="hello", classname="Test", result_value={"message": "m", "index": 1}),
        result(90, job_id=root, name="hello", classname="Test",
               result_value={"new_tasks": [{"name": "spawn-of-2"}, {"name": "x"}], "index": 2}),
        result(80, job_id=root, name="hello", classname="Test", outcome="failed"),
        result(70, job_id=root, name="hello", classname="Test", result_value={"resubmit": False}),
        result(60, job_id=child, name="spawn-of-2", classname="Test", parent=[root]),
        result(50, job_id=child, name="spawn-of-2", classname="Test", parent=[root], outcome="crashed"),
        result(40, job_id="D" * 16, name="dotted", classname="tasks.test:Test"),
        result(30, job_id="E" * 16, name="echo", classname="Echo"),                 # not a Test job
        result(7200, job_id=root, name="hello", classname="Test"),                  # before the period
    ])
    template, data = TestReport(ReportContext.from_store(store, now=NOW))(period=3600)
    assert template == "report_test.mako"
    assert (data["runs"], data["successes"], data["failures"]) == (7, 5, 2)
    assert (data["spawned"], data["stops"], data["child_runs"]) == (2, 1, 2)
    assert data["by_outcome"]["crashed"] == 1 and data["by_outcome"]["failed"] == 1
    jobs = {j["name"]: j for j in data["jobs"]}
    assert jobs["hello"]["runs"] == 4 and jobs["hello"]["spawned"] == 2 and jobs["hello"]["stops"] == 1
    assert jobs["spawn-of-2"]["parent_name"] == "hello" and jobs["spawn-of-2"]["by_outcome"]["crashed"] == 1
    assert [j["name"] for j in data["jobs"]][-1] == "spawn-of-2"  # spawned jobs after the roots
    pie = {s["label"]: s["value"] for s in data["charts"]["outcomes"]["series"]}
    assert pie == {"success": 5, "failed": 1, "crashed": 1}
    tree = {c["label"]: c for c in data["charts"]["tree"]["data"]["children"]}
    assert tree["hello"]["value"] == 6 and tree["dotted"]["value"] == 1
    parts = {c["label"]: c["value"] for c in tree["hello"]["children"]}
    assert parts == {"(its own runs)": 4, "spawn-of-2": 2}


# ----------------------------------------------------------------------------- workers
def test_workers_report_from_events_and_results(store):
    store.insert([
        # slot 0: pid 100 crashes, 101 takes over, then is recycled for 102
        result(900, worker=0, pid=100, rss_kb=10240), result(800, worker=0, pid=100, outcome="crashed"),
        result(700, worker=0, pid=101, rss_kb=20480), result(650, worker=0, pid=101, rss_kb=30720),
        result(600, worker=0, pid=102, rss_kb=15360),
        # slot 1: pid 200 times out -> 201 (a kill), the server restarts -> 202
        result(900, worker=1, pid=200, outcome="timeout"), result(700, worker=1, pid=201),
        result(300, worker=1, pid=202),
        event(800, "worker.crashed", slot=0, pid=100, exit="signal 9 (SIGKILL)", job="x", restart_in_s=0.1),
        event(500, "worker.crashed", slot=1, pid=202, exit="exit code 1", job=None, restart_in_s=None),
        event(499, "worker.degraded", slot=1, restarts=3, window_s=60),
        event(400, "actor.restarted", logger="das_actors.supervisor", level=30, role="worker", slot=0),
        event(510, "server.started", logger="das_actors.system", level=20, workers=2),
        event(450, "job.added", logger="das_actors.scheduler", level=20),                 # not a worker event
        event(5000, "worker.crashed", slot=0, pid=1, exit="signal 11 (SIGSEGV)"),         # before the period
    ])
    workers = [{"slot": 0, "status": "idle", "pid": 102}, {"slot": 1, "status": "degraded", "pid": None},
               {"slot": 2, "status": "idle", "pid": 300}]
    context = ReportContext(store, workers=lambda: workers, now=NOW)
    template, data = WorkersReport(context)(period=3600)
    assert template == "report_workers.mako"
    assert data["crashes"] == 2 and data["crashes_by_signal"] == {"SIGKILL": 1, "exit code 1": 1}
    assert data["process_restarts"] == 1 and data["actor_restarts"] == {"worker actor": 1}
    assert (data["recycles"], data["kills"], data["degraded_events"]) == (1, 1, 1)
    assert data["degraded_now"] == [1] and data["rss_recorded"]
    slots = {s["slot"]: s for s in data["slots"]}
    assert (slots[0]["crash_replacements"], slots[0]["recycles"], slots[0]["processes"]) == (1, 1, 3)
    assert (slots[1]["kills"], slots[1]["server_restarts"], slots[1]["crashes"]) == (1, 1, 1)
    assert slots[0]["peak_rss_mb"] == 30.0 and slots[0]["last_rss_mb"] == 15.0
    assert slots[2]["runs"] == 0 and slots[2]["status"] == "idle"  # a live slot with no run yet
    rss = {s["label"]: s["y"] for s in data["charts"]["rss"]["series"]}
    assert rss == {"worker 0": [10.0, 20.0, 30.0, 15.0]}
    assert [e["event"] for e in data["events"]] == ["actor.restarted", "worker.degraded", "worker.crashed",
                                                    "server.started", "worker.crashed"]


def test_workers_report_without_memory_figures(store):
    store.insert([result(100, worker=0, pid=5)])
    _, data = WorkersReport(ReportContext.from_store(store, now=NOW))(period=3600)
    assert not data["rss_recorded"] and data["crashes"] == 0 and data["slots"][0]["runs"] == 1


@pytest.mark.parametrize(("text", "kind"), [("signal 9 (SIGKILL)", "SIGKILL"), ("signal 64", "signal 64"),
                                            ("exit code 3", "exit code 3"), (None, "unknown")])
def test_exit_kinds(text, kind):
    assert exit_kind(text) == kind
