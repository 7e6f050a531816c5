"""The run ledger (`actors.ledger.LedgerStore`) in the MongoDB store: two normal collections.

Why a module of its own: the ledger is a concept of its own, and `actors.store.mongo` is
about the capped documents. `MongoLedger` is mixed into `MongoStore`:

* ``<db_coll>_ledger``: one document per slot, ``_id`` = the slot id. A claim is an
  unordered ``insert_many``; a duplicate key (11000) means the slot has an entry, which is
  upgraded only when `actors.ledger.claim_allowed` says so, by an update conditional on the
  entry read (so two instances cannot both win it);
* ``<db_coll>_ledger_heads``: one document per job with ``$max``/``$min``-maintained
  ``last`` (newest slot), ``run`` (newest slot run on schedule), ``idx`` (highest run
  index) and ``oldest`` (oldest slot kept). FerretDB 1.24 implements neither ``$max`` nor
  ``$first`` as ``$group`` accumulators, so a restart reads these instead of aggregating.

Never the capped collection: eviction would lose the newest slot.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from pymongo import ASCENDING, IndexModel, UpdateOne
from pymongo.collection import Collection as MongoCollection
from pymongo.database import Database
from pymongo.errors import BulkWriteError

from actors.ledger import Claim, Finished, LedgerEntry, LedgerHead, SlotState, claim_allowed
from actors.slots import slot_id

Doc = dict[str, Any]
_DUPLICATE_KEY = 11000
#: Ids per ``$in`` query.
_IDS_PER_QUERY = 1000


class _Base(Protocol):
    """What the ledger uses of `actors.store.mongo.MongoStore`."""

    db_coll: str

    def _db(self) -> Database[Doc]: ...

    def _errors(self, action: str) -> AbstractContextManager[None]: ...


def _entries(base: _Base) -> MongoCollection[Doc]:
    return base._db()[base.db_coll + "_ledger"]


def _heads(base: _Base) -> MongoCollection[Doc]:
    return base._db()[base.db_coll + "_ledger_heads"]


def _doc(entry: LedgerEntry) -> Doc:
    return {"_id": entry.slot_id, **entry.to_fields()}


def _head_update(entry: LedgerEntry) -> UpdateOne:
    highest: Doc = {"last": entry.slot}
    if entry.ran and entry.trigger != "backfill":
        highest["run"] = entry.slot
    if entry.index is not None:
        highest["idx"] = entry.index
    return UpdateOne({"_id": entry.job_id}, {"$max": highest, "$min": {"oldest": entry.slot}}, upsert=True)


def _duplicates(exc: BulkWriteError) -> set[int]:
    """Positions of the duplicate-key failures of an unordered bulk write; anything else re-raised."""
    errors = exc.details.get("writeErrors") or []
    if any(error.get("code") != _DUPLICATE_KEY for error in errors):
        raise exc
    return {int(error["index"]) for error in errors}


def _chunks(ids: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(ids), _IDS_PER_QUERY):
        yield ids[start:start + _IDS_PER_QUERY]


def ensure_ledger(db: Database[Doc], db_coll: str) -> None:
    """Create the ledger's index if missing (at `MongoStore.open`)."""
    coll = db[db_coll + "_ledger"]
    if "job_id_1_slot_1" not in coll.index_information():
        coll.create_indexes([IndexModel([("job_id", ASCENDING), ("slot", ASCENDING)])])


class MongoLedger:
    """`actors.ledger.LedgerStore` on ``<db_coll>_ledger`` (mixed into `MongoStore`)."""

    def claim_slots(self: _Base, claims: Sequence[Claim]) -> dict[str, LedgerEntry]:
        """See `actors.ledger.LedgerStore.claim_slots`."""
        refused: dict[str, LedgerEntry] = {}
        if not claims:
            return refused
        entries = _entries(self)
        with self._errors("claim_slots"):
            taken: set[int] = set()
            try:
                entries.insert_many([_doc(claim.entry()) for claim in claims], ordered=False)
            except BulkWriteError as exc:
                taken = _duplicates(exc)
            won = [claim for position, claim in enumerate(claims) if position not in taken]
            for position in sorted(taken):
                claim = claims[position]
                found = entries.find_one({"_id": claim.slot_id})
                if found is None:  # pruned in between: nothing stands in the way any more
                    entries.insert_one(_doc(claim.entry()))
                    won.append(claim)
                    continue
                existing = LedgerEntry.from_fields(found)
                if claim_allowed(existing, claim):
                    fields = {k: v for k, v in claim.entry().to_fields().items() if k not in ("job_id", "slot")}
                    done = entries.update_one({"_id": claim.slot_id, "state": existing.state,
                                               "attempt": existing.attempt, "owner": existing.owner},
                                              {"$set": fields})
                    if done.matched_count == 1:
                        won.append(claim)
                        continue
                    again = entries.find_one({"_id": claim.slot_id})
                    existing = LedgerEntry.from_fields(again) if again is not None else existing
                refused[claim.slot_id] = existing
            if won:
                _heads(self).bulk_write([_head_update(claim.entry()) for claim in won], ordered=False)
        return refused

    def record_slots(self: _Base, finished: Sequence[Finished], missed: Sequence[LedgerEntry]) -> set[str]:
        """See `actors.ledger.LedgerStore.record_slots`."""
        added: set[str] = set()
        entries = _entries(self)
        with self._errors("record_slots"):
            if finished:
                entries.bulk_write([
                    UpdateOne({"_id": f.slot_id, "attempt": f.attempt, "state": {"$ne": str(SlotState.MISSED)}},
                              {"$set": {"state": str(SlotState.DONE), "outcome": f.outcome}})
                    for f in finished], ordered=False)
            if missed:
                taken: set[int] = set()
                try:
                    entries.insert_many([_doc(entry) for entry in missed], ordered=False)
                except BulkWriteError as exc:
                    taken = _duplicates(exc)
                new = [entry for position, entry in enumerate(missed) if position not in taken]
                if new:
                    _heads(self).bulk_write([_head_update(entry) for entry in new], ordered=False)
                added = {entry.slot_id for entry in new}
        return added

    def ledger_heads(self: _Base, job_ids: Collection[str] | None = None) -> dict[str, LedgerHead]:
        """See `actors.ledger.LedgerStore.ledger_heads`: the heads collection, then the newest
        run entries by id."""
        heads: dict[str, Doc] = {}
        with self._errors("ledger_heads"):
            if job_ids is None:
                heads = {str(doc["_id"]): doc for doc in _heads(self).find({})}
            else:
                for chunk in _chunks(list(job_ids)):
                    heads.update((str(doc["_id"]), doc) for doc in _heads(self).find({"_id": {"$in": chunk}}))
            run_ids = [slot_id(job_id, float(run)) for job_id, doc in heads.items()
                       if (run := doc.get("run")) is not None]
            newest: dict[str, LedgerEntry] = {}
            for chunk in _chunks(run_ids):
                for found in _entries(self).find({"_id": {"$in": chunk}}):
                    entry = LedgerEntry.from_fields(found)
                    newest[entry.job_id] = entry
        return {job_id: LedgerHead(job_id, float(doc["last"]), None if doc.get("idx") is None else int(doc["idx"]),
                                   newest.get(job_id)) for job_id, doc in heads.items()}

    def slot_entries(self: _Base, job_id: str, after: float, upto: float) -> dict[str, LedgerEntry]:
        """See `actors.ledger.LedgerStore.slot_entries`."""
        with self._errors("slot_entries"):
            found = list(_entries(self).find({"job_id": job_id, "slot": {"$gt": after, "$lte": upto}}))
        entries = (LedgerEntry.from_fields(doc) for doc in found)
        return {entry.slot_id: entry for entry in entries}

    def prune_ledger(self: _Base, before: float) -> int:
        """See `actors.ledger.LedgerStore.prune_ledger`: per job with entries older than *before*,
        delete those below both *before* and its newest run (or newest) slot."""
        removed = 0
        with self._errors("prune_ledger"):
            heads = _heads(self)
            for doc in list(heads.find({"oldest": {"$lt": before}})):
                run = doc.get("run")
                cut = min(before, float(run if run is not None else doc["last"]))
                removed += _entries(self).delete_many({"job_id": doc["_id"], "slot": {"$lt": cut}}).deleted_count
                heads.update_one({"_id": doc["_id"]}, {"$max": {"oldest": cut}})
        return removed
