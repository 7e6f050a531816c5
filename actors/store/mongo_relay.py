"""Commands from followers to the leader (`actors.relay.RelayStore`) in the MongoDB store.

Why a module of its own: the relay is a concept of its own (`actors.relay` says why a store
and not HTTP), and `actors.store.mongo` is about the capped documents. `MongoRelay` is mixed
into `MongoStore`: ``<db_coll>_commands`` holds the commands, ``<db_coll>_commands_decided``
one document per command decided. Taking a command (a leader) and withdrawing it (its
follower, tired of waiting) both *insert* the command's id there first: the unique key lets
exactly one of them win, so a command is applied by one leader or withdrawn, never both.
An update conditional on ``state: pending`` would not do on FerretDB 1.24, whose updates are
a read then a write (measured: three leaders racing took one command twice).
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from typing import Any, Protocol

from pymongo import ASCENDING
from pymongo.collection import Collection as MongoCollection
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

Doc = dict[str, Any]
#: Pending commands looked at per take (the oldest first).
_LOOK_AHEAD = 20


class _Base(Protocol):
    """What the relay uses of `actors.store.mongo.MongoStore`."""

    db_coll: str

    def _db(self) -> Database[Doc]: ...

    def _errors(self, action: str) -> AbstractContextManager[None]: ...


def _commands(base: _Base) -> MongoCollection[Doc]:
    return base._db()[base.db_coll + "_commands"]


def _decide(base: _Base, command_id: str, how: str, by: str) -> bool:
    """Whether this caller decided the command (*how*: taken or withdrawn); False if another did."""
    try:
        base._db()[base.db_coll + "_commands_decided"].insert_one({"_id": command_id, "how": how, "by": by})
    except DuplicateKeyError:
        return False
    return True


class MongoRelay:
    """`actors.relay.RelayStore` on ``<db_coll>_commands`` (mixed into `MongoStore`)."""

    def put_command(self: _Base, doc: Mapping[str, Any]) -> None:
        """See `actors.relay.RelayStore.put_command`."""
        with self._errors("put_command"):
            _commands(self).insert_one(dict(doc))

    def take_command(self: _Base, taker: str) -> dict[str, Any] | None:
        """See `actors.relay.RelayStore.take_command`."""
        with self._errors("take_command"):
            for doc in _commands(self).find({"state": "pending"}, sort=[("at", ASCENDING)], limit=_LOOK_AHEAD):
                if _decide(self, str(doc["_id"]), "taken", taker):
                    _commands(self).update_one({"_id": doc["_id"]}, {"$set": {"state": "taken", "taken_by": taker}})
                    return {**doc, "state": "taken", "taken_by": taker}
        return None

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
            if not _decide(self, command_id, "withdrawn", "follower"):
                return False
            _commands(self).update_one({"_id": command_id}, {"$set": {"state": "withdrawn"}})
        return True

    def prune_commands(self: _Base, before: float) -> int:
        """See `actors.relay.RelayStore.prune_commands`."""
        with self._errors("prune_commands"):
            old = [doc["_id"] for doc in _commands(self).find({"state": {"$in": ["done", "withdrawn"]},
                                                               "at": {"$lt": before}}, {"_id": True})]
            if not old:
                return 0
            self._db()[self.db_coll + "_commands_decided"].delete_many({"_id": {"$in": old}})
            return int(_commands(self).delete_many({"_id": {"$in": old}}).deleted_count)
