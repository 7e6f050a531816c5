"""Data objects in the embedded store: chunked blobs in SQLite (see `actors.store.objects`).

A version's bytes are rows of ``object_chunks`` (255 KiB each) under a random blob id,
written in short transactions so that other writers (stream ingest, other workers) are never
held up by one big upload. The write is announced in ``object_writes`` first; the version
becomes visible in one last transaction that inserts its ``object_versions`` row, its tags and
the name's newest-version pointer (``object_names``) together. An error removes the chunks; a
crashed writer's chunks are swept at the next `SQLiteObjectStore.open` after `STALE_WRITE_S`.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import orjson

from actors.errors import StoreError
from actors.store.formats import Digest, rechunk
from actors.store.objects import (
    CHUNK_BYTES,
    STALE_WRITE_S,
    Checker,
    IncompleteWriteError,
    ObjectInfo,
    ObjectPage,
    ObjectTooLargeError,
    checked_name,
    checked_page,
    checked_version,
    missing,
    new_tags,
    producer_of,
)
from actors.store.sqlite_data import SQLiteFile
from actors.tags import check_tag, check_tags

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS object_versions (name TEXT NOT NULL, version INTEGER NOT NULL,
        blob TEXT NOT NULL, size INTEGER NOT NULL, body TEXT NOT NULL, PRIMARY KEY (name, version))""",
    "CREATE TABLE IF NOT EXISTS object_names (name TEXT PRIMARY KEY, version INTEGER NOT NULL, last INTEGER NOT NULL)",
    """CREATE TABLE IF NOT EXISTS object_tags (tag TEXT NOT NULL, name TEXT NOT NULL, version INTEGER NOT NULL,
        PRIMARY KEY (tag, name, version)) WITHOUT ROWID""",
    "CREATE INDEX IF NOT EXISTS object_tags_version ON object_tags (name, version)",
    """CREATE TABLE IF NOT EXISTS object_chunks (blob TEXT NOT NULL, n INTEGER NOT NULL, data BLOB NOT NULL,
        PRIMARY KEY (blob, n)) WITHOUT ROWID""",
    "CREATE TABLE IF NOT EXISTS object_writes (blob TEXT PRIMARY KEY, name TEXT NOT NULL, started REAL NOT NULL)",
)
#: Chunks inserted per transaction while writing (about 4 MiB).
CHUNKS_PER_TRANSACTION = 16
#: Chunks read per query while reading.
CHUNKS_PER_READ = 8


class SQLiteObjectStore:
    """`ObjectStore` on the SQLite file at *path*."""

    kind = "sqlite"

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.file = SQLiteFile(path, _SCHEMA, "sqlite object store")

    def __repr__(self) -> str:
        return f"SQLiteObjectStore({self.file.path!r})"

    # -- lifecycle ------------------------------------------------------------------------
    def open(self) -> None:
        self.file.open()
        with self.file.errors("sweep"), self.file.transaction() as conn:
            stale = [row[0] for row in conn.execute("SELECT blob FROM object_writes WHERE started < ?",
                                                    (time.time() - STALE_WRITE_S,))]
            for blob in stale:
                conn.execute("DELETE FROM object_chunks WHERE blob = ?", (blob,))
                conn.execute("DELETE FROM object_writes WHERE blob = ?", (blob,))

    def close(self) -> None:
        self.file.close()

    # -- writing --------------------------------------------------------------------------
    def write(self, name: str, chunks: Iterable[bytes], *, content_type: str, fmt: str,
              tags: Sequence[str] | None = None, producer: Mapping[str, Any] | None = None, max_bytes: int = 0,
              expected_size: int | None = None, check: Checker | None = None, keep_versions: int = 0) -> ObjectInfo:
        name = checked_name(name)
        chosen_tags = None if tags is None else check_tags(list(tags))
        blob = uuid.uuid4().hex
        with self.file.errors("write"), self.file.transaction() as conn:
            conn.execute("INSERT INTO object_writes VALUES (?, ?, ?)", (blob, name, time.time()))
        try:
            digest = self._store_chunks(name, blob, chunks, max_bytes)
            if expected_size is not None and digest.size < expected_size:
                raise IncompleteWriteError(name, digest.size, expected_size)
            facts = dict(check(self._chunks(blob, digest.size), digest.size)) if check is not None else {}
            return self._commit(name, blob, digest, content_type=content_type, fmt=fmt, tags=chosen_tags,
                                producer=producer, facts=facts, keep_versions=keep_versions)
        except BaseException:
            self._discard(blob)
            raise

    def _store_chunks(self, name: str, blob: str, chunks: Iterable[bytes], max_bytes: int) -> Digest:
        digest = Digest()
        pending: list[tuple[str, int, bytes]] = []
        for n, chunk in enumerate(rechunk(chunks, CHUNK_BYTES)):
            digest.update(chunk)
            if max_bytes and digest.size > max_bytes:
                raise ObjectTooLargeError(name, max_bytes)
            pending.append((blob, n, chunk))
            if len(pending) >= CHUNKS_PER_TRANSACTION:
                self._insert_chunks(pending)
                pending = []
        if pending:
            self._insert_chunks(pending)
        return digest

    def _insert_chunks(self, rows: list[tuple[str, int, bytes]]) -> None:
        with self.file.errors("write chunks"), self.file.transaction() as conn:
            conn.executemany("INSERT INTO object_chunks VALUES (?, ?, ?)", rows)

    def _commit(self, name: str, blob: str, digest: Digest, *, content_type: str, fmt: str,
                tags: tuple[str, ...] | None, producer: Mapping[str, Any] | None, facts: dict[str, Any],
                keep_versions: int) -> ObjectInfo:
        with self.file.errors("commit"), self.file.transaction() as conn:
            row = conn.execute("SELECT version, last FROM object_names WHERE name = ?", (name,)).fetchone()
            if tags is None:
                newest = row and conn.execute("SELECT body FROM object_versions WHERE name = ? AND version = ?",
                                              (name, row[0])).fetchone()
                tags = ObjectInfo.from_dict(orjson.loads(newest[0])).tags if newest else ()
            version = (row[1] if row else 0) + 1
            info = ObjectInfo(name=name, version=version, size=digest.size, sha256=digest.hexdigest,
                              content_type=content_type, format=fmt, tags=tags, created=time.time(),
                              producer=producer_of(producer), facts=facts)
            conn.execute("INSERT INTO object_versions VALUES (?, ?, ?, ?, ?)",
                         (name, version, blob, digest.size, orjson.dumps(info.to_dict()).decode()))
            conn.executemany("INSERT INTO object_tags VALUES (?, ?, ?)", [(t, name, version) for t in tags])
            conn.execute("INSERT INTO object_names VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET "
                         "version = excluded.version, last = excluded.last", (name, version, version))
            conn.execute("DELETE FROM object_writes WHERE blob = ?", (blob,))
            if keep_versions > 0:
                old = conn.execute("SELECT version, blob FROM object_versions WHERE name = ? ORDER BY version DESC "
                                   "LIMIT -1 OFFSET ?", (name, keep_versions)).fetchall()
                for old_version, old_blob in old:
                    self._delete_version(conn, name, old_version, old_blob)
        return info

    def _discard(self, blob: str) -> None:
        try:
            with self.file.errors("discard"), self.file.transaction() as conn:
                conn.execute("DELETE FROM object_chunks WHERE blob = ?", (blob,))
                conn.execute("DELETE FROM object_writes WHERE blob = ?", (blob,))
        except StoreError:
            pass  # swept at a later open

    @staticmethod
    def _delete_version(conn: Any, name: str, version: int, blob: str) -> None:
        conn.execute("DELETE FROM object_chunks WHERE blob = ?", (blob,))
        conn.execute("DELETE FROM object_versions WHERE name = ? AND version = ?", (name, version))
        conn.execute("DELETE FROM object_tags WHERE name = ? AND version = ?", (name, version))

    # -- reading --------------------------------------------------------------------------
    def _chunks(self, blob: str, size: int) -> Iterator[bytes]:
        seen = n = 0
        while True:
            with self.file.errors("read"):
                rows = self.file.conn().execute(
                    "SELECT n, data FROM object_chunks WHERE blob = ? AND n >= ? ORDER BY n LIMIT ?",
                    (blob, n, CHUNKS_PER_READ)).fetchall()
            for number, data in rows:
                if number != n:
                    break
                seen += len(data)
                n += 1
                yield bytes(data)
            if len(rows) < CHUNKS_PER_READ or rows[-1][0] != n - 1:
                break
        if seen != size:
            raise StoreError(f"sqlite object store {self.file.path}: blob {blob} ended after {seen} of {size} bytes "
                             "(deleted while being read?)")

    def _row(self, name: str, version: int | None) -> tuple[ObjectInfo, str]:
        name, version = checked_name(name), checked_version(version)
        with self.file.errors("info"):
            conn = self.file.conn()
            if version is None:
                row = conn.execute("SELECT v.body, v.blob FROM object_names n JOIN object_versions v "
                                   "ON v.name = n.name AND v.version = n.version WHERE n.name = ?", (name,)).fetchone()
            else:
                row = conn.execute("SELECT body, blob FROM object_versions WHERE name = ? AND version = ?",
                                   (name, version)).fetchone()
            if row is None:
                raise missing(name, version)
            return self._info(row[0]), row[1]

    @staticmethod
    def _info(body: str) -> ObjectInfo:
        return ObjectInfo.from_dict(orjson.loads(body))

    def info(self, name: str, version: int | None = None) -> ObjectInfo:
        return self._row(name, version)[0]

    def read(self, name: str, version: int | None = None) -> tuple[ObjectInfo, Iterator[bytes]]:
        info, blob = self._row(name, version)
        return info, self._chunks(blob, info.size)

    def find(self, *, tag: str | None = None, prefix: str | None = None, limit: int = 100,
             offset: int = 0) -> ObjectPage:
        checked_page(limit, offset)
        where, args = [], []
        if tag is not None:
            where.append("EXISTS (SELECT 1 FROM object_tags t WHERE t.tag = ? AND t.name = n.name "
                         "AND t.version = n.version)")
            args.append(check_tag(tag))
        if prefix:
            where.append("n.name >= ? AND n.name < ?")
            args += [prefix, prefix + "\U0010ffff"]
        clause = (" WHERE " + " AND ".join(where)) if where else ""
        with self.file.errors("find"), self.file.transaction("BEGIN") as conn:
            (total,) = conn.execute(f"SELECT COUNT(*) FROM object_names n{clause}", args).fetchone()  # noqa: S608
            rows = conn.execute(
                f"SELECT v.body FROM object_names n JOIN object_versions v ON v.name = n.name AND "  # noqa: S608
                f"v.version = n.version{clause} ORDER BY n.name LIMIT ? OFFSET ?", [*args, limit, offset]).fetchall()
            items = [self._info(row[0]) for row in rows]
        return ObjectPage(items=items, total=total, more=offset + len(items) < total)

    def versions(self, name: str) -> list[ObjectInfo]:
        name = checked_name(name)
        with self.file.errors("versions"), self.file.transaction("BEGIN") as conn:
            rows = conn.execute("SELECT body FROM object_versions WHERE name = ? ORDER BY version DESC",
                                (name,)).fetchall()
            items = [self._info(row[0]) for row in rows]
        if not items:
            raise missing(name)
        return items

    # -- changing ---------------------------------------------------------------------------
    def tag(self, name: str, *, add: Sequence[str] = (), remove: Sequence[str] = (),
            version: int | None = None) -> ObjectInfo:
        info = self.info(name, version)
        tags = new_tags(info.tags, add, remove)
        with self.file.errors("tag"), self.file.transaction() as conn:
            conn.execute("DELETE FROM object_tags WHERE name = ? AND version = ?", (info.name, info.version))
            conn.executemany("INSERT INTO object_tags VALUES (?, ?, ?)", [(t, info.name, info.version) for t in tags])
            changed = ObjectInfo.from_dict({**info.to_dict(), "tags": list(tags)})
            conn.execute("UPDATE object_versions SET body = ? WHERE name = ? AND version = ?",
                         (orjson.dumps(changed.to_dict()).decode(), info.name, info.version))
        return changed

    def delete(self, name: str, version: int | None = None) -> int:
        name, version = checked_name(name), checked_version(version)
        with self.file.errors("delete"), self.file.transaction() as conn:
            if version is None:
                rows = conn.execute("SELECT version, blob FROM object_versions WHERE name = ?", (name,)).fetchall()
            else:
                rows = conn.execute("SELECT version, blob FROM object_versions WHERE name = ? AND version = ?",
                                    (name, version)).fetchall()
            if not rows:
                raise missing(name, version)
            for old_version, blob in rows:
                self._delete_version(conn, name, old_version, blob)
            newest = conn.execute("SELECT MAX(version) FROM object_versions WHERE name = ?", (name,)).fetchone()[0]
            if newest is None:
                conn.execute("DELETE FROM object_names WHERE name = ?", (name,))
            else:
                conn.execute("UPDATE object_names SET version = ? WHERE name = ?", (newest, name))
        return len(rows)

    def stats(self) -> dict[str, Any]:
        with self.file.errors("stats"):
            conn = self.file.conn()
            objects = conn.execute("SELECT COUNT(*) FROM object_names").fetchone()[0]
            versions, size = conn.execute("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM object_versions").fetchone()
        return {"kind": self.kind, "objects": objects, "versions": versions, "bytes": size, "path": self.file.path}
