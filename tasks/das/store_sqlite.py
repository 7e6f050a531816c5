"""The das service's embedded backend: `SQLiteDasStore` (see `tasks.das.store` for the data
and the atomic refresh with generations that both backends implement)."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from actors.errors import ServiceError
from actors.store.sqlite_tx import transaction
from tasks.das.store import READ_ATTEMPTS, CacheEntry, Doc, Part, dumps, summary_doc

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
            raise ServiceError(f"das sqlite store {self.path}: {action} failed: {exc}") from exc

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
                with transaction(conn, "BEGIN IMMEDIATE" if write else "BEGIN"):
                    yield conn
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
                rows.append((qhash, generation, len(rows), part.expire, part.system, part.api, dumps(record)))
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
                (qhash, generation, expire, count, dumps(query), now))
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
            conn.execute("INSERT OR IGNORE INTO querylog VALUES (?, ?, ?)", (qhash, query, dumps(mongoquery)))
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
                             [(float(e["time"]), dumps(dict(e))) for e in entries])

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
        doc = summary_doc(summary)
        with self._tx("add summary") as conn:
            cursor = conn.execute("INSERT OR IGNORE INTO summaries VALUES (?, ?, ?, ?)",
                                  (doc["analyzer"], doc["start"], doc["finish"], dumps(doc)))
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


