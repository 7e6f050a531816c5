"""DAS hit-ratio benchmark: does the hotspot pipeline keep the popular data warm?

A local `DemoUpstream` (TTL of a few seconds, tens of ms of latency) behind the das service
and its HTTP endpoint; the load generator (`tasks.das.spam`, ``das-actors spam``) sends a
Zipf workload through the endpoint. Three runs, each on a fresh store, same workload
(same seeds), first a warm-up (traffic the pipeline can learn from), then the measurement:

1. **none**: no prefetch, the cache only holds what clients fetched;
2. **pipeline**: a real in-process `System` with the das service configured runs a
   ValueHotspot (mode ``fixed``: the top N values, short interval and period suited to the
   run) which spawns QueryMaintainers keeping the hot values warm;
3. **oracle**: a thread keeps the *true* top N values warm (refreshes exactly the N most
   popular values ``preempt`` seconds before they expire).

Figures per run: cache hit ratio and mean client latency as the load generator saw them,
upstream fetches per second (the cost of prefetching). The headline: pipeline hit ratio /
oracle hit ratio (target >= 90%), and the share of the oracle's gain over no prefetch that
the pipeline captures.

``python -m benchmarks.das_hit_ratio [--quick] [--json PATH]`` runs it alone;
``python -m benchmarks.run --only das_hit_ratio`` runs it in the harness (the unit protocol
of `benchmarks.scenario`: ``... das hit_ratio PARAMS_JSON OUT_JSON WORKDIR``).
"""

from __future__ import annotations

import argparse
import dataclasses
import heapq
import json
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from benchmarks.scenario import exit_now, write_unit

#: Full run: 3 x (warm-up + measurement) ~ 5-6 minutes.
FULL: dict[str, Any] = {
    "ttl_s": 3, "latency_ms": 40, "values": 500, "zipf_s": 1.0, "rate": 20.0, "clients": 4, "top_n": 20,
    "warmup_s": 30.0, "measure_s": 75.0, "hotspot_interval_s": 5.0, "hotspot_period_s": 60.0, "preempt_s": 1.0,
}
#: Smoke run (~30-40 s in all).
QUICK: dict[str, Any] = {**FULL, "warmup_s": 4.0, "measure_s": 6.0, "hotspot_interval_s": 2.0,
                         "hotspot_period_s": 10.0}
MODES = ("none", "pipeline", "oracle")
#: A prefetcher never refreshes sooner than this after the previous refresh.
MIN_DELAY_S = 0.2


# ----------------------------------------------------------------------------- the oracle
class Oracle:
    """Keeps the given queries warm: each is refreshed ``preempt`` seconds before it expires."""

    def __init__(self, service: Any, queries: list[str], preempt_s: float) -> None:
        self.service = service
        self.queries = queries
        self.preempt_s = preempt_s
        self.refreshes = 0
        self.failures = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="das-oracle", daemon=True)

    def start(self) -> Oracle:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        heap = [(0.0, i) for i in range(len(self.queries))]
        while not self._stop.is_set() and heap:
            due, i = heap[0]
            wait = due - time.time()
            if wait > 0:
                self._stop.wait(min(wait, 0.5))
                continue
            heapq.heappop(heap)
            result = self.service.refresh(self.queries[i])
            now = time.time()
            if result.status == "failed" or result.expire is None:
                self.failures += 1
                heapq.heappush(heap, (now + 0.5, i))
                continue
            self.refreshes += 1
            heapq.heappush(heap, (max(result.expire - self.preempt_s, now + MIN_DELAY_S), i))


# ----------------------------------------------------------------------------- one run
def run_mode(mode: str, params: dict[str, Any], workdir: Path) -> dict[str, Any]:
    """One run (none / pipeline / oracle) on a fresh store; the load generator's figures."""
    from tasks.das import make_service
    from tasks.das.demo_upstream import DemoUpstream
    from tasks.das.http import DasHttpServer
    from tasks.das.spam import SpamConfig, run_spam

    ttl = float(params["ttl_s"])
    demo = DemoUpstream(ttl_s=ttl, latency_s=float(params["latency_ms"]) / 1000.0).start()
    options = {"das_db_uri": f"sqlite:///{workdir}/{mode}-das.db",
               "das_upstreams": str(demo.write_config(workdir / f"{mode}-upstreams.json", expire_s=ttl,
                                                      retries=1, timeout_s=5.0))}
    service = make_service(options)
    assert service is not None
    http = DasHttpServer(service, port=0).start()
    spam = SpamConfig(url=http.query_url, workers=int(params["clients"]), rate=float(params["rate"]),
                      popularity="zipf", zipf_s=float(params["zipf_s"]), values=int(params["values"]),
                      duration_s=float(params["warmup_s"]), seed=1)
    top_n = int(params["top_n"])
    system: Any = None
    oracle: Oracle | None = None
    out: dict[str, Any] = {"mode": mode}
    try:
        if mode == "pipeline":
            system = start_pipeline(params, options, workdir)
        elif mode == "oracle":
            oracle_service = make_service(options)
            oracle = Oracle(oracle_service, [spam.query(i) for i in range(top_n)], float(params["preempt_s"])).start()
        elif mode != "none":
            raise ValueError(f"unknown mode {mode!r} (known: {', '.join(MODES)})")
        warm = run_spam(spam)
        requests_before = demo.requests
        measured = run_spam(dataclasses.replace(spam, duration_s=float(params["measure_s"]), seed=2))
        upstream_requests = demo.requests - requests_before
        out.update({
            "hit_ratio": measured["hit_ratio"], "mean_ms": measured["mean_ms"], "p50_ms": measured["p50_ms"],
            "p99_ms": measured["p99_ms"], "requests": measured["requests"], "errors": measured["errors"],
            "rate": measured["rate"], "warmup_hit_ratio": warm["hit_ratio"],
            "upstream_per_s": round(upstream_requests / max(measured["duration_s"], 1e-9), 3),
        })
        if system is not None:
            out["pipeline"] = pipeline_figures(system, top_n)
        if oracle is not None:
            out["oracle"] = {"refreshes": oracle.refreshes, "failures": oracle.failures}
    finally:
        if oracle is not None:
            oracle.stop()
        if system is not None:
            system.shutdown(grace_s=2.0)
        http.stop()
        demo.stop()
        service.close()
    return out


def start_pipeline(params: dict[str, Any], options: dict[str, Any], workdir: Path) -> Any:
    """A System running one ValueHotspot on ``dataset.name`` (top N values, fixed mode)."""
    from actors.config import Settings
    from actors.jobs import JobSpec, Origin
    from actors.system import System

    hotspot = JobSpec(
        name="hot-datasets", classname="ValueHotspot", interval_s=float(params["hotspot_interval_s"]),
        origin=Origin.CONFIG,
        kwargs={"key": "dataset.name", "mode": "fixed", "fraction": int(params["top_n"]),
                "period": float(params["hotspot_period_s"]), "allowed_gap": 0.0, "preempt": float(params["preempt_s"]),
                "min_delay": MIN_DELAY_S, "max_chunks": 100})
    settings = Settings({
        "db_uri": f"sqlite:///{workdir}/pipeline-results.db", "workers": 2, "minimum_interval": 0.0,
        "no_start_offset": True, "max_retries": 2, "retry_delay": 0.2, "retry_jitter": 0.0, "web": False,
        "shutdown_grace": 2.0, "max_children_per_run": 1000, **options,
    })
    system = System(settings, [hotspot]).start()
    if not system.wait_until(lambda: all(w.get("status") == "idle" for w in system.workers()), 60, 0.05):
        system.shutdown(grace_s=1.0)
        raise RuntimeError(f"workers not ready: {system.workers()}")
    return system


def pipeline_figures(system: Any, top_n: int) -> dict[str, Any]:
    """How the pipeline behaved: maintainer runs, failures, what the last hotspot run selected."""
    from actors.store import Query

    system.flush()
    docs = system.store.find(Query(type="result", limit=100_000)).items
    maint = [d for d in docs if d.get("classname") == "QueryMaintainer"]
    hot = sorted((d for d in docs if d.get("classname") == "ValueHotspot"), key=lambda d: d.get("started_at") or 0)
    last = (hot[-1].get("result") or {}) if hot else {}
    selected = [str(v) for v, _ in last.get("selected") or []]
    true_top = {f"/Primary{i}/Processed/RAW" for i in range(top_n)}
    return {
        "hotspot_runs": len(hot), "hotspot_failures": sum(1 for d in hot if d.get("outcome") != "success"),
        "maintainer_runs": len(maint), "maintainer_failures": sum(1 for d in maint if d.get("outcome") != "success"),
        "last_selected": len(selected), "last_selected_in_true_top": len(true_top.intersection(selected)),
    }


# ----------------------------------------------------------------------------- the scenario
def hit_ratio(params: dict[str, Any], workdir: Path) -> dict[str, Any]:
    """The three runs, one after the other, and the headline figures."""
    from actors import logs

    log_stream = open(workdir / "das-hit-ratio.log", "a", encoding="utf-8")  # noqa: SIM115 - process lifetime
    logs.configure_logging(level="INFO", fmt="json", stream=log_stream)
    runs: dict[str, Any] = {}
    for mode in MODES:
        _progress(f"das_hit_ratio: {mode} ...")
        runs[mode] = run_mode(mode, params, workdir)
        _progress(f"das_hit_ratio: {mode}: hit ratio {runs[mode]['hit_ratio']}, mean {runs[mode]['mean_ms']} ms")
    data: dict[str, Any] = {"runs": runs}
    for mode in MODES:
        ratio = runs[mode]["hit_ratio"]
        data[f"{mode}_hit_pct"] = None if ratio is None else round(100.0 * ratio, 2)
        data[f"{mode}_mean_ms"] = runs[mode]["mean_ms"]
        data[f"{mode}_upstream_per_s"] = runs[mode]["upstream_per_s"]
    p, o, n = data["pipeline_hit_pct"], data["oracle_hit_pct"], data["none_hit_pct"]
    data["pipeline_vs_oracle_pct"] = round(100.0 * p / o, 2) if p is not None and o else None
    data["gain_captured_pct"] = (round(100.0 * (p - n) / (o - n), 2)
                                 if None not in (p, o, n) and o - n > 0 else None)
    return data


SCENARIOS = {"hit_ratio": hit_ratio}


def figures(outcome: dict[str, Any], side: Any) -> list[dict[str, Any]]:
    """`benchmarks.figures.Figure` keyword arguments for the table (*side* is `benchmarks.figures.side_of`)."""
    data, error = side(outcome, "das:hit_ratio")
    p = outcome["params"]
    where = (f"Zipf s={p['zipf_s']} over {p['values']} values, {p['rate']:g} req/s, TTL {p['ttl_s']} s, "
             f"upstream latency {p['latency_ms']} ms, top {p['top_n']}")

    def get(name: str) -> float | None:
        value = None if data is None else data.get(name)
        return float(value) if isinstance(value, int | float) else None

    rows: list[dict[str, Any]] = []
    labels = {"none": "no prefetch", "pipeline": "hotspot pipeline", "oracle": "oracle (true top N kept warm)"}
    for mode in MODES:
        rows.append({"key": f"das_hit_ratio.{mode}_hit_pct", "label": f"DAS cache hit ratio (%), {labels[mode]}",
                     "unit": "%", "das": get(f"{mode}_hit_pct"), "aps": None, "better": "higher",
                     "das_error": error, "aps_note": "n/a"})
    for mode in MODES:
        rows.append({"key": f"das_hit_ratio.{mode}_mean_ms", "label": f"DAS mean client latency (ms), {labels[mode]}",
                     "unit": "ms", "das": get(f"{mode}_mean_ms"), "aps": None, "better": "lower",
                     "das_error": error, "aps_note": "n/a"})
    rows.append({"key": "das_hit_ratio.pipeline_vs_oracle_pct", "label": "DAS hit ratio: pipeline / oracle (%)",
                 "unit": "%", "das": get("pipeline_vs_oracle_pct"), "aps": None, "better": "higher",
                 "target": ">= 90%", "check": lambda v, r: v >= 90.0, "das_error": error, "aps_note": "n/a",
                 "note": f"{where}; the pipeline captures {get('gain_captured_pct')}% of the oracle's gain over "
                         "no prefetch"})
    return rows


# ----------------------------------------------------------------------------- entry points
def _progress(message: str) -> None:
    sys.stderr.write(f"[bench {time.strftime('%H:%M:%S')}] {message}\n")
    sys.stderr.flush()


def table(data: dict[str, Any]) -> str:
    """The hit-ratio table (markdown)."""
    from benchmarks.common import markdown_table

    rows = []
    for mode in MODES:
        run = data["runs"][mode]
        rows.append([mode, f"{data[f'{mode}_hit_pct']}%", f"{run['mean_ms']} ms", f"{run['p99_ms']} ms",
                     f"{run['upstream_per_s']}/s", str(run["requests"])])
    text = markdown_table(["run", "hit ratio", "mean latency", "p99 latency", "upstream fetches", "requests"],
                          rows, right=(1, 2, 3, 4, 5))
    return (f"{text}\n\npipeline / oracle hit ratio: {data['pipeline_vs_oracle_pct']}% (target >= 90%); "
            f"gain over no prefetch captured: {data['gain_captured_pct']}%")


def main(argv: list[str]) -> int:
    if len(argv) == 5 and argv[0] == "das":  # the benchmarks.scenario unit protocol
        _system, name, params_json, out, workdir = argv
        ok = write_unit(out, lambda: SCENARIOS[name](json.loads(params_json), Path(workdir)))
        exit_now(ok)
    parser = argparse.ArgumentParser(prog="python -m benchmarks.das_hit_ratio", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="shrink the runs (~30-40 s in all)")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    params = dict(QUICK if args.quick else FULL)
    with tempfile.TemporaryDirectory(prefix="das-hit-ratio-") as tmp:
        data = hit_ratio(params, Path(tmp))
    data["params"], data["quick"] = params, args.quick
    print(table(data))
    if args.json:
        args.json.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
