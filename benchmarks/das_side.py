"""The das-actors side of every scenario (each function runs in its own fresh subprocess).

The server runs in-process (`actors.system.System`, what ``das-actors start`` runs) with two
worker subprocesses, on the embedded SQLite store in the scenario's temp dir, and every run's
result journaled. Logging is configured as ``das-actors start`` does it (JSON lines at INFO),
written to a file in the temp dir instead of stdout. The store cap is raised so that nothing
the benchmark writes is evicted (``db_size`` 4 GiB).
"""

from __future__ import annotations

import math
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks import das_scale
from benchmarks.common import ROOT, CpuMeter, median, sleep_until, summarize, wait_for

#: Store cap: large enough that nothing a scenario writes is evicted (the runtime is imported lazily).
STORE_CAP_BYTES = 4 * 2**30
#: A run that has not started this long after the end of the measurement window is "missed".
STEADY_GRACE_S = 2.0


# ----------------------------------------------------------------------------- set-up
def configure_logging(workdir: Path) -> None:
    """Log as ``das-actors start`` does (JSON, INFO), into a file rather than stdout."""
    from actors import logs

    stream = open(workdir / "das-server.log", "a", encoding="utf-8")  # noqa: SIM115 - lives as long as the process
    logs.configure_logging(level="INFO", fmt="json", stream=stream)


def settings(workdir: Path, name: str, **overrides: Any) -> Any:
    """Benchmark settings: 2 workers, embedded store in *workdir*, no interval floor, no retries."""
    from actors.config import Settings

    values: dict[str, Any] = {
        "db_uri": f"sqlite:///{workdir}/{name}.db", "workers": 2, "minimum_interval": 0.0,
        "no_start_offset": True, "max_retries": 0, "db_size": STORE_CAP_BYTES, "shutdown_grace": 5.0,
        "web": False,  # the panel is measured through its app, never on a fixed port
        "task_packages": "benchmarks",  # the benchmark task classes (benchmarks.tasks)
        "log_max_lines": 0, "log_max_bytes": 0,  # the journal benchmark logs 200,000 lines from one run
    }
    values.update(overrides)
    return Settings(values)


def start_system(workdir: Path, name: str, **overrides: Any) -> Any:
    """Start a System and wait until both workers are idle."""
    from actors.system import System

    configure_logging(workdir)
    system = System(settings(workdir, name, **overrides)).start()
    ready = system.wait_until(lambda: all(w.get("status") == "idle" for w in system.workers()), 120, 0.02)
    if not ready:
        system.shutdown(grace_s=1.0)
        raise RuntimeError(f"workers not ready after 120 s: {system.workers()}")
    return system


def finished(system: Any) -> int:
    """Runs the scheduler has seen finish."""
    from actors.messages import GetStatus

    return int(system.ask(GetStatus())["finished"])


def warm_up(system: Any, count: int = 20) -> None:
    """A few one-shot Echo runs so that both worker processes have run a task once."""
    from actors.jobs import JobSpec, Origin
    from actors.messages import AddJob, GetStatus

    before = finished(system)
    for i in range(count):
        system.ask(AddJob(JobSpec(name=f"warm-{i}", classname="Echo", interval_s=3600.0, kwargs={"value": i},
                                  only_once=True, origin=Origin.API)))
    if not wait_for(lambda: finished(system) >= before + count, 60, 0.01):
        raise RuntimeError(f"warm-up runs did not finish: {system.ask(GetStatus())}")


def read_results(store: Any, keep: Callable[[dict[str, Any]], bool], batch: int = 5000) -> list[dict[str, Any]]:
    """Every stored ``result`` document that *keep* accepts, oldest first (pages through the store)."""
    out: list[dict[str, Any]] = []
    seq = 0
    while True:
        docs = store.read_after(seq, ["result"], batch)
        if not docs:
            return out
        seq = int(docs[-1]["seq"])
        out.extend(d for d in docs if keep(d))


# ----------------------------------------------------------------------------- 1. burst
def run_burst(system: Any, n: int, prefix: str, poll_s: float = 0.002, timeout_s: float = 240.0) -> dict[str, Any]:
    """N one-shot Echo jobs due now in a started *system*: completed runs per second, first submission
    (building the specs included) to the last completion seen by the scheduler."""
    from actors.jobs import JobSpec, Origin
    from actors.messages import AddJobs, GetStatus

    base = finished(system)
    t0 = time.perf_counter()
    specs = [JobSpec(name=f"{prefix}-{i}", classname="Echo", interval_s=3600.0, kwargs={"value": i},
                     only_once=True, origin=Origin.API) for i in range(n)]
    system.ask(AddJobs(specs), timeout=300)
    t_submitted = time.perf_counter()
    done = wait_for(lambda: finished(system) >= base + n, timeout_s, poll_s)
    t_done = time.perf_counter()
    if not done:
        raise RuntimeError(f"only {finished(system) - base} of {n} runs finished in time: {system.ask(GetStatus())}")
    return {"n": n, "t0": t0, "submit_s": round(t_submitted - t0, 4), "elapsed_s": round(t_done - t0, 4),
            "runs_per_s": n / (t_done - t0)}


def burst(params: dict[str, Any], workdir: Path) -> dict[str, Any]:
    """N one-shot Echo jobs due now; completed runs per second, first submission to last completion."""
    from actors.messages import GetStatus
    from actors.store import Query

    n = int(params["n"])
    poll_s = float(params.get("poll_s", 0.002))
    system = start_system(workdir, "burst")
    try:
        warm_up(system)
        stored_base = system.store.find(Query(type="result", limit=0)).total
        cpu = CpuMeter()
        wall0 = time.time()
        measured = run_burst(system, n, "burst", poll_s, float(params.get("timeout_s", 240)))
        cpu_figures = cpu.read()
        t0 = measured.pop("t0")
        stored = wait_for(lambda: system.store.find(Query(type="result", limit=0)).total >= stored_base + n, 120,
                          poll_s)
        t_stored = time.perf_counter()
        system.flush()
        docs = read_results(system.store, lambda d: str(d.get("name", "")).startswith("burst-"))
        outcomes: dict[str, int] = {}
        for d in docs:
            outcomes[d["outcome"]] = outcomes.get(d["outcome"], 0) + 1
        last_finish = max((d["finished_at"] for d in docs), default=None)
        return {
            **measured,
            "submit_mode": "AddJobs (one message)",
            "stored_elapsed_s": round(t_stored - t0, 4) if stored else None,
            "stored_runs_per_s": n / (t_stored - t0) if stored else None,
            "runs_per_s_by_last_finish": n / (last_finish - wall0) if last_finish else None,
            "outcomes": outcomes,
            "results_stored": len(docs),
            "poll_s": poll_s,
            "cpu": cpu_figures,
            "status": system.ask(GetStatus()),
        }
    finally:
        system.shutdown(grace_s=2.0)


# ----------------------------------------------------------------------------- 2. steady load: spread and herd
def steady(params: dict[str, Any], workdir: Path) -> dict[str, Any]:
    """N Echo jobs every 1 s for D s, first runs spread uniformly over `spread_s` (1 s; 0 = a herd, all
    due at the same instant); lateness, each job's first `warmup_runs` runs (2) excluded.

    With `floor_burst` > 0, a burst of that many one-shot runs is measured first in the same system:
    the herd's floor is jobs / that rate (the time the system needs to run N runs at all)."""
    from actors.jobs import JobSpec, Origin
    from actors.messages import AddJob, AddJobs, GetMetrics, GetStatus
    from actors.store.sqlite import SQLiteStore

    n, duration = int(params["jobs"]), float(params["seconds"])
    interval = 1.0
    spread = float(params.get("spread_s", interval))  # job i first due at t_start + i * spread / n
    warmup = int(params.get("warmup_runs", 2))
    system = start_system(workdir, "steady")
    try:
        warm_up(system)
        floor: dict[str, Any] = {}
        if int(params.get("floor_burst", 0)) > 0:
            measured = run_burst(system, int(params["floor_burst"]), "floor")
            floor = {"floor_burst_n": measured["n"], "floor_burst_runs_per_s": measured["runs_per_s"],
                     "floor_ms": 1000.0 * n / measured["runs_per_s"]}
        t_start = time.time() + 2.0 + n * 0.0005
        t0 = time.perf_counter()
        specs = [JobSpec(name=f"steady-{i}", classname="Echo", interval_s=interval, kwargs={"value": i},
                         origin=Origin.API) for i in range(n)]
        if spread == 0:
            system.ask(AddJobs(specs, first_due_at=t_start), timeout=120)
        else:
            for i, spec in enumerate(specs):
                system.ask(AddJob(spec, t_start + i * spread / n))
        add_s = time.perf_counter() - t0
        window0, window1 = _window(t_start, time.time(), duration, interval, warmup)
        sleep_until(window0)
        cpu = CpuMeter()
        sleep_until(window1)
        cpu_figures = cpu.read()
        sleep_until(window1 + STEADY_GRACE_S)
        status = system.ask(GetStatus())
        metrics = system.ask(GetMetrics())
        journal = system.journal_stats()
    finally:
        system.shutdown(grace_s=2.0)
    store = SQLiteStore(str(workdir / "steady.db"), size_bytes=STORE_CAP_BYTES)
    store.open()
    try:
        eps = 1e-6
        docs = read_results(store, lambda d: str(d.get("name", "")).startswith("steady-")
                            and d.get("attempt") == 0 and window0 - eps <= d["due_at"] < window1 - eps)
    finally:
        store.close()
    return {**floor, **lateness_figures(docs, n, duration, interval, spread, warmup, t_start, window0, window1),
            "add_s": round(add_s, 4), "coalesced_total": status.get("coalesced"), "cpu": cpu_figures,
            "status": status, "journal": journal,
            "metrics_runs": metrics.get("runs") if isinstance(metrics, dict) else None}


def lateness_figures(docs: list[dict[str, Any]], n: int, duration: float, interval: float, spread: float,
                     warmup: int, t_start: float, window0: float, window1: float) -> dict[str, Any]:
    """Lateness (started_at - due_at) of the successful runs among the result *docs* of the window."""
    runs: dict[tuple[str, int], dict[str, Any]] = {}
    for d in docs:
        runs[(d["job_id"], d["index"])] = d
    ok = [d for d in runs.values() if d["outcome"] == "success" and d.get("started_at") is not None]
    lateness_ms = [(d["started_at"] - d["due_at"]) * 1000.0 for d in ok]
    expected = round(n * duration / interval)
    stats = summarize(lateness_ms)
    return {
        "jobs": n, "seconds": duration, "interval_s": interval, "spread_s": spread, "warmup_runs": warmup,
        "window": [window0, window1],
        "window_shift_s": round(window0 - t_start - warmup * interval, 3),
        "expected_runs": expected,
        "runs": len(ok),
        "not_success": len(runs) - len(ok),
        "missed": expected - len(ok),
        "lateness_ms": stats,
        "p50_ms": stats["p50"], "p99_ms": stats["p99"], "max_ms": stats["max"],
        "samples_ms": lateness_ms,
    }


def _window(t_start: float, t_ready: float, duration: float, interval: float, warmup: int = 0) -> tuple[float, float]:
    """The measurement window: from the first slot after each job's *warmup* runs on, unless adding the
    jobs overran the first slot (then whole intervals later, so that every job still has exactly
    duration/interval slots in it)."""
    shift = 0.0
    if t_ready + 0.5 > t_start:
        shift = math.ceil((t_ready + 0.5 - t_start) / interval) * interval
    begin = t_start + shift + warmup * interval
    return begin, begin + duration


# ----------------------------------------------------------------------------- 3. journal
def journal(params: dict[str, Any], workdir: Path) -> dict[str, Any]:
    """One task logging L lines; lines stored per second (task start to all stored), lines lost."""
    from actors.jobs import JobSpec, Origin
    from actors.messages import AddJob
    from actors.store import Query

    lines = int(params["lines"])
    system = start_system(workdir, "journal")
    try:
        warm_up(system, 4)
        spec = JobSpec(name="journal", classname="benchmarks.tasks:Logger", interval_s=3600.0,
                       kwargs={"lines": lines}, only_once=True, origin=Origin.API)
        written0 = int(system.journal_stats()["written"])
        cpu = CpuMeter()
        system.ask(AddJob(spec))

        def count() -> int:
            return int(system.store.find(Query(type="reslog", job_id=spec.job_id, limit=0)).total)

        def all_stored() -> bool:
            return int(system.journal_stats()["written"]) - written0 >= lines and count() >= lines

        done = wait_for(all_stored, float(params.get("timeout_s", 240)), 0.01)
        t_done = time.time()
        cpu_figures = cpu.read()
        wait_for(lambda: system.store.find(Query(type="result", job_id=spec.job_id, limit=0)).total >= 1, 30, 0.01)
        system.flush()
        result = system.store.find(Query(type="result", job_id=spec.job_id, limit=1)).items
        journal_stats = system.journal_stats()
        store_stats = system.store.stats()
        stored_count = count()
        seen = _distinct_lines(system.store, spec.job_id)
    finally:
        system.shutdown(grace_s=2.0)
    if not result:
        raise RuntimeError("the Logger run left no result document")
    doc = result[0]
    start = float(doc["started_at"])
    elapsed = t_done - start
    return {
        "lines": lines,
        "complete": done,
        "outcome": doc["outcome"],
        "task_s": round(float(doc["finished_at"]) - start, 4),
        "elapsed_s": round(elapsed, 4),
        "lines_per_s": lines / elapsed if done else stored_count / elapsed,
        "task_lines_per_s": lines / max(1e-9, float(doc["finished_at"]) - start),
        "stored": stored_count,
        "distinct_lines_stored": seen,
        "lines_lost": lines - seen,
        "journal": {k: v for k, v in journal_stats.items() if k != "outage_since"},
        "store": {k: v for k, v in store_stats.items() if k != "path"},
        "cpu": cpu_figures,
        "note": "task log lines are also echoed as JSON lines (logger das_actors.task), as the server does at INFO",
    }


def _distinct_lines(store: Any, job_id: str) -> int:
    """How many of the lines "line 0" .. "line L-1" of the job are stored (duplicates counted once)."""
    seen: set[str] = set()
    seq = 0
    while True:
        docs = store.read_after(seq, ["reslog"], 20000)
        if not docs:
            return len(seen)
        seq = int(docs[-1]["seq"])
        seen.update(d["msg"] for d in docs if d.get("job_id") == job_id and d.get("logger", "").startswith("task."))


# ----------------------------------------------------------------------------- 5. start-up
STARTUP_CONFIG = ('workers = 2\ntask_packages = "benchmarks"\n'
                  'Task("first", "benchmarks.tasks:Touch", 3600, path={marker!r})\n')


def startup(params: dict[str, Any], workdir: Path) -> dict[str, Any]:
    """``python -m actors.cli start --no-start-offset cfg.py`` to the first run started, *repeats* times."""
    from actors.config import OPTIONS

    extra = ["--no-web"] if "web" in OPTIONS else []
    samples: list[float] = []
    ready: list[float | None] = []
    for k in range(int(params["repeats"])):
        marker = workdir / f"das-first-run-{k}"
        config = workdir / f"das-startup-{k}.py"
        config.write_text(STARTUP_CONFIG.format(marker=str(marker)), encoding="utf-8")
        cmd = [sys.executable, "-m", "actors.cli", "start", "--no-start-offset", "--minimum-interval", "0",
               "--db-uri", f"sqlite:///{workdir}/das-startup-{k}.db", "--shutdown-grace", "2", *extra, str(config)]
        log_path = workdir / f"das-startup-{k}.log"
        with open(log_path, "w", encoding="utf-8") as log:
            launched = time.time()
            process = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
            try:
                if not wait_for(marker.exists, 60, 0.002):
                    raise RuntimeError(f"no run started within 60 s; log: {log_path.read_text()[-2000:]}")
                samples.append(float(marker.read_text()) - launched)
                ready.append(_ready_at(log_path, launched))
            finally:
                stop_process(process)
    return {"repeats": len(samples), "first_run_s": median(samples), "samples_s": samples,
            "server_ready_s": ready, "flags": extra,
            "method": "subprocess launch -> the task's own time.time() at its start (marker file)"}


def _ready_at(log_path: Path, launched: float) -> float | None:
    """Seconds from launch to the ``server.ready`` log line (its ISO timestamp), if found."""
    import json
    from datetime import datetime

    for _ in range(50):
        for line in log_path.read_text(encoding="utf-8").splitlines():
            if '"server.ready"' in line:
                try:
                    stamp = json.loads(line)["timestamp"].replace("Z", "+00:00")
                    return round(datetime.fromisoformat(stamp).timestamp() - launched, 4)
                except (ValueError, KeyError):
                    return None
        time.sleep(0.02)
    return None


def stop_process(process: subprocess.Popen[Any], timeout: float = 30.0) -> None:
    """SIGTERM, then SIGKILL if it does not exit in *timeout* seconds."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


SCENARIOS: dict[str, Callable[[dict[str, Any], Path], dict[str, Any]]] = {
    "burst": burst,
    "steady": steady,
    "journal": journal,
    "scale_config": das_scale.scale_config,
    "scale_restart": das_scale.scale_restart,
    "startup": startup,
}
