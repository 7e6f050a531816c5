"""Fixtures of the das service tests: a fake clock, a real DemoUpstream on loopback, and
the store parametrized over the embedded SQLite file and the real MongoDB-compatible
server of tests/services.py (skipped, or failed in CI, when there is none)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tasks.das.backends import MongoDasStore, SQLiteDasStore
from tasks.das.service import DasService
from tasks.das.store import DasStore
from tasks.das.upstream import Upstreams
from tests.das_support import T0 as T0  # noqa: PLC0414 - re-exported for the tests of this package


@pytest.fixture
def mongo_store_factory(request):
    """make(): a `MongoDasStore` in a fresh database, dropped afterwards."""
    service = request.getfixturevalue("mongo_service")
    from pymongo import MongoClient

    made: list[MongoDasStore] = []

    def make() -> MongoDasStore:
        store = MongoDasStore(service.uri, f"das_test_{uuid.uuid4().hex[:12]}", timeout_s=5.0)
        made.append(store)
        return store

    yield make
    client: MongoClient[dict[str, Any]] = MongoClient(service.uri, serverSelectionTimeoutMS=5000)
    for store in made:
        store.close()
        client.drop_database(store.db_name)
    client.close()


@pytest.fixture(params=["sqlite", "mongo"])
def store(request, tmp_path) -> Iterator[DasStore]:
    if request.param == "sqlite":
        sqlite = SQLiteDasStore(tmp_path / "das.db")
        yield sqlite
        sqlite.close()
    else:
        yield request.getfixturevalue("mongo_store_factory")()


@pytest.fixture
def make_service(store, demo, clock):
    """make(**upstream options) -> a `DasService` on the store, the demo upstream and the clock."""

    def make(history_s: float = 86400.0, **options: Any) -> DasService:
        options = {"retry_delay_s": 0.01, "expire_s": 60.0, **options}
        return DasService(store, Upstreams(demo.config(**options)), clock=clock, history_s=history_s)

    return make


def generations(store: DasStore, qhash: str) -> set[int]:
    """The generations of *qhash* present in the cache (records), read behind the store's back."""
    if isinstance(store, SQLiteDasStore):
        import sqlite3

        with sqlite3.connect(store.path) as conn:
            return {g for (g,) in conn.execute("SELECT DISTINCT generation FROM cache WHERE qhash = ?", (qhash,))}
    assert isinstance(store, MongoDasStore)
    return set(store._db()["cache"].distinct("generation", {"qhash": qhash}))


def twin(store: DasStore) -> DasStore:
    """A second store object on the same file or database (as another process would open it)."""
    if isinstance(store, SQLiteDasStore):
        return SQLiteDasStore(store.path)
    assert isinstance(store, MongoDasStore)
    return MongoDasStore(store.uri, store.db_name, timeout_s=store.timeout_s)
