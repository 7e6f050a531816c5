"""Fixtures of the data-store contract tests: each test runs on SQLite (a temp file) and on a real
MongoDB-compatible server (tests/services.py: MONGO_URI, mongod or FerretDB 1.24), one fresh
database per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from pymongo import MongoClient

from actors.store.data import open_object_store, open_stream_store
from actors.store.objects import ObjectStore
from actors.store.streams import StreamStore


class DataBackend:
    """Opens object and stream stores of one backend in one place, and removes them afterwards."""

    def __init__(self, name: str, request: pytest.FixtureRequest, tmp_path: Any) -> None:
        self.name = name
        self.opened: list[Any] = []
        self.db_name = f"das_data_test_{uuid.uuid4().hex[:12]}"
        if name == "mongo":
            self.service = request.getfixturevalue("mongo_service")
            self.uri = self.service.uri
        else:
            self.service = None
            self.uri = f"sqlite:///{tmp_path}/data.db"

    def objects(self) -> ObjectStore:
        store = open_object_store(self.uri, db_name=self.db_name, timeout_s=5.0)
        store.open()
        self.opened.append(store)
        return store

    def streams(self, **options: Any) -> StreamStore:
        store = open_stream_store(self.uri, db_name=self.db_name, timeout_s=5.0, **options)
        store.open()
        self.opened.append(store)
        return store

    def cleanup(self) -> None:
        for store in self.opened:
            store.close()
        if self.name == "mongo":
            client: MongoClient[dict[str, Any]] = MongoClient(self.uri, serverSelectionTimeoutMS=5000)
            try:
                client.drop_database(self.db_name)
            finally:
                client.close()


@pytest.fixture(params=["sqlite", "mongo"])
def data_backend(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[DataBackend]:
    made = DataBackend(request.param, request, tmp_path)
    yield made
    made.cleanup()
