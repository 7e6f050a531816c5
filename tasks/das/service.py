"""The das service: a cache in front of upstream HTTP JSON APIs, with DAS's query log.

What the DAS analytics tasks receive as ``services["das"]`` in a worker process (built
once per process by `tasks.das.make_service`), and what ``das-actors das-serve`` puts
behind HTTP. `DasService.call` serves a query from the cache while it is fresh, else
fetches every upstream API answering it and stores the answer as a new generation
(`DasService.refresh` always fetches); see `tasks.das.store` for why readers never see
an answer vanish or half-written. Outside traffic (``record=True``) appends its call time
to the query log, which the hotspot tasks read; internal traffic passes ``record=False``
so the analytics never count themselves.

Thread-safe: the HTTP endpoint calls it from many threads; concurrent misses of the same
query in one process wait for one fetch ("single flight").
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from actors.errors import ServiceError
from tasks.das.query import normalize, qhash, to_text
from tasks.das.store import DasStore, Part
from tasks.das.upstream import Fetched, Upstreams

Query = str | Mapping[str, Any]

#: Default length of the query-log and API-log history, s (DAS: 60 days).
HISTORY_S = 60 * 86400.0
#: Seconds (of the service clock) between two prunings of the logs.
PRUNE_EVERY_S = 60.0


@dataclass(frozen=True)
class CallResult:
    """The answer of `DasService.call` / `DasService.refresh`.

    ``status``: ``"ok"`` (fetched from upstream), ``"cached"`` (served fresh from the
    cache) or ``"failed"`` (``error`` says why; ``records`` is empty). ``expire``: when the
    answer goes stale (the earliest expiry of its API calls), epoch seconds.
    """

    status: str
    qhash: str
    records: list[dict[str, Any]]
    expire: float | None
    source: str
    latency_s: float
    error: str | None = None

    @property
    def ok(self) -> bool:
        """True unless the status is ``failed``."""
        return self.status != "failed"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict of every field."""
        return {"status": self.status, "qhash": self.qhash, "records": self.records, "expire": self.expire,
                "source": self.source, "latency_s": self.latency_s, "error": self.error}


class DasService:
    """The cache-fronted query service; see the module docstring.

    Args:
        store: where the cache, the logs and the summaries live (`tasks.das.store`).
        upstreams: the configured upstream APIs.
        clock: epoch seconds; expiry, call times and history use it (tests inject one).
        history_s: call times and API-log entries older than this are pruned.
    """

    def __init__(self, store: DasStore, upstreams: Upstreams, *, clock: Callable[[], float] = time.time,
                 history_s: float = HISTORY_S) -> None:
        self.store = store
        self.upstreams = upstreams
        self.clock = clock
        self.history_s = history_s
        self._lock = threading.Lock()
        self._flights: dict[str, tuple[threading.Lock, int]] = {}
        self._last_generation = 0
        self._last_prune: float | None = None
        self._counts = {"calls": 0, "hits": 0, "misses": 0, "refreshes": 0, "upstream_calls": 0, "errors": 0}

    def __repr__(self) -> str:
        return f"DasService({self.store!r}, {len(self.upstreams)} upstream API(s))"

    # -- queries --------------------------------------------------------------------------

    def call(self, query: Query, *, record: bool = True) -> CallResult:
        """Serve *query* from the cache when fresh, else fetch it (see the module docstring).

        With ``record`` (outside traffic) the call time is appended to the query log.
        Never raises for upstream or store trouble (status ``failed`` with ``error``).

        Raises:
            ValueError: *query* is not valid DAS-QL / storage form (the message says why).
        """
        started = time.perf_counter()
        storage = normalize(query)
        key = qhash(storage)
        self._count("calls")
        try:
            if record:
                self._record(key, storage)
            hit = self._fresh(key, started)
            if hit is not None:
                return hit
            with self._flight(key):  # concurrent misses of one query: one fetch, the others hit
                hit = self._fresh(key, started)
                if hit is not None:
                    return hit
                self._count("misses")
                return self._fetch(storage, key, started)
        except ServiceError as exc:
            return self._failed(key, started, str(exc))

    def refresh(self, query: Query) -> CallResult:
        """Fetch *query* now and switch the cache to the new answer atomically.

        The new records are written under a new generation, then the query's pointer is
        switched in one write, then older generations are deleted: a concurrent reader
        sees the old answer or the new one, never none and never a mix. On failure the old
        answer stays. Not counted in the query log (internal traffic).
        """
        started = time.perf_counter()
        storage = normalize(query)
        key = qhash(storage)
        self._count("refreshes")
        try:
            with self._flight(key):
                return self._fetch(storage, key, started)
        except ServiceError as exc:
            return self._failed(key, started, str(exc))

    def expiry(self, query: Query) -> float | None:
        """When the cached answer of *query* goes stale: min(apicall.expire) of its cached
        generation, epoch seconds; None if it is not cached (stale answers still count)."""
        state = self.store.state(qhash(normalize(query)))
        return None if state is None else state[1]

    def in_cache(self, query: Query) -> bool:
        """Whether a fresh answer of *query* is cached (an empty answer counts)."""
        state = self.store.state(qhash(normalize(query)))
        return state is not None and state[1] > self.clock()

    def remove(self, query: Query) -> int:
        """Drop the cached records and API-call records of *query*; how many data records."""
        return self.store.remove(qhash(normalize(query)))

    def _fresh(self, key: str, started: float) -> CallResult | None:
        entry = self.store.read(key)
        if entry is None or entry.expire <= self.clock():
            return None
        self._count("hits")
        return CallResult("cached", key, entry.records, entry.expire, "cache", time.perf_counter() - started)

    def _fetch(self, storage: dict[str, Any], key: str, started: float) -> CallResult:
        apis = self.upstreams.for_query(storage)
        if not apis:
            configured = ", ".join(f"{a.system}/{a.api}" for a in self.upstreams.apis) or "none"
            return self._failed(key, started, f"no upstream API answers {to_text(storage)!r} "
                                              f"(configured: {configured})")
        fetched = [self.upstreams.fetch(api, storage) for api in apis]
        now = self.clock()
        self._count("upstream_calls", len(fetched))
        self.store.log_api([_api_entry(f, key, now) for f in fetched])
        errors = [f.error for f in fetched if f.error]
        if errors:
            return self._failed(key, started, "; ".join(errors))
        parts = [Part(f.api.system, f.api.api, f.url, now + f.lifetime_s(), f.records) for f in fetched]
        records = [dict(r) for part in parts for r in part.records]
        expire = min(part.expire for part in parts)
        generation = self._new_generation()
        try:
            self.store.write_generation(key, generation, parts, now)
            switched = self.store.switch(key, generation, expire=expire, count=len(records), query=storage, now=now)
        except ServiceError:
            self._drop_quietly(key, generation)
            raise
        if switched:
            self.store.drop_older(key, generation)
        else:  # a newer generation won meanwhile (another process refreshed): ours is not needed
            self.store.drop_generation(key, generation)
        return CallResult("ok", key, records, expire, "upstream", time.perf_counter() - started)

    def _drop_quietly(self, key: str, generation: int) -> None:
        try:
            self.store.drop_generation(key, generation)
        except ServiceError:
            pass  # the orphan is deleted by the next successful switch (older generations go)

    def _failed(self, key: str, started: float, error: str) -> CallResult:
        self._count("errors")
        return CallResult("failed", key, [], None, "upstream", time.perf_counter() - started, error)

    def _new_generation(self) -> int:
        """Larger than any generation before it, in this process and (by the wall clock) in others."""
        candidate = time.time_ns() // 1000 * 1000 + random.randrange(1000)
        with self._lock:
            self._last_generation = max(self._last_generation + 1, candidate)
            return self._last_generation

    @contextmanager
    def _flight(self, key: str) -> Iterator[None]:
        with self._lock:
            lock, users = self._flights.get(key, (threading.Lock(), 0))
            self._flights[key] = (lock, users + 1)
        try:
            with lock:
                yield
        finally:
            with self._lock:
                lock, users = self._flights[key]
                if users == 1:
                    del self._flights[key]
                else:
                    self._flights[key] = (lock, users - 1)

    def _count(self, name: str, amount: int = 1) -> None:
        with self._lock:
            self._counts[name] += amount

    # -- query log ------------------------------------------------------------------------

    def _record(self, key: str, storage: dict[str, Any]) -> None:
        now = self.clock()
        self.store.log_call(key, to_text(storage), storage, now)
        self.prune(now, force=False)

    def prune(self, now: float | None = None, *, force: bool = True) -> int:
        """Drop call times and API-log entries older than ``history_s``; done by `call` at
        most every `PRUNE_EVERY_S` of the clock. Returns the call times dropped."""
        now = self.clock() if now is None else now
        with self._lock:
            if not force and self._last_prune is not None and now - self._last_prune < PRUNE_EVERY_S:
                return 0
            self._last_prune = now
        cutoff = now - self.history_s
        dropped = self.store.prune_calls(cutoff)
        self.store.prune_api_log(cutoff)
        return dropped

    def list_queries(self, *, key: str | None = None, after: float, before: float) -> list[dict[str, Any]]:
        """Query-log records ``{query, mongoquery, qhash, times}`` having at least one call
        time t with ``after <= t <= before`` (``$elemMatch`` semantics: times on both sides
        of the window but none inside do not match) and, when *key* is given, a spec entry
        with that key. ``times`` is every recorded time (sorted), not only those inside."""
        return self.store.list_queries(key=key, after=after, before=before)

    def api_calls(self, *, since: float | None = None) -> list[dict[str, Any]]:
        """The API-call log (every upstream fetch), oldest first: ``{time, system, api, url,
        qhash, status ("ok"|"failed"), error, latency_s, attempts, records, expire}``."""
        return self.store.api_calls(since)

    # -- summaries ------------------------------------------------------------------------

    def add_summary(self, analyzer: str, start: float, finish: float, *,
                    keys: Sequence[Sequence[Any]] | None = None,
                    queries: Sequence[Sequence[Any]] | None = None) -> None:
        """Store the summary ``{analyzer, start, finish, keys|queries}`` (lists of
        ``[item, count]`` / ``[structure, count]`` pairs). Summaries are immutable: adding
        one whose (analyzer, start, finish) exists keeps the first and changes nothing.

        Raises:
            ValueError: a bad analyzer, window or payload (neither or both of keys/queries).
        """
        if not isinstance(analyzer, str) or not analyzer:
            raise ValueError(f"analyzer must be a non-empty string, got {analyzer!r}")
        for name, value in (("start", start), ("finish", finish)):
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{name} must be an epoch number, got {value!r}")
        if finish < start:
            raise ValueError(f"finish ({finish}) is before start ({start})")
        if (keys is None) == (queries is None):
            raise ValueError("a summary has exactly one payload: keys=[[item, count], ...] or queries=[...]")
        name, payload = ("keys", keys) if keys is not None else ("queries", queries)
        pairs = [list(pair) for pair in payload or ()]
        for pair in pairs:
            if len(pair) != 2 or isinstance(pair[1], bool) or not isinstance(pair[1], int | float):
                raise ValueError(f"{name}: expected [item, count] pairs, got {pair!r}")
        self.store.add_summary({"analyzer": analyzer, "start": start, "finish": finish, name: pairs})

    def get_summaries(self, analyzer: str, *, after: float, before: float) -> list[dict[str, Any]]:
        """Summaries of *analyzer* lying inside the window (start >= after, finish <= before), by start."""
        return self.store.get_summaries(analyzer, after=after, before=before)

    def remove_summaries(self, *, older_than: float, analyzer: str | None = None) -> int:
        """Delete summaries that finished before *older_than* (an epoch, not an age); how many."""
        return self.store.remove_summaries(older_than=older_than, analyzer=analyzer)

    # -- this process ---------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        """Counters of this process: calls, hits, misses, refreshes, upstream_calls, errors, hit_ratio."""
        with self._lock:
            counts: dict[str, Any] = dict(self._counts)
        served = counts["hits"] + counts["misses"]
        counts["hit_ratio"] = counts["hits"] / served if served else None
        return counts

    def close(self) -> None:
        """Close the store's connections."""
        self.store.close()


def _api_entry(fetched: Fetched, key: str, now: float) -> dict[str, Any]:
    return {"time": now, "system": fetched.api.system, "api": fetched.api.api, "url": fetched.url, "qhash": key,
            "status": "ok" if fetched.ok else "failed", "error": fetched.error,
            "latency_s": round(fetched.latency_s, 6), "attempts": fetched.attempts, "records": len(fetched.records),
            "expire": now + fetched.lifetime_s() if fetched.ok else None}


def service_from(options: Mapping[str, Any], *, clock: Callable[[], float] = time.time) -> DasService | None:
    """See `tasks.das.make_service`."""
    from actors.uri import same_sqlite_file
    from tasks.das.backends import open_das_store
    from tasks.das.upstream import parse_upstreams

    uri = str(options.get("das_db_uri") or "")
    if not uri:
        return None
    if same_sqlite_file(uri, str(options.get("db_uri") or "")):
        raise ValueError(f"das_db_uri {uri!r} is the results store (db_uri): give the das service a file "
                         f"of its own")
    store = open_das_store(uri, str(options.get("das_db_name") or "das"))
    upstreams = parse_upstreams(str(options.get("das_upstreams") or ""))
    return DasService(store, upstreams, clock=clock)
