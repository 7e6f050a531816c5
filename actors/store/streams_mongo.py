"""Stream messages and definitions on MongoDB (see `actors.store.streams`).

Each stream's messages go to a capped collection ``stream.<name>`` (``size_bytes`` and
``max_messages``) whose ``_id`` is the message id, so a redelivered message is a duplicate key
and skipped (``insert_many`` unordered: the rest of the batch is stored). ``seq`` comes from a
counter per stream held by this process (the one writer of a stream is its ingest actor),
resumed from the newest stored message; a skipped duplicate leaves a gap in ``seq``, which
readers do not mind. Definitions go to the collection ``streams``.

Tested against FerretDB 1.24 (capped collections trimmed by its periodic cleanup, unique
``_id`` kept).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from bson import Binary
from pymongo import ASCENDING, DESCENDING, MongoClient
from pymongo import errors as mongo_errors
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import BulkWriteError, CollectionInvalid, PyMongoError
from pymongo.uri_parser import parse_uri

from actors.errors import ConfigError, StoreError, StoreUnavailableError
from actors.store.streams import StreamMessage, checked_limit

Doc = dict[str, Any]
_UNAVAILABLE = (mongo_errors.ConnectionFailure, mongo_errors.ExecutionTimeout, mongo_errors.WTimeoutError,
                mongo_errors.WaitQueueTimeoutError)
_DUPLICATE_KEY = 11000
_NO_ID = {"_id": False}
PREFIX = "stream."


class MongoStreamStore:
    """`StreamStore` on the MongoDB at *uri*, database *db_name*."""

    kind = "mongodb"

    def __init__(self, uri: str, *, db_name: str = "das_data", max_messages: int = 100_000,
                 size_bytes: int = 64 * 1024 * 1024, timeout_s: float = 2.0) -> None:
        if isinstance(max_messages, bool) or not isinstance(max_messages, int) or max_messages < 1:
            raise ValueError(f"stream_max_messages must be an integer >= 1, got {max_messages!r}")
        try:
            parsed = parse_uri(uri)
        except (PyMongoError, ValueError) as exc:
            raise ConfigError(f"data_uri is not a valid MongoDB URI: {exc}") from exc
        self.uri, self.db_name, self.max_messages, self.size_bytes = uri, db_name, max_messages, size_bytes
        self.timeout_s = timeout_s
        self._uri_options = {str(key).lower() for key in parsed["options"]}
        hosts = ",".join(f"{host}:{port}" for host, port in parsed["nodelist"])
        self._where = f"mongodb://{hosts}/{db_name}"
        self._client: MongoClient[Doc] | None = None
        self._lock = threading.Lock()
        self._seq: dict[str, int] = {}
        self._created: set[str] = set()

    def __repr__(self) -> str:
        return f"MongoStreamStore({self._where}, max_messages={self.max_messages})"

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        try:
            yield
        except _UNAVAILABLE as exc:
            raise StoreUnavailableError(f"mongodb stream store {self._where}: {action} failed: {exc}") from exc
        except PyMongoError as exc:
            raise StoreError(f"mongodb stream store {self._where}: {action} failed: {exc}") from exc

    def _db(self) -> Database[Doc]:
        if self._client is None:
            raise StoreError(f"mongodb stream store {self._where} is not open")
        return self._client[self.db_name]

    def _messages(self, name: str) -> Collection[Doc]:
        return self._db()[PREFIX + name]

    def open(self) -> None:
        if self._client is not None:
            return
        ms = int(self.timeout_s * 1000)
        timeouts: dict[str, Any] = {"serverSelectionTimeoutMS": ms, "connectTimeoutMS": ms, "socketTimeoutMS": 5 * ms}
        self._client = MongoClient(self.uri, connect=False, appname="das-actors-streams",
                                   **{k: v for k, v in timeouts.items() if k.lower() not in self._uri_options})

    def close(self) -> None:
        client, self._client = self._client, None
        with self._lock:
            self._seq.clear()
            self._created.clear()
        if client is not None:
            client.close()

    # -- definitions ------------------------------------------------------------------------
    def save_stream(self, record: Mapping[str, Any]) -> None:
        with self._errors("save stream"):
            self._db()["streams"].replace_one({"_id": record["name"]}, {**record, "_id": record["name"]}, upsert=True)

    def load_streams(self) -> list[dict[str, Any]]:
        with self._errors("load streams"):
            return list(self._db()["streams"].find({}, _NO_ID, sort=[("_id", ASCENDING)]))

    def remove_stream(self, name: str) -> bool:
        with self._errors("remove stream"):
            found = self._db()["streams"].delete_one({"_id": name}).deleted_count > 0
            self._messages(name).drop()
        with self._lock:
            self._seq.pop(name, None)
            self._created.discard(name)
        return found

    # -- messages ---------------------------------------------------------------------------
    def _ensure(self, name: str) -> None:
        if name in self._created:
            return
        db = self._db()
        try:
            db.create_collection(PREFIX + name, capped=True, size=self.size_bytes, max=self.max_messages)
        except CollectionInvalid:
            pass  # it exists
        self._messages(name).create_index([("seq", ASCENDING)])
        self._messages(name).create_index([("recv", ASCENDING)])
        self._created.add(name)

    def append(self, name: str, messages: Sequence[StreamMessage]) -> int:
        if not messages:
            return 0
        with self._lock, self._errors("append"):
            self._ensure(name)
            seq = self._seq.get(name)
            if seq is None:
                seq = self._newest(name)
            docs = []
            for message in messages:
                seq += 1
                doc = message.to_doc()
                if message.kind == "bytes":
                    doc["body"] = Binary(bytes(message.body))
                docs.append({"_id": message.message_id, "seq": seq, **doc})
            self._seq[name] = seq
            try:
                stored = len(self._messages(name).insert_many(docs, ordered=False).inserted_ids)
            except BulkWriteError as exc:
                errors = exc.details.get("writeErrors") or []
                others = [e for e in errors if e.get("code") != _DUPLICATE_KEY]
                if others or exc.details.get("writeConcernErrors"):
                    self._seq.pop(name, None)  # re-read: what got in is unknown
                    raise StoreError(f"mongodb stream store {self._where}: append to {name!r} failed: "
                                     f"{others[:1] or exc.details.get('writeConcernErrors')}") from exc
                stored = len(docs) - len(errors)
            except BaseException:
                self._seq.pop(name, None)
                raise
        return stored

    def _newest(self, name: str) -> int:
        doc = self._messages(name).find_one({}, {"seq": True}, sort=[("seq", DESCENDING)])
        return int(doc["seq"]) if doc and isinstance(doc.get("seq"), int) else 0

    @staticmethod
    def _doc(name: str, doc: Doc) -> dict[str, Any]:
        out = {"stream": name, **{k: v for k, v in doc.items() if k != "_id"}}
        if out.get("kind") == "bytes":
            out["body"] = bytes(out.get("body") or b"")
        return out

    def _find(self, name: str, query: Doc, order: int, limit: int) -> list[dict[str, Any]]:
        limit = checked_limit(limit)
        if not limit:
            return []
        with self._errors("read messages"):
            docs = self._messages(name).find(query, sort=[("seq", order)], limit=limit)
            return [self._doc(name, doc) for doc in docs]

    def since(self, name: str, seq: int, limit: int = 1000) -> list[dict[str, Any]]:
        return self._find(name, {"seq": {"$gt": seq}}, ASCENDING, limit)

    def window(self, name: str, since_time: float, until_time: float | None = None,
               limit: int = 10_000) -> list[dict[str, Any]]:
        bounds: Doc = {"$gte": since_time}
        if until_time is not None:
            bounds["$lt"] = until_time
        return self._find(name, {"recv": bounds}, ASCENDING, limit)

    def latest(self, name: str, limit: int = 20) -> list[dict[str, Any]]:
        return self._find(name, {}, DESCENDING, limit)

    def count(self, name: str) -> int:
        with self._errors("count"):
            return int(self._messages(name).count_documents({}))

    def last_seq(self, name: str) -> int:
        with self._errors("last seq"):
            return self._newest(name)

    def stats(self) -> dict[str, Any]:
        with self._errors("stats"):
            names = [doc["_id"] for doc in self._db()["streams"].find({}, {"_id": True})]
            messages = sum(self._messages(n).estimated_document_count() for n in names)
        return {"kind": self.kind, "streams": len(names), "messages": messages, "where": self._where}
