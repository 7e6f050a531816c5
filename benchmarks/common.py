"""Shared helpers of the benchmarks: statistics, clocks, memory, machine facts, the table."""

from __future__ import annotations

import math
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = ROOT / "benchmarks" / "results"

#: Packages whose versions are recorded with every run.
PACKAGES = ("das-actors", "APScheduler", "pykka", "structlog", "psutil", "WebTest")


# ----------------------------------------------------------------------------- statistics
def percentile(ordered: Sequence[float], q: float) -> float | None:
    """The *q*-th percentile (0..100) of already sorted values, linear interpolation; None if empty."""
    if not ordered:
        return None
    if len(ordered) == 1:
        return float(ordered[0])
    pos = (len(ordered) - 1) * q / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return float(ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo))


def summarize(values: Iterable[float]) -> dict[str, float | int | None]:
    """count, mean, min, p50, p90, p99, p99.9, max of *values*."""
    ordered = sorted(values)
    n = len(ordered)
    return {
        "count": n,
        "mean": (sum(ordered) / n) if n else None,
        "min": float(ordered[0]) if n else None,
        "p50": percentile(ordered, 50),
        "p90": percentile(ordered, 90),
        "p99": percentile(ordered, 99),
        "p999": percentile(ordered, 99.9),
        "max": float(ordered[-1]) if n else None,
    }


def quantile_curve(values: Iterable[float], points: int = 201) -> list[list[float]]:
    """``[[q_percent, value], ...]`` at *points* evenly spaced quantiles (a compact CDF)."""
    ordered = sorted(values)
    if not ordered:
        return []
    out: list[list[float]] = []
    for i in range(points):
        q = 100.0 * i / (points - 1)
        value = percentile(ordered, q)
        assert value is not None
        out.append([round(q, 3), round(value, 4)])
    return out


def median(values: Sequence[float]) -> float | None:
    """The median, None if empty."""
    return percentile(sorted(values), 50)


# ----------------------------------------------------------------------------- clocks, waits
def wait_for(predicate: Callable[[], bool], timeout: float, poll_s: float = 0.005) -> bool:
    """Poll *predicate* every *poll_s* until true or *timeout* seconds passed; returns the last answer."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(poll_s)
    return predicate()


def sleep_until(epoch: float) -> None:
    """Sleep until the wall clock reaches *epoch*."""
    while True:
        left = epoch - time.time()
        if left <= 0:
            return
        time.sleep(min(left, 0.5))


def timed(fn: Callable[[], Any], repeat: int = 5) -> tuple[Any, list[float]]:
    """Call *fn* *repeat* times; return its last result and each call's duration in ms."""
    durations: list[float] = []
    result: Any = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        durations.append((time.perf_counter() - t0) * 1000.0)
    return result, durations


# ----------------------------------------------------------------------------- process facts
def rss_mb(pid: int | None = None) -> float:
    """Resident set size of a process (this one by default), MiB."""
    try:
        import psutil

        return float(psutil.Process(pid).memory_info().rss) / 2**20
    except ImportError:
        with open(f"/proc/{pid or 'self'}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    raise RuntimeError("cannot read the resident set size")


@dataclass
class CpuMeter:
    """CPU seconds of this process and of its live children over an interval (psutil if present)."""

    wall0: float = field(default_factory=time.perf_counter)
    self0: float = 0.0
    kids0: dict[int, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.self0 = _cpu_self()
        self.kids0 = _cpu_children()

    def read(self) -> dict[str, float | None]:
        """``wall_s``, ``main_cpu_s`` (this process), ``children_cpu_s`` (None without psutil)."""
        wall = time.perf_counter() - self.wall0
        kids = _cpu_children()
        children: float | None = None
        if kids or self.kids0:
            children = sum(v - self.kids0.get(pid, 0.0) for pid, v in kids.items())
        return {"wall_s": round(wall, 4), "main_cpu_s": round(_cpu_self() - self.self0, 4),
                "children_cpu_s": None if children is None else round(children, 4)}


def _cpu_self() -> float:
    t = os.times()
    return t.user + t.system


def _cpu_children() -> dict[int, float]:
    try:
        import psutil
    except ImportError:
        return {}
    out: dict[int, float] = {}
    for child in psutil.Process().children(recursive=True):
        try:
            t = child.cpu_times()
            out[child.pid] = t.user + t.system
        except psutil.Error:
            continue
    return out


def package_versions() -> dict[str, str | None]:
    """Installed versions of the packages that matter here (None = not installed)."""
    from importlib import metadata

    out: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def machine_info() -> dict[str, Any]:
    """CPU, memory, OS, Python, package versions and the git revision (with a dirty flag)."""
    cpu_model = None
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu_model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem_total = None
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            mem_total = round(int(fh.readline().split()[1]) / 2**20, 1)
    except (OSError, ValueError, IndexError):
        pass
    return {
        "cpu_count": os.cpu_count(),
        "cpu_affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "cpu_model": cpu_model,
        "mem_total_gib": mem_total,
        "load_avg": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "python_implementation": platform.python_implementation(),
        "packages": package_versions(),
        "git": _git(),
    }


def _git() -> dict[str, Any]:
    def run(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10, check=False)
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.rstrip() if done.returncode == 0 else None

    status = run("status", "--porcelain", "--untracked-files=no")
    commit = run("rev-parse", "HEAD")
    return {"commit": commit.strip() if commit else None, "dirty": None if status is None else bool(status),
            "changed": None if not status else [line[3:] for line in status.splitlines()]}


# ----------------------------------------------------------------------------- formatting
def fmt_number(value: float | None, unit: str) -> str:
    """A figure for the table: thousands separators for rates, sensible decimals for the rest."""
    if value is None:
        return "—"
    if unit in ("runs/s", "lines/s", "runs", "lines"):
        return f"{value:,.0f}"
    if unit == "ms":
        return f"{value:,.1f}" if abs(value) >= 100 else f"{value:.2f}"
    if unit == "s":
        return f"{value:,.2f}" if abs(value) >= 10 else f"{value:.3f}"
    if unit == "MB":
        return f"{value:,.1f}"
    return f"{value:g}"


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[int] = ()) -> str:
    """A pipe table, columns padded to their widest cell (*right*: indexes of right-aligned columns)."""
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        padded = [str(c).rjust(w) if i in right else str(c).ljust(w) for i, (c, w) in enumerate(zip(cells, widths,
                                                                                                      strict=True))]
        return "| " + " | ".join(padded) + " |"

    rule = "|" + "|".join(("-" * (w + 1) + ":") if i in right else ("-" * (w + 2)) for i, w in enumerate(widths)) + "|"
    return "\n".join([line(header), rule, *(line(r) for r in rows)])
