"""The one `Store` protocol every backend implements (SQLite embedded, MongoDB).

The store holds two things with different lifetimes:

* a **capped** collection of documents, oldest evicted first when the size in bytes (or
  the optional document count) is exceeded. Three document types share it:
  ``result`` (one per run), ``reslog`` (a log line of a run) and ``log`` (a system log line);
* a normal (never evicted) table of **job records**, keyed by ``job_id``, so that a restart
  resumes the schedule.

Only the Journal actor writes; the web panel and reports read. Implementations must be
safe to call from several threads (one writer, many readers).

The live tail (new documents as they arrive, for the live log view) is `tail_documents`:
a backend's own `TailableStore.tail` when it has one (MongoDB's tailable cursor), else
`poll_tail` over `Store.read_after` (SQLite).

Document fields (all JSON-safe; ``time`` is epoch seconds UTC, ``seq`` is assigned by
the store and increases with insertion order)::

    every type : type, time, seq
    result     : job_id, name, classname, index, attempt, trigger, parent (list of ancestor
                 ids), due_at, start, finish, duration, outcome, error, traceback,
                 worker, pid, result (the task's own fields), notes (list of str)
    reslog     : job_id, name, classname, index, attempt, level (int), levelname,
                 logger, msg
    log        : level (int), levelname, logger, msg, fields (dict)
"""

from __future__ import annotations

import re
import threading
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from actors.errors import StoreUnavailableError

DOC_TYPES = ("result", "reslog", "log")


@dataclass(frozen=True, slots=True)
class Query:
    """A filter over the capped documents; results come newest first.

    ``parent`` matches documents whose ancestry chain contains that job id.
    ``outcome``, ``classname`` and ``name`` describe runs: they match ``result`` documents
    only (a task's log lines are found by ``job_id`` and ``index``).
    ``logger_prefix`` matches the logger name itself or any ``prefix.`` descendant.
    ``since``/``until`` bound ``time`` inclusively.
    """

    type: str | None = None
    job_id: str | None = None
    index: int | None = None
    outcome: str | None = None
    classname: str | None = None
    name: str | None = None
    parent: str | None = None
    since: float | None = None
    until: float | None = None
    logger_prefix: str | None = None
    min_level: int | None = None
    #: Documents whose ``tags`` list holds this tag (results of jobs with tags).
    tag: str | None = None
    limit: int = 100
    offset: int = 0


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a query: the items, the real total matching, and whether more follow."""

    items: list[dict[str, Any]] = field(default_factory=list)
    total: int = 0
    more: bool = False


@runtime_checkable
class Store(Protocol):
    """What the Journal, the scheduler's persistence and the web panel need from a store."""

    kind: str

    def open(self) -> None:
        """Create tables/collections and indexes if missing. Idempotent."""

    def close(self) -> None:
        """Release connections. Idempotent."""

    def insert(self, docs: Sequence[Mapping[str, Any]]) -> int:
        """Append documents in one batch, evicting the oldest past capacity.

        A line batch (`actors.store.runlines`: a ``reslog`` with ``lines``) is stored as its
        lines, one document each to every reader, with consecutive seqs. Returns the number of
        documents stored (a batch counts its lines). Raises `StoreUnavailableError` when the store cannot
        be reached (the caller keeps the batch and retries).
        """

    def find(self, query: Query) -> Page:
        """Documents matching *query*, newest first, with the real total."""

    def iter_rows(self, query: Query, fields: Sequence[str], batch: int = 5000) -> Iterator[tuple[Any, ...]]:
        """Every document matching *query* (its ``limit`` and ``offset`` are ignored) as a tuple
        ``(seq, time, type, *fields)`` (a missing field is None), in no guaranteed order.

        For reports that aggregate a large window: the matches are read *batch* at a time
        through an index (keyset paging, no OFFSET) and only *fields* are decoded, not whole
        bodies, into tuples, not dicts. *fields* are top-level names (`check_fields`). A
        document inserted while the iteration runs may or may not be yielded; none is
        yielded twice.
        """

    def read_after(self, seq: int, types: Collection[str] | None = None, limit: int = 1000) -> list[dict[str, Any]]:
        """Documents with ``seq`` greater than *seq*, oldest first (the live-tail primitive)."""

    def last_seq(self) -> int:
        """The ``seq`` of the newest document, 0 when empty."""

    def save_jobs(self, jobs: Sequence[Mapping[str, Any]]) -> None:
        """Upsert job records (each has a ``job_id``) in one batch."""

    def delete_jobs(self, job_ids: Sequence[str]) -> None:
        """Delete job records by id; unknown ids are ignored."""

    def load_jobs(self) -> list[dict[str, Any]]:
        """Every stored job record."""

    def iter_jobs(self, batch: int = 5000) -> Iterator[dict[str, Any]]:
        """Every stored job record, fetched *batch* at a time (a restart of 100k jobs streams them)."""

    def stats(self) -> dict[str, Any]:
        """``kind, docs, bytes, capacity_bytes, max_docs, evicted``."""


@runtime_checkable
class TailableStore(Store, Protocol):
    """A `Store` with a native live tail (MongoDB: a tailable, await-data cursor).

    Kept apart from `Store` so that a backend without one (SQLite) still is a `Store`:
    `tail_documents` falls back to `poll_tail` for it.
    """

    def tail(
        self, after_seq: int, types: Collection[str] | None, stop: threading.Event, poll_s: float = 0.2
    ) -> Iterator[dict[str, Any]]:
        """Yield documents with ``seq > after_seq`` (of *types*, None = all) in seq order, as
        they arrive, until *stop* is set; waits at most about *poll_s* between checks of *stop*.
        Survives store outages (waits and resumes after the last yielded ``seq``)."""


#: What a field name given to `Store.iter_rows` may look like (it ends up in a JSON path).
FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")


def check_fields(fields: Sequence[str], batch: int) -> tuple[str, ...]:
    """Validate the arguments of `Store.iter_rows`: top-level field names, *batch* > 0."""
    if isinstance(fields, str):
        raise TypeError("fields must be a sequence of names, not one string")
    names = tuple(fields)
    for name in names:
        if not isinstance(name, str) or not FIELD_NAME.fullmatch(name):
            raise ValueError(f"iter_rows: field {name!r} is not a top-level field name")
    if isinstance(batch, bool) or not isinstance(batch, int) or batch <= 0:
        raise ValueError(f"iter_rows: batch must be an integer > 0, got {batch!r}")
    return names


def poll_tail(
    store: Store, after_seq: int, types: Collection[str] | None, stop: threading.Event,
    poll_s: float = 0.2, *, batch: int = 1000,
) -> Iterator[dict[str, Any]]:
    """The live tail of any `Store`, by polling `Store.read_after` every *poll_s* seconds.

    Same contract as `TailableStore.tail`. While the store is unavailable it waits and
    retries from the last yielded ``seq``; other store errors propagate.
    """
    if poll_s <= 0 or batch <= 0:
        raise ValueError(f"poll_s and batch must be > 0, got {poll_s!r} and {batch!r}")
    last = after_seq
    while not stop.is_set():
        try:
            docs = store.read_after(last, types, limit=batch)
        except StoreUnavailableError:
            docs = []
        for doc in docs:
            if stop.is_set():
                return
            last = max(last, int(doc["seq"]))
            yield doc
        if len(docs) < batch:
            stop.wait(poll_s)


def tail_documents(
    store: Store, after_seq: int, types: Collection[str] | None, stop: threading.Event, poll_s: float = 0.2
) -> Iterator[dict[str, Any]]:
    """New documents after *after_seq*, in seq order, until *stop* is set: the store's own
    `TailableStore.tail` when it has one, else `poll_tail` (the live log view uses this)."""
    if isinstance(store, TailableStore):
        return store.tail(after_seq, types, stop, poll_s)
    return poll_tail(store, after_seq, types, stop, poll_s)
