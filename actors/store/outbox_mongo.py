"""`Outbox` in a MongoDB collection (see `actors.store.outbox`).

A claim must go to one claimer only, also on FerretDB 1.24, where neither ``findAndModify``
nor a conditional ``update_one`` is atomic between connections (measured: three processes
claimed 200 actions 340 times). What both servers do make atomic is a unique key: each action
carries a ``version`` (bumped by every change), and claiming version *v* of an action is
inserting ``<action_id>#<v>`` into the ``<coll>_claims`` collection; only one insert of a key
succeeds, and only its claimer changes the action. Claim keys go when the attempt is recorded.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.errors import DuplicateKeyError

from actors.store.base import Page
from actors.store.mongo_side import MongoSide
from actors.store.outbox import DELIVERED, DELIVERING, FAILED, PENDING, ActionQuery, after_attempt

_INDEXES = (IndexModel([("action_id", ASCENDING)], unique=True),
            IndexModel([("state", ASCENDING), ("next_at", ASCENDING)]), IndexModel([("created_at", DESCENDING)]),
            IndexModel([("state", ASCENDING), ("finished_at", ASCENDING)]), IndexModel([("run_id", ASCENDING)]),
            IndexModel([("job_id", ASCENDING)]))
_NO_ID = {"_id": False}


class MongoOutbox:
    """`Outbox` in collection *coll* of database *db_name* at *uri*."""

    kind = "mongodb"

    def __init__(self, uri: str, *, db_name: str = "analytics_results", coll: str = "db_actions",
                 timeout_s: float = 2.0) -> None:
        self.side = MongoSide(uri, db_name, coll, "mongodb outbox", timeout_s=timeout_s)
        self.claims_name = coll + "_claims"

    def _claims(self) -> Any:
        return self.side.coll().database[self.claims_name]

    def __repr__(self) -> str:
        return f"MongoOutbox({self.side.where})"

    def open(self) -> None:
        self.side.open()
        self.side.ensure_indexes(list(_INDEXES))

    def close(self) -> None:
        self.side.close()

    def add(self, action: Mapping[str, Any]) -> None:
        with self.side.errors("add action"):
            self.side.coll().insert_one({**action, "state": PENDING})

    def claim(self, now: float, limit: int, lease_s: float) -> list[dict[str, Any]]:
        if limit <= 0:
            return []
        due = {"$or": [{"state": PENDING, "next_at": {"$lte": now}},
                       {"state": DELIVERING, "lease_until": {"$lte": now}}]}
        claimed: list[dict[str, Any]] = []
        with self.side.errors("claim actions"):
            coll, claims = self.side.coll(), self._claims()
            for doc in coll.find(due, projection=_NO_ID).sort("next_at", ASCENDING).limit(limit * 4):
                if len(claimed) >= limit:
                    break
                version = int(doc.get("version") or 0)
                try:
                    claims.insert_one({"_id": f"{doc['action_id']}#{version}", "action_id": doc["action_id"],
                                       "at": now})
                except DuplicateKeyError:
                    continue  # another claimer took this version of it
                doc.update(state=DELIVERING, lease_until=now + lease_s, version=version + 1)
                coll.replace_one({"action_id": doc["action_id"]}, doc)
                claimed.append(dict(doc))
        return claimed

    def _replace(self, action_id: str, change: Any) -> dict[str, Any] | None:
        coll = self.side.coll()
        doc = coll.find_one({"action_id": action_id}, projection=_NO_ID)
        if doc is None:
            return None
        updated = change(dict(doc))
        updated["version"] = int(doc.get("version") or 0) + 1
        coll.replace_one({"action_id": action_id}, updated)
        self._claims().delete_many({"action_id": action_id})
        return updated  # type: ignore[no-any-return]

    def finish_attempt(self, action_id: str, attempt: Mapping[str, Any], *, state: str,
                       next_at: float | None) -> dict[str, Any] | None:
        with self.side.errors("record attempt"):
            return self._replace(action_id, lambda a: after_attempt(a, attempt, state, next_at))

    def retry(self, action_id: str, now: float) -> dict[str, Any] | None:
        def again(action: dict[str, Any]) -> dict[str, Any]:
            if action.get("state") in (PENDING, FAILED):
                action.update(state=PENDING, next_at=now, finished_at=None, lease_until=None)
            return action

        with self.side.errors("retry action"):
            return self._replace(action_id, again)

    def get(self, action_id: str) -> dict[str, Any] | None:
        with self.side.errors("get action"):
            doc = self.side.coll().find_one({"action_id": action_id}, projection=_NO_ID)
        return None if doc is None else dict(doc)

    def find(self, query: ActionQuery) -> Page:
        match: dict[str, Any] = {c: getattr(query, c) for c in ("state", "run_id", "job_id", "target")
                                 if getattr(query, c) is not None}
        if query.since is not None:
            match["created_at"] = {"$gte": query.since}
        with self.side.errors("find actions"):
            coll = self.side.coll()
            total = coll.count_documents(match)
            items: list[dict[str, Any]] = []
            if query.limit > 0:
                cursor = coll.find(match, projection=_NO_ID).sort([("created_at", DESCENDING),
                                                                  ("action_id", DESCENDING)])
                items = [dict(d) for d in cursor.skip(max(query.offset, 0)).limit(query.limit)]
        return Page(items=items, total=total, more=query.offset + len(items) < total)

    def counts(self, since: float) -> dict[str, int]:
        with self.side.errors("count actions"):
            coll = self.side.coll()
            return {PENDING: coll.count_documents({"state": PENDING}),
                    DELIVERING: coll.count_documents({"state": DELIVERING}),
                    DELIVERED: coll.count_documents({"state": DELIVERED, "finished_at": {"$gte": since}}),
                    FAILED: coll.count_documents({"state": FAILED, "finished_at": {"$gte": since}})}
