"""The leader lease and the instance heartbeats (`actors.lease.LeaseStore`) in the MongoDB store.

Why a module of its own: leadership is a concept of its own (`actors.lease` says why), and
`actors.store.mongo` is about the capped documents. `MongoLease` is mixed into `MongoStore`:

* ``<db_coll>_lease``: one document per term, ``_id`` the term. The newest is the lease. Taking
  it, once the newest has lapsed, is *inserting* the next term's document: of several
  followers trying at once exactly one insert succeeds (the others meet a duplicate key).
  Renewing updates the holder's own term document (nobody else writes it) and then checks
  that no newer term exists. Why not one document taken with ``find_one_and_update``: on
  FerretDB 1.24 (SQLite backend) an update is a read then a write, not atomic; measured,
  two followers both "took" the same lapsed lease under the same term. A unique insert is
  atomic on every server.
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

from pymongo import DESCENDING
from pymongo.collection import Collection as MongoCollection
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from actors.lease import Lease

Doc = dict[str, Any]
#: Term documents kept (older ones are deleted now and then).
KEEP_TERMS = 1000


class _Base(Protocol):
    """What the lease uses of `actors.store.mongo.MongoStore`."""

    db_coll: str

    def _db(self) -> Database[Doc]: ...

    def _errors(self, action: str) -> AbstractContextManager[None]: ...


def _leases(base: _Base) -> MongoCollection[Doc]:
    return base._db()[base.db_coll + "_lease"]


def _newest(base: _Base) -> Doc | None:
    return base._db()[base.db_coll + "_lease"].find_one({}, sort=[("_id", DESCENDING)])


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
        """See `actors.lease.LeaseStore.acquire_lease`: insert the next term's document, if the newest
        term's lease has lapsed; a duplicate key means another instance took that term first."""
        with self._errors("acquire_lease"):
            newest = _newest(self)
            if newest is not None and float(newest.get("until") or 0.0) >= now:
                return None
            term = int(newest["_id"]) + 1 if newest is not None else 1
            doc = {"_id": term, "term": term, "holder": holder, "until": now + ttl_s, "acquired_at": now,
                   "renewed_at": now}
            try:
                _leases(self).insert_one(doc)
            except DuplicateKeyError:
                return None
            if term % KEEP_TERMS == 0:
                _leases(self).delete_many({"_id": {"$lte": term - KEEP_TERMS}})
        return Lease.from_doc(doc)

    def renew_lease(self: _Base, holder: str, term: int, ttl_s: float, now: float) -> Lease | None:
        """See `actors.lease.LeaseStore.renew_lease`: extend our term's document (only its holder writes
        it), then make sure no newer term was taken."""
        with self._errors("renew_lease"):
            done = _leases(self).update_one({"_id": term, "holder": holder},
                                            {"$set": {"until": now + ttl_s, "renewed_at": now}})
            newest = _newest(self)
        if done.matched_count != 1 or newest is None or int(newest["_id"]) != term:
            return None
        return Lease.from_doc(newest)

    def release_lease(self: _Base, holder: str, term: int) -> bool:
        """See `actors.lease.LeaseStore.release_lease`."""
        with self._errors("release_lease"):
            done = _leases(self).update_one({"_id": term, "holder": holder}, {"$set": {"until": 0.0}})
        return done.matched_count == 1

    def read_lease(self: _Base) -> Lease | None:
        """See `actors.lease.LeaseStore.read_lease`."""
        with self._errors("read_lease"):
            doc = _newest(self)
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
