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
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, runtime_checkable

Doc = dict[str, Any]

#: How often a reader re-reads when a generation is replaced under it.
READ_ATTEMPTS = 8
#: How often opening the MongoDB store tries to create its indexes.
OPEN_ATTEMPTS = 5


class DasStoreError(RuntimeError):
    """The das store failed (the message names the backend and the action)."""


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


def open_das_store(uri: str, db_name: str = "das", *, timeout_s: float = 2.0) -> DasStore:
    """Build (not yet open) the store named by *uri*: ``sqlite:///path`` or ``mongodb://...``.

    Raises:
        ValueError: an unsupported or empty URI.
    """
    if uri.startswith("sqlite://"):
        return SQLiteDasStore(sqlite_path(uri))
    if uri.startswith(("mongodb://", "mongodb+srv://")):
        return MongoDasStore(uri, db_name, timeout_s=timeout_s)
    raise ValueError(f"das_db_uri {uri!r} is not supported (use sqlite:///file.db or mongodb://host:port/)")


def sqlite_path(uri: str) -> str:
    """The file of a ``sqlite:///relative.db`` or ``sqlite:////absolute.db`` URI (as `actors.store`)."""
    path = uri.removeprefix("sqlite://")
    path = path.removeprefix("/") if not path.startswith("//") else path[1:]
    if not path:
        raise ValueError(f"das_db_uri {uri!r} names no file (use sqlite:///path/to/das.db)")
    return path


def _summary_doc(summary: Mapping[str, Any]) -> Doc:
    doc = {key: summary[key] for key in ("analyzer", "start", "finish")}
    for payload in _PAYLOADS:
        if payload in summary:
            doc[payload] = summary[payload]
    return doc


_PAYLOADS = ("keys", "queries")


# ---------------------------------------------------------------------------- SQLite

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS cache (
        qhash TEXT NOT NULL, generation INTEGER NOT NULL, pos INTEGER NOT NULL, expire REAL NOT NULL,
        system TEXT NOT NULL, api TEXT NOT NULL, body TEXT NOT NULL,
        PRIMARY KEY (qhash, generation, pos)) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS cachestate (
        qhash TEXT PRIMARY KEY, generation INTEGER NOT NULL, expire REAL NOT NULL, count INTEGER NOT NULL,
        query TEXT NOT NULL, updated REAL NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS apicalls (
        qhash TEXT NOT NULL, generation INTEGER NOT NULL, system TEXT NOT NULL, api TEXT NOT NULL,
        url TEXT NOT NULL, expire REAL NOT NULL, time REAL NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS apicalls_qhash ON apicalls (qhash, generation)",
    "CREATE TABLE IF NOT EXISTS apilog (id INTEGER PRIMARY KEY, time REAL NOT NULL, body TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS apilog_time ON apilog (time)",
    "CREATE TABLE IF NOT EXISTS querylog (qhash TEXT PRIMARY KEY, query TEXT NOT NULL, mongoquery TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS querytimes (qhash TEXT NOT NULL, t REAL NOT NULL)",
    "CREATE INDEX IF NOT EXISTS querytimes_t ON querytimes (t, qhash)",
    "CREATE INDEX IF NOT EXISTS querytimes_qhash ON querytimes (qhash, t)",
    """CREATE TABLE IF NOT EXISTS summaries (
        analyzer TEXT NOT NULL, start REAL NOT NULL, finish REAL NOT NULL, body TEXT NOT NULL,
        PRIMARY KEY (analyzer, start, finish)) WITHOUT ROWID""",
    "CREATE INDEX IF NOT EXISTS summaries_finish ON summaries (finish)",
)


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


class SQLiteDasStore:
    """`DasStore` on a SQLite file of its own (WAL; one connection per thread; several
    processes may share the file: writes wait up to 10 s for the lock)."""

    kind = "sqlite"

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self._lock = threading.Lock()  # open/close
        self._write = threading.Lock()  # one writer per process at a time
        self._local = threading.local()
        self._conns: list[tuple[threading.Thread, sqlite3.Connection]] = []
        self._epoch = 0  # bumped by close(): threads reconnect
        self._created = False

    def __repr__(self) -> str:
        return f"SQLiteDasStore({self.path!r})"

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        try:
            yield
        except (sqlite3.Error, OSError) as exc:
            raise DasStoreError(f"das sqlite store {self.path}: {action} failed: {exc}") from exc

    def _conn(self) -> sqlite3.Connection:
        local = self._local
        if getattr(local, "epoch", None) != self._epoch or getattr(local, "conn", None) is None:
            self.open()
            conn = sqlite3.connect(self.path, timeout=10.0, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA busy_timeout = 10000")
            conn.execute("PRAGMA synchronous = NORMAL")
            with self._lock:
                alive = []
                for thread, other in self._conns:
                    if thread.is_alive():
                        alive.append((thread, other))
                    else:
                        other.close()  # its thread is gone (one thread per HTTP connection): nobody uses it
                alive.append((threading.current_thread(), conn))
                self._conns = alive
            local.conn, local.epoch = conn, self._epoch
        connection: sqlite3.Connection = local.conn
        return connection

    @contextmanager
    def _tx(self, action: str, *, write: bool = True) -> Iterator[sqlite3.Connection]:
        with self._errors(action):
            conn = self._conn()
            if write:
                self._write.acquire()
            try:
                conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                try:
                    yield conn
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        conn.rollback()
                    raise
            finally:
                if write:
                    self._write.release()

    def open(self) -> None:
        with self._lock:
            if self._created:
                return
            with self._errors("open"):
                os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
                conn = sqlite3.connect(self.path, timeout=10.0, isolation_level=None)
                try:
                    conn.execute("PRAGMA busy_timeout = 10000")
                    conn.execute("PRAGMA journal_mode = WAL")
                    conn.execute("BEGIN IMMEDIATE")
                    for statement in _SCHEMA:
                        conn.execute(statement)
                    conn.execute("COMMIT")
                finally:
                    conn.close()
            self._created = True

    def close(self) -> None:
        with self._lock:
            conns, self._conns = self._conns, []
            self._epoch += 1
            self._created = False
        for _, conn in conns:
            conn.close()

    # -- cache ----------------------------------------------------------------------------

    def read(self, qhash: str) -> CacheEntry | None:
        for _ in range(READ_ATTEMPTS):
            with self._tx("read", write=False) as conn:  # one snapshot: the pointer and its records
                row = conn.execute("SELECT generation, expire, count, query, updated FROM cachestate "
                                   "WHERE qhash = ?", (qhash,)).fetchone()
                if row is None:
                    return None
                generation, expire, count, query, updated = row
                bodies = [body for (body,) in conn.execute(
                    "SELECT body FROM cache WHERE qhash = ? AND generation = ? ORDER BY pos", (qhash, generation))]
            if len(bodies) == count:
                return CacheEntry(qhash, generation, expire, [json.loads(b) for b in bodies], json.loads(query),
                                  updated)
        return None

    def state(self, qhash: str) -> tuple[int, float] | None:
        with self._errors("state"):
            row = self._conn().execute("SELECT generation, expire FROM cachestate WHERE qhash = ?",
                                       (qhash,)).fetchone()
        return None if row is None else (int(row[0]), float(row[1]))

    def write_generation(self, qhash: str, generation: int, parts: Sequence[Part], now: float) -> None:
        rows: list[tuple[Any, ...]] = []
        calls: list[tuple[Any, ...]] = []
        for part in parts:
            for record in part.records:
                rows.append((qhash, generation, len(rows), part.expire, part.system, part.api, _json(record)))
            calls.append((qhash, generation, part.system, part.api, part.url, part.expire, now))
        with self._tx("write records") as conn:
            conn.executemany("INSERT INTO cache VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
            conn.executemany("INSERT INTO apicalls VALUES (?, ?, ?, ?, ?, ?, ?)", calls)

    def switch(self, qhash: str, generation: int, *, expire: float, count: int, query: Mapping[str, Any],
               now: float) -> bool:
        with self._tx("switch") as conn:
            cursor = conn.execute(
                "INSERT INTO cachestate VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (qhash) DO UPDATE SET "
                "generation = excluded.generation, expire = excluded.expire, count = excluded.count, "
                "query = excluded.query, updated = excluded.updated WHERE excluded.generation > cachestate.generation",
                (qhash, generation, expire, count, _json(query), now))
            return cursor.rowcount == 1

    def drop_older(self, qhash: str, generation: int) -> None:
        with self._tx("drop old generations") as conn:
            conn.execute("DELETE FROM cache WHERE qhash = ? AND generation < ?", (qhash, generation))
            conn.execute("DELETE FROM apicalls WHERE qhash = ? AND generation < ?", (qhash, generation))

    def drop_generation(self, qhash: str, generation: int) -> None:
        with self._tx("drop a generation") as conn:
            conn.execute("DELETE FROM cache WHERE qhash = ? AND generation = ?", (qhash, generation))
            conn.execute("DELETE FROM apicalls WHERE qhash = ? AND generation = ?", (qhash, generation))

    def remove(self, qhash: str) -> int:
        with self._tx("remove") as conn:
            row = conn.execute("SELECT generation FROM cachestate WHERE qhash = ?", (qhash,)).fetchone()
            conn.execute("DELETE FROM cachestate WHERE qhash = ?", (qhash,))
            removed = 0
            if row is not None:
                removed = conn.execute("SELECT COUNT(*) FROM cache WHERE qhash = ? AND generation = ?",
                                       (qhash, row[0])).fetchone()[0]
            conn.execute("DELETE FROM cache WHERE qhash = ?", (qhash,))
            conn.execute("DELETE FROM apicalls WHERE qhash = ?", (qhash,))
        return int(removed)

    def apicall_records(self, qhash: str) -> list[Doc]:
        """The API-call records of *qhash*'s cached generation (for inspection and tests)."""
        with self._tx("apicalls", write=False) as conn:
            rows = conn.execute(
                "SELECT a.system, a.api, a.url, a.expire, a.time, a.generation FROM apicalls a "
                "JOIN cachestate s ON s.qhash = a.qhash AND s.generation = a.generation WHERE a.qhash = ?",
                (qhash,)).fetchall()
        return [{"system": s, "api": a, "url": u, "expire": e, "time": t, "generation": g, "qhash": qhash}
                for s, a, u, e, t, g in rows]

    # -- query log ------------------------------------------------------------------------

    def log_call(self, qhash: str, query: str, mongoquery: Mapping[str, Any], time: float) -> None:
        with self._tx("log call") as conn:
            conn.execute("INSERT OR IGNORE INTO querylog VALUES (?, ?, ?)", (qhash, query, _json(mongoquery)))
            conn.execute("INSERT INTO querytimes VALUES (?, ?)", (qhash, time))

    def prune_calls(self, before: float) -> int:
        with self._tx("prune query log") as conn:
            dropped = conn.execute("DELETE FROM querytimes WHERE t < ?", (before,)).rowcount
            conn.execute("DELETE FROM querylog WHERE qhash NOT IN (SELECT qhash FROM querytimes)")
        return int(dropped)

    def list_queries(self, *, key: str | None, after: float, before: float) -> list[Doc]:
        with self._tx("list queries", write=False) as conn:
            rows = conn.execute(
                "SELECT l.qhash, l.query, l.mongoquery, t.t FROM querylog l JOIN querytimes t ON t.qhash = l.qhash "
                "WHERE l.qhash IN (SELECT qhash FROM querytimes WHERE t >= ? AND t <= ?) ORDER BY l.qhash, t.t",
                (after, before)).fetchall()
        found: dict[str, Doc] = {}
        for qhash, query, mongoquery, t in rows:
            doc = found.get(qhash)
            if doc is None:
                doc = found[qhash] = {"query": query, "mongoquery": json.loads(mongoquery), "qhash": qhash,
                                      "times": []}
            doc["times"].append(t)
        docs = list(found.values())
        if key is not None:
            docs = [d for d in docs if any(e.get("key") == key for e in d["mongoquery"].get("spec", []))]
        return docs

    # -- API log --------------------------------------------------------------------------

    def log_api(self, entries: Sequence[Mapping[str, Any]]) -> None:
        if not entries:
            return
        with self._tx("log api calls") as conn:
            conn.executemany("INSERT INTO apilog (time, body) VALUES (?, ?)",
                             [(float(e["time"]), _json(dict(e))) for e in entries])

    def api_calls(self, since: float | None) -> list[Doc]:
        with self._tx("api calls", write=False) as conn:
            rows = conn.execute("SELECT body FROM apilog WHERE time >= ? ORDER BY time, id",
                                (float("-inf") if since is None else since,)).fetchall()
        return [json.loads(body) for (body,) in rows]

    def prune_api_log(self, before: float) -> int:
        with self._tx("prune api log") as conn:
            return int(conn.execute("DELETE FROM apilog WHERE time < ?", (before,)).rowcount)

    # -- summaries ------------------------------------------------------------------------

    def add_summary(self, summary: Mapping[str, Any]) -> bool:
        doc = _summary_doc(summary)
        with self._tx("add summary") as conn:
            cursor = conn.execute("INSERT OR IGNORE INTO summaries VALUES (?, ?, ?, ?)",
                                  (doc["analyzer"], doc["start"], doc["finish"], _json(doc)))
            return cursor.rowcount == 1

    def get_summaries(self, analyzer: str, *, after: float, before: float) -> list[Doc]:
        with self._tx("get summaries", write=False) as conn:
            rows = conn.execute("SELECT body FROM summaries WHERE analyzer = ? AND start >= ? AND finish <= ? "
                                "ORDER BY start, finish", (analyzer, after, before)).fetchall()
        return [json.loads(body) for (body,) in rows]

    def remove_summaries(self, *, older_than: float, analyzer: str | None) -> int:
        with self._tx("remove summaries") as conn:
            if analyzer is None:
                cursor = conn.execute("DELETE FROM summaries WHERE finish < ?", (older_than,))
            else:
                cursor = conn.execute("DELETE FROM summaries WHERE analyzer = ? AND finish < ?",
                                      (analyzer, older_than))
            return int(cursor.rowcount)


# ---------------------------------------------------------------------------- MongoDB


class MongoDasStore:
    """`DasStore` on MongoDB (or FerretDB) database *db_name* at *uri* (pymongo, lazy connect)."""

    kind = "mongodb"

    def __init__(self, uri: str, db_name: str = "das", *, timeout_s: float = 2.0) -> None:
        from pymongo.errors import PyMongoError
        from pymongo.uri_parser import parse_uri

        try:
            parsed = parse_uri(uri)
        except (PyMongoError, ValueError) as exc:
            raise ValueError(f"das_db_uri is not a valid MongoDB URI: {exc}") from exc
        if not db_name:
            raise ValueError("das_db_name must not be empty")
        self.uri, self.db_name, self.timeout_s = uri, db_name, timeout_s
        self._uri_options = {str(key).lower() for key in parsed["options"]}
        hosts = ",".join(f"{host}:{port}" for host, port in parsed["nodelist"])  # never the credentials
        self._where = f"mongodb://{hosts}/{db_name}"
        self._lock = threading.Lock()
        self._client: Any = None
        self._ready = False

    def __repr__(self) -> str:
        return f"MongoDasStore({self._where})"

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        from pymongo.errors import PyMongoError

        try:
            yield
        except PyMongoError as exc:
            raise DasStoreError(f"das mongodb store {self._where}: {action} failed: {exc}") from exc

    def _db(self) -> Any:
        if not self._ready:
            self.open()
        return self._client[self.db_name]

    def open(self) -> None:
        from pymongo import ASCENDING, IndexModel, MongoClient
        from pymongo.errors import ConnectionFailure

        with self._lock:
            if self._ready:
                return
            if self._client is None:
                ms = int(self.timeout_s * 1000)
                timeouts: dict[str, Any] = {"serverSelectionTimeoutMS": ms, "connectTimeoutMS": ms,
                                            "socketTimeoutMS": 10 * ms}
                self._client = MongoClient(self.uri, connect=False, appname="das-actors-das",
                                           **{k: v for k, v in timeouts.items() if k.lower() not in self._uri_options})
            db = self._client[self.db_name]

            def index(*keys: str, unique: bool = False, name: str | None = None) -> Any:
                return IndexModel([(k, ASCENDING) for k in keys], unique=unique, name=name or "_".join(keys))

            wanted = {
                "cache": [index("qhash", "generation", "pos", unique=True)],
                "cachestate": [index("qhash", "generation", unique=True)],
                "apicalls": [index("qhash", "generation")],
                "apilog": [index("time")],
                "querylog": [index("qhash", unique=True), index("mongoquery.spec.key", name="spec_key")],
                "querytimes": [index("t", "qhash"), index("qhash", "t")],
                "summaries": [index("analyzer", "start", "finish", unique=True), index("analyzer", "start"),
                              index("finish")],
            }
            with self._errors("open"):
                for attempt in range(OPEN_ATTEMPTS):
                    try:
                        self._ensure_indexes(db, wanted)
                        break
                    except ConnectionFailure:
                        # FerretDB drops the connection when several clients create indexes at once
                        if attempt == OPEN_ATTEMPTS - 1:
                            raise
                        time.sleep(0.05 * (attempt + 1))
            self._ready = True

    @staticmethod
    def _ensure_indexes(db: Any, wanted: Mapping[str, list[Any]]) -> None:
        """Create the missing indexes only (FerretDB fails a createIndexes naming existing ones)."""
        for name, indexes in wanted.items():
            existing = db[name].index_information()
            missing = [i for i in indexes if i.document["name"] not in existing]
            if missing:
                db[name].create_indexes(missing)

    def close(self) -> None:
        with self._lock:
            client, self._client, self._ready = self._client, None, False
        if client is not None:
            client.close()

    # -- cache ----------------------------------------------------------------------------

    _NEWEST: ClassVar[list[tuple[str, int]]] = [("generation", -1)]

    def _current(self, db: Any, qhash: str, projection: Doc | None = None) -> Doc | None:
        """The newest published pointer document of *qhash*."""
        found: Doc | None = db["cachestate"].find_one({"qhash": qhash}, projection or {"_id": False},
                                                      sort=self._NEWEST)
        return found

    def read(self, qhash: str) -> CacheEntry | None:
        with self._errors("read"):
            db = self._db()
            for _ in range(READ_ATTEMPTS):
                state = self._current(db, qhash)
                if state is None:
                    return None
                rows = list(db["cache"].find({"qhash": qhash, "generation": state["generation"]},
                                             {"_id": False, "record": True}).sort("pos", 1))
                if len(rows) == state["count"]:
                    return CacheEntry(qhash, int(state["generation"]), float(state["expire"]),
                                      [row["record"] for row in rows], dict(state["query"]), float(state["updated"]))
        return None

    def state(self, qhash: str) -> tuple[int, float] | None:
        with self._errors("state"):
            state = self._current(self._db(), qhash, {"generation": True, "expire": True})
        return None if state is None else (int(state["generation"]), float(state["expire"]))

    def write_generation(self, qhash: str, generation: int, parts: Sequence[Part], now: float) -> None:
        rows: list[Doc] = []
        calls: list[Doc] = []
        for part in parts:
            for record in part.records:
                rows.append({"qhash": qhash, "generation": generation, "pos": len(rows), "expire": part.expire,
                             "system": part.system, "api": part.api, "record": dict(record)})
            calls.append({"qhash": qhash, "generation": generation, "system": part.system, "api": part.api,
                          "url": part.url, "expire": part.expire, "time": now})
        with self._errors("write records"):
            db = self._db()
            if rows:
                db["cache"].insert_many(rows, ordered=True)
            if calls:
                db["apicalls"].insert_many(calls, ordered=True)

    def switch(self, qhash: str, generation: int, *, expire: float, count: int, query: Mapping[str, Any],
               now: float) -> bool:
        from pymongo.errors import DuplicateKeyError

        doc = {"qhash": qhash, "generation": generation, "expire": expire, "count": count, "query": dict(query),
               "updated": now}
        with self._errors("switch"):
            db = self._db()
            try:
                db["cachestate"].insert_one(doc)  # the one write that publishes the generation
            except DuplicateKeyError:
                return False
            if db["cachestate"].find_one({"qhash": qhash, "generation": {"$gt": generation}}, {"_id": True}):
                # a newer generation was already published: ours never becomes current
                db["cachestate"].delete_one({"qhash": qhash, "generation": generation})
                return False
        return True

    def drop_older(self, qhash: str, generation: int) -> None:
        older = {"qhash": qhash, "generation": {"$lt": generation}}
        with self._errors("drop old generations"):
            db = self._db()
            db["cachestate"].delete_many(older)  # pointers first: no reader is sent to deleted records
            db["cache"].delete_many(older)
            db["apicalls"].delete_many(older)

    def drop_generation(self, qhash: str, generation: int) -> None:
        this = {"qhash": qhash, "generation": generation}
        with self._errors("drop a generation"):
            db = self._db()
            db["cachestate"].delete_many(this)
            db["cache"].delete_many(this)
            db["apicalls"].delete_many(this)

    def remove(self, qhash: str) -> int:
        with self._errors("remove"):
            db = self._db()
            state = self._current(db, qhash)
            db["cachestate"].delete_many({"qhash": qhash})
            removed = 0
            if state is not None:
                removed = db["cache"].count_documents({"qhash": qhash, "generation": state["generation"]})
            db["cache"].delete_many({"qhash": qhash})
            db["apicalls"].delete_many({"qhash": qhash})
        return int(removed)

    def apicall_records(self, qhash: str) -> list[Doc]:
        with self._errors("apicalls"):
            db = self._db()
            state = self._current(db, qhash)
            if state is None:
                return []
            return list(db["apicalls"].find({"qhash": qhash, "generation": state["generation"]}, {"_id": False}))

    # -- query log ------------------------------------------------------------------------

    def log_call(self, qhash: str, query: str, mongoquery: Mapping[str, Any], time: float) -> None:
        from pymongo.errors import DuplicateKeyError

        with self._errors("log call"):
            db = self._db()
            try:
                db["querylog"].update_one({"qhash": qhash}, {"$setOnInsert": {"query": query,
                                                                              "mongoquery": dict(mongoquery)}},
                                          upsert=True)
            except DuplicateKeyError:
                pass  # a concurrent first call created it
            db["querytimes"].insert_one({"qhash": qhash, "t": time})

    def prune_calls(self, before: float) -> int:
        with self._errors("prune query log"):
            db = self._db()
            dropped = int(db["querytimes"].delete_many({"t": {"$lt": before}}).deleted_count)
            if dropped:
                alive = set(db["querytimes"].distinct("qhash"))
                gone = [d["qhash"] for d in db["querylog"].find({}, {"qhash": True}) if d["qhash"] not in alive]
                for start in range(0, len(gone), 1000):
                    db["querylog"].delete_many({"qhash": {"$in": gone[start:start + 1000]}})
        return dropped

    def list_queries(self, *, key: str | None, after: float, before: float) -> list[Doc]:
        with self._errors("list queries"):
            db = self._db()
            hashes = sorted(db["querytimes"].distinct("qhash", {"t": {"$gte": after, "$lte": before}}))
            found: dict[str, Doc] = {}
            for start in range(0, len(hashes), 1000):
                where: Doc = {"qhash": {"$in": hashes[start:start + 1000]}}
                if key is not None:
                    where["mongoquery.spec.key"] = key
                for doc in db["querylog"].find(where, {"_id": False, "query": True, "mongoquery": True,
                                                       "qhash": True}):
                    found[doc["qhash"]] = {"query": doc["query"], "mongoquery": doc["mongoquery"],
                                           "qhash": doc["qhash"], "times": []}
            matched = sorted(found)
            for start in range(0, len(matched), 1000):
                for row in db["querytimes"].find({"qhash": {"$in": matched[start:start + 1000]}},
                                                 {"_id": False, "qhash": True, "t": True}):
                    found[row["qhash"]]["times"].append(row["t"])
        docs = [found[h] for h in matched]
        for doc in docs:
            doc["times"].sort()
        return docs

    # -- API log --------------------------------------------------------------------------

    def log_api(self, entries: Sequence[Mapping[str, Any]]) -> None:
        if entries:
            with self._errors("log api calls"):
                self._db()["apilog"].insert_many([dict(e) for e in entries], ordered=True)

    def api_calls(self, since: float | None) -> list[Doc]:
        where = {} if since is None else {"time": {"$gte": since}}
        with self._errors("api calls"):
            return list(self._db()["apilog"].find(where, {"_id": False}).sort([("time", 1), ("_id", 1)]))

    def prune_api_log(self, before: float) -> int:
        with self._errors("prune api log"):
            return int(self._db()["apilog"].delete_many({"time": {"$lt": before}}).deleted_count)

    # -- summaries ------------------------------------------------------------------------

    def add_summary(self, summary: Mapping[str, Any]) -> bool:
        from pymongo.errors import DuplicateKeyError

        doc = _summary_doc(summary)
        for payload in _PAYLOADS:  # [[item, count], ...] -> [{item, count}, ...]: FerretDB has no nested arrays
            if payload in doc:
                doc[payload] = [{"item": item, "count": count} for item, count in doc[payload]]
        with self._errors("add summary"):
            try:
                self._db()["summaries"].insert_one(doc)
            except DuplicateKeyError:
                return False
        return True

    def get_summaries(self, analyzer: str, *, after: float, before: float) -> list[Doc]:
        where = {"analyzer": analyzer, "start": {"$gte": after}, "finish": {"$lte": before}}
        with self._errors("get summaries"):
            docs = list(self._db()["summaries"].find(where, {"_id": False}).sort([("start", 1), ("finish", 1)]))
        for doc in docs:
            for payload in _PAYLOADS:
                if payload in doc:
                    doc[payload] = [[pair["item"], pair["count"]] for pair in doc[payload]]
        return docs

    def remove_summaries(self, *, older_than: float, analyzer: str | None) -> int:
        where: Doc = {"finish": {"$lt": older_than}}
        if analyzer is not None:
            where["analyzer"] = analyzer
        with self._errors("remove summaries"):
            return int(self._db()["summaries"].delete_many(where).deleted_count)
