"""Commands from followers to the leader (`actors.relay.RelayStore`) in the MongoDB store.

Why a module of its own: the relay is a concept of its own (`actors.relay` says why a store
and not HTTP), and `actors.store.mongo` is about the capped documents. `MongoRelay` is mixed
into `MongoStore`: one normal collection ``<db_coll>_commands``. Taking a command and
withdrawing it are both single-document updates conditional on ``state: pending``, so a
command is either applied by one leader or withdrawn by its follower, never both.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from typing import Any, Protocol

from pymongo import ASCENDING, ReturnDocument
from pymongo.collection import Collection as MongoCollection
from pymongo.database import Database

Doc = dict[str, Any]


class _Base(Protocol):
    """What the relay uses of `actors.store.mongo.MongoStore`."""

    db_coll: str

    def _db(self) -> Database[Doc]: ...

    def _errors(self, action: str) -> AbstractContextManager[None]: ...


def _commands(base: _Base) -> MongoCollection[Doc]:
    return base._db()[base.db_coll + "_commands"]


class MongoRelay:
    """`actors.relay.RelayStore` on ``<db_coll>_commands`` (mixed into `MongoStore`)."""

    def put_command(self: _Base, doc: Mapping[str, Any]) -> None:
        """See `actors.relay.RelayStore.put_command`."""
        with self._errors("put_command"):
            _commands(self).insert_one(dict(doc))

    def take_command(self: _Base, taker: str) -> dict[str, Any] | None:
        """See `actors.relay.RelayStore.take_command`."""
        with self._errors("take_command"):
            return _commands(self).find_one_and_update(
                {"state": "pending"}, {"$set": {"state": "taken", "taken_by": taker}},
                sort=[("at", ASCENDING)], return_document=ReturnDocument.AFTER)

    def finish_command(self: _Base, command_id: str, *, answer: Any = None,
                       error: Mapping[str, Any] | None = None) -> None:
        """See `actors.relay.RelayStore.finish_command`."""
        with self._errors("finish_command"):
            _commands(self).update_one({"_id": command_id}, {"$set": {
                "state": "done", "answer": answer, "error": None if error is None else dict(error)},
                "$currentDate": {"done_at": True}})

    def read_command(self: _Base, command_id: str) -> dict[str, Any] | None:
        """See `actors.relay.RelayStore.read_command`."""
        with self._errors("read_command"):
            return _commands(self).find_one({"_id": command_id})

    def withdraw_command(self: _Base, command_id: str) -> bool:
        """See `actors.relay.RelayStore.withdraw_command`."""
        with self._errors("withdraw_command"):
            done = _commands(self).update_one({"_id": command_id, "state": "pending"},
                                              {"$set": {"state": "withdrawn"}})
        return done.matched_count == 1

    def prune_commands(self: _Base, before: float) -> int:
        """See `actors.relay.RelayStore.prune_commands`."""
        with self._errors("prune_commands"):
            return int(_commands(self).delete_many({"state": {"$in": ["done", "withdrawn"]},
                                                    "at": {"$lt": before}}).deleted_count)
