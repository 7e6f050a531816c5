"""The run ledger (`actors.ledger.LedgerStore`) in the SQLite store: a file of its own beside it.

Why a module of its own: the ledger is a concept of its own (slot claims, outcomes, missed
slots, heads for a restart) with its own table, and `actors.store.sqlite` is about the
capped documents. `SQLiteLedger` is mixed into `SQLiteStore` and uses its connection settings
and error mapping.

Why a file of its own (`LedgerFile`, ``<store>.ledger.db``): a claim is the commit point of
every run, written by the Scheduler's thread before the run goes to a worker. SQLite has one
writer per file; in the store's file a claim waited behind the Journal's document inserts
(1-10 ms under load), which was most of the spread benchmark's tail lateness. In a file of
its own, with its own lock, a claim waits for nothing but other ledger writes, and those come
from the same thread (the Journal hands the outcomes of stored results to the Scheduler,
`actors.messages.OutcomesStored`). A ledger kept in the store's file by an older version is
moved at open. The common claim is one ``INSERT OR IGNORE`` of the batch's rows on the slot id
(the table's primary key), which SQLite commits by itself; when a row already existed the
batch is decided again inside one ``BEGIN IMMEDIATE`` transaction, where an existing entry is
upgraded only when `actors.ledger.claim_allowed` says so. Outcomes are one ``UPDATE ... FROM
(VALUES ...)`` per chunk: one statement rather than one per row (each row of ``executemany``
gives the GIL away and waits to get it back).
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Collection, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

import structlog

from actors.ledger import Claim, Finished, LedgerEntry, LedgerHead, SlotState, claim_allowed
from actors.store.sqlite_checkpoint import Checkpointer
from actors.store.sqlite_file import Identity, file_identity, file_problem
from actors.store.sqlite_tx import transaction

log = structlog.get_logger("das_actors.store")

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS ledger (
        slot_id TEXT PRIMARY KEY, job_id TEXT NOT NULL, slot REAL NOT NULL, state TEXT NOT NULL,
        attempt INTEGER NOT NULL, idx INTEGER, trigger TEXT NOT NULL, outcome TEXT, owner TEXT NOT NULL,
        at REAL NOT NULL, count INTEGER NOT NULL) WITHOUT ROWID""",
    "CREATE INDEX IF NOT EXISTS ledger_job_slot ON ledger (job_id, slot)",
)
_COLUMNS = "job_id, slot, state, attempt, idx, trigger, outcome, owner, at, count"
_INSERT = f"INSERT OR IGNORE INTO ledger (slot_id, {_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"  # noqa: S608
_INSERT_MANY = f"INSERT OR IGNORE INTO ledger (slot_id, {_COLUMNS}) VALUES "  # noqa: S608
_UPGRADE = ("UPDATE ledger SET state = ?, attempt = ?, idx = ?, trigger = ?, outcome = NULL, owner = ?, at = ?, "
            "count = 1 WHERE slot_id = ?")
_ROW = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
#: Claims per single-statement insert (11 bound values each, far below SQLite's limit).
_CLAIMS_PER_STATEMENT = 500
#: Outcomes per ``UPDATE ... FROM (VALUES ...)`` statement (3 bound values each).
_OUTCOMES_PER_STATEMENT = 1000
#: Job ids per ``IN (...)`` query (below SQLite's bound-variable limit).
_IDS_PER_QUERY = 500
#: Entries deleted per prune transaction (the write lock is released between chunks).
_PRUNE_CHUNK = 10_000


def ledger_path(path: str) -> str:
    """The ledger's file beside the store's at *path*: ``x.db`` -> ``x.ledger.db``."""
    root, ext = os.path.splitext(path)
    return f"{root}.ledger{ext}" if ext else f"{path}.ledger"


class LedgerFile:
    """The ledger's own SQLite file: its path, write lock, identity at open and checkpoints.

    Connections are the store's (`SQLiteStore._connect` with this path: same settings, closed
    with the store's); this holds each thread's and the generation it belongs to."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.lock = threading.RLock()
        self.local = threading.local()
        self._identity: Identity | None = None
        self._checkpointer: Checkpointer | None = None

    def open(self, main: sqlite3.Connection, conn: sqlite3.Connection) -> None:
        """Create the table in the ledger's file (*conn*), move an older ledger out of the
        store's file (*main*), start checkpoints."""
        conn.execute("PRAGMA journal_mode = WAL")
        with transaction(conn) as tx:
            for statement in SCHEMA:
                tx.execute(statement)
        self._move_from(main)
        self._identity = file_identity(self.path)
        self._checkpointer = Checkpointer(self.path).start()

    def _move_from(self, main: sqlite3.Connection) -> None:
        """Earlier builds kept the ledger as a table of the store's file: moved here once, at open."""
        if main.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'ledger'").fetchone() is None:
            return
        main.execute("ATTACH DATABASE ? AS moved_ledger", (self.path,))
        try:
            with transaction(main) as tx:
                moved = tx.execute(f"INSERT OR IGNORE INTO moved_ledger.ledger (slot_id, {_COLUMNS}) "  # noqa: S608
                                   f"SELECT slot_id, {_COLUMNS} FROM main.ledger").rowcount
                tx.execute("DROP TABLE main.ledger")
        finally:
            main.execute("DETACH DATABASE moved_ledger")
        log.info("ledger.moved", to=self.path, entries=moved,
                 note="the run ledger now has a file of its own beside the store's")

    def problem(self) -> str | None:
        """What is wrong with the ledger's file (deleted or replaced while open), else None."""
        return file_problem(self.path, self._identity)

    def deleted(self) -> bool:
        return self._identity is not None and file_identity(self.path) is None

    def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.stop()
            self._checkpointer = None
        self._identity = None


class _Base(Protocol):
    """What the ledger uses of `actors.store.sqlite.SQLiteStore`."""

    _ledger_file: LedgerFile

    def _conn(self, local: threading.local | None = ..., path: str | None = ...) -> sqlite3.Connection: ...

    def _errors(self, action: str) -> AbstractContextManager[None]: ...

    def _ledger_conn(self) -> sqlite3.Connection: ...


def _row(entry: LedgerEntry) -> tuple[Any, ...]:
    return (entry.slot_id, entry.job_id, entry.slot, str(entry.state), entry.attempt, entry.index,
            str(entry.trigger), entry.outcome, entry.owner, entry.at, entry.count)


def _entry(row: Sequence[Any]) -> LedgerEntry:
    job_id, slot, state, attempt, index, trigger, outcome, owner, at, count = row[:10]
    return LedgerEntry(job_id=job_id, slot=slot, state=state, attempt=attempt, index=index, trigger=trigger,
                       outcome=outcome, owner=owner, at=at, count=count)


def _chunks(ids: Collection[str] | None) -> Iterator[list[str] | None]:
    if ids is None:
        yield None
        return
    listed = list(ids)
    for start in range(0, len(listed), _IDS_PER_QUERY):
        yield listed[start:start + _IDS_PER_QUERY]


class SQLiteLedger:
    """`actors.ledger.LedgerStore` on the ``ledger`` table of `LedgerFile` (mixed into `SQLiteStore`)."""

    def _ledger_conn(self: _Base) -> sqlite3.Connection:
        """This thread's connection to the ledger's file (opened with the store)."""
        return self._conn(self._ledger_file.local, self._ledger_file.path)

    def claim_slots(self: _Base, claims: Sequence[Claim]) -> dict[str, LedgerEntry]:
        """See `actors.ledger.LedgerStore.claim_slots`."""
        refused: dict[str, LedgerEntry] = {}
        if not claims:
            return refused
        with self._ledger_file.lock, self._errors("claim_slots"):
            conn = self._ledger_conn()
            inserted = 0
            for start in range(0, len(claims), _CLAIMS_PER_STATEMENT):
                chunk = claims[start:start + _CLAIMS_PER_STATEMENT]
                values = [value for claim in chunk for value in _row(claim.entry())]
                inserted += conn.execute(f"{_INSERT_MANY}{', '.join([_ROW] * len(chunk))}", values).rowcount
            if inserted == len(claims):
                return refused
            return SQLiteLedger._decide(conn, claims)

    @staticmethod
    def _decide(conn: sqlite3.Connection, claims: Sequence[Claim]) -> dict[str, LedgerEntry]:
        """Some slots of *claims* had an entry: decide each claim in one transaction (a claim this
        same call just inserted is "the same claim again", which `claim_allowed` allows)."""
        refused: dict[str, LedgerEntry] = {}
        with transaction(conn) as tx:
            for claim in claims:
                entry = claim.entry()
                if tx.execute(_INSERT, _row(entry)).rowcount == 1:
                    continue
                row = tx.execute(f"SELECT {_COLUMNS} FROM ledger WHERE slot_id = ?",  # noqa: S608
                                   (claim.slot_id,)).fetchone()
                existing = _entry(row)
                if claim_allowed(existing, claim):
                    tx.execute(_UPGRADE, (str(SlotState.CLAIMED), claim.attempt, claim.index, claim.trigger,
                                            claim.owner, claim.at, claim.slot_id))
                else:
                    refused[claim.slot_id] = existing
        return refused

    def record_slots(self: _Base, finished: Sequence[Finished], missed: Sequence[LedgerEntry]) -> set[str]:
        """See `actors.ledger.LedgerStore.record_slots`."""
        added: set[str] = set()
        if not finished and not missed:
            return added
        with self._ledger_file.lock, self._errors("record_slots"), transaction(self._ledger_conn()) as conn:
            for start in range(0, len(finished), _OUTCOMES_PER_STATEMENT):
                chunk = finished[start:start + _OUTCOMES_PER_STATEMENT]
                rows = ", ".join(["(?, ?, ?)"] * len(chunk))
                conn.execute(
                    f"UPDATE ledger SET state = ?, outcome = v.column3 FROM (VALUES {rows})"  # noqa: S608
                    " AS v WHERE ledger.slot_id = v.column1 AND ledger.attempt = v.column2 AND ledger.state != ?",
                    [str(SlotState.DONE), *(value for f in chunk for value in (f.slot_id, f.attempt, f.outcome)),
                     str(SlotState.MISSED)])
            for entry in missed:
                if conn.execute(_INSERT, _row(entry)).rowcount == 1:
                    added.add(entry.slot_id)
        return added

    def ledger_heads(self: _Base, job_ids: Collection[str] | None = None) -> dict[str, LedgerHead]:
        """See `actors.ledger.LedgerStore.ledger_heads`. Two grouped queries (SQLite returns the
        row of the ``MAX`` for the bare columns of the second)."""
        last: dict[str, tuple[float, int | None]] = {}
        newest: dict[str, LedgerEntry] = {}
        with self._errors("ledger_heads"):
            conn = self._ledger_conn()
            for chunk in _chunks(job_ids):
                where, args = ("", []) if chunk is None else (
                    f" AND job_id IN ({', '.join('?' * len(chunk))})", list(chunk))
                for job_id, slot, index in conn.execute(
                        f"SELECT job_id, MAX(slot), MAX(idx) FROM ledger WHERE 1{where} GROUP BY job_id", args):  # noqa: S608
                    last[job_id] = (slot, index)
                for row in conn.execute(
                        f"SELECT {_COLUMNS}, MAX(slot) FROM ledger WHERE state != ? AND trigger != ?{where} "  # noqa: S608
                        "GROUP BY job_id", [str(SlotState.MISSED), "backfill", *args]):
                    newest[row[0]] = _entry(row)
        return {job_id: LedgerHead(job_id, slot, index, newest.get(job_id)) for job_id, (slot, index) in last.items()}

    def slot_entries(self: _Base, job_id: str, after: float, upto: float) -> dict[str, LedgerEntry]:
        """See `actors.ledger.LedgerStore.slot_entries`."""
        with self._errors("slot_entries"):
            rows = self._ledger_conn().execute(
                f"SELECT {_COLUMNS} FROM ledger WHERE job_id = ? AND slot > ? AND slot <= ?",  # noqa: S608
                (job_id, after, upto)).fetchall()
        entries = (_entry(row) for row in rows)
        return {entry.slot_id: entry for entry in entries}

    def prune_ledger(self: _Base, before: float) -> int:
        """See `actors.ledger.LedgerStore.prune_ledger`; a chunk per transaction."""
        keep = ("SELECT slot_id FROM (SELECT slot_id, MAX(slot) FROM ledger WHERE state != 'missed' "
                "GROUP BY job_id) UNION SELECT slot_id FROM (SELECT slot_id, MAX(slot) FROM ledger GROUP BY job_id)")
        removed = 0
        while True:
            with self._ledger_file.lock, self._errors("prune_ledger"), transaction(self._ledger_conn()) as conn:
                sql = (f"DELETE FROM ledger WHERE slot_id IN (SELECT slot_id FROM ledger WHERE slot < ? "  # noqa: S608
                       f"AND slot_id NOT IN ({keep}) LIMIT ?)")
                gone = conn.execute(sql, (before, _PRUNE_CHUNK)).rowcount
            removed += gone
            if gone < _PRUNE_CHUNK:
                return removed
