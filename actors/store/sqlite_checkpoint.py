"""The embedded store's WAL checkpoints, on a thread of their own instead of inside a commit.

Why a module: SQLite's automatic checkpoint runs inside the commit that crosses
``wal_autocheckpoint`` pages, so every few seconds one insert of the Journal held the store's
write lock for the checkpoint's I/O, and a run-ledger claim (same lock) waited behind it.
Measured in the spread benchmark (1,000 jobs @ 1 Hz): 153 claims of one slot waited 3-26 ms,
lateness p99 12.6 ms; with no automatic checkpoint, p99 3.6 ms. So the store's connections
checkpoint automatically only as a backstop (`BACKSTOP_PAGES`), and a `Checkpointer` thread
runs ``PRAGMA wal_checkpoint(PASSIVE)`` every `EVERY_S` on its own connection, without the
store's lock: a passive checkpoint copies what no reader still needs and never blocks a writer.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from urllib.parse import quote

import structlog

log = structlog.get_logger("das_actors.store")

#: Seconds between two checkpoints.
EVERY_S = 0.5
#: WAL pages after which a commit still checkpoints by itself (about 40 MiB): only if this
#: thread fell behind.
BACKSTOP_PAGES = 10_000


class Checkpointer:
    """Checkpoint the WAL of the SQLite file at *path* every `EVERY_S` until `stop`."""

    def __init__(self, path: str, every_s: float = EVERY_S) -> None:
        self.path = path
        self.every_s = every_s
        self.done = 0
        self.failed = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="sqlite-checkpoint", daemon=True)

    def start(self) -> Checkpointer:
        self._thread.start()
        return self

    def stop(self) -> None:
        """End the thread (a checkpoint under way finishes first)."""
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=5.0)

    def _loop(self) -> None:
        conn: sqlite3.Connection | None = None
        try:
            while not self._stop.wait(self.every_s):
                try:
                    if conn is None:  # never creates the file: a deleted store is the store's to recover
                        conn = sqlite3.connect(f"file:{quote(os.path.abspath(self.path))}?mode=rw", uri=True,
                                               timeout=1.0, isolation_level=None, check_same_thread=False)
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                    self.done += 1
                except sqlite3.Error as exc:  # the store reports its own faults; the backstop still checkpoints
                    self.failed += 1
                    log.debug("store.checkpoint_failed", path=self.path, error=str(exc))
                    if conn is not None:
                        conn.close()
                        conn = None
        finally:
            if conn is not None:
                conn.close()


__all__ = ["BACKSTOP_PAGES", "EVERY_S", "Checkpointer"]
