"""The load generator (``das-actors spam``), successor of DAS's ``das_queryspammer``.

``workers`` threads, each with its own keep-alive connection, send DAS-QL queries to the
HTTP endpoint (`tasks.das.http`) for ``duration_s`` seconds (or ``max_calls`` requests),
at ``rate`` requests per second in total (0: as fast as the server answers). Each query
is ``query_template`` with ``{value}`` replaced by one of ``values`` values
(``value_template`` with ``{i}``, i < values), drawn with Zipf popularity (value i has
weight 1/(i+1)^zipf_s, so value 0 is the hottest) or uniformly; worker k draws from
``random.Random(seed * 1000 + k)``, so a run is reproducible.

The summary (a JSON-safe dict): ``requests`` (answered or not), ``ok`` (HTTP 200),
``errors`` (anything else, connection errors included), ``cached``/``upstream``
(responses by ``source``), ``hit_ratio`` = cached / (cached + upstream) as reported by
the endpoint, client latency ``mean_ms``/``p50_ms``/``p99_ms``/``max_ms`` over the
answered requests, the server's own ``server_mean_ms``, ``duration_s``, ``rate``
achieved, ``distinct_values`` and a few ``error_samples``.
"""

from __future__ import annotations

import bisect
import http.client
import json
import math
import random
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

#: Error messages kept in the summary.
ERROR_SAMPLES = 5


@dataclass(frozen=True)
class SpamConfig:
    """One load-generator run; see the module docstring. `check` validates it."""

    url: str
    workers: int = 4
    duration_s: float = 60.0
    rate: float = 50.0
    popularity: str = "zipf"
    zipf_s: float = 1.1
    values: int = 1000
    value_template: str = "/Primary{i}/Processed/RAW"
    query_template: str = "dataset dataset.name={value}"
    seed: int = 1
    max_calls: int = 0
    timeout_s: float = 10.0

    def check(self) -> None:
        """Raise `ValueError` naming the first bad setting."""
        parts = urllib.parse.urlsplit(self.url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"url must be http://host:port[/das/query], got {self.url!r}")
        rules: list[tuple[str, bool, str]] = [
            ("workers", self.workers >= 1, ">= 1"),
            ("duration", self.duration_s > 0, "> 0 seconds"),
            ("rate", self.rate >= 0 and math.isfinite(self.rate), ">= 0 requests/s (0 = unlimited)"),
            ("popularity", self.popularity in ("zipf", "uniform"), "zipf or uniform"),
            ("zipf_s", self.zipf_s > 0 and math.isfinite(self.zipf_s), "> 0"),
            ("values", self.values >= 1, ">= 1"),
            ("max_calls", self.max_calls >= 0, ">= 0 (0 = no limit)"),
            ("timeout", self.timeout_s > 0, "> 0 seconds"),
            ("query_template", "{value}" in self.query_template, "a DAS-QL template containing {value}"),
        ]
        for name, ok, rule in rules:
            if not ok:
                raise ValueError(f"{name} must be {rule}, got {getattr(self, name, None)!r}")
        try:
            self.value(0)
            self.query(0)
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(f"bad value or query template: {exc!r} (use {{i}} and {{value}})") from None

    def value(self, i: int) -> str:
        """The i-th value."""
        return self.value_template.replace("{i}", str(i))

    def query(self, i: int) -> str:
        """The DAS-QL query for the i-th value."""
        return self.query_template.replace("{value}", self.value(i))

    def endpoint(self) -> tuple[str, int, str]:
        """(host, port, path) of the query endpoint (path ``/das/query`` unless the URL has one)."""
        parts = urllib.parse.urlsplit(self.url)
        path = parts.path.rstrip("/") or "/das/query"
        return parts.hostname or "127.0.0.1", parts.port or 80, path


def sampler(config: SpamConfig, rng: random.Random) -> Callable[[], int]:
    """A function drawing value indexes with the configured popularity."""
    if config.popularity == "uniform":
        return lambda: rng.randrange(config.values)
    cumulative: list[float] = []
    total = 0.0
    for i in range(config.values):
        total += 1.0 / (i + 1) ** config.zipf_s
        cumulative.append(total)
    last = config.values - 1
    return lambda: min(bisect.bisect_left(cumulative, rng.random() * total), last)


@dataclass
class _Tally:
    latencies: list[float] = field(default_factory=list)
    server_ms: list[float] = field(default_factory=list)
    sources: Counter[str] = field(default_factory=Counter)
    requests: int = 0
    ok: int = 0
    errors: int = 0
    samples: list[str] = field(default_factory=list)
    values: set[int] = field(default_factory=set)

    def error(self, message: str) -> None:
        self.errors += 1
        if len(self.samples) < ERROR_SAMPLES:
            self.samples.append(message)


def run_spam(config: SpamConfig, *, stop: threading.Event | None = None) -> dict[str, Any]:
    """Run the load generator and return its summary (see the module docstring).

    *stop* ends the run early when set. Raises `ValueError` for a bad *config*.
    """
    config.check()
    stop = stop or threading.Event()
    budget = _Budget(config.max_calls)
    tallies = [_Tally() for _ in range(config.workers)]
    started = time.perf_counter()
    deadline = started + config.duration_s
    threads = [threading.Thread(target=_worker, args=(config, k, tallies[k]),
                                kwargs={"started": started, "deadline": deadline, "stop": stop, "budget": budget},
                                name=f"das-spam-{k}", daemon=True) for k in range(config.workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    return _summary(config, tallies, elapsed)


class _Budget:
    """The shared ``max_calls`` budget (0 = unlimited)."""

    def __init__(self, limit: int) -> None:
        self._left = limit if limit > 0 else -1
        self._lock = threading.Lock()

    def take(self) -> bool:
        if self._left < 0:
            return True
        with self._lock:
            if self._left == 0:
                return False
            self._left -= 1
            return True


def _worker(config: SpamConfig, k: int, tally: _Tally, *, started: float, deadline: float,
            stop: threading.Event, budget: _Budget) -> None:
    host, port, path = config.endpoint()
    draw = sampler(config, random.Random(config.seed * 1000 + k))
    interval = config.workers / config.rate if config.rate > 0 else 0.0
    due = started + interval * k / config.workers
    conn: http.client.HTTPConnection | None = None
    try:
        while not stop.is_set():
            now = time.perf_counter()
            if interval:
                if due > now:
                    if due >= deadline or stop.wait(due - now):
                        break
                elif now - due > 1.0:  # far behind (a slow server): do not burst to catch up
                    due = now
                due += interval
            if time.perf_counter() >= deadline or not budget.take():
                break
            index = draw()
            tally.values.add(index)
            target = f"{path}?q={urllib.parse.quote(config.query(index), safe='')}"
            if conn is None:
                conn = http.client.HTTPConnection(host, port, timeout=config.timeout_s)
            conn = _request(conn, target, tally)
    finally:
        if conn is not None:
            conn.close()


def _request(conn: http.client.HTTPConnection, target: str, tally: _Tally) -> http.client.HTTPConnection | None:
    """One request on *conn*; returns the connection to reuse (None after a failure)."""
    tally.requests += 1
    begun = time.perf_counter()
    try:
        conn.request("GET", target, headers={"Accept": "application/json"})
        response = conn.getresponse()
        body = response.read()
    except (OSError, http.client.HTTPException) as exc:
        conn.close()
        tally.error(f"{type(exc).__name__}: {exc}")
        return None
    tally.latencies.append(time.perf_counter() - begun)
    try:
        payload = json.loads(body)
    except json.JSONDecodeError:
        payload = {}
    if not isinstance(payload, dict):
        payload = {}
    if isinstance(payload.get("latency_ms"), int | float):
        tally.server_ms.append(float(payload["latency_ms"]))
    if response.status == 200:
        tally.ok += 1
        tally.sources[str(payload.get("source"))] += 1
    else:
        tally.error(f"HTTP {response.status}: {payload.get('error') or body[:200]!r}")
    if response.will_close:
        conn.close()
        return None
    return conn


def _percentile(ordered: list[float], fraction: float) -> float | None:
    if not ordered:
        return None
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 3)


def _summary(config: SpamConfig, tallies: list[_Tally], elapsed: float) -> dict[str, Any]:
    latencies = sorted(x for t in tallies for x in t.latencies)
    server = [x for t in tallies for x in t.server_ms]
    sources: Counter[str] = Counter()
    for tally in tallies:
        sources.update(tally.sources)
    requests = sum(t.requests for t in tallies)
    cached, upstream = sources.get("cache", 0), sources.get("upstream", 0)
    return {
        "requests": requests,
        "ok": sum(t.ok for t in tallies),
        "errors": sum(t.errors for t in tallies),
        "cached": cached,
        "upstream": upstream,
        "hit_ratio": round(cached / (cached + upstream), 6) if cached + upstream else None,
        "mean_ms": _ms(sum(latencies) / len(latencies)) if latencies else None,
        "p50_ms": _ms(_percentile(latencies, 0.50)),
        "p99_ms": _ms(_percentile(latencies, 0.99)),
        "max_ms": _ms(latencies[-1]) if latencies else None,
        "server_mean_ms": round(sum(server) / len(server), 3) if server else None,
        "duration_s": round(elapsed, 3),
        "rate": round(requests / elapsed, 3) if elapsed > 0 else None,
        "distinct_values": len(set().union(*(t.values for t in tallies))),
        "error_samples": [s for t in tallies for s in t.samples][:ERROR_SAMPLES],
        "config": asdict(config),
    }
