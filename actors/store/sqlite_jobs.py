"""The job records of the embedded store: the ``jobs`` table, one JSON body per job id.

Why a module of its own: `actors.store.sqlite.SQLiteStore` keeps two different things in one
file, the capped stream of documents (results, log lines) and the job records the scheduler
saves and restores. The records are not capped, not ordered by seq and not queried by field;
they are upserted in bulk and read back once at start, a chunk at a time (a 1M-job restart reads
~850 MB of them). Their SQL and their decoding live here, mixed into the store.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

import orjson

from actors.errors import StoreError
from actors.store.sqlite_reads import decode

Doc = dict[str, Any]

_UPSERT_JOB = "INSERT INTO jobs VALUES (?, ?) ON CONFLICT (job_id) DO UPDATE SET body = excluded.body"
#: Page cache of a connection while it scans every job record once (`SQLiteJobs.iter_jobs`), KiB.
SCAN_CACHE_KIB = 2048


class _Base(Protocol):
    """What the job records use of `actors.store.sqlite.SQLiteStore`."""

    path: str
    _write_lock: threading.RLock

    def _errors(self, action: str) -> AbstractContextManager[None]: ...

    def _transaction(self, begin: str = ...) -> AbstractContextManager[sqlite3.Connection]: ...

    def _conn(self) -> sqlite3.Connection: ...


def decode_jobs(path: str, rows: Sequence[tuple[str, str]]) -> list[Doc]:
    """Parse stored job records (`actors.store.sqlite_reads.decode` with ``seq_key=None``),
    orjson first: about 5x the stdlib's speed, and a 1M-job restart reads 1M records. Job
    records are written by orjson, which refuses integers beyond 64 bits (so none is read back
    as a float), and every number of a job is bounded (`actors.bounds`); a body orjson refuses
    (NaN, written before orjson wrote the records) is read by the stdlib as before, and only a
    body neither reads is corrupt."""
    items: list[Doc] = []
    for key, body in rows:
        try:
            items.append(orjson.loads(body))
        except orjson.JSONDecodeError:
            items.extend(decode(path, [(key, body)], seq_key=None))
    return items


class SQLiteJobs:
    """`Store.save_jobs`, ``delete_jobs``, ``load_jobs`` and ``iter_jobs`` of the embedded store."""

    def save_jobs(self: _Base, jobs: Sequence[Mapping[str, Any]]) -> None:
        rows: list[tuple[str, str]] = []
        for position, job in enumerate(jobs):
            job_id = job.get("job_id")
            if not isinstance(job_id, str) or not job_id:
                raise StoreError(f"job record #{position} has no string 'job_id': {job_id!r}")
            try:
                rows.append((job_id, orjson.dumps(dict(job)).decode()))
            except (TypeError, ValueError, RecursionError) as exc:
                raise StoreError(f"job record {job_id} is not JSON-safe: {exc}") from exc
        if rows:
            with self._write_lock, self._errors("save_jobs"), self._transaction() as conn:
                conn.executemany(_UPSERT_JOB, rows)

    def delete_jobs(self: _Base, job_ids: Sequence[str]) -> None:
        if job_ids:
            with self._write_lock, self._errors("delete_jobs"), self._transaction() as conn:
                conn.executemany("DELETE FROM jobs WHERE job_id = ?", [(job_id,) for job_id in job_ids])

    def load_jobs(self: _Base) -> list[Doc]:
        with self._errors("load_jobs"):
            rows = self._conn().execute("SELECT job_id, body FROM jobs ORDER BY rowid").fetchall()
        return decode_jobs(self.path, rows)

    def iter_jobs(self: _Base, batch: int = 5000) -> Iterator[Doc]:
        """Every job record, *batch* rows per query (keyset paging: memory stays one batch). The
        scan reads each page once: meanwhile the reading thread's connection keeps a small page
        cache (`SCAN_CACHE_KIB`), not the one it fills otherwise and keeps (a 1M-job restart
        reads ~850 MB of records); its own cache size is back when the scan ends."""
        after = 0
        with self._errors("iter_jobs"):
            conn = self._conn()
            cache_size = int(conn.execute("PRAGMA cache_size").fetchone()[0])
            conn.execute(f"PRAGMA cache_size = -{SCAN_CACHE_KIB}")
        try:
            while True:
                with self._errors("iter_jobs"):
                    rows = self._conn().execute(
                        "SELECT rowid, job_id, body FROM jobs WHERE rowid > ? ORDER BY rowid LIMIT ?",
                        (after, batch)).fetchall()
                if not rows:
                    return
                after = rows[-1][0]
                yield from decode_jobs(self.path, [(job_id, body) for _, job_id, body in rows])
        finally:
            with contextlib.suppress(sqlite3.Error):
                conn.execute(f"PRAGMA cache_size = {cache_size}")


__all__ = ["SCAN_CACHE_KIB", "SQLiteJobs", "decode_jobs"]
