"""The read side of the embedded store: queries over ``docs`` and ``runlines``, merged by seq.

Why a module: `actors.store.sqlite.SQLiteStore` writes two tables (documents one row each, task
log lines one row per batch: `actors.store.sqlite_runlines`) and every reader must see one
stream of documents, newest first for `find`, oldest first for `read_after`, each line with its
own seq. The merge lives here, beside the SQL of the filters; when only one table holds matches
(the common case: results and system logs never touch ``runlines``) a query runs as one SQL
statement, as before the split.
"""

from __future__ import annotations

import dataclasses
import heapq
import json
import sqlite3
from collections.abc import Collection, Iterator, Sequence
from contextlib import AbstractContextManager
from itertools import islice
from typing import Any, Protocol

import orjson

from actors.errors import StoreError
from actors.store import sqlite_runlines as runlines
from actors.store.base import Page, Query, check_fields

Doc = dict[str, Any]


class _Base(Protocol):
    """What the reads use of `actors.store.sqlite.SQLiteStore`."""

    path: str

    def _errors(self, action: str) -> AbstractContextManager[None]: ...

    def _transaction(self, begin: str = ...) -> AbstractContextManager[sqlite3.Connection]: ...

    def _conn(self) -> sqlite3.Connection: ...


def where_of(query: Query) -> tuple[list[str], list[Any]]:
    """The SQL conditions (ANDed) on ``docs`` and their arguments for *query*'s filters."""
    where: list[str] = []
    args: list[Any] = []
    for column, value in (("type", query.type), ("job_id", query.job_id), ("idx", query.index),
                          ("outcome", query.outcome), ("classname", query.classname),
                          ("name", query.name)):  # fmt: skip
        if value is not None:
            where.append(f"{column} = ?")
            args.append(value)
    if query.parent is not None:
        where.append("seq IN (SELECT seq FROM doc_parents WHERE ancestor = ?)")
        args.append(query.parent)
    if query.since is not None:
        where.append("time >= ?")
        args.append(query.since)
    if query.until is not None:
        where.append("time <= ?")
        args.append(query.until)
    if query.logger_prefix is not None:
        # Same set as ``logger = p OR logger LIKE 'p.%'``, but case-sensitive (SQLite's
        # LIKE is not) and with no wildcards to escape: under binary collation the
        # names starting with "p." are exactly those in ["p.", "p/"), as '/' follows '.'.
        prefix = query.logger_prefix
        where.append("(logger = ? OR (logger >= ? AND logger < ?))")
        args += [prefix, prefix + ".", prefix + "/"]
    if query.min_level is not None:
        where.append("level >= ?")
        args.append(query.min_level)
    if query.tag is not None:  # no index: results carry tags only when their job has some
        where.append("EXISTS (SELECT 1 FROM json_each(body, '$.tags') WHERE json_each.value = ?)")
        args.append(query.tag)
    return where, args


def decode(path: str, rows: Sequence[tuple[Any, str]], seq_key: str | None = "seq") -> list[Doc]:
    """Parse stored bodies; the first column (``seq`` or ``job_id``) names a corrupt one."""
    items: list[Doc] = []
    for key, body in rows:
        try:
            item: Doc = json.loads(body)
        except ValueError as exc:
            raise StoreError(f"sqlite store {path}: record {key!r} is corrupt: {exc}") from exc
        if seq_key:
            item[seq_key] = key
        items.append(item)
    return items


class SQLiteReads:
    """`Store.find`, ``iter_rows``, ``read_after`` and ``last_seq`` of the embedded store."""

    def find(self: _Base, query: Query) -> Page:
        if query.limit < 0 or query.offset < 0:
            raise ValueError(f"query limit and offset must be >= 0, got {query.limit} and {query.offset}")
        where, args = where_of(query)
        clause = " WHERE " + " AND ".join(where) if where else ""
        packed = runlines.applies(query)
        with self._errors("find"), self._transaction("BEGIN") as conn:  # one snapshot for every part
            (total,) = conn.execute(f"SELECT COUNT(*) FROM docs{clause}", args).fetchone()  # noqa: S608
            lines = runlines.count(conn, query) if packed else 0
            if not lines:
                rows = conn.execute(
                    f"SELECT seq, body FROM docs{clause} ORDER BY seq DESC LIMIT ? OFFSET ?",  # noqa: S608
                    [*args, query.limit, query.offset],
                ).fetchall()
                items = decode(self.path, rows)
            elif query.limit == 0 or query.offset >= total + lines:
                items = []
            else:
                items = _merged_page(self.path, conn, query, clause, args, docs_total=total)
        total += lines
        return Page(items=items, total=total, more=query.offset + len(items) < total)

    def iter_rows(self: _Base, query: Query, fields: Sequence[str], batch: int = 5000) -> Iterator[tuple[Any, ...]]:
        """See `Store.iter_rows`. Keyset paging on ``(time, seq)`` through the ``(type, time)``
        index when the query has a time bound (each batch starts its index range at the last
        time read), else on ``seq``; the fields come from one multi-path ``json_extract`` per
        row (SQLite parses the body in C, Python decodes a short JSON array). Task log lines
        packed in ``runlines`` follow, read a batch of rows at a time."""
        names = check_fields(fields, batch)
        # "type" first: always two paths or more, so that json_extract returns an array.
        paths = ", ".join(f"'$.{name}'" for name in ("type", *names))
        by_time = query.since is not None or query.until is not None
        keyset, order = ("(time > ? OR seq > ?)", "time, seq") if by_time else ("seq > ?", "seq")
        last_time, last_seq = query.since, 0
        loads = orjson.loads
        while True:
            where, args = where_of(dataclasses.replace(query, since=last_time))
            if by_time and last_seq:  # past the last row read: a later time, or the same time and a later seq
                where.append(keyset)
                args += [last_time, last_seq]
            elif not by_time:
                where.append(keyset)
                args.append(last_seq)
            sql = (f"SELECT seq, time, json_extract(body, {paths}) FROM docs WHERE "  # noqa: S608
                   f"{' AND '.join(where) or '1'} ORDER BY {order} LIMIT ?")
            with self._errors("iter_rows"):
                rows = self._conn().execute(sql, [*args, batch]).fetchall()
            for seq, when, extracted in rows:
                yield (seq, when, *loads(extracted))
            if len(rows) < batch:
                break
            last_seq = rows[-1][0]
            if by_time:
                last_time = rows[-1][1]
        if runlines.applies(query):
            with self._errors("iter_rows"):
                for doc in runlines.iter_lines(self._conn(), query, max(1, batch // 64)):
                    get = doc.get
                    yield (doc["seq"], get("time"), "reslog", *(get(name) for name in names))

    def read_after(self: _Base, seq: int, types: Collection[str] | None = None, limit: int = 1000) -> list[Doc]:
        sql = "SELECT seq, body FROM docs WHERE seq > ?"
        args: list[Any] = [seq]
        if types is not None:
            types = (types,) if isinstance(types, str) else types
            if not types:
                return []
            sql += f" AND type IN ({', '.join('?' * len(types))})"
            args += list(types)
        with self._errors("read_after"), self._transaction("BEGIN") as conn:
            rows = conn.execute(f"{sql} ORDER BY seq LIMIT ?", [*args, limit]).fetchall()
            lines = runlines.read_after(conn, seq, limit) if types is None or "reslog" in types else []
        docs = decode(self.path, rows)
        if not lines:
            return docs
        return list(islice(heapq.merge(docs, lines, key=_seq), limit))

    def last_seq(self: _Base) -> int:
        with self._errors("last_seq"):
            conn = self._conn()
            (seq,) = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM docs").fetchone()
            return max(int(seq), runlines.last_seq(conn))


def _seq(doc: Doc) -> int:
    return int(doc["seq"])


def _merged_page(path: str, conn: sqlite3.Connection, query: Query, clause: str, args: list[Any], *,
                 docs_total: int) -> list[Doc]:
    """One page (newest first) over the documents of ``docs`` and the lines of ``runlines``."""
    want = query.offset + query.limit
    doc_seqs: list[int] = []
    if docs_total:
        doc_seqs = [seq for (seq,) in conn.execute(
            f"SELECT seq FROM docs{clause} ORDER BY seq DESC LIMIT ?", [*args, want])]  # noqa: S608
    line_refs = ((ref[0], ref) for ref in runlines.newest_refs(conn, query))
    merged = heapq.merge(((seq, None) for seq in doc_seqs), line_refs, key=lambda pair: pair[0], reverse=True)
    picked = list(islice(merged, query.offset, want))
    refs = [ref for _, ref in picked if ref is not None]
    lines = runlines.fetch(conn, refs) if refs else {}
    wanted = [seq for seq, ref in picked if ref is None]
    docs: dict[int, Doc] = {}
    for start in range(0, len(wanted), 500):
        part = wanted[start:start + 500]
        rows = conn.execute(f"SELECT seq, body FROM docs WHERE seq IN ({', '.join('?' * len(part))})",  # noqa: S608
                            part).fetchall()
        docs.update((doc["seq"], doc) for doc in decode(path, rows))
    return [lines[seq] if ref is not None else docs[seq] for seq, ref in picked
            if (lines if ref is not None else docs).get(seq) is not None]
