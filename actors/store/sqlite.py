"""The embedded store: one SQLite file holding the capped documents and the job records.

It exists so that das-actors runs with no database server at all (``sqlite:///file.db``)
while offering the same `Store` protocol as the MongoDB backend. A capped collection is
emulated: documents get an ever-increasing ``seq`` (``AUTOINCREMENT``, never reused) and,
after each insert batch, the oldest are deleted in one range ``DELETE`` until the body
bytes (and the optional document count) fit. The running totals live in memory, so a
single writer process per file is assumed. Bodies are compact JSON; the fields queries
filter on are copied into indexed columns, and ancestor ids go to a side table so that
``Query.parent`` is an index lookup. Each thread gets its own connection (WAL mode lets
readers run beside the one writer); writes are serialized by a lock. Task log lines that
arrive in batches (`actors.store.runlines`) go to a table of their own, one row per batch
(`actors.store.sqlite_runlines`); reads merge it with ``docs`` by seq, so the seq counter
(``docs``' AUTOINCREMENT sequence) counts both.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from bisect import bisect_left
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from itertools import accumulate
from typing import Any

import orjson

from actors.errors import StoreError, StoreUnavailableError
from actors.store import sqlite_runlines as runlines
from actors.store.runlines import expand, is_batch
from actors.store.sqlite_checkpoint import BACKSTOP_PAGES, Checkpointer
from actors.store.sqlite_file import Identity, backup_to_temp, file_identity, file_problem, install
from actors.store.sqlite_jobs import SQLiteJobs
from actors.store.sqlite_ledger import LedgerFile, SQLiteLedger, ledger_path
from actors.store.sqlite_reads import SQLiteReads
from actors.store.sqlite_tx import transaction

Doc = dict[str, Any]

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS docs (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, type TEXT NOT NULL, time REAL, job_id TEXT,
        idx INTEGER, outcome TEXT, classname TEXT, name TEXT, logger TEXT, level INTEGER,
        size INTEGER NOT NULL, body TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS doc_parents (
        seq INTEGER NOT NULL, ancestor TEXT NOT NULL, PRIMARY KEY (seq, ancestor)) WITHOUT ROWID""",
    "CREATE TABLE IF NOT EXISTS jobs (job_id TEXT PRIMARY KEY, body TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)",
    "CREATE INDEX IF NOT EXISTS doc_parents_ancestor ON doc_parents (ancestor, seq)",
    "CREATE INDEX IF NOT EXISTS docs_type ON docs (type, seq)",
    "CREATE INDEX IF NOT EXISTS docs_type_time ON docs (type, time)",
    "CREATE INDEX IF NOT EXISTS docs_logger ON docs (logger, seq)",
    # Partial indexes: system log lines (the bulk) carry none of these fields, so they
    # cost nothing to insert; ``col = ?`` in a query implies ``col IS NOT NULL``.
    "CREATE INDEX IF NOT EXISTS docs_job ON docs (job_id, idx) WHERE job_id IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS docs_outcome ON docs (type, outcome, seq) WHERE outcome IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS docs_classname ON docs (classname) WHERE classname IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS docs_name ON docs (name) WHERE name IS NOT NULL",
)
_INSERT_DOC = "INSERT INTO docs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
#: System log lines carry none of the run columns; binding NULL costs sqlite3 an adapter
#: lookup per value, so they take a narrower statement (about a third faster).
_INSERT_LOG = "INSERT INTO docs (seq, type, time, logger, level, size, body) VALUES (?, ?, ?, ?, ?, ?, ?)"
_INSERT_PARENT = "INSERT OR IGNORE INTO doc_parents (seq, ancestor) VALUES (?, ?)"
_COUNT = "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM docs"
#: Primary SQLite result codes meaning "cannot reach the file now": busy/locked, I/O,
#: read-only, disk full, cannot open, WAL protocol, out of memory.
_UNAVAILABLE_CODES = frozenset({5, 6, 7, 8, 10, 13, 14, 15})
_EVICT_CHUNK = 8192
#: Page cache of each connection, KiB: index inserts stay in memory. Task log lines stored in batches
#: keep the indexes small: 8 MiB stores 250k lines/s as 64 MiB did, and a 1M-job server holds ~20 MB less.
PAGE_CACHE_KIB = 8192


def _unpacked(docs: Sequence[Mapping[str, Any]]) -> Sequence[Mapping[str, Any]]:
    """*docs* with every batch of lines that carries ancestry or tags expanded into its lines
    (`actors.store.sqlite_runlines` keeps neither: such lines are stored one by one)."""
    if not any(doc.get("lines") is not None and is_batch(doc) and ("parent" in doc or "tags" in doc) for doc in docs):
        return docs
    out: list[Mapping[str, Any]] = []
    for doc in docs:
        if doc.get("lines") is not None and is_batch(doc) and ("parent" in doc or "tags" in doc):
            out.extend(expand(doc))
        else:
            out.append(doc)
    return out


def _dumps(value: object) -> bytes:
    """Compact UTF-8 JSON of a stored document: orjson (about 8x the stdlib's speed)."""
    return orjson.dumps(value)


class SQLiteStore(SQLiteReads, SQLiteJobs, SQLiteLedger):
    """`Store` on a SQLite file at *path*, capped at *size_bytes* of JSON bodies (and the run
    ledger, `actors.store.sqlite_ledger`, in a file of its own beside it).

    *max_docs* additionally caps the document count (0 = unlimited).
    """

    kind = "sqlite"

    def __init__(self, path: str | os.PathLike[str], *, size_bytes: int, max_docs: int = 0) -> None:
        if isinstance(size_bytes, bool) or not isinstance(size_bytes, int) or size_bytes <= 0:
            raise ValueError(f"db_size must be a positive integer number of bytes, got {size_bytes!r}")
        if isinstance(max_docs, bool) or not isinstance(max_docs, int) or max_docs < 0:
            raise ValueError(f"db_max_docs must be an integer >= 0 (0 = unlimited), got {max_docs!r}")
        self.path = os.fspath(path)
        self.size_bytes = size_bytes
        self.max_docs = max_docs
        self._write_lock = threading.RLock()
        self._conns_lock = threading.Lock()
        self._conns: list[tuple[threading.Thread, sqlite3.Connection]] = []
        self._local = threading.local()
        self._generation = 0  # bumped by open() and close(); 0 = never opened
        self._is_open = False
        # (docs, bytes, evicted): replaced as a whole so readers never see a torn update.
        self._totals = (0, 0, 0)
        self._identity: Identity | None = None  # (st_dev, st_ino) of the file opened
        self._checkpointer: Checkpointer | None = None
        self._ledger_file = LedgerFile(ledger_path(self.path))

    def __repr__(self) -> str:
        return f"SQLiteStore({self.path!r}, size_bytes={self.size_bytes}, max_docs={self.max_docs})"

    # -- connections and errors ---------------------------------------------------------

    def _error(self, exc: BaseException, action: str) -> StoreError:
        code = getattr(exc, "sqlite_errorcode", None)
        unavailable = isinstance(exc, OSError) or (code is not None and code & 0xFF in _UNAVAILABLE_CODES)
        cls = StoreUnavailableError if unavailable else StoreError
        return cls(f"sqlite store {self.path}: {action} failed: {exc}")

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        try:
            yield
        except (sqlite3.Error, OSError) as exc:
            raise self._error(exc, action) from exc

    def _connect(self, path: str | None = None) -> sqlite3.Connection:
        """A new connection of this thread to the store's file (or to *path*: the ledger's)."""
        # check_same_thread=False only so close() can close every thread's connection.
        conn = sqlite3.connect(self.path if path is None else path, timeout=5.0, isolation_level=None,
                               check_same_thread=False)
        conn.execute("PRAGMA busy_timeout = 5000")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute(f"PRAGMA cache_size = -{PAGE_CACHE_KIB}")  # index inserts stay in memory
        conn.execute("PRAGMA temp_store = MEMORY")
        conn.execute(f"PRAGMA wal_autocheckpoint = {BACKSTOP_PAGES}")  # the Checkpointer's thread does it
        with self._conns_lock:
            alive = []
            for thread, other in self._conns:
                if thread.is_alive():
                    alive.append((thread, other))
                else:
                    other.close()  # its thread is gone: nobody else uses it
            alive.append((threading.current_thread(), conn))
            self._conns = alive
        return conn

    def _conn(self, local: threading.local | None = None, path: str | None = None) -> sqlite3.Connection:
        """This thread's connection to the store's file (or, with *local* and *path*, to the
        ledger's: `actors.store.sqlite_ledger`), made on first use and again after a reopen."""
        if not self._is_open:
            raise StoreError(f"sqlite store {self.path} is not open")
        local = self._local if local is None else local
        if getattr(local, "generation", None) != self._generation:  # new thread, or reopened
            local.conn, local.generation = self._connect(path), self._generation
        conn: sqlite3.Connection = local.conn
        return conn

    @contextmanager
    def _transaction(self, begin: str = "BEGIN IMMEDIATE") -> Iterator[sqlite3.Connection]:
        with transaction(self._conn(), begin) as conn:
            yield conn

    # -- lifecycle ----------------------------------------------------------------------

    def open(self) -> None:
        with self._write_lock:
            if self._is_open:
                return
            with self._errors("open"):
                os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
                self._generation += 1
                self._is_open = True
                try:
                    self._conn().execute("PRAGMA journal_mode = WAL")
                    with self._transaction() as conn:
                        self._totals = self._create(conn)
                    self._ledger_file.open(self._conn(), self._ledger_conn())
                except BaseException:
                    self._close_all()
                    raise
                self._identity = file_identity(self.path)
                self._checkpointer = Checkpointer(self.path).start()

    # -- the file under faults (actors.store.sqlite_file) --------------------------------

    def problem(self) -> str | None:
        """What is wrong with the file at the path, or the ledger's (deleted or replaced while open),
        else None."""
        if not self._is_open:
            return None
        return file_problem(self.path, self._identity) or self._ledger_file.problem()

    def recover(self) -> str:
        """The file (or the ledger's, or both) was deleted while open: copy what the open connection
        still sees (every job record and document, or every ledger entry) into a new file at the
        path, and use it from now on.

        Raises:
            StoreError: nothing to recover from (not deleted, or replaced by another file), or
                the copy failed (the old file is still used; try again later).
        """
        with self._write_lock, self._ledger_file.lock:
            main_problem, ledger_problem = file_problem(self.path, self._identity), self._ledger_file.problem()
            problem = main_problem or ledger_problem
            main_lost = main_problem is not None and file_identity(self.path) is None
            ledger_lost = ledger_problem is not None and self._ledger_file.deleted()
            replaced = (main_problem is not None and not main_lost) or (ledger_problem is not None and not ledger_lost)
            if problem is None or replaced:
                raise StoreError(f"sqlite store {self.path}: nothing to recover: {problem or 'the file is fine'}")
            temps = []
            if main_lost:
                temps.append((backup_to_temp(self.path, self._conn()), self.path))
            if ledger_lost:
                temps.append((backup_to_temp(self._ledger_file.path, self._ledger_conn()), self._ledger_file.path))
            docs, size, evicted = self._totals
            self._close_all()
            for temp, path in temps:
                install(temp, path)
            self.open()
            what = " and ".join(path for _, path in temps)
            return f"recreated {what} from the deleted file ({docs} documents, {size} bytes, {evicted} evicted)"

    def _create(self, conn: sqlite3.Connection) -> tuple[int, int, int]:
        for statement in (*_SCHEMA, *runlines.SCHEMA):
            conn.execute(statement)
        docs, size = self._count(conn)
        row = conn.execute("SELECT value FROM meta WHERE key = 'evicted'").fetchone()
        # Reopened with a smaller capacity: shrink now rather than at the next insert.
        return self._evict(conn, docs, size, row[0] if row else 0)

    @staticmethod
    def _count(conn: sqlite3.Connection) -> tuple[int, int]:
        """(documents, bytes) stored: the rows of ``docs`` and the lines of ``runlines``."""
        docs, size = conn.execute(_COUNT).fetchone()
        lines, packed = conn.execute(runlines.TOTALS).fetchone()
        return docs + lines, size + packed

    def _close_all(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.stop()
            self._checkpointer = None
        self._ledger_file.close()
        self._is_open = False
        self._generation += 1
        with self._conns_lock:
            conns, self._conns = self._conns, []
        for _, conn in conns:
            conn.close()

    def close(self) -> None:
        with self._write_lock:
            if self._is_open:
                self._close_all()

    # -- documents ------------------------------------------------------------------------

    def insert(self, docs: Sequence[Mapping[str, Any]]) -> int:
        if not docs:
            return 0
        with self._write_lock, self._errors("insert"), self._transaction() as conn:
            row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'docs'").fetchone()
            seq = row[0] if row else 0
            rows, logs, parents, packed, size, last = self._rows(docs, seq)
            if logs:
                conn.executemany(_INSERT_LOG, logs)
            if rows:
                conn.executemany(_INSERT_DOC, rows)
            if parents:
                conn.executemany(_INSERT_PARENT, parents)
            if packed:
                conn.executemany(runlines.INSERT, packed)
                # The counter is docs' AUTOINCREMENT sequence: it must pass the packed lines' seqs too.
                current = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'docs'").fetchone()
                if current is None:
                    conn.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('docs', ?)", (last,))
                elif current[0] < last:
                    conn.execute("UPDATE sqlite_sequence SET seq = ? WHERE name = 'docs'", (last,))
            count, total, evicted = self._totals
            totals = self._evict(conn, count + last - seq, total + size, evicted)
        self._totals = totals  # only once committed
        return last - seq

    @staticmethod
    def _rows(docs: Sequence[Mapping[str, Any]], seq: int) -> tuple[
            list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[int, str]], list[tuple[Any, ...]], int, int]:
        """The rows of *docs* (documents, system log lines, ancestors, packed task log lines), their
        body bytes and the last seq used; seqs go on from *seq*."""
        rows: list[tuple[Any, ...]] = []
        logs: list[tuple[Any, ...]] = []
        parents: list[tuple[int, str]] = []
        packed: list[tuple[Any, ...]] = []
        size = 0
        for position, given in enumerate(_unpacked(docs)):
            if given.get("lines") is not None and is_batch(given):
                try:
                    batch_rows, batch_size, seq = runlines.rows_of(given, seq)
                except (TypeError, ValueError, RecursionError) as exc:
                    raise StoreError(f"document #{position} (a batch of task log lines) is not JSON-safe: "
                                     f"{exc}") from exc
                packed.extend(batch_rows)
                size += batch_size
                continue
            seq += 1
            # A plain-dict copy minus any caller-supplied ``seq`` (the store assigns it).
            doc = given if type(given) is dict and "seq" not in given else {
                key: value for key, value in given.items() if key != "seq"}  # fmt: skip
            get = doc.get
            kind = get("type")
            if type(kind) is not str:
                raise StoreError(f"document #{position} of the batch has no string 'type': {kind!r}")
            try:
                raw = _dumps(doc)
            except (TypeError, ValueError, RecursionError) as exc:
                raise StoreError(f"document #{position} ({kind}) is not JSON-safe: {exc}") from exc
            length = len(raw)  # bytes of UTF-8 JSON: what the cap counts
            body = raw.decode()
            size += length
            job_id, index = get("job_id"), get("index")
            if kind == "result":  # outcome/class/name are indexed for results only; a log line
                outcome, classname, name = get("outcome"), get("classname"), get("name")  # is found by job/index
            else:
                outcome = classname = name = None
            if job_id is None and index is None and outcome is None and classname is None and name is None:
                logs.append((seq, kind, get("time"), get("logger"), get("level"), length, body))
            else:
                rows.append((seq, kind, get("time"), job_id, index, outcome, classname, name,
                             get("logger"), get("level"), length, body))  # fmt: skip
            ancestors = get("parent")
            if ancestors:
                if isinstance(ancestors, str):
                    ancestors = (ancestors,)
                parents.extend((seq, ancestor) for ancestor in ancestors if isinstance(ancestor, str))
        return rows, logs, parents, packed, size, seq

    def _evict(self, conn: sqlite3.Connection, count: int, size: int, evicted: int) -> tuple[int, int, int]:
        """Delete the oldest documents (rows of ``docs`` and ``runlines``, in seq order) until both
        limits hold; return the new totals. A packed row goes whole (its lines are the oldest)."""
        need_docs = count - self.max_docs if self.max_docs else 0
        need_bytes = size - self.size_bytes
        if need_docs <= 0 and need_bytes <= 0:
            return count, size, evicted
        oldest = ("SELECT seq, size, 1 AS n FROM docs WHERE seq > ?1 UNION ALL "
                  "SELECT seq, size, n FROM runlines WHERE seq > ?1 ORDER BY seq LIMIT ?2")
        removed = freed = cutoff = 0
        while removed < need_docs or freed < need_bytes:
            # Skip whole chunks with an aggregate computed inside SQLite ...
            rows, n, chunk_bytes, last = conn.execute(
                f"SELECT COUNT(*), COALESCE(SUM(n), 0), COALESCE(SUM(size), 0), MAX(seq) FROM ({oldest})",  # noqa: S608
                (cutoff, _EVICT_CHUNK),
            ).fetchone()
            if rows == 0:  # the in-memory totals overstated the tables: everything goes
                break
            if removed + n < need_docs or freed + chunk_bytes < need_bytes:
                removed, freed, cutoff = removed + n, freed + chunk_bytes, last
                continue
            # ... and find the exact cutoff only inside the chunk that crosses the limits.
            chunk = conn.execute(oldest, (cutoff, rows)).fetchall()
            sizes = list(accumulate((row[1] for row in chunk), initial=freed))
            counts = list(accumulate((row[2] for row in chunk), initial=removed))
            take = max(bisect_left(counts, need_docs), bisect_left(sizes, need_bytes), 1)
            removed, freed, cutoff = counts[take], sizes[take], chunk[take - 1][0]
        conn.execute("DELETE FROM docs WHERE seq <= ?", (cutoff,))
        conn.execute("DELETE FROM runlines WHERE seq <= ?", (cutoff,))
        conn.execute("DELETE FROM doc_parents WHERE seq <= ?", (cutoff,))
        if removed >= count or freed >= size:  # defensive: recount rather than go negative
            count, size = self._count(conn)
        else:
            count, size = count - removed, size - freed
        evicted += removed
        conn.execute(
            "INSERT INTO meta (key, value) VALUES ('evicted', ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (evicted,),
        )
        return count, size, evicted

    def stats(self) -> Doc:
        docs, size, evicted = self._totals
        return {"kind": self.kind, "docs": docs, "bytes": size, "capacity_bytes": self.size_bytes,
                "max_docs": self.max_docs, "evicted": evicted, "path": self.path}  # fmt: skip
