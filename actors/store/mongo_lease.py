"""The leader lease and the instance heartbeats (`actors.lease.LeaseStore`) in the MongoDB store.

Why a module of its own: leadership is a concept of its own (`actors.lease` says why), and
`actors.store.mongo` is about the capped documents. `MongoLease` is mixed into `MongoStore`:

* ``<db_coll>_lease``: one document, ``_id`` ``leader``. Taking it is one
  ``find_one_and_update`` filtered on ``until < now`` with ``upsert``: when another instance
  holds it, the filter matches nothing and the upsert collides on ``_id``
  (``DuplicateKeyError``): lost. Renewing is filtered on holder *and* term.
* ``<db_coll>_instances``: one document per server life, its heartbeat in the server's time.

Time is the store server's: ``hello.localTime`` (milliseconds), read before each write that
needs it, so no instance compares its own clock with another's. FerretDB 1.24 offers neither
``$$NOW`` in pipeline updates nor transactions, which is why ``until`` is computed here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any, Protocol

from pymongo import ReturnDocument
from pymongo.collection import Collection as MongoCollection
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from actors.lease import Lease

Doc = dict[str, Any]
LEASE_ID = "leader"


class _Base(Protocol):
    """What the lease uses of `actors.store.mongo.MongoStore`."""

    db_coll: str

    def _db(self) -> Database[Doc]: ...

    def _errors(self, action: str) -> AbstractContextManager[None]: ...


def _leases(base: _Base) -> MongoCollection[Doc]:
    return base._db()[base.db_coll + "_lease"]


def _instances(base: _Base) -> MongoCollection[Doc]:
    return base._db()[base.db_coll + "_instances"]


def _epoch(value: Any) -> float:
    """``hello.localTime`` (a naive UTC datetime from pymongo, or an aware one) as epoch seconds."""
    if not isinstance(value, datetime):
        raise TypeError(f"hello.localTime is {value!r}, not a date")
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()


class MongoLease:
    """`actors.lease.LeaseStore` on ``<db_coll>_lease`` and ``<db_coll>_instances`` (mixed into `MongoStore`)."""

    def server_time(self: _Base) -> float:
        """See `actors.lease.LeaseStore.server_time`."""
        with self._errors("server_time"):
            return _epoch(self._db().client.admin.command("hello").get("localTime"))

    def acquire_lease(self: _Base, holder: str, ttl_s: float, now: float) -> Lease | None:
        """See `actors.lease.LeaseStore.acquire_lease`."""
        with self._errors("acquire_lease"):
            try:
                doc = _leases(self).find_one_and_update(
                    {"_id": LEASE_ID, "until": {"$lt": now}},
                    {"$set": {"holder": holder, "until": now + ttl_s, "acquired_at": now, "renewed_at": now},
                     "$inc": {"term": 1}},
                    upsert=True, return_document=ReturnDocument.AFTER)
            except DuplicateKeyError:
                return None  # held: the filter matched nothing and the upsert met the existing document
        return None if doc is None else Lease.from_doc(doc)

    def renew_lease(self: _Base, holder: str, term: int, ttl_s: float, now: float) -> Lease | None:
        """See `actors.lease.LeaseStore.renew_lease`."""
        with self._errors("renew_lease"):
            doc = _leases(self).find_one_and_update(
                {"_id": LEASE_ID, "holder": holder, "term": term},
                {"$set": {"until": now + ttl_s, "renewed_at": now}}, return_document=ReturnDocument.AFTER)
        return None if doc is None else Lease.from_doc(doc)

    def release_lease(self: _Base, holder: str, term: int) -> bool:
        """See `actors.lease.LeaseStore.release_lease`."""
        with self._errors("release_lease"):
            done = _leases(self).update_one({"_id": LEASE_ID, "holder": holder, "term": term},
                                            {"$set": {"until": 0.0}})
        return done.matched_count == 1

    def read_lease(self: _Base) -> Lease | None:
        """See `actors.lease.LeaseStore.read_lease`."""
        with self._errors("read_lease"):
            doc = _leases(self).find_one({"_id": LEASE_ID})
        return None if doc is None else Lease.from_doc(doc)

    def beat(self: _Base, instance: Mapping[str, Any]) -> None:
        """See `actors.lease.LeaseStore.beat`."""
        doc = {key: value for key, value in instance.items() if key != "_id"}
        with self._errors("beat"):
            _instances(self).replace_one({"_id": str(instance["id"])}, {**doc, "_id": str(instance["id"])},
                                         upsert=True)

    def instances(self: _Base) -> list[dict[str, Any]]:
        """See `actors.lease.LeaseStore.instances`."""
        with self._errors("instances"):
            found = list(_instances(self).find({}, {"_id": False}))
        return sorted(found, key=lambda doc: (float(doc.get("started_at") or 0.0), str(doc.get("id"))))

    def forget_instances(self: _Base, ids: Iterable[str] = (), *, beat_before: float | None = None) -> int:
        """See `actors.lease.LeaseStore.forget_instances`."""
        clauses: list[Doc] = []
        listed = list(ids)
        if listed:
            clauses.append({"_id": {"$in": listed}})
        if beat_before is not None:
            clauses.append({"heartbeat": {"$lt": beat_before}})
        if not clauses:
            return 0
        with self._errors("forget_instances"):
            return int(_instances(self).delete_many(clauses[0] if len(clauses) == 1 else {"$or": clauses})
                       .deleted_count)
