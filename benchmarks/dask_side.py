"""The burst through a 2-worker Dask cluster, beside the same burst on 2 local worker processes.

Two units of the `benchmarks.scenario` protocol (``... das burst_local|burst_dask PARAMS_JSON
OUT_JSON WORKDIR``), each in its own fresh subprocess, measured the same way as the ``burst``
scenario of `benchmarks.das_side`: N one-shot ``Echo`` jobs due now, runs completed per
second from the first submission to the last completion, every result journaled.

* ``burst_local``: ``compute = "local"``, 2 worker processes;
* ``burst_dask``: ``compute = "dask://..."`` against a real ``dask scheduler`` and two
  ``dask worker --nthreads 1 --resources SLOT=1`` processes started here on loopback (the
  programs a deployment runs), 2 worker slots; each run is a Dask task whose wrapper runs it
  in a task process on the Dask worker (`actors.daskrun`).

The figure that matters is the ratio: what a run costs when it travels through a Dask
scheduler (submit, the wrapper's Event round trips, the result gathered back) instead of a
pipe. ``python -m benchmarks.run --only dask_burst`` runs both.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.common import ROOT, CpuMeter, wait_for

FULL: dict[str, Any] = {"n": 2000}
QUICK: dict[str, Any] = {"n": 200}
#: Seconds the cluster has to have both workers joined.
CLUSTER_READY_S = 120.0
DASK_WORKERS = 2


# ----------------------------------------------------------------------------- the cluster
class Cluster:
    """A Dask scheduler and `DASK_WORKERS` single-threaded workers (``SLOT=1``) on loopback."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        self.processes: list[subprocess.Popen[bytes]] = []

    @property
    def address(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    def _spawn(self, name: str, *args: str) -> None:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
        with (self.workdir / f"{name}.log").open("ab") as log:
            self.processes.append(subprocess.Popen([sys.executable, "-m", "dask", *args], cwd=ROOT, env=env,
                                                   stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                                   start_new_session=True))

    def start(self) -> float:
        """Start everything; seconds until every worker had joined."""
        from distributed import Client

        began = time.perf_counter()
        self._spawn("scheduler", "scheduler", "--host", "127.0.0.1", "--port", str(self.port), "--no-dashboard")
        for index in range(DASK_WORKERS):
            local = self.workdir / f"worker-{index}"
            local.mkdir(exist_ok=True)
            self._spawn(f"worker-{index}", "worker", self.address, "--name", f"worker-{index}", "--host", "127.0.0.1",
                        "--nworkers", "1", "--nthreads", "1", "--resources", "SLOT=1", "--no-dashboard",
                        "--local-directory", str(local))
        with Client(self.address, timeout=CLUSTER_READY_S, set_as_default=False) as client:
            client.wait_for_workers(DASK_WORKERS, timeout=CLUSTER_READY_S)
        return time.perf_counter() - began

    def close(self) -> None:
        import signal

        for process in reversed(self.processes):
            try:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(15)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass


# ----------------------------------------------------------------------------- the burst
def _burst(params: dict[str, Any], workdir: Path, name: str, **overrides: Any) -> dict[str, Any]:
    from actors.jobs import JobSpec, Origin
    from actors.messages import AddJobs, GetStatus
    from actors.store import Query
    from benchmarks.das_side import finished, read_results, start_system, warm_up

    n = int(params["n"])
    poll_s = float(params.get("poll_s", 0.002))
    system = start_system(workdir, name, **overrides)
    try:
        warm_up(system)
        base = finished(system)
        stored_base = system.store.find(Query(type="result", limit=0)).total
        cpu = CpuMeter()
        t0 = time.perf_counter()
        specs = [JobSpec(name=f"burst-{i}", classname="Echo", interval_s=3600.0, kwargs={"value": i},
                         only_once=True, origin=Origin.API) for i in range(n)]
        system.ask(AddJobs(specs), timeout=300)
        done = wait_for(lambda: finished(system) >= base + n, float(params.get("timeout_s", 600)), poll_s)
        t_done = time.perf_counter()
        cpu_figures = cpu.read()
        if not done:
            raise RuntimeError(f"only {finished(system) - base} of {n} runs finished in time: "
                               f"{system.ask(GetStatus())}")
        wait_for(lambda: system.store.find(Query(type="result", limit=0)).total >= stored_base + n, 120, poll_s)
        system.flush()
        docs = read_results(system.store, lambda d: str(d.get("name", "")).startswith("burst-"))
        outcomes: dict[str, int] = {}
        for d in docs:
            outcomes[d["outcome"]] = outcomes.get(d["outcome"], 0) + 1
        return {"n": n, "elapsed_s": round(t_done - t0, 4), "runs_per_s": n / (t_done - t0), "outcomes": outcomes,
                "results_stored": len(docs), "cpu": cpu_figures, "compute": system.settings.compute,
                "dask_workers": len({d.get("dask_worker") for d in docs} - {None})}
    finally:
        system.shutdown(grace_s=2.0)


def burst_local(params: dict[str, Any], workdir: Path) -> dict[str, Any]:
    """The burst on 2 local worker processes."""
    return _burst(params, workdir, "burst-local")


def bare_task(value: int) -> dict[str, int]:
    """What the Dask floor submits: nothing but a return value (imported by the Dask workers)."""
    return {"value": value}


def _bare_floor(address: str, n: int) -> float:
    """Tasks/s of *n* trivial keyed tasks (``SLOT=1`` each) through the cluster: Dask's own cost per task."""
    import uuid

    from distributed import Client, as_completed

    with Client(address, set_as_default=False) as client:
        t0 = time.perf_counter()
        futures = [client.submit(bare_task, i, key=f"bare-{uuid.uuid4().hex}", pure=False, resources={"SLOT": 1})
                   for i in range(n)]
        for _ in as_completed(futures, loop=client.loop, with_results=True):
            pass
        return n / (time.perf_counter() - t0)


def burst_dask(params: dict[str, Any], workdir: Path) -> dict[str, Any]:
    """The burst through a 2-worker Dask cluster started here, then Dask's floor on the same cluster."""
    cluster = Cluster(workdir)
    try:
        ready_s = cluster.start()
        data = _burst(params, workdir, "burst-dask", compute="dask://" + cluster.address.removeprefix("tcp://"))
        floor = _bare_floor(cluster.address, int(params["n"]))
        return {**data, "cluster_ready_s": round(ready_s, 3), "bare_tasks_per_s": floor}
    finally:
        cluster.close()


SCENARIOS: dict[str, Callable[[dict[str, Any], Path], dict[str, Any]]] = {
    "burst_local": burst_local, "burst_dask": burst_dask,
}


# ----------------------------------------------------------------------------- the table
def figures(outcome: dict[str, Any], side: Callable[[dict[str, Any] | None, str], Any]) -> list[dict[str, Any]]:
    """Rows for `benchmarks.figures.Figure`: both rates and Dask / local."""
    n = int(outcome["params"]["n"])
    local, le = side(outcome, "das:burst_local")
    dask, de = side(outcome, "das:burst_dask")
    local_rate = None if local is None else float(local["runs_per_s"])
    dask_rate = None if dask is None else float(dask["runs_per_s"])
    share = None if not (local_rate and dask_rate) else round(100.0 * dask_rate / local_rate, 1)
    note = None if dask is None else (
        f"Dask: scheduler + {DASK_WORKERS} workers (--nthreads 1, SLOT=1) on loopback, ready in "
        f"{dask.get('cluster_ready_s')} s; runs spread over {dask.get('dask_workers')} Dask workers; "
        f"outcomes {dask.get('outcomes')}")
    return [
        {"key": "dask_burst.local_runs_per_s", "label": f"burst ({n:,} jobs), 2 local worker processes: runs/s",
         "unit": "runs/s", "das": local_rate, "aps": None, "better": "higher", "das_error": le, "aps_note": "n/a"},
        {"key": "dask_burst.dask_runs_per_s", "label": f"burst ({n:,} jobs), 2-worker Dask cluster: runs/s",
         "unit": "runs/s", "das": dask_rate, "aps": None, "better": "higher", "das_error": de, "aps_note": "n/a",
         "note": note},
        {"key": "dask_burst.bare_tasks_per_s", "label": f"the same cluster, {n:,} bare Dask tasks (no das-actors): "
         "tasks/s", "unit": "runs/s", "das": None if dask is None else dask.get("bare_tasks_per_s"), "aps": None,
         "better": "higher", "das_error": de, "aps_note": "n/a",
         "note": "Dask's own floor per task on this machine: submit, schedule, run, gather; a das-actors run adds "
                 "its task process round trip, the started-once Event and the journal"},
        {"key": "dask_burst.dask_vs_local_pct", "label": "burst: Dask / local (%)", "unit": "%", "das": share,
         "aps": None, "better": "higher", "das_error": de or le, "aps_note": "n/a"},
    ]


# ----------------------------------------------------------------------------- entry point
def main(argv: list[str]) -> int:
    """The `benchmarks.scenario` unit protocol: ``das NAME PARAMS_JSON OUT_JSON WORKDIR``."""
    _system, name, params_json, out, workdir = argv
    t0 = time.perf_counter()
    try:
        payload: dict[str, Any] = {"ok": True, "data": SCENARIOS[name](json.loads(params_json), Path(workdir))}
    except BaseException as exc:
        payload = {"ok": False, "error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()}
    payload["unit_s"] = round(time.perf_counter() - t0, 3)
    Path(f"{out}.tmp").write_text(json.dumps(payload, default=str), encoding="utf-8")
    os.replace(f"{out}.tmp", out)
    if not payload["ok"]:
        sys.stderr.write(payload["traceback"])
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0 if payload["ok"] else 1)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
