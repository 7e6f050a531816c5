"""A SQLite file shared by threads and processes: connections per thread, transactions, errors.

Why a module of its own: the small stores of scripts, targets, trigger keys
(`actors.store.records_sqlite`) and the action outbox (`actors.store.outbox_sqlite`) live in a
SQLite file beside the results store, written by the server *and* by every worker process (a
task queuing an action writes the outbox itself). They need the same three things: one
connection per thread (WAL lets readers run beside a writer), ``BEGIN IMMEDIATE``
transactions that wait for another process's write instead of failing, and sqlite3 errors
mapped to `StoreError` / `StoreUnavailableError`.

The file of a results store ``sqlite:///x/das-actors.db`` is ``x/das-actors.interact.db``
(`interact_path`): a big results write never holds these tables' lock, and back to front.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from actors.errors import StoreError, StoreUnavailableError

#: How long a write waits for another process's write to finish, ms.
BUSY_TIMEOUT_MS = 30_000
#: Primary result codes meaning "cannot reach the file now" (busy, locked, I/O, read-only, full ...).
_UNAVAILABLE_CODES = frozenset({5, 6, 7, 8, 10, 13, 14, 15})


def interact_path(results_path: str) -> str:
    """The file of the interact stores beside the results store file *results_path*."""
    stem = results_path[:-3] if results_path.endswith(".db") else results_path
    return stem + ".interact.db"


class SQLiteFile:
    """One SQLite file used from many threads (and processes); *schema* is created at `open`."""

    def __init__(self, path: str | os.PathLike[str], schema: tuple[str, ...], what: str) -> None:
        self.path = os.fspath(path)
        self.schema = schema
        self.what = what
        self._lock = threading.Lock()
        self._local = threading.local()
        self._conns: list[tuple[threading.Thread, sqlite3.Connection]] = []
        self._generation = 0
        self._open = False

    def error(self, exc: BaseException, action: str) -> StoreError:
        """The `StoreError` (or `StoreUnavailableError`) for *exc* raised by *action*."""
        code = getattr(exc, "sqlite_errorcode", None)
        unavailable = isinstance(exc, OSError) or (code is not None and code & 0xFF in _UNAVAILABLE_CODES)
        cls = StoreUnavailableError if unavailable else StoreError
        return cls(f"{self.what} {self.path}: {action} failed: {exc}")

    @contextmanager
    def errors(self, action: str) -> Iterator[None]:
        """Map sqlite3 and OS errors raised inside to `StoreError`."""
        try:
            yield
        except (sqlite3.Error, OSError) as exc:
            raise self.error(exc, action) from exc

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                               check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA synchronous = NORMAL")
        return conn

    def conn(self) -> sqlite3.Connection:
        """This thread's connection (opened on first use)."""
        if not self._open:
            raise StoreError(f"{self.what} {self.path} is not open")
        local = self._local
        if getattr(local, "generation", -1) != self._generation:
            with self.errors("connect"):
                local.conn = self._connect()
            local.generation = self._generation
            with self._lock:
                self._conns.append((threading.current_thread(), local.conn))
        return local.conn  # type: ignore[no-any-return]

    @contextmanager
    def transaction(self, action: str) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT`` (``ROLLBACK`` on error), errors mapped."""
        conn = self.conn()
        with self.errors(action):
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def open(self) -> None:
        """Create the file's tables and indexes if missing (WAL mode). Idempotent."""
        with self._lock:
            if self._open:
                return
            self._generation += 1
            self._open = True
        try:
            with self.errors("open"):
                os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
            conn = self.conn()
            with self.errors("open"):
                conn.execute("PRAGMA journal_mode = WAL")
                for statement in self.schema:
                    conn.execute(statement)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Close every thread's connection. Idempotent."""
        with self._lock:
            self._open = False
            self._generation += 1
            conns, self._conns = self._conns, []
        for _thread, conn in conns:
            try:
                conn.close()
            except sqlite3.Error:
                pass
