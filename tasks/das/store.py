"""Where the das service keeps its cache, its logs and the analyzer summaries.

Two backends behind one protocol, `DasStore`: `SQLiteDasStore` (embedded, a file of its
own, never the results store) and `MongoDasStore` (pymongo; MongoDB or FerretDB). Both
hold the same data, in tables or collections of the same names:

``cache``       the data records of a query: ``{qhash, generation, pos, expire, system, api, record}``
``cachestate``  the pointer readers follow: ``{qhash, generation, expire, count, query, updated}``
``apicalls``    the API-call records of a generation: ``{qhash, generation, api, system, url, expire,
                time}`` (what ``expiry`` reads; dropped with their generation)
``apilog``      every upstream fetch, for the API report: ``{time, system, api, url, qhash, status,
                error, latency_s, attempts, records, expire}`` (pruned by age)
``querylog``    one per query called from outside: ``{qhash, query, mongoquery}``, and
``querytimes``  one per call: ``{qhash, t}``; `DasStore.list_queries` joins them into DAS's
                query record ``{query, mongoquery, qhash, times: [...]}``. (One document per call,
                not a ``$push`` onto ``times``: FerretDB loses concurrent ``$push`` updates.)
``summaries``   analyzer summaries ``{analyzer, start, finish, keys|queries}``, immutable, indexed on
                ``(analyzer, start, finish)`` (unique) and ``(analyzer, start)``. The payload is a list of
                ``[item, count]`` pairs; MongoDB stores ``[{item, count}, ...]`` (FerretDB has no nested
                arrays) and gives pairs back

**Atomic refresh with generations.** New records (and API-call records) are written
under a new generation, a number larger than any before it, while readers keep following
``cachestate`` to the old one; then ``switch`` publishes the new generation in ONE write;
then the older generations are deleted. A reader reads the pointer, then the records of
that generation, and checks that it got ``count`` of them: fewer means the generation was
replaced and deleted under it, so it reads again. A reader never sees the query vanish,
half-written, or two generations mixed. The switch never moves a query back to an older
generation (two concurrent refreshes: the newer answer wins).

* SQLite: one ``cachestate`` row per query, switched by an upsert that only applies to a
  newer generation; a reader reads the row and the records in one snapshot.
* MongoDB: one ``cachestate`` document per *published generation*; the current one is the
  newest (``{qhash, generation}`` is unique and indexed), so publishing is an insert and
  nothing relies on a conditional update being atomic (FerretDB's are not under
  concurrency). Older pointer documents go with their records.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

Doc = dict[str, Any]

#: How often a reader re-reads when a generation is replaced under it.
READ_ATTEMPTS = 8
#: How often opening the MongoDB store tries to create its indexes.
OPEN_ATTEMPTS = 5


@dataclass(frozen=True)
class CacheEntry:
    """The cached answer of one query: one generation's records, complete."""

    qhash: str
    generation: int
    expire: float
    records: list[Doc]
    query: Doc
    updated: float


@dataclass(frozen=True)
class Part:
    """One upstream API's contribution to a generation."""

    system: str
    api: str
    url: str
    expire: float
    records: Sequence[Mapping[str, Any]]


@runtime_checkable
class DasStore(Protocol):
    """What `tasks.das.service.DasService` needs from a backend. All methods are thread-safe."""

    kind: str

    def open(self) -> None:
        """Create tables/indexes if needed (idempotent; the first operation calls it too)."""

    def close(self) -> None:
        """Release connections; `open` (or any operation) reopens."""

    # cache
    def read(self, qhash: str) -> CacheEntry | None:
        """The current generation of *qhash*, complete, or None if not cached."""

    def state(self, qhash: str) -> tuple[int, float] | None:
        """(generation, expire) of the cached answer of *qhash*, or None."""

    def write_generation(self, qhash: str, generation: int, parts: Sequence[Part], now: float) -> None:
        """Store the records and API-call records of a new generation (readers do not see it yet)."""

    def switch(self, qhash: str, generation: int, *, expire: float, count: int, query: Mapping[str, Any],
               now: float) -> bool:
        """Point *qhash* at *generation* in one write if it is newer than the current one; True if done."""

    def drop_older(self, qhash: str, generation: int) -> None:
        """Delete the records and API-call records of generations older than *generation*."""

    def drop_generation(self, qhash: str, generation: int) -> None:
        """Delete the records and API-call records of *generation* (a refresh that lost the switch)."""

    def remove(self, qhash: str) -> int:
        """Forget *qhash*'s cached answer; the number of data records deleted."""

    def apicall_records(self, qhash: str) -> list[Doc]:
        """The API-call records ``{qhash, generation, system, api, url, expire, time}`` of the cached generation."""

    # query log
    def log_call(self, qhash: str, query: str, mongoquery: Mapping[str, Any], time: float) -> None:
        """Append *time* to the query-log record of *qhash* (created if new)."""

    def prune_calls(self, before: float) -> int:
        """Drop call times older than *before* (and records left without times); the times dropped."""

    def list_queries(self, *, key: str | None, after: float, before: float) -> list[Doc]:
        """Query-log records with a call time in [after, before] (and a spec entry with *key*)."""

    # API log
    def log_api(self, entries: Sequence[Mapping[str, Any]]) -> None:
        """Append upstream-fetch entries (each with a ``time``)."""

    def api_calls(self, since: float | None) -> list[Doc]:
        """The API log (time >= *since*), oldest first."""

    def prune_api_log(self, before: float) -> int:
        """Drop API-log entries older than *before*; how many."""

    # summaries
    def add_summary(self, summary: Mapping[str, Any]) -> bool:
        """Insert a summary; False (and nothing changed) if (analyzer, start, finish) exists."""

    def get_summaries(self, analyzer: str, *, after: float, before: float) -> list[Doc]:
        """Summaries with start >= after and finish <= before, by (start, finish)."""

    def remove_summaries(self, *, older_than: float, analyzer: str | None) -> int:
        """Delete summaries with finish < older_than (of *analyzer* if given); how many."""


def summary_doc(summary: Mapping[str, Any]) -> Doc:
    doc = {key: summary[key] for key in ("analyzer", "start", "finish")}
    for payload in PAYLOADS:
        if payload in summary:
            doc[payload] = summary[payload]
    return doc


PAYLOADS = ("keys", "queries")


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
