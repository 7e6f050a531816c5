"""`Outbox` in a SQLite file: one row per action, its document as JSON (see `actors.store.outbox`)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import orjson

from actors.store.base import Page
from actors.store.outbox import DELIVERED, DELIVERING, FAILED, FINAL, PENDING, ActionQuery, after_attempt
from actors.store.sqlite_data import SQLiteFile

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS actions (
        action_id TEXT PRIMARY KEY, state TEXT NOT NULL, next_at REAL, lease_until REAL, created_at REAL NOT NULL,
        finished_at REAL, run_id TEXT, job_id TEXT, target TEXT, body TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS actions_due ON actions (state, next_at)",
    "CREATE INDEX IF NOT EXISTS actions_created ON actions (created_at)",
    "CREATE INDEX IF NOT EXISTS actions_finished ON actions (state, finished_at)",
    "CREATE INDEX IF NOT EXISTS actions_run ON actions (run_id)",
    "CREATE INDEX IF NOT EXISTS actions_job ON actions (job_id)",
)
_COLUMNS = ("state", "next_at", "lease_until", "created_at", "finished_at", "run_id", "job_id", "target")
#: Fixed statements built from `_COLUMNS` (no value is ever formatted into SQL).
_INSERT = (f"INSERT INTO actions (action_id, {', '.join(_COLUMNS)}, body) "  # noqa: S608
           f"VALUES ({', '.join('?' * (len(_COLUMNS) + 2))})")
_UPDATE = f"UPDATE actions SET {', '.join(c + ' = ?' for c in _COLUMNS)}, body = ? WHERE action_id = ?"  # noqa: S608


def _row(action: Mapping[str, Any]) -> tuple[Any, ...]:
    return (action["action_id"], *(action.get(c) for c in _COLUMNS), orjson.dumps(dict(action)).decode())


class SQLiteOutbox:
    """`Outbox` on the SQLite file at *path*."""

    kind = "sqlite"

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.file = SQLiteFile(path, _SCHEMA, "sqlite outbox")

    def __repr__(self) -> str:
        return f"SQLiteOutbox({self.file.path!r})"

    def open(self) -> None:
        self.file.open()

    def close(self) -> None:
        self.file.close()

    def add(self, action: Mapping[str, Any]) -> None:
        record = {**action, "state": PENDING}
        with self.file.errors("add action"), self.file.transaction() as conn:
            conn.execute(_INSERT, _row(record))

    def _write(self, conn: Any, action: Mapping[str, Any]) -> None:
        conn.execute(_UPDATE, (*_row(action)[1:], action["action_id"]))

    def claim(self, now: float, limit: int, lease_s: float) -> list[dict[str, Any]]:
        if limit <= 0:
            return []
        with self.file.errors("claim actions"), self.file.transaction() as conn:
            rows = conn.execute(
                "SELECT body FROM actions WHERE (state = ? AND next_at <= ?) OR (state = ? AND lease_until <= ?) "
                "ORDER BY next_at LIMIT ?", (PENDING, now, DELIVERING, now, limit)).fetchall()
            claimed = []
            for (body,) in rows:
                action = dict(orjson.loads(body))
                action.update(state=DELIVERING, lease_until=now + lease_s)
                self._write(conn, action)
                claimed.append(action)
        return claimed

    def _update(self, action_id: str, change: Any, action: str) -> dict[str, Any] | None:
        with self.file.errors(action), self.file.transaction() as conn:
            row = conn.execute("SELECT body FROM actions WHERE action_id = ?", (action_id,)).fetchone()
            if row is None:
                return None
            updated = change(dict(orjson.loads(row[0])))
            if updated is not None:
                self._write(conn, updated)
            return updated  # type: ignore[no-any-return]

    def finish_attempt(self, action_id: str, attempt: Mapping[str, Any], *, state: str,
                       next_at: float | None) -> dict[str, Any] | None:
        return self._update(action_id, lambda a: after_attempt(a, attempt, state, next_at), "record attempt")

    def retry(self, action_id: str, now: float) -> dict[str, Any] | None:
        def again(action: dict[str, Any]) -> dict[str, Any] | None:
            if action.get("state") not in (PENDING, FAILED):
                return action
            action.update(state=PENDING, next_at=now, finished_at=None, lease_until=None)
            return action

        return self._update(action_id, again, "retry action")

    def get(self, action_id: str) -> dict[str, Any] | None:
        with self.file.errors("get action"):
            row = self.file.conn().execute("SELECT body FROM actions WHERE action_id = ?", (action_id,)).fetchone()
        return None if row is None else dict(orjson.loads(row[0]))

    def find(self, query: ActionQuery) -> Page:
        clauses, args = [], []
        for column in ("state", "run_id", "job_id", "target"):
            value = getattr(query, column)
            if value is not None:
                clauses.append(f"{column} = ?")
                args.append(value)
        if query.since is not None:
            clauses.append("created_at >= ?")
            args.append(query.since)
        where = " WHERE " + " AND ".join(clauses) if clauses else ""
        with self.file.errors("find actions"):
            conn = self.file.conn()
            total = int(conn.execute(f"SELECT COUNT(*) FROM actions{where}", args).fetchone()[0])  # noqa: S608
            rows = conn.execute(f"SELECT body FROM actions{where} ORDER BY created_at DESC, action_id DESC "  # noqa: S608
                                "LIMIT ? OFFSET ?", [*args, max(query.limit, 0), max(query.offset, 0)]).fetchall()
        items = [dict(orjson.loads(row[0])) for row in rows]
        return Page(items=items, total=total, more=query.offset + len(items) < total)

    def counts(self, since: float) -> dict[str, int]:
        out = dict.fromkeys((PENDING, DELIVERING, DELIVERED, FAILED), 0)
        with self.file.errors("count actions"):
            conn = self.file.conn()
            for state, n in conn.execute("SELECT state, COUNT(*) FROM actions WHERE state IN (?, ?) GROUP BY state",
                                         (PENDING, DELIVERING)):
                out[state] = int(n)
            for state, n in conn.execute("SELECT state, COUNT(*) FROM actions WHERE state IN (?, ?) AND "
                                         "finished_at >= ? GROUP BY state", (*sorted(FINAL), since)):
                out[state] = int(n)
        return out
