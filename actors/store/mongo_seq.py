"""The capped collection's ``seq`` numbers when several servers write to one database.

Why a module of its own: a document's ``seq`` is also its ``_id``. With one writer, a counter
in memory started at the newest stored ``seq`` was enough, and a duplicate ``_id`` on insert
always meant "this batch was stored by an earlier attempt whose reply was lost". With several
servers on one database (`actors.lease`: the leader writes results, every instance its log
lines, a leader that stepped down the results of its last runs) two counters hand out the
same numbers, and one writer's documents would be taken for stored and silently dropped.

A counter document bumped with ``$inc`` is not the answer everywhere: FerretDB 1.24 (SQLite
backend) applies ``findAndModify``/``update`` as a read then a write, not atomically (measured:
four threads doing 800 ``$inc`` left the counter at 192). The unique ``_id`` itself is atomic
on every server, so numbers are optimistic (`Numbering`):

* a first attempt numbers its documents from the writer's counter, re-synced to the newest
  stored ``seq`` when the writer was idle for `RESYNC_AFTER_S` and when a follower becomes the
  leader (`MongoStore.resync_seq`), so a writer that was quiet while another wrote does not
  number below the others (below the capped window, no duplicate key would tell). Reading the
  newest seq is a scan of the collection on FerretDB 1.24 (its SQLite backend uses no index
  for it), hence not before every batch;
* a duplicate key on a *first* attempt is another writer's document: those documents are
  numbered again above the newest stored ``seq`` and inserted again;
* a duplicate key on a *retried* document is its earlier attempt, stored, unless the stored
  document is not the same (`same_document`): then it too is numbered again.

With one writer nothing changes: no extra round trip, consecutive numbers. With several, the
numbers follow the order of the writes closely; a live tail reading "after seq N" can still
pass over a document another writer numbered in the same instant.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pymongo import DESCENDING
from pymongo.collection import Collection as MongoCollection
from pymongo.errors import BulkWriteError

from actors.errors import StoreError

Doc = dict[str, Any]
DUPLICATE_KEY = 11000
#: A writer idle this long reads the newest stored seq before it numbers again.
RESYNC_AFTER_S = 300.0
#: Most rounds of numbering again before a batch is refused (each one a crowd of writers).
MAX_ROUNDS = 20
#: Fields compared to tell a document stored by an earlier attempt from another writer's.
_IDENTITY = ("type", "time", "run_id", "job_id", "index", "attempt", "msg", "logger", "tag")


def same_document(stored: Mapping[str, Any], mine: Mapping[str, Any]) -> bool:
    """Whether *stored* (found under my seq) is my document, stored by an earlier attempt."""
    return all(stored.get(key) == mine.get(key) for key in _IDENTITY)


def newest_seq(coll: MongoCollection[Doc]) -> int:
    """The highest seq stored (0 when empty)."""
    newest = coll.find_one({}, projection={"seq": True}, sort=[("seq", DESCENDING)])
    return int(newest["seq"]) if newest and isinstance(newest.get("seq"), int) else 0


def duplicates(exc: BulkWriteError) -> list[int]:
    """Positions of the duplicate-key failures of an unordered insert; anything else is raised."""
    details = exc.details
    fatal = [error for error in details.get("writeErrors", []) if error.get("code") != DUPLICATE_KEY]
    if fatal:
        first = fatal[0]
        raise StoreError(f"{len(fatal)} document(s) refused, first #{first.get('index')}: {first.get('errmsg')}") \
            from exc
    if details.get("writeConcernErrors"):
        from pymongo import errors as mongo_errors

        raise mongo_errors.WTimeoutError(f"write concern failed: {details['writeConcernErrors'][0]}") from exc
    return sorted(int(error["index"]) for error in details.get("writeErrors", []))


class Numbering:
    """One writer's seq counter; `insert` stores a numbered batch (see the module docstring)."""

    def __init__(self, seq: int = 0) -> None:
        self.seq = seq
        self._last_write = time.monotonic()
        self.renumbered = 0  # documents numbered again (another writer had their seq)

    def resync(self, coll: MongoCollection[Doc]) -> None:
        """Number above the newest stored seq from now on."""
        self.seq = max(self.seq, newest_seq(coll))

    def next_seqs(self, coll: MongoCollection[Doc], count: int) -> list[int]:
        """*count* numbers for a first attempt."""
        if count and time.monotonic() - self._last_write > RESYNC_AFTER_S:
            self.seq = max(self.seq, newest_seq(coll))
        first = self.seq + 1
        self.seq += count
        return list(range(first, first + count))

    def insert(self, coll: MongoCollection[Doc], batch: Sequence[Doc], fresh: set[int],
               insert_many: Callable[[MongoCollection[Doc], list[Doc]], None]) -> None:
        """Insert *batch* (each doc's ``seq`` and ``_id`` set) with *insert_many* (unordered);
        *fresh*: positions of first attempts. Numbers again, in place, the documents whose seq
        another writer holds."""
        pending = list(range(len(batch)))
        for _ in range(MAX_ROUNDS):
            try:
                insert_many(coll, [batch[i] for i in pending])
                break
            except BulkWriteError as exc:
                failed = [pending[k] for k in duplicates(exc)]
            retried = [i for i in failed if i not in fresh]
            stored = {doc["_id"]: doc for doc in coll.find({"_id": {"$in": [batch[i]["_id"] for i in retried]}})} \
                if retried else {}
            taken = [i for i in failed if i in fresh or not same_document(stored.get(batch[i]["_id"], {}), batch[i])]
            if not taken:
                break
            self.seq = max(self.seq, newest_seq(coll))
            for i in taken:
                self.seq += 1
                batch[i]["seq"] = batch[i]["_id"] = self.seq
                fresh.add(i)
            self.renumbered += len(taken)
            pending = taken
        else:
            raise StoreError(f"no free seq for {len(pending)} document(s) after {MAX_ROUNDS} rounds "
                             "(many writers at once)")
        self._last_write = time.monotonic()
