"""One SQLite transaction on one connection: begin, commit on success, roll back on any error.

Why a module of its own: every SQLite store here (the capped documents, the data objects and
streams, the DAS cache) writes through the same few lines, and a subtle part of them (roll back
only when a transaction is still open: SQLite may have rolled back by itself after some errors)
belongs in one place.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def transaction(conn: sqlite3.Connection, begin: str = "BEGIN IMMEDIATE") -> Iterator[sqlite3.Connection]:
    """Run the block in a transaction on *conn* (``BEGIN IMMEDIATE`` takes the write lock at once)."""
    conn.execute(begin)
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.rollback()
        raise


__all__ = ["transaction"]
