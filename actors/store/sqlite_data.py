"""The SQLite file of the data stores: connections per thread, transactions, errors.

Why a module of its own: data objects (`actors.store.objects_sqlite`) and stream messages
(`actors.store.streams_sqlite`) live in one SQLite file apart from the results store (a big
upload must not hold the Journal's write lock), written by the server and by every worker
process at once. Both need the same things: a connection per thread (WAL lets readers run
beside a writer), ``BEGIN IMMEDIATE`` transactions that wait for other processes rather than
fail, and errors mapped to `StoreError` / `StoreUnavailableError`.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from actors.errors import StoreError, StoreUnavailableError
from actors.store.sqlite_tx import transaction

#: How long a write waits for another process's write to finish, ms.
BUSY_TIMEOUT_MS = 30_000
#: Primary result codes meaning "cannot reach the file now" (busy, locked, I/O, read-only, full ...).
_UNAVAILABLE_CODES = frozenset({5, 6, 7, 8, 10, 13, 14, 15})


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

    def open(self) -> None:
        """Create the file and the schema (idempotent)."""
        with self._lock:
            if self._open:
                return
            self._generation += 1
            self._open = True
        try:
            with self.errors("open"):
                os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
                conn = self.conn()
                conn.execute("PRAGMA journal_mode = WAL")
                with self.transaction() as tx:
                    for statement in self.schema:
                        tx.execute(statement)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Close every thread's connection (idempotent)."""
        with self._lock:
            self._open = False
            self._generation += 1
            conns, self._conns = self._conns, []
        for _, conn in conns:
            conn.close()

    @property
    def is_open(self) -> bool:
        return self._open

    def conn(self) -> sqlite3.Connection:
        """This thread's connection."""
        if not self._open:
            raise StoreError(f"{self.what} {self.path} is not open")
        local = self._local
        if getattr(local, "generation", None) != self._generation:
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                                   check_same_thread=False)
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA synchronous = NORMAL")
            with self._lock:
                self._conns = [(t, c) for t, c in self._conns if t.is_alive()]
                self._conns.append((threading.current_thread(), conn))
            local.conn, local.generation = conn, self._generation
        result: sqlite3.Connection = local.conn
        return result

    @contextmanager
    def transaction(self, begin: str = "BEGIN IMMEDIATE") -> Iterator[sqlite3.Connection]:
        """A transaction on this thread's connection (committed on success, rolled back on error)."""
        with transaction(self.conn(), begin) as conn:
            yield conn
