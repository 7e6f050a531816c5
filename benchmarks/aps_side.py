"""The APScheduler 3.x side of every scenario (each function runs in its own fresh subprocess).

What a Python user would otherwise pick: a ``BackgroundScheduler`` with APScheduler's own
``ProcessPoolExecutor(max_workers=2)`` and the default memory job store. APScheduler stores
nothing (no results, no logs, no job state on disk); das-actors journals every result to
SQLite. Logging is left as a plain Python program has it (not configured: warnings only).
"""

from __future__ import annotations

import math
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.common import ROOT, CpuMeter, median, rss_mb, sleep_until, summarize, timed, wait_for

STEADY_GRACE_S = 2.0


def make_scheduler(**job_defaults: Any) -> Any:
    """BackgroundScheduler + ProcessPoolExecutor(2) + memory job store."""
    from apscheduler.executors.pool import ProcessPoolExecutor
    from apscheduler.schedulers.background import BackgroundScheduler

    return BackgroundScheduler(executors={"default": ProcessPoolExecutor(max_workers=2)},
                               job_defaults=job_defaults, timezone="UTC")


class Events:
    """Counts job events and keeps what the steady scenario needs (thread-safe listener)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.executed = 0
        self.errors = 0
        self.missed = 0
        self.max_instances = 0
        self.last_done = 0.0
        self.records: list[tuple[str, float, Any]] = []  # (job_id, scheduled epoch, retval)
        self.missed_records: list[tuple[str, float]] = []
        self.max_instances_records: list[tuple[str, list[float]]] = []
        self.keep = False

    def reset(self) -> None:
        with self.lock:
            self.executed = self.errors = self.missed = self.max_instances = 0
            self.records.clear()
            self.missed_records.clear()
            self.max_instances_records.clear()

    def __call__(self, event: Any) -> None:
        from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED

        now = time.perf_counter()
        with self.lock:
            if event.code == EVENT_JOB_EXECUTED:
                self.executed += 1
                self.last_done = now
                if self.keep:
                    self.records.append((event.job_id, event.scheduled_run_time.timestamp(), event.retval))
            elif event.code == EVENT_JOB_ERROR:
                self.errors += 1
                self.last_done = now
            elif event.code == EVENT_JOB_MISSED:
                self.missed += 1
                if self.keep:
                    self.missed_records.append((event.job_id, event.scheduled_run_time.timestamp()))
            elif event.code == EVENT_JOB_MAX_INSTANCES:
                self.max_instances += 1
                if self.keep:
                    times = [t.timestamp() for t in getattr(event, "scheduled_run_times", None) or ()]
                    self.max_instances_records.append((event.job_id, times))

    @property
    def done(self) -> int:
        with self.lock:
            return self.executed + self.errors


def start(events: Events, **job_defaults: Any) -> Any:
    from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED

    scheduler = make_scheduler(**job_defaults)
    scheduler.add_listener(events, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES)
    scheduler.start()
    return scheduler


def warm_up(scheduler: Any, events: Events, count: int = 20) -> None:
    """A few one-shot runs so that both pool processes exist and have run a job."""
    from benchmarks.aps_jobs import echo

    before = events.done
    for i in range(count):
        scheduler.add_job(echo, "date", run_date=datetime.now(UTC), args=[i], misfire_grace_time=None)
    if not wait_for(lambda: events.done >= before + count, 60, 0.01):
        raise RuntimeError(f"APScheduler warm-up runs did not finish ({events.done - before} of {count})")


# ----------------------------------------------------------------------------- 1. burst
def burst(params: dict[str, Any], workdir: Path) -> dict[str, Any]:
    """N one-shot ``date`` jobs due now (``misfire_grace_time=None``); EVENT_JOB_EXECUTED counted."""
    from benchmarks.aps_jobs import echo

    n = int(params["n"])
    events = Events()
    scheduler = start(events)
    try:
        warm_up(scheduler, events)
        events.reset()
        cpu = CpuMeter()
        t0 = time.perf_counter()
        for i in range(n):
            scheduler.add_job(echo, "date", run_date=datetime.now(UTC), args=[i], misfire_grace_time=None)
        t_submitted = time.perf_counter()
        done = wait_for(lambda: events.done >= n, float(params.get("timeout_s", 240)), 0.005)
        cpu_figures = cpu.read()
        if not done:
            raise RuntimeError(f"only {events.done} of {n} APScheduler runs finished in time")
        elapsed = events.last_done - t0
        return {"n": n, "submit_s": round(t_submitted - t0, 4), "elapsed_s": round(elapsed, 4),
                "runs_per_s": n / elapsed, "stored_runs_per_s": None, "errors": events.errors,
                "missed": events.missed, "cpu": cpu_figures, "stores": "nothing (memory job store, no results)"}
    finally:
        scheduler.shutdown(wait=False)


# ----------------------------------------------------------------------------- 2. steady load
def steady(params: dict[str, Any], workdir: Path) -> dict[str, Any]:
    """N ``interval`` jobs (1 s) for D s, first runs spread over `spread_s` (1 s; 0 = a herd); APScheduler
    defaults otherwise (``misfire_grace_time`` 1 s, ``coalesce`` on, ``max_instances`` 1). The job returns
    its own start time; lateness = that minus ``scheduled_run_time``; each job's first `warmup_runs` (2)
    runs excluded, as on the das-actors side."""
    from benchmarks.aps_jobs import stamp

    n, duration = int(params["jobs"]), float(params["seconds"])
    interval = 1.0
    spread = float(params.get("spread_s", interval))  # job i first due at t_start + i * spread / n
    warmup = int(params.get("warmup_runs", 2))
    events = Events()
    scheduler = start(events)
    try:
        warm_up(scheduler, events)
        events.reset()
        events.keep = True
        t_start = time.time() + 2.0 + n * 0.0005
        t0 = time.perf_counter()
        for i in range(n):
            first = datetime.fromtimestamp(t_start + i * spread / n, UTC)
            scheduler.add_job(stamp, "interval", seconds=interval, start_date=first, args=[i], id=f"steady-{i}")
        add_s = time.perf_counter() - t0
        window0, window1 = _window(t_start, time.time(), duration, interval, warmup)
        sleep_until(window0)
        cpu = CpuMeter()
        sleep_until(window1)
        cpu_figures = cpu.read()
        sleep_until(window1 + STEADY_GRACE_S)
        with events.lock:
            records = list(events.records)
            missed_records = list(events.missed_records)
            max_records = list(events.max_instances_records)
            errors = events.errors
    finally:
        scheduler.shutdown(wait=False)
    eps = 1e-6

    def inside(t: float) -> bool:
        return window0 - eps <= t < window1 - eps

    runs = {(job_id, round(due, 4)): started for job_id, due, started in records if inside(due)}
    lateness_ms = [(started - due) * 1000.0 for (_, due), started in runs.items()]
    expected = round(n * duration / interval)
    stats = summarize(lateness_ms)
    return {
        "jobs": n, "seconds": duration, "interval_s": interval, "spread_s": spread, "warmup_runs": warmup,
        "add_s": round(add_s, 4),
        "window": [window0, window1],
        "window_shift_s": round(window0 - t_start - warmup * interval, 3),
        "expected_runs": expected,
        "runs": len(runs),
        "missed": expected - len(runs),
        "missed_events": sum(1 for _, due in missed_records if inside(due)),
        "max_instances_skips": sum(1 for _, times in max_records if any(inside(t) for t in times)),
        "errors": errors,
        "lateness_ms": stats,
        "p50_ms": stats["p50"], "p99_ms": stats["p99"], "max_ms": stats["max"],
        "cpu": cpu_figures,
        "job_defaults": "APScheduler defaults: misfire_grace_time=1, coalesce=True, max_instances=1",
        "samples_ms": lateness_ms,
    }


def _window(t_start: float, t_ready: float, duration: float, interval: float, warmup: int = 0) -> tuple[float, float]:
    """As `benchmarks.das_side._window`: each job's first *warmup* runs are left out."""
    shift = 0.0
    if t_ready + 0.5 > t_start:
        shift = math.ceil((t_ready + 0.5 - t_start) / interval) * interval
    begin = t_start + shift + warmup * interval
    return begin, begin + duration


# ----------------------------------------------------------------------------- 4. scale
def scale(params: dict[str, Any], workdir: Path) -> dict[str, Any]:
    """``add_job`` N 1 h interval jobs to a running scheduler; RSS; ``get_jobs()`` first 50."""
    from benchmarks.aps_jobs import echo

    jobs = int(params["jobs"])
    rss_before = rss_mb()
    events = Events()
    t0 = time.perf_counter()
    scheduler = start(events)
    t_started = time.perf_counter()
    try:
        for i in range(jobs):
            scheduler.add_job(echo, "interval", hours=1, args=[i], id=f"scale-{i}", name=f"scale-{i}")
        t_added = time.perf_counter()
        rss_added = rss_mb()
        page, ms = timed(lambda: scheduler.get_jobs()[:50])
        time.sleep(1.0)
        rss_settled = rss_mb()
    finally:
        scheduler.shutdown(wait=False)
    return {
        "jobs": jobs,
        "start_s": round(t_started - t0, 4),
        "add_s": round(t_added - t_started, 4),
        "load_config_s": round(t_added - t0, 4),
        "restart_s": None,
        "rss_before_mb": round(rss_before, 1),
        "rss_mb": round(max(rss_added, rss_settled), 1),
        "page_method": "scheduler.get_jobs()[:50]",
        "page_items": len(page),
        "first_page_ms": median(ms),
        "first_page_calls_ms": [round(x, 3) for x in ms],
        "api_first_page_ms": None,
        "note": "no config file and no persistence: jobs are added with add_job() to the memory job store",
    }


# ----------------------------------------------------------------------------- 5. start-up
def startup(params: dict[str, Any], workdir: Path) -> dict[str, Any]:
    """``python -m benchmarks.aps_startup MARKER`` to the first job started, *repeats* times."""
    import signal

    samples: list[float] = []
    for k in range(int(params["repeats"])):
        marker = workdir / f"aps-first-run-{k}"
        log_path = workdir / f"aps-startup-{k}.log"
        with open(log_path, "w", encoding="utf-8") as log:
            launched = time.time()
            process = subprocess.Popen([sys.executable, "-m", "benchmarks.aps_startup", str(marker)], cwd=ROOT,
                                       stdout=log, stderr=subprocess.STDOUT)
            try:
                if not wait_for(marker.exists, 60, 0.002):
                    raise RuntimeError(f"no APScheduler run within 60 s; log: {log_path.read_text()[-2000:]}")
                samples.append(float(marker.read_text()) - launched)
            finally:
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
                    try:
                        process.wait(30)
                    except subprocess.TimeoutExpired:
                        process.kill()
                        process.wait(10)
    return {"repeats": len(samples), "first_run_s": median(samples), "samples_s": samples,
            "method": "subprocess launch -> the job's own time.time() at its start (marker file)"}


SCENARIOS: dict[str, Callable[[dict[str, Any], Path], dict[str, Any]]] = {
    "burst": burst,
    "steady": steady,
    "scale": scale,
    "startup": startup,
}
