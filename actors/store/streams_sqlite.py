"""Stream messages and definitions in the embedded store (see `actors.store.streams`).

One table of messages for every stream, keyed by ``(stream, seq)``, with a unique index on
``(stream, message_id)``: ``INSERT OR IGNORE`` skips a redelivered message, and ``seq`` grows
only for messages actually stored, so the messages kept are always a contiguous range and the
cap is one range ``DELETE``. JSON bodies are stored as their JSON text, others as blobs.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from actors.store.sqlite_data import SQLiteFile
from actors.store.streams import StreamMessage, checked_limit

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS stream_defs (name TEXT PRIMARY KEY, body TEXT NOT NULL)",
    """CREATE TABLE IF NOT EXISTS stream_messages (stream TEXT NOT NULL, seq INTEGER NOT NULL,
        message_id TEXT NOT NULL, recv REAL NOT NULL, kind TEXT NOT NULL, body BLOB, meta TEXT NOT NULL,
        PRIMARY KEY (stream, seq)) WITHOUT ROWID""",
    "CREATE UNIQUE INDEX IF NOT EXISTS stream_messages_id ON stream_messages (stream, message_id)",
    "CREATE INDEX IF NOT EXISTS stream_messages_recv ON stream_messages (stream, recv)",
)
_COLUMNS = "seq, message_id, recv, kind, body, meta"


class SQLiteStreamStore:
    """`StreamStore` on the SQLite file at *path*; at most *max_messages* kept per stream."""

    kind = "sqlite"

    def __init__(self, path: str | os.PathLike[str], *, max_messages: int = 100_000) -> None:
        if isinstance(max_messages, bool) or not isinstance(max_messages, int) or max_messages < 1:
            raise ValueError(f"stream_max_messages must be an integer >= 1, got {max_messages!r}")
        self.max_messages = max_messages
        self.file = SQLiteFile(path, _SCHEMA, "sqlite stream store")

    def __repr__(self) -> str:
        return f"SQLiteStreamStore({self.file.path!r}, max_messages={self.max_messages})"

    def open(self) -> None:
        self.file.open()

    def close(self) -> None:
        self.file.close()

    # -- definitions ------------------------------------------------------------------------
    def save_stream(self, record: Mapping[str, Any]) -> None:
        with self.file.errors("save stream"), self.file.transaction() as conn:
            conn.execute("INSERT INTO stream_defs VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET body = excluded.body",
                         (record["name"], orjson.dumps(dict(record)).decode()))

    def load_streams(self) -> list[dict[str, Any]]:
        with self.file.errors("load streams"):
            rows = self.file.conn().execute("SELECT body FROM stream_defs ORDER BY name").fetchall()
        return [orjson.loads(row[0]) for row in rows]

    def remove_stream(self, name: str) -> bool:
        with self.file.errors("remove stream"), self.file.transaction() as conn:
            found = conn.execute("DELETE FROM stream_defs WHERE name = ?", (name,)).rowcount > 0
            conn.execute("DELETE FROM stream_messages WHERE stream = ?", (name,))
        return found

    # -- messages ---------------------------------------------------------------------------
    def append(self, name: str, messages: Sequence[StreamMessage]) -> int:
        if not messages:
            return 0
        with self.file.errors("append"), self.file.transaction() as conn:
            (seq,) = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM stream_messages WHERE stream = ?",
                                  (name,)).fetchone()
            stored = 0
            for message in messages:
                if message.kind == "json":
                    body: Any = orjson.dumps(message.body)
                else:
                    body = bytes(message.body)
                meta = orjson.dumps({"headers": dict(message.headers), "routing_key": message.routing_key,
                                     "content_type": message.content_type,
                                     "published_at": message.published_at}).decode()
                inserted = conn.execute(
                    "INSERT OR IGNORE INTO stream_messages VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (name, seq + 1, message.message_id, message.recv, message.kind, body, meta)).rowcount
                if inserted:
                    seq += 1
                    stored += 1
            if stored:
                conn.execute("DELETE FROM stream_messages WHERE stream = ? AND seq <= ?",
                             (name, seq - self.max_messages))
        return stored

    def _docs(self, name: str, rows: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
        docs = []
        for seq, message_id, recv, kind, body, meta in rows:
            doc = {"stream": name, "seq": seq, "message_id": message_id, "recv": recv, "kind": kind,
                   "body": orjson.loads(body) if kind == "json" else bytes(body)}
            doc.update(orjson.loads(meta))
            docs.append(doc)
        return docs

    def _select(self, name: str, where: str, args: Sequence[Any], order: str, limit: int) -> list[dict[str, Any]]:
        sql = (f"SELECT {_COLUMNS} FROM stream_messages WHERE stream = ? AND {where} "  # noqa: S608
               f"ORDER BY seq {order} LIMIT ?")
        with self.file.errors("read messages"):
            rows = self.file.conn().execute(sql, [name, *args, checked_limit(limit)]).fetchall()
        return self._docs(name, rows)

    def since(self, name: str, seq: int, limit: int = 1000) -> list[dict[str, Any]]:
        return self._select(name, "seq > ?", [seq], "ASC", limit)

    def window(self, name: str, since_time: float, until_time: float | None = None,
               limit: int = 10_000) -> list[dict[str, Any]]:
        if until_time is None:
            return self._select(name, "recv >= ?", [since_time], "ASC", limit)
        return self._select(name, "recv >= ? AND recv < ?", [since_time, until_time], "ASC", limit)

    def latest(self, name: str, limit: int = 20) -> list[dict[str, Any]]:
        return self._select(name, "1", [], "DESC", limit)

    def count(self, name: str) -> int:
        with self.file.errors("count"):
            (count,) = self.file.conn().execute("SELECT COUNT(*) FROM stream_messages WHERE stream = ?",
                                                (name,)).fetchone()
        return int(count)

    def last_seq(self, name: str) -> int:
        with self.file.errors("last seq"):
            (seq,) = self.file.conn().execute("SELECT COALESCE(MAX(seq), 0) FROM stream_messages WHERE stream = ?",
                                              (name,)).fetchone()
        return int(seq)

    def stats(self) -> dict[str, Any]:
        with self.file.errors("stats"):
            conn = self.file.conn()
            (streams,) = conn.execute("SELECT COUNT(*) FROM stream_defs").fetchone()
            (messages,) = conn.execute("SELECT COUNT(*) FROM stream_messages").fetchone()
        return {"kind": self.kind, "streams": streams, "messages": messages, "path": self.file.path}
