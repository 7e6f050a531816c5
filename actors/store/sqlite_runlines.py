"""The embedded store's table of packed task log lines: one row per batch of a run's lines.

Why a table of its own: a task logging 200,000 lines must not cost 200,000 rows with five
index entries each (the ``docs`` table's ~50,000 rows/s was the journal's ceiling). A row here
holds consecutive lines of one run with the same level and logger (`actors.store.runlines`),
three narrow indexes cover the queries, and readers get the lines back one document each.

A row covers the seqs ``seq - n + 1 .. seq`` (its ``seq`` is its *last* line's, so ``seq > after``
finds every row with a line after *after*); ``time``/``time_end`` bound its lines' times (a
time filter counts a row whole when it lies inside, and reads the lines of a row it cuts).
The body is the JSON ``[head, lines]``. The ``docs`` table keeps the other documents (and the
``reslog`` documents stored one by one, by older versions or by callers that do not batch):
`actors.store.sqlite.SQLiteStore` merges the two by seq.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import orjson

from actors.store.base import Query
from actors.store.runlines import Line, head_of, line_doc, runs_by_key

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS runlines (
        seq INTEGER PRIMARY KEY, n INTEGER NOT NULL, time REAL, time_end REAL, job_id TEXT, idx INTEGER,
        logger TEXT, level INTEGER, size INTEGER NOT NULL, body TEXT NOT NULL)""",
    # Each index ends with n, so that counting the lines of a filter reads the index only.
    "CREATE INDEX IF NOT EXISTS runlines_job ON runlines (job_id, idx, n)",
    "CREATE INDEX IF NOT EXISTS runlines_time ON runlines (time, time_end, n)",
    "CREATE INDEX IF NOT EXISTS runlines_logger ON runlines (logger, level, n)",
)
INSERT = "INSERT INTO runlines VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
TOTALS = "SELECT COALESCE(SUM(n), 0), COALESCE(SUM(size), 0) FROM runlines"
#: Rows read per round while walking the rows of a query newest first.
_CHUNK = 256


def rows_of(doc: Mapping[str, Any], seq: int) -> tuple[list[tuple[Any, ...]], int, int]:
    """The rows of the batch *doc* whose first line gets ``seq + 1``: ``(rows, bytes, last seq)``."""
    head = head_of(doc)
    job_id, index = head.get("job_id"), head.get("index")
    rows: list[tuple[Any, ...]] = []
    size = 0
    for level, logger, lines in runs_by_key(doc["lines"]):
        n = len(lines)
        seq += n
        raw = orjson.dumps([head, lines])
        size += len(raw)
        low, high = _time_range(lines)
        rows.append((seq, n, low, high, job_id, index, logger, level, len(raw), raw.decode()))
    return rows, size, seq


def _time_range(lines: Sequence[Line]) -> tuple[float | None, float | None]:
    try:
        times = [line[0] for line in lines]
        return min(times), max(times)
    except (TypeError, ValueError, IndexError, KeyError):
        numbers = [line[0] for line in lines if type(line) in (list, tuple) and line
                   and type(line[0]) in (int, float)]  # fmt: skip
        return (min(numbers), max(numbers)) if numbers else (None, None)


def applies(query: Query) -> bool:
    """Whether rows of this table can match *query* (batches are task log lines: no outcome,
    class or job name of a run, no ancestry, no tags)."""
    return query.type in (None, "reslog") and query.outcome is None and query.classname is None \
        and query.name is None and query.parent is None and query.tag is None  # fmt: skip


def _where(query: Query) -> tuple[list[str], list[Any]]:
    where: list[str] = []
    args: list[Any] = []
    if query.job_id is not None:
        where.append("job_id = ?")
        args.append(query.job_id)
    if query.index is not None:
        where.append("idx = ?")
        args.append(query.index)
    if query.since is not None:  # the row's lines overlap the window (lines it cuts are read)
        where.append("time_end >= ?")
        args.append(query.since)
    if query.until is not None:
        where.append("time <= ?")
        args.append(query.until)
    if query.logger_prefix is not None:  # as in the docs table (see SQLiteStore._where)
        prefix = query.logger_prefix
        where.append("(logger = ? OR (logger >= ? AND logger < ?))")
        args += [prefix, prefix + ".", prefix + "/"]
    if query.min_level is not None:
        where.append("level >= ?")
        args.append(query.min_level)
    return where, args


def _inside(query: Query) -> tuple[str, list[Any]]:
    """SQL true when every line of the row is inside the query's time window."""
    parts: list[str] = []
    args: list[Any] = []
    if query.since is not None:
        parts.append("time >= ?")
        args.append(query.since)
    if query.until is not None:
        parts.append("time_end <= ?")
        args.append(query.until)
    return (" AND ".join(parts) or "1"), args


def _in_window(query: Query, t: Any) -> bool:
    if query.since is None and query.until is None:
        return True
    if type(t) not in (int, float):
        return False
    return (query.since is None or t >= query.since) and (query.until is None or t <= query.until)


def _clause(where: list[str]) -> str:
    return " WHERE " + " AND ".join(where) if where else ""


def count(conn: sqlite3.Connection, query: Query) -> int:
    """Lines matching *query* (rows inside the time window counted whole, the others line by line)."""
    where, args = _where(query)
    inside, inside_args = _inside(query)
    (total,) = conn.execute(f"SELECT COALESCE(SUM(n), 0) FROM runlines{_clause([*where, inside])}",  # noqa: S608
                            [*args, *inside_args]).fetchone()
    if inside != "1":
        for (body,) in conn.execute(f"SELECT body FROM runlines{_clause([*where, f'NOT ({inside})'])}",  # noqa: S608
                                    [*args, *inside_args]):
            total += sum(1 for line in orjson.loads(body)[1] if _in_window(query, _line_time(line)))
    return int(total)


def _line_time(line: Any) -> Any:
    return line[0] if type(line) is list and len(line) == 4 else None


def newest_refs(conn: sqlite3.Connection, query: Query) -> Iterator[tuple[int, int, int]]:
    """``(line seq, row seq, position in the row)`` of every matching line, newest first, read lazily."""
    where, args = _where(query)
    inside, inside_args = _inside(query)
    before: int | None = None
    while True:
        keyset = [*where, "seq < ?"] if before is not None else where
        rows = conn.execute(
            f"SELECT seq, n, {inside}, CASE WHEN {inside} THEN NULL ELSE body END FROM runlines"  # noqa: S608
            f"{_clause(keyset)} ORDER BY seq DESC LIMIT ?",
            [*inside_args, *inside_args, *args, *([before] if before is not None else []), _CHUNK]).fetchall()
        for seq, n, whole, body in rows:
            first = seq - n + 1
            if whole:
                for position in range(n - 1, -1, -1):
                    yield first + position, seq, position
            else:
                lines = orjson.loads(body)[1]
                for position in range(len(lines) - 1, -1, -1):
                    if _in_window(query, _line_time(lines[position])):
                        yield first + position, seq, position
        if len(rows) < _CHUNK:
            return
        before = rows[-1][0]


def fetch(conn: sqlite3.Connection, refs: Sequence[tuple[int, int, int]]) -> dict[int, dict[str, Any]]:
    """The documents of the lines *refs* names (from `newest_refs`), by line seq."""
    wanted = sorted({row for _, row, _ in refs})
    rows: dict[int, tuple[int, dict[str, Any], list[Any]]] = {}
    for start in range(0, len(wanted), 500):
        part = wanted[start:start + 500]
        for seq, n, body in conn.execute(
                f"SELECT seq, n, body FROM runlines WHERE seq IN ({', '.join('?' * len(part))})", part):  # noqa: S608
            head, lines = orjson.loads(body)
            rows[seq] = (seq - n + 1, head, lines)
    out: dict[int, dict[str, Any]] = {}
    for line_seq, row, position in refs:
        found = rows.get(row)
        if found is not None:
            first, head, lines = found
            out[line_seq] = line_doc(head, lines[position], first + position)
    return out


def read_after(conn: sqlite3.Connection, seq: int, limit: int) -> list[dict[str, Any]]:
    """Up to *limit* lines with a seq above *seq*, oldest first."""
    out: list[dict[str, Any]] = []
    for last, n, body in conn.execute("SELECT seq, n, body FROM runlines WHERE seq > ? ORDER BY seq LIMIT ?",
                                      (seq, limit)):
        head, lines = orjson.loads(body)
        first = last - n + 1
        for position in range(max(0, seq + 1 - first), len(lines)):
            out.append(line_doc(head, lines[position], first + position))
            if len(out) >= limit:
                return out
    return out


def iter_lines(conn: sqlite3.Connection, query: Query, batch: int) -> Iterator[dict[str, Any]]:
    """Every line matching *query*, oldest first, *batch* rows per query (keyset on seq)."""
    where, args = _where(query)
    after = 0
    while True:
        rows = conn.execute(f"SELECT seq, n, body FROM runlines{_clause([*where, 'seq > ?'])} "  # noqa: S608
                            "ORDER BY seq LIMIT ?", [*args, after, batch]).fetchall()
        for last, n, body in rows:
            head, lines = orjson.loads(body)
            first = last - n + 1
            for position, line in enumerate(lines):
                if _in_window(query, _line_time(line)):
                    yield line_doc(head, line, first + position)
        if len(rows) < batch:
            return
        after = rows[-1][0]


def last_seq(conn: sqlite3.Connection) -> int:
    (seq,) = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM runlines").fetchone()
    return int(seq)
