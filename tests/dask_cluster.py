"""A real Dask cluster for the distributed-compute tests: the session fixture ``dask_cluster``.

One ``dask scheduler`` process and two ``dask worker`` processes (each a nanny with one worker
process, one thread, resource ``SLOT=1``), all on free loopback ports, no dashboards, files in a
temporary directory; the same programs a deployment runs, not an in-process LocalCluster. Each
worker runs in its own process group so `DaskCluster.kill_worker` can SIGKILL it (nanny and
worker: the worker is lost for good, as when a machine dies) and `start_worker` can bring it back.

The functions the tests submit live here too: workers import them by module name (the repository
root is on their ``PYTHONPATH``). With ``distributed`` missing the fixture fails when ``CI`` is
set and skips with the reason otherwise.
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from distributed import Client

ROOT = Path(__file__).resolve().parents[1]
WORKERS = 2
#: The resource each worker offers once (``--resources SLOT=1``): one task subprocess per worker.
SLOT = "SLOT"
#: Seconds until the scheduler answers and all workers have joined (measured: ~2-4 s on 2 cores).
READY_DEADLINE_S = 60.0
STOP_DEADLINE_S = 15.0


def missing() -> str | None:
    """Why no cluster can be started here, or None."""
    if importlib.util.find_spec("distributed") is None:
        return "the distributed package is not installed (pip install -e '.[test]' or '.[dask]')"
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _terminate(process: subprocess.Popen[bytes] | None, sig: signal.Signals = signal.SIGTERM) -> None:
    """Send *sig* to *process*'s group, SIGKILL it after `STOP_DEADLINE_S`, and reap it."""
    if process is None or process.poll() is not None:
        return
    try:
        os.killpg(process.pid, sig)
        process.wait(STOP_DEADLINE_S)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(STOP_DEADLINE_S)


@dataclass
class DaskCluster:
    """The session's scheduler and workers; `address` is what a `distributed.Client` connects to."""

    workdir: Path
    scheduler_port: int
    scheduler: subprocess.Popen[bytes] | None = None
    workers: list[subprocess.Popen[bytes] | None] = field(default_factory=lambda: [None] * WORKERS)
    #: Seconds the last `start` took until the client saw every worker.
    started_in_s: float = 0.0

    @property
    def address(self) -> str:
        return f"tcp://127.0.0.1:{self.scheduler_port}"

    def _spawn(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
        with (self.workdir / f"{name}.log").open("ab") as log:
            return subprocess.Popen([sys.executable, "-m", "dask", *args], env=env, cwd=ROOT,
                                    stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                    start_new_session=True)  # own group: kill_worker takes nanny + worker

    def start(self) -> float:
        """Start the scheduler and every worker that is not running; wait until all have joined."""
        began = time.monotonic()
        if self.scheduler is None or self.scheduler.poll() is not None:
            self.scheduler = self._spawn("scheduler", "scheduler", "--host", "127.0.0.1",
                                         "--port", str(self.scheduler_port), "--no-dashboard")
        for index in range(WORKERS):
            self.start_worker(index, wait=False)
        self.wait_for_workers(WORKERS, READY_DEADLINE_S)
        self.started_in_s = time.monotonic() - began
        return self.started_in_s

    def start_worker(self, index: int, *, wait: bool = True) -> None:
        """Start worker *index* (a new process) unless it runs; with *wait*, until it has joined."""
        process = self.workers[index]
        if process is None or process.poll() is not None:
            local = self.workdir / f"worker-{index}"
            local.mkdir(exist_ok=True)
            self.workers[index] = self._spawn(
                f"worker-{index}", "worker", self.address, "--name", f"worker-{index}", "--host", "127.0.0.1",
                "--nworkers", "1", "--nthreads", "1", "--resources", f"{SLOT}=1", "--no-dashboard",
                "--local-directory", str(local), "--death-timeout", "60")
        if wait:
            self.wait_for_workers(sum(p is not None and p.poll() is None for p in self.workers), READY_DEADLINE_S)

    def kill_worker(self, index: int) -> None:
        """SIGKILL worker *index* (its nanny and its worker process), as a crash would."""
        process, self.workers[index] = self.workers[index], None
        _terminate(process, signal.SIGKILL)

    def worker_names(self, timeout_s: float = 10.0) -> list[str]:
        """Names of the workers the scheduler knows now."""
        with self.client(timeout_s) as client:
            return _names(client)

    def client(self, timeout_s: float = 10.0) -> Client:
        """A new `distributed.Client` of this cluster (close it, or use it as a context manager)."""
        from distributed import Client

        return Client(self.address, timeout=timeout_s, set_as_default=False)

    def wait_for_workers(self, count: int, timeout_s: float) -> None:
        """Wait until the scheduler knows exactly *count* workers; raise `RuntimeError` otherwise."""
        deadline = time.monotonic() + timeout_s
        names: list[str] = []
        try:
            with self.client(timeout_s) as client:  # retries connecting until the scheduler listens
                while True:
                    if self.scheduler is None or self.scheduler.poll() is not None:
                        raise RuntimeError(f"dask scheduler exited: {self.log_tail('scheduler')}")
                    names = _names(client)
                    if len(names) == count:
                        return
                    if time.monotonic() > deadline:
                        break
                    time.sleep(0.05)
        except OSError as exc:  # includes TimeoutError: the scheduler never answered
            raise RuntimeError(f"dask scheduler at {self.address}: {exc}: {self.log_tail('scheduler')}") from exc
        logs = "\n".join(self.log_tail(f"worker-{i}") for i in range(WORKERS))
        raise RuntimeError(f"dask cluster: {len(names)} of {count} workers ({names}) within {timeout_s:g}s: {logs}")

    def close(self) -> None:
        """Stop the workers, then the scheduler."""
        for index in range(WORKERS):
            process, self.workers[index] = self.workers[index], None
            _terminate(process)
        process, self.scheduler = self.scheduler, None
        _terminate(process)

    def log_tail(self, name: str, chars: int = 1500) -> str:
        path = self.workdir / f"{name}.log"
        text = path.read_text(errors="replace")[-chars:].strip() if path.exists() else "(no log)"
        return f"--- {name}.log\n{text}"


def _names(client: Client) -> list[str]:
    return sorted(str(w["name"]) for w in client.scheduler_info(n_workers=-1)["workers"].values())


def start_cluster(workdir: Path) -> DaskCluster:
    """A scheduler and `WORKERS` workers in *workdir*, started; raises `LookupError` if not possible."""
    reason = missing()
    if reason:
        raise LookupError(reason)
    cluster = DaskCluster(workdir, free_port())
    atexit.register(cluster.close)  # also when the session ends abnormally
    try:
        cluster.start()
    except BaseException:
        cluster.close()
        raise
    return cluster


@pytest.fixture(scope="session")
def dask_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaskCluster]:
    """A real Dask scheduler with two single-threaded workers (``SLOT=1`` each) on loopback."""
    try:
        cluster = start_cluster(tmp_path_factory.mktemp("dask"))
    except (LookupError, RuntimeError) as exc:
        reason = f"no Dask cluster: {exc}"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    print(f"\ndask tests: scheduler + {WORKERS} workers ready in {cluster.started_in_s:.1f}s at {cluster.address}",
          file=sys.stderr)
    try:
        yield cluster
    finally:
        cluster.close()


# Test targets: submitted to the workers, imported there as ``tests.dask_cluster``.


def count_call(path: str, value: int) -> int:
    """Append a line to *path* (one line per execution, so tests can count them) and return value*2."""
    with open(path, "a", encoding="utf-8") as out:
        out.write(f"{os.getpid()} {value}\n")
    return value * 2
