"""A MongoDB database used beside the results store: one client, its timeouts, mapped errors.

Why a module of its own: the small interact stores (`actors.store.records_mongo`,
`actors.store.outbox_mongo`) each keep a collection in the results store's database, opened
in the server and in worker processes alike. They connect the same way the results store
does (timeouts from ``db_timeout`` unless the URI sets them) and map pymongo's errors the
same way: a connection failure is `StoreUnavailableError`, anything else `StoreError`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pymongo import IndexModel, MongoClient
from pymongo import errors as mongo_errors
from pymongo.collection import Collection
from pymongo.errors import PyMongoError
from pymongo.uri_parser import parse_uri

from actors.errors import ConfigError, StoreError, StoreUnavailableError

Doc = dict[str, Any]
UNAVAILABLE = (mongo_errors.ConnectionFailure, mongo_errors.ExecutionTimeout, mongo_errors.WTimeoutError,
               mongo_errors.WaitQueueTimeoutError)
DUPLICATE_KEY = 11000


class MongoSide:
    """One collection *coll* of database *db_name* at *uri*; `open` connects, `close` lets go."""

    def __init__(self, uri: str, db_name: str, coll: str, what: str, *, timeout_s: float = 2.0) -> None:
        try:
            parsed = parse_uri(uri)
        except (PyMongoError, ValueError) as exc:
            raise ConfigError(f"db_uri is not a valid MongoDB URI: {exc}") from exc
        self.uri, self.db_name, self.coll_name, self.what, self.timeout_s = uri, db_name, coll, what, timeout_s
        self._uri_options = {str(key).lower() for key in parsed["options"]}
        hosts = ",".join(f"{host}:{port}" for host, port in parsed["nodelist"])  # never the credentials
        self.where = f"mongodb://{hosts}/{db_name}.{coll}"
        self._client: MongoClient[Doc] | None = None
        self._lock = threading.Lock()

    @contextmanager
    def errors(self, action: str) -> Iterator[None]:
        """Map pymongo errors raised inside to `StoreError` / `StoreUnavailableError`."""
        try:
            yield
        except UNAVAILABLE as exc:
            raise StoreUnavailableError(f"{self.what} {self.where}: {action} failed: {exc}") from exc
        except PyMongoError as exc:
            raise StoreError(f"{self.what} {self.where}: {action} failed: {exc}") from exc

    def open(self) -> Collection[Doc]:
        """Connect (once) and return the collection."""
        with self._lock:
            if self._client is None:
                ms = int(self.timeout_s * 1000)
                timeouts: dict[str, Any] = {"serverSelectionTimeoutMS": ms, "connectTimeoutMS": ms,
                                            "socketTimeoutMS": 5 * ms}
                self._client = MongoClient(self.uri, connect=False, appname="das-actors",
                                           **{k: v for k, v in timeouts.items() if k.lower() not in self._uri_options})
            return self._client[self.db_name][self.coll_name]

    def ensure_indexes(self, indexes: list[IndexModel]) -> None:
        """Create those of *indexes* the collection lacks (by name). Creating only what is missing keeps
        processes that open at once (the workers) from racing createIndexes, which FerretDB 1.24 answers
        by closing the connection."""
        coll = self.coll()
        with self.errors("open"):
            existing = set(coll.index_information())
            missing = [index for index in indexes if index.document["name"] not in existing]
            if missing:
                coll.create_indexes(missing)

    def coll(self) -> Collection[Doc]:
        """The collection (`StoreError` when not open)."""
        client = self._client
        if client is None:
            raise StoreError(f"{self.what} {self.where} is not open")
        return client[self.db_name][self.coll_name]

    def close(self) -> None:
        """Close the client. Idempotent."""
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()
