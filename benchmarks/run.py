"""Entry point: ``python -m benchmarks.run [--quick] [--only NAME ...] [--out DIR]``.

Runs every scenario for das-actors and for APScheduler 3.x, each side in a fresh subprocess
with a hard timeout, one after the other (never two measurements at once), prints one table
(figure | das-actors | APScheduler | ratio | target | met?) and writes ``latest.json`` and
``lateness.svg`` into ``benchmarks/results/`` (or ``--out``). A scenario that fails or times out
is reported in the table and the run goes on; the exit status is 1 if any measurement failed,
0 otherwise (a missed target is reported as MISSED, it does not fail the run).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.chart import Marker, Series, write_lateness_svg
from benchmarks.common import RESULTS_DIR, ROOT, machine_info, markdown_table, quantile_curve
from benchmarks.das_hit_ratio import FULL as DAS_HIT_FULL
from benchmarks.das_hit_ratio import QUICK as DAS_HIT_QUICK
from benchmarks.dask_side import FULL as DASK_FULL
from benchmarks.dask_side import QUICK as DASK_QUICK
from benchmarks.figures import build_figures, side_of
from benchmarks.panel_side import FULL as PANEL_FULL
from benchmarks.panel_side import QUICK as PANEL_QUICK
from benchmarks.reports_bench import FULL as REPORTS_FULL
from benchmarks.reports_bench import QUICK as REPORTS_QUICK

DAS, APS = "das", "aps"
NAMES = {DAS: "das-actors", APS: "APScheduler"}
STORES_NOTE = "APScheduler stores nothing; das-actors journals every result to SQLite"


@dataclass(frozen=True)
class Unit:
    """One side of one scenario: a function of `benchmarks.das_side` or `benchmarks.aps_side`."""

    system: str
    function: str
    timeout_s: float
    requires: str | None = None  # key of a unit of the same scenario that must have succeeded
    module: str = "benchmarks.scenario"  # runs the unit (same command-line protocol)

    @property
    def key(self) -> str:
        return f"{self.system}:{self.function}"


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    default: dict[str, Any]
    quick: dict[str, Any]
    units: tuple[Unit, ...]
    extra_timeout: Callable[[dict[str, Any]], float] = field(default=lambda _params: 0.0)
    #: What ``--full`` (``BENCH_FULL=1 make bench``) changes in the default parameters.
    full: dict[str, Any] = field(default_factory=dict)

    def params(self, mode: str) -> dict[str, Any]:
        """The parameters of *mode*: ``quick`` (smoke), ``default`` (make bench) or ``full``."""
        if mode == "quick":
            return dict(self.quick)
        return {**self.default, **(self.full if mode == "full" else {})}


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("burst", "Burst of one-shot jobs", {"n": 5000}, {"n": 500},
             (Unit(DAS, "burst", 300), Unit(APS, "burst", 300))),
    Scenario("herd", "Herd: 1,000 jobs @ 1 Hz, all due at the same instant",
             {"jobs": 1000, "seconds": 20, "spread_s": 0.0, "warmup_runs": 2, "floor_burst": 5000},
             {"jobs": 200, "seconds": 5, "spread_s": 0.0, "warmup_runs": 2, "floor_burst": 500},
             (Unit(DAS, "steady", 240), Unit(APS, "steady", 240)), lambda p: float(p["seconds"])),
    Scenario("spread1000", "Spread: 1,000 jobs @ 1 Hz, first runs over the interval",
             {"jobs": 1000, "seconds": 20, "warmup_runs": 2}, {"jobs": 100, "seconds": 5, "warmup_runs": 2},
             (Unit(DAS, "steady", 240), Unit(APS, "steady", 240)), lambda p: float(p["seconds"])),
    Scenario("spread2000", "Spread: 2,000 jobs @ 1 Hz, first runs over the interval",
             {"jobs": 2000, "seconds": 20, "warmup_runs": 2}, {"jobs": 200, "seconds": 5, "warmup_runs": 2},
             (Unit(DAS, "steady", 240), Unit(APS, "steady", 240)), lambda p: float(p["seconds"])),
    Scenario("journal", "Journal: one task logging many lines", {"lines": 200_000}, {"lines": 20_000},
             (Unit(DAS, "journal", 360),)),
    Scenario("scale", "Scale: many jobs with 1 h intervals", {"jobs": 100_000}, {"jobs": 10_000},
             (Unit(DAS, "scale_config", 900), Unit(DAS, "scale_restart", 900, requires="das:scale_config"),
              Unit(APS, "scale", 900)), full={"jobs": 1_000_000}),
    Scenario("panel", "Panel under load: clients on the schedule page and the API during a herd", PANEL_FULL,
             PANEL_QUICK, (Unit(DAS, "quiet", 300, module="benchmarks.panel_side"),
                           Unit(DAS, "loaded", 300, module="benchmarks.panel_side")),
             lambda p: float(p["seconds"])),
    Scenario("startup", "Start-up to the first run", {"repeats": 3}, {"repeats": 1},
             (Unit(DAS, "startup", 300), Unit(APS, "startup", 300))),
    Scenario("das_hit_ratio", "DAS cache hit ratio: no prefetch, hotspot pipeline, oracle", DAS_HIT_FULL,
             DAS_HIT_QUICK, (Unit(DAS, "hit_ratio", 900, module="benchmarks.das_hit_ratio"),)),
    Scenario("reports", "Report: scheduler report over 24 h of 100k runs on the embedded store", REPORTS_FULL,
             REPORTS_QUICK, (Unit(DAS, "scheduler_report", 300, module="benchmarks.reports_bench"),)),
    Scenario("dask_burst", "Burst through a 2-worker Dask cluster beside 2 local workers", DASK_FULL, DASK_QUICK,
             (Unit(DAS, "burst_local", 300, module="benchmarks.dask_side"),
              Unit(DAS, "burst_dask", 600, module="benchmarks.dask_side"))),
)
ALIASES = {"steady": ("herd", "spread1000", "spread2000"), "spread": ("spread1000", "spread2000")}


# ----------------------------------------------------------------------------- running units
def run_unit(unit: Unit, params: dict[str, Any], workdir: Path, timeout_s: float) -> dict[str, Any]:
    """Run *unit* in a fresh subprocess (own process group) with a hard timeout; never raises."""
    out = workdir / f"{unit.system}-{unit.function}.json"
    log_path = workdir / f"{unit.system}-{unit.function}.log"
    cmd = [sys.executable, "-m", unit.module, unit.system, unit.function, json.dumps(params), str(out),
           str(workdir)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    t0 = time.perf_counter()
    timed_out = False
    with open(log_path, "w", encoding="utf-8") as log:
        process = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env,
                                   start_new_session=True)
        try:
            code = process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill_group(process.pid)
            code = process.wait(30)
        finally:
            _kill_group(process.pid)  # stragglers of the unit's own process group, if any
    wall = time.perf_counter() - t0
    result: dict[str, Any]
    if out.exists():
        try:
            result = json.loads(out.read_text(encoding="utf-8"))
        except ValueError as exc:
            result = {"ok": False, "error": f"unreadable result file: {exc}"}
    else:
        result = {"ok": False, "error": f"timed out after {timeout_s:g} s" if timed_out
                  else f"exited with code {code} without a result"}
    result["wall_s"] = round(wall, 3)
    if not result.get("ok"):
        result["log_tail"] = _tail(log_path, 40)
    return result


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _tail(path: Path, lines: int) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def run_scenario(scenario: Scenario, mode: str, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Every unit of *scenario*, sequentially, in one temp dir removed afterwards."""
    params = {**scenario.params(mode), **(overrides or {})}
    outcome: dict[str, Any] = {"title": scenario.title, "params": params, "units": {}}
    workdir = Path(tempfile.mkdtemp(prefix=f"das-bench-{scenario.name}-"))
    try:
        for unit in scenario.units:
            label = f"{scenario.name} / {NAMES[unit.system]} ({unit.function})"
            if unit.requires and not outcome["units"].get(unit.requires, {}).get("ok"):
                outcome["units"][unit.key] = {"ok": False, "error": f"skipped: {unit.requires} failed"}
                _progress(f"{label}: skipped ({unit.requires} failed)")
                continue
            _progress(f"{label} ...")
            result = run_unit(unit, params, workdir, unit.timeout_s + scenario.extra_timeout(params))
            outcome["units"][unit.key] = result
            status = "ok" if result.get("ok") else f"FAILED: {result.get('error')}"
            _progress(f"{label}: {status} ({result['wall_s']:.1f} s)")
            time.sleep(0.5)  # let the previous side's processes go before the next one starts
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return outcome


def _progress(message: str) -> None:
    sys.stderr.write(f"[bench {datetime.now().strftime('%H:%M:%S')}] {message}\n")
    sys.stderr.flush()


# ----------------------------------------------------------------------------- chart
def write_chart(outcomes: dict[str, dict[str, Any]], path: Path) -> Path | None:
    """lateness.svg: CDFs of both systems: spread 2,000 jobs (solid), spread 1,000 (dashed), herd (dotted)."""
    series: list[Series] = []
    sizes: list[str] = []
    for name, dash in (("spread2000", ""), ("spread1000", "6 4"), ("herd", "2 3")):
        o = outcomes.get(name)
        if o is None:
            continue
        n = int(o["params"]["jobs"])
        what = f"herd of {n:,}" if name == "herd" else f"{n:,} jobs"
        sizes.append(what)
        for key, color in (("das:steady", "#1f5fbf"), ("aps:steady", "#d9480f")):
            data, _ = side_of(o, key)
            system = NAMES[key.split(":")[0]]
            samples = (data or {}).get("samples_ms") or []
            missed = None if data is None else int(data.get("missed", 0))
            series.append(Series(f"{system}, {what}", samples, color, dash, missed))
    if not any(s.values_ms for s in series):
        return None
    first = next(o for name in ("spread2000", "spread1000", "herd") if (o := outcomes.get(name)) is not None)
    sec = first.get("params", {}).get("seconds")
    title = "Lateness of 1 s interval jobs: das-actors vs APScheduler 3.x (2 worker processes each)"
    subtitle = (f"{', '.join(sizes)}; {sec:g} s each, first 2 runs of each job excluded; trivial task; "
                "das-actors journals every result to SQLite, APScheduler stores nothing")
    markers = [Marker(2.0, "target p99 spread: 2 ms", "#999")]
    return write_lateness_svg(path, series, title=title, subtitle=subtitle, markers=markers)


# ----------------------------------------------------------------------------- main
def select(only: Sequence[str] | None) -> list[Scenario]:
    """The scenarios named by ``--only`` (comma-separated or repeated; ``steady`` = both loads)."""
    if not only:
        return list(SCENARIOS)
    wanted: list[str] = []
    known = {s.name for s in SCENARIOS}
    for entry in only:
        for name in (part.strip() for part in entry.split(",") if part.strip()):
            names = ALIASES.get(name, (name,))
            for n in names:
                if n not in known:
                    raise SystemExit(f"benchmarks.run: unknown scenario {n!r} "
                                     f"(known: {', '.join([*sorted(known), *ALIASES])})")
                if n not in wanted:
                    wanted.append(n)
    return [s for s in SCENARIOS if s.name in wanted]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="shrink every scenario (smoke run, ~1-2 min)")
    parser.add_argument("--full", action="store_true", default=os.environ.get("BENCH_FULL", "") not in ("", "0"),
                        help="the targets' full sizes where the default is smaller (scale: 1,000,000 jobs); "
                             "also env BENCH_FULL=1")
    parser.add_argument("--only", action="append", metavar="NAME",
                        help="run only these scenarios: " + ", ".join([s.name for s in SCENARIOS] + list(ALIASES)))
    parser.add_argument("--out", type=Path, default=RESULTS_DIR, help="directory of latest.json and lateness.svg")
    parser.add_argument("--steady-spread", type=float, default=1.0, metavar="SECONDS",
                        help="spread scenarios: first runs spread uniformly over this many seconds (default 1, the "
                             "whole interval; the herd scenario is the 0 case)")
    args = parser.parse_args(argv)
    if args.quick and args.full:
        parser.error("--quick and --full (BENCH_FULL) exclude each other")
    mode = "quick" if args.quick else "full" if args.full else "default"
    scenarios = select(args.only)
    started = time.time()
    t0 = time.perf_counter()
    machine = machine_info()
    _progress(f"{len(scenarios)} scenario(s), {mode} mode, {machine['cpu_count']} CPUs, Python {machine['python']}, "
              f"load average {machine.get('load_avg')}")
    outcomes: dict[str, dict[str, Any]] = {}
    for scenario in scenarios:
        overrides = {"spread_s": args.steady_spread} if scenario.name.startswith("spread") else None
        outcomes[scenario.name] = run_scenario(scenario, mode, overrides)
        outcomes[scenario.name]["load_avg_after"] = list(os.getloadavg())
    figures = build_figures(outcomes)
    duration = time.perf_counter() - t0

    args.out.mkdir(parents=True, exist_ok=True)
    chart = write_chart(outcomes, args.out / "lateness.svg")
    if chart is None:  # no steady load this time: a chart of an older run would not match latest.json
        (args.out / "lateness.svg").unlink(missing_ok=True)
    report = {
        "schema": 1,
        "generated_at": datetime.fromtimestamp(started, UTC).isoformat().replace("+00:00", "Z"),
        "duration_s": round(duration, 1),
        "quick": args.quick,
        "mode": mode,
        "load_avg_end": list(os.getloadavg()),
        "command": [sys.executable, "-m", "benchmarks.run", *(argv if argv is not None else sys.argv[1:])],
        "machine": machine,
        "conditions": {
            "das-actors": "in-process System, 2 worker subprocesses, embedded SQLite store (temp dir, db_size 4 GiB), "
                          "every result journaled; logging as `das-actors start` (JSON, INFO) to a file",
            "APScheduler": "BackgroundScheduler + apscheduler.executors.pool.ProcessPoolExecutor(max_workers=2), "
                           "memory job store, no persistence; logging not configured (warnings only)",
            "stores": STORES_NOTE,
            "isolation": "each side of each scenario runs in a fresh subprocess, one at a time",
        },
        "figures": {f.key: f.to_json() for f in figures},
        "scenarios": {name: _strip_samples(o) for name, o in outcomes.items()},
        "lateness_cdf": _curves(outcomes),
        "chart": None if chart is None else str(chart),
    }
    (args.out / "latest.json").write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")

    print(_headline(machine, mode))
    print()
    print(markdown_table(["figure", "das-actors", "APScheduler", "ratio (higher is better for das-actors)", "target",
                          "met?"], [f.cells() for f in figures], right=(1, 2, 3)))
    print()
    print(f"Note: {STORES_NOTE}. Ratio = das/APS for throughput, APS/das for lateness, times and memory.")
    for f in figures:
        if f.note:
            print(f"- {f.key}: {f.note}")
    failures = [(name, key, unit) for name, o in outcomes.items() for key, unit in o["units"].items()
                if not unit.get("ok")]
    for name, key, unit in failures:
        print(f"\nERROR in {name} / {key}: {unit.get('error')}")
        tail = str(unit.get("log_tail") or "").strip()
        if tail:
            print("  " + "\n  ".join(tail.splitlines()[-12:]))
    missed = [f.key for f in figures if f.met == "MISSED"]
    print(f"\n{len(missed)} target(s) missed{': ' + ', '.join(missed) if missed else ''}; "
          f"{len(failures)} measurement(s) failed. Wrote {args.out / 'latest.json'}"
          f"{' and ' + str(chart) if chart else ''}. Took {duration:.0f} s.")
    return 1 if failures else 0


def _headline(machine: dict[str, Any], mode: str) -> str:
    git = machine.get("git") or {}
    commit = (git.get("commit") or "?")[:10] + (" (uncommitted changes)" if git.get("dirty") else "")
    what = {"quick": "QUICK smoke run: shrunken scenarios, figures NOT comparable with the targets",
            "default": "default run (BENCH_FULL=1 for the full sizes)", "full": "FULL run"}[mode]
    load = machine.get("load_avg")
    load_text = "?" if not load else ", ".join(f"{x:.2f}" for x in load)
    aps = (machine.get("packages") or {}).get("APScheduler")
    return (f"das-actors benchmarks, {what}. {machine.get('cpu_count')} CPUs ({machine.get('cpu_model')}), "
            f"Python {machine.get('python')}, APScheduler {aps or 'not installed'}, commit {commit}; "
            f"load average at the start {load_text}, at the end {', '.join(f'{x:.2f}' for x in os.getloadavg())}.")


def _strip_samples(outcome: dict[str, Any]) -> dict[str, Any]:
    units = {}
    for key, unit in outcome["units"].items():
        data = unit.get("data")
        if isinstance(data, dict) and "samples_ms" in data:
            units[key] = {**unit, "data": {k: v for k, v in data.items() if k != "samples_ms"}}
        else:
            units[key] = unit
    return {**outcome, "units": units}


def _curves(outcomes: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Compact lateness CDFs (201 quantiles, ms) of every steady measurement."""
    out: dict[str, Any] = {}
    for name, o in outcomes.items():
        for key, unit in o["units"].items():
            samples = (unit.get("data") or {}).get("samples_ms")
            if samples:
                out[f"{name}.{key.split(':')[0]}"] = quantile_curve(samples)
    return out


if __name__ == "__main__":
    sys.exit(main())
