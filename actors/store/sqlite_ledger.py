"""The run ledger (`actors.ledger.LedgerStore`) in the SQLite store: a table beside the job records.

Why a module of its own: the ledger is a concept of its own (slot claims, outcomes, missed
slots, heads for a restart) with its own table, and `actors.store.sqlite` is about the
capped documents. `SQLiteLedger` is mixed into `SQLiteStore` and uses its connections,
write lock and error mapping. A claim is ``INSERT OR IGNORE`` on the slot id (the table's
primary key) inside one ``BEGIN IMMEDIATE`` transaction per batch, so one writer at a time
decides every slot; an existing entry is upgraded only when `actors.ledger.claim_allowed`
says so.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Collection, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from actors.ledger import Claim, Finished, LedgerEntry, LedgerHead, SlotState, claim_allowed

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS ledger (
        slot_id TEXT PRIMARY KEY, job_id TEXT NOT NULL, slot REAL NOT NULL, state TEXT NOT NULL,
        attempt INTEGER NOT NULL, idx INTEGER, trigger TEXT NOT NULL, outcome TEXT, owner TEXT NOT NULL,
        at REAL NOT NULL, count INTEGER NOT NULL) WITHOUT ROWID""",
    "CREATE INDEX IF NOT EXISTS ledger_job_slot ON ledger (job_id, slot)",
)
_COLUMNS = "job_id, slot, state, attempt, idx, trigger, outcome, owner, at, count"
_INSERT = f"INSERT OR IGNORE INTO ledger (slot_id, {_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"  # noqa: S608
_UPGRADE = ("UPDATE ledger SET state = ?, attempt = ?, idx = ?, trigger = ?, outcome = NULL, owner = ?, at = ?, "
            "count = 1 WHERE slot_id = ?")
_FINISH = "UPDATE ledger SET state = ?, outcome = ? WHERE slot_id = ? AND attempt = ? AND state != ?"
#: Job ids per ``IN (...)`` query (below SQLite's bound-variable limit).
_IDS_PER_QUERY = 500
#: Entries deleted per prune transaction (the write lock is released between chunks).
_PRUNE_CHUNK = 10_000


class _Base(Protocol):
    """What the ledger uses of `actors.store.sqlite.SQLiteStore`."""

    _write_lock: threading.RLock

    def _errors(self, action: str) -> AbstractContextManager[None]: ...

    def _transaction(self, begin: str = ...) -> AbstractContextManager[sqlite3.Connection]: ...

    def _conn(self) -> sqlite3.Connection: ...


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
    """`actors.ledger.LedgerStore` on the ``ledger`` table (mixed into `SQLiteStore`)."""

    def claim_slots(self: _Base, claims: Sequence[Claim]) -> dict[str, LedgerEntry]:
        """See `actors.ledger.LedgerStore.claim_slots`."""
        refused: dict[str, LedgerEntry] = {}
        if not claims:
            return refused
        with self._write_lock, self._errors("claim_slots"), self._transaction() as conn:
            for claim in claims:
                entry = claim.entry()
                if conn.execute(_INSERT, _row(entry)).rowcount == 1:
                    continue
                row = conn.execute(f"SELECT {_COLUMNS} FROM ledger WHERE slot_id = ?",  # noqa: S608
                                   (claim.slot_id,)).fetchone()
                existing = _entry(row)
                if claim_allowed(existing, claim):
                    conn.execute(_UPGRADE, (str(SlotState.CLAIMED), claim.attempt, claim.index, claim.trigger,
                                            claim.owner, claim.at, claim.slot_id))
                else:
                    refused[claim.slot_id] = existing
        return refused

    def record_slots(self: _Base, finished: Sequence[Finished], missed: Sequence[LedgerEntry]) -> set[str]:
        """See `actors.ledger.LedgerStore.record_slots`."""
        added: set[str] = set()
        if not finished and not missed:
            return added
        with self._write_lock, self._errors("record_slots"), self._transaction() as conn:
            conn.executemany(_FINISH, [(str(SlotState.DONE), f.outcome, f.slot_id, f.attempt, str(SlotState.MISSED))
                                       for f in finished])
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
            conn = self._conn()
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
            rows = self._conn().execute(
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
            with self._write_lock, self._errors("prune_ledger"), self._transaction() as conn:
                sql = (f"DELETE FROM ledger WHERE slot_id IN (SELECT slot_id FROM ledger WHERE slot < ? "  # noqa: S608
                       f"AND slot_id NOT IN ({keep}) LIMIT ?)")
                gone = conn.execute(sql, (before, _PRUNE_CHUNK)).rowcount
            removed += gone
            if gone < _PRUNE_CHUNK:
                return removed
