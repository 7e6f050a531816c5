"""`Records` in a SQLite file: one table keyed by ``(kind, key)`` (see `actors.store.records`)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import orjson

from actors.store.base import Page
from actors.store.records import check_kind_key
from actors.store.sqlite_data import SQLiteFile

_SCHEMA = ("CREATE TABLE IF NOT EXISTS records (kind TEXT NOT NULL, key TEXT NOT NULL, body TEXT NOT NULL, "
           "PRIMARY KEY (kind, key)) WITHOUT ROWID",)


def _like_prefix(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


class SQLiteRecords:
    """`Records` on the SQLite file at *path*."""

    kind = "sqlite"

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.file = SQLiteFile(path, _SCHEMA, "sqlite records store")

    def __repr__(self) -> str:
        return f"SQLiteRecords({self.file.path!r})"

    def open(self) -> None:
        self.file.open()

    def close(self) -> None:
        self.file.close()

    def insert_new(self, kind: str, key: str, body: Mapping[str, Any]) -> bool:
        check_kind_key(kind, key)
        with self.file.errors("insert record"), self.file.transaction() as conn:
            cursor = conn.execute("INSERT OR IGNORE INTO records VALUES (?, ?, ?)",
                                  (kind, key, orjson.dumps(dict(body)).decode()))
            return cursor.rowcount == 1

    def put(self, kind: str, key: str, body: Mapping[str, Any]) -> None:
        check_kind_key(kind, key)
        with self.file.errors("put record"), self.file.transaction() as conn:
            conn.execute("INSERT INTO records VALUES (?, ?, ?) ON CONFLICT (kind, key) DO UPDATE SET body = "
                         "excluded.body", (kind, key, orjson.dumps(dict(body)).decode()))

    def get(self, kind: str, key: str) -> dict[str, Any] | None:
        check_kind_key(kind, key)
        with self.file.errors("get record"):
            row = self.file.conn().execute("SELECT body FROM records WHERE kind = ? AND key = ?",
                                           (kind, key)).fetchone()
        return None if row is None else dict(orjson.loads(row[0]))

    def delete(self, kind: str, key: str) -> bool:
        check_kind_key(kind, key)
        with self.file.errors("delete record"), self.file.transaction() as conn:
            return conn.execute("DELETE FROM records WHERE kind = ? AND key = ?", (kind, key)).rowcount == 1

    def find(self, kind: str, *, prefix: str = "", limit: int = 100, offset: int = 0,
             descending: bool = False) -> Page:
        check_kind_key(kind, prefix or "-")
        where, args = "kind = ? AND key LIKE ? ESCAPE '\\'", [kind, _like_prefix(prefix)]
        order = "DESC" if descending else "ASC"
        with self.file.errors("find records"):
            conn = self.file.conn()
            total = int(conn.execute(f"SELECT COUNT(*) FROM records WHERE {where}", args).fetchone()[0])  # noqa: S608
            rows = conn.execute(f"SELECT body FROM records WHERE {where} ORDER BY key {order} LIMIT ? OFFSET ?",  # noqa: S608
                                [*args, max(limit, 0), max(offset, 0)]).fetchall()
        items = [dict(orjson.loads(row[0])) for row in rows]
        return Page(items=items, total=total, more=offset + len(items) < total)
