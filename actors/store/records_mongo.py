"""`Records` in a MongoDB collection: ``_id`` is ``kind/key`` (see `actors.store.records`)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.errors import DuplicateKeyError

from actors.store.base import Page
from actors.store.mongo_side import MongoSide
from actors.store.records import check_kind_key


class MongoRecords:
    """`Records` in collection *coll* of database *db_name* at *uri*."""

    kind = "mongodb"

    def __init__(self, uri: str, *, db_name: str = "analytics_results", coll: str = "db_records",
                 timeout_s: float = 2.0) -> None:
        self.side = MongoSide(uri, db_name, coll, "mongodb records store", timeout_s=timeout_s)

    def __repr__(self) -> str:
        return f"MongoRecords({self.side.where})"

    def open(self) -> None:
        self.side.open()
        self.side.ensure_indexes([IndexModel([("kind", ASCENDING), ("key", ASCENDING)])])

    def close(self) -> None:
        self.side.close()

    @staticmethod
    def _doc(kind: str, key: str, body: Mapping[str, Any]) -> dict[str, Any]:
        return {"_id": f"{kind}/{key}", "kind": kind, "key": key, "body": dict(body)}

    def insert_new(self, kind: str, key: str, body: Mapping[str, Any]) -> bool:
        check_kind_key(kind, key)
        with self.side.errors("insert record"):
            try:
                self.side.coll().insert_one(self._doc(kind, key, body))
            except DuplicateKeyError:
                return False
        return True

    def put(self, kind: str, key: str, body: Mapping[str, Any]) -> None:
        check_kind_key(kind, key)
        with self.side.errors("put record"):
            self.side.coll().replace_one({"_id": f"{kind}/{key}"}, self._doc(kind, key, body), upsert=True)

    def get(self, kind: str, key: str) -> dict[str, Any] | None:
        check_kind_key(kind, key)
        with self.side.errors("get record"):
            doc = self.side.coll().find_one({"_id": f"{kind}/{key}"})
        return None if doc is None else dict(doc["body"])

    def delete(self, kind: str, key: str) -> bool:
        check_kind_key(kind, key)
        with self.side.errors("delete record"):
            return self.side.coll().delete_one({"_id": f"{kind}/{key}"}).deleted_count == 1

    def find(self, kind: str, *, prefix: str = "", limit: int = 100, offset: int = 0,
             descending: bool = False) -> Page:
        check_kind_key(kind, prefix or "-")
        query: dict[str, Any] = {"kind": kind}
        if prefix:
            query["key"] = {"$regex": "^" + re.escape(prefix)}
        with self.side.errors("find records"):
            coll = self.side.coll()
            total = coll.count_documents(query)
            cursor = coll.find(query).sort("key", DESCENDING if descending else ASCENDING).skip(max(offset, 0))
            items = [dict(doc["body"]) for doc in cursor.limit(max(limit, 0))] if limit > 0 else []
        return Page(items=items, total=total, more=offset + len(items) < total)
