"""Panel under load (das-actors only): a herd of 2,000 jobs @ 1 Hz, with and without 50 web clients.

Two units, each in a fresh process: ``quiet`` runs the whole server (`actors.server.Server`: the
System and the web panel on a free loopback port) with N Echo jobs every second, all due at the
same instant, and measures their lateness (each job's first two runs left out, as in the herd);
``loaded`` does the same while `benchmarks.panel_clients` (its own process) keeps C clients on
the schedule page and ``GET api/v1/jobs?limit=50`` for the whole window. The figures: the page's
and the API's latency p99 under the clients, and the lateness p99 with the clients beside the
one without. APScheduler has no panel: nothing to compare with.

Alone: ``python -m benchmarks.panel_side [--jobs N] [--clients C] [--seconds S] [--think S]``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.common import ROOT, CpuMeter, sleep_until, summarize
from benchmarks.scenario import exit_now, write_unit

FULL: dict[str, Any] = {"jobs": 2000, "seconds": 20, "clients": 50, "think_s": 0.0, "warmup_runs": 2}
QUICK: dict[str, Any] = {"jobs": 200, "seconds": 5, "clients": 10, "think_s": 0.0, "warmup_runs": 2}


def _herd(params: dict[str, Any], workdir: Path, with_clients: bool) -> dict[str, Any]:
    from actors.jobs import JobSpec, Origin
    from actors.messages import AddJobs, GetStatus
    from actors.server import Server
    from actors.store.sqlite import SQLiteStore
    from benchmarks.das_side import (
        STEADY_GRACE_S,
        STORE_CAP_BYTES,
        _window,
        configure_logging,
        lateness_figures,
        read_results,
        settings,
        warm_up,
    )

    n, duration = int(params["jobs"]), float(params["seconds"])
    warmup, interval = int(params.get("warmup_runs", 2)), 1.0
    configure_logging(workdir)
    server = Server(settings(workdir, "panel", web=True, web_port=0, web_host="127.0.0.1")).start()
    clients: dict[str, Any] = {}
    try:
        if not server.wait_until(lambda: all(w.get("status") == "idle" for w in server.workers()), 120, 0.02):
            raise RuntimeError(f"workers not ready after 120 s: {server.workers()}")
        warm_up(server.system)
        t_start = time.time() + 2.0
        specs = [JobSpec(name=f"steady-{i}", classname="Echo", interval_s=interval, kwargs={"value": i},
                         origin=Origin.API) for i in range(n)]
        server.system.ask(AddJobs(specs, first_due_at=t_start), timeout=120)
        window0, window1 = _window(t_start, time.time(), duration, interval, warmup)
        process = None
        out = workdir / "clients.json"
        if with_clients:  # the clients run the whole window, from a little before it
            sleep_until(window0 - 1.0)
            process = subprocess.Popen(
                [sys.executable, "-m", "benchmarks.panel_clients", str(server.web_url), str(params["clients"]),
                 str(window1 - time.time()), str(params.get("think_s", 0.0)), str(out)], cwd=ROOT)
        sleep_until(window0)
        cpu = CpuMeter()
        sleep_until(window1)
        cpu_figures = cpu.read()
        if process is not None:
            process.wait(120)
            clients = json.loads(out.read_text(encoding="utf-8"))
        sleep_until(window1 + STEADY_GRACE_S)
        status = server.system.ask(GetStatus())
    finally:
        server.shutdown(grace_s=2.0)
    store = SQLiteStore(str(workdir / "panel.db"), size_bytes=STORE_CAP_BYTES)
    store.open()
    try:
        eps = 1e-6
        docs = read_results(store, lambda d: str(d.get("name", "")).startswith("steady-")
                            and d.get("attempt") == 0 and window0 - eps <= d["due_at"] < window1 - eps)
    finally:
        store.close()
    figures = lateness_figures(docs, n, duration, interval, 0.0, warmup, t_start, window0, window1)
    out_clients: dict[str, Any] = {}
    if clients:
        for kind, values in clients.pop("latency_ms").items():
            stats = summarize(values)
            out_clients[kind] = {**stats, "per_s": round(len(values) / max(clients["wall_s"], 1e-9), 1)}
        out_clients.update(clients)
    return {**figures, "cpu": cpu_figures, "status": status, "clients": out_clients or None}


def quiet(params: dict[str, Any], workdir: Path) -> dict[str, Any]:
    """The herd with the panel up and no client."""
    return _herd(params, workdir, with_clients=False)


def loaded(params: dict[str, Any], workdir: Path) -> dict[str, Any]:
    """The herd with the panel up and `clients` clients on the schedule page and the API."""
    return _herd(params, workdir, with_clients=True)


SCENARIOS: dict[str, Callable[[dict[str, Any], Path], dict[str, Any]]] = {"quiet": quiet, "loaded": loaded}

#: "No worse than without the clients": within this factor of the quiet run (the runs are minutes apart
#: on a shared machine; the same system measured twice differs by about this much).
TOLERANCE = 1.10


def figures(outcome: dict[str, Any], side: Any) -> list[dict[str, Any]]:
    """`benchmarks.figures.Figure` keyword arguments for the table (*side* is `benchmarks.figures.side_of`)."""
    p = outcome["params"]
    n, c = int(p["jobs"]), int(p["clients"])
    quiet_data, quiet_error = side(outcome, "das:quiet")
    load_data, load_error = side(outcome, "das:loaded")
    clients = (load_data or {}).get("clients") or {}
    think = float(p.get("think_s", 0.0))
    how = "back to back" if think == 0 else f"{think:g} s between requests"
    rows: list[dict[str, Any]] = []
    for kind, label, path in (("page", "schedule page", "GET {web_base}/schedule"),
                              ("api", "API jobs page", "GET {web_base}/api/v1/jobs?limit=50")):
        stats = clients.get(kind) or {}
        value = stats.get("p99")
        rows.append({"key": f"panel.{kind}_p99_ms", "label": f"panel: {label} p99, {c} clients, herd of {n:,}",
                     "unit": "ms", "das": value, "aps": None, "better": "lower", "target": "<= 300 ms",
                     "check": lambda v, r: v <= 300, "das_error": load_error, "aps_note": "no panel",
                     "note": None if not stats else f"{path}: {stats.get('count')} responses "
                     f"({stats.get('per_s')}/s), p50 {stats.get('p50'):.1f} ms, max {stats.get('max'):.1f} ms; "
                     f"clients {how}; {clients.get('errors', 0)} errors"})
    quiet_p99 = None if quiet_data is None else quiet_data.get("p99_ms")
    rows.append({"key": "panel.quiet_p99_ms", "label": f"panel: herd of {n:,} lateness p99, no client", "unit": "ms",
                 "das": quiet_p99, "aps": None, "better": "lower", "das_error": quiet_error, "aps_note": "no panel"})
    loaded_p99 = None if load_data is None else load_data.get("p99_ms")

    def no_worse(value: float, _ratio: float | None) -> bool | None:
        return None if quiet_p99 is None else value <= quiet_p99 * TOLERANCE

    rows.append({"key": "panel.loaded_p99_ms", "label": f"panel: herd of {n:,} lateness p99, {c} clients",
                 "unit": "ms", "das": loaded_p99, "aps": None, "better": "lower",
                 "target": f"<= no-client p99 (x{TOLERANCE:g})", "check": no_worse, "das_error": load_error,
                 "aps_note": "no panel",
                 "note": None if load_data is None or quiet_data is None else
                 f"runs missed: {load_data.get('missed')} with clients, {quiet_data.get('missed')} without; "
                 f"p50 {load_data.get('p50_ms'):.2f} ms with, {quiet_data.get('p50_ms'):.2f} ms without"})
    return rows


def main(argv: list[str]) -> int:
    if len(argv) == 5 and argv[0] == "das":  # the benchmarks.scenario unit protocol
        _system, name, params_json, out, workdir = argv
        ok = write_unit(out, lambda: SCENARIOS[name](json.loads(params_json), Path(workdir)))
        exit_now(ok)
    parser = argparse.ArgumentParser(prog="python -m benchmarks.panel_side", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=FULL["jobs"])
    parser.add_argument("--clients", type=int, default=FULL["clients"])
    parser.add_argument("--seconds", type=float, default=FULL["seconds"])
    parser.add_argument("--think", type=float, default=FULL["think_s"], help="seconds between a client's requests")
    parser.add_argument("--only", choices=sorted(SCENARIOS), help="one unit (both by default)")
    args = parser.parse_args(argv)
    params = {**FULL, "jobs": args.jobs, "clients": args.clients, "seconds": args.seconds, "think_s": args.think}
    result: dict[str, Any] = {}
    for name in [args.only] if args.only else list(SCENARIOS):
        with tempfile.TemporaryDirectory(prefix=f"das-bench-panel-{name}-") as workdir:
            data = SCENARIOS[name](params, Path(workdir))
        data.pop("samples_ms", None)
        result[name] = data
        print(json.dumps({k: v for k, v in data.items() if k in ("p50_ms", "p99_ms", "max_ms", "missed", "clients")},
                         indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
