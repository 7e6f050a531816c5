"""MongoDB-only behaviour of the store, on a real server (tests/services.py): the capped
collection and its checks, conversion, indexes, errors, and idempotent retries."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import pytest
from pymongo import MongoClient
from pymongo.errors import AutoReconnect

from actors.errors import ConfigError, StoreError, StoreUnavailableError
from actors.store import Store, open_store
from actors.store.base import Query, TailableStore, tail_documents
from actors.store.mongo import MongoStore
from tests import services

MiB = 1024 * 1024


def log(tag: str, **extra: Any) -> dict[str, Any]:
    return {"type": "log", "tag": tag, "time": 1.0, "level": 20, "logger": "t", "msg": tag, **extra}


@pytest.fixture
def mongo(mongo_service):
    """(make_store, database) in a fresh database, dropped afterwards."""
    name = f"das_test_{uuid.uuid4().hex[:12]}"
    client: MongoClient[dict[str, Any]] = MongoClient(mongo_service.uri, serverSelectionTimeoutMS=5000)
    made: list[MongoStore] = []

    def make(**options: Any) -> MongoStore:
        options = {"size_bytes": MiB, "db_name": name, "timeout_s": 1.0, **options}
        store = MongoStore(mongo_service.uri, **options)
        made.append(store)
        return store

    yield make, client[name]
    for store in made:
        store.close()
    client.drop_database(name)
    client.close()


def options_of(db, name: str = "db") -> dict[str, Any]:
    (info,) = db.list_collections(filter={"name": name})
    return dict(info.get("options", {}))


def test_open_creates_the_capped_collection_with_size_and_max(mongo):
    make, db = mongo
    store = make(size_bytes=2 * MiB, max_docs=500, db_coll="results")
    store.open()
    store.open()  # idempotent
    opts = options_of(db, "results")
    assert opts["capped"] is True and opts["size"] == 2 * MiB and opts["max"] == 500
    store.save_jobs([{"job_id": "j", "name": "n"}])
    assert not options_of(db, "results_jobs").get("capped")
    store.close()
    store.close()
    store.open()  # reopening an existing, matching collection is fine
    assert store.load_jobs() == [{"job_id": "j", "name": "n"}]


def test_the_query_indexes_exist(mongo):
    make, db = mongo
    make().open()
    info = db["db"].index_information()
    keys = {tuple(key for key, _ in spec["key"]) for spec in info.values()}
    assert keys >= {("seq",), ("type", "seq"), ("job_id", "index"), ("type", "outcome", "seq"), ("type", "time"),
                    ("parent",), ("logger", "seq"), ("classname",), ("name",)}  # fmt: skip
    assert info["seq_1"].get("unique") is True


def test_refuses_an_existing_collection_that_is_not_capped(mongo):
    make, db = mongo
    db.create_collection("db")
    db["db"].insert_one({"type": "log", "msg": "old"})
    store = make(size_bytes=3 * MiB)
    with pytest.raises(ConfigError) as caught:
        store.open()
    message = str(caught.value)
    assert f"{db.name}.db exists but is not capped" in message
    assert f"size={3 * MiB} (db_size)" in message and "--db-convert" in message
    assert store._client is None  # nothing left open
    assert db["db"].count_documents({}) == 1  # and nothing touched


def test_refuses_a_capped_collection_of_another_size(mongo):
    make, db = mongo
    db.create_collection("db", capped=True, size=MiB)
    with pytest.raises(ConfigError, match=f"is capped with size={MiB} max=0, while capped with size={2 * MiB}"):
        make(size_bytes=2 * MiB).open()
    with pytest.raises(ConfigError, match=r"max=0, while .* max=10 \(db_max_docs\)"):
        make(size_bytes=MiB, max_docs=10).open()


def test_db_convert_makes_an_existing_collection_capped_and_keeps_its_documents(mongo):
    make, db = mongo
    db.create_collection("db")
    db["db"].insert_many([log(f"old{i}", seq=i + 1) for i in range(5)])
    store = make(size_bytes=2 * MiB, convert=True)
    store.open()
    opts = options_of(db)
    assert opts["capped"] is True and opts["size"] == 2 * MiB
    assert [d["tag"] for d in store.find(Query()).items] == ["old4", "old3", "old2", "old1", "old0"]
    store.insert([log("new")])
    assert store.read_after(5)[0] == {**log("new"), "seq": 6}
    assert not db.list_collection_names(filter={"name": "db_convert"})


def test_db_convert_resizes_a_capped_collection(mongo):
    make, db = mongo
    db.create_collection("db", capped=True, size=MiB)
    db["db"].insert_one(log("kept", seq=1))
    store = make(size_bytes=4 * MiB, max_docs=100, convert=True)
    store.open()
    opts = options_of(db)
    assert (opts["capped"], opts["size"], opts["max"]) == (True, 4 * MiB, 100)
    assert [d["tag"] for d in store.read_after(0)] == ["kept"]


def test_an_unreachable_server_is_unavailable_quickly():
    store = MongoStore(f"mongodb://127.0.0.1:{services.free_port()}/", size_bytes=MiB, timeout_s=0.2)
    started = time.monotonic()
    with pytest.raises(StoreUnavailableError, match="open failed"):
        store.open()
    assert time.monotonic() - started < 3
    with pytest.raises(StoreError, match="not open"):
        store.insert([log("x")])


def test_bad_uri_and_options_are_refused():
    with pytest.raises(ConfigError, match="not a valid MongoDB URI"):
        MongoStore("mongodb://", size_bytes=MiB)
    with pytest.raises(ValueError, match="db_size"):
        MongoStore("mongodb://localhost/", size_bytes=0)
    with pytest.raises(ValueError, match="db_timeout"):
        MongoStore("mongodb://localhost/", size_bytes=MiB, timeout_s=0)


def test_factory_builds_a_tailable_protocol_store(mongo_service):
    store = open_store(mongo_service.uri, size_bytes=MiB, max_docs=3, db_name="n", db_coll="c", convert=True,
                       timeout_s=0.5)  # fmt: skip
    assert isinstance(store, MongoStore) and isinstance(store, Store) and isinstance(store, TailableStore)
    assert (store.kind, store.size_bytes, store.max_docs, store.db_name, store.db_coll, store.convert,
            store.timeout_s) == ("mongodb", MiB, 3, "n", "c", True, 0.5)  # fmt: skip
    assert "@" not in repr(open_store("mongodb://user:secret@127.0.0.1:1/", size_bytes=MiB))


def test_stats_name_the_server(mongo, mongo_service):
    make, _ = mongo
    store = make()
    store.open()
    server = store.stats()["server"]
    assert server["version"]
    assert bool(server["ferretdb"]) == mongo_service.description.startswith("FerretDB") or \
        mongo_service.kind == "uri"  # fmt: skip


def test_documents_that_cannot_be_stored_are_store_errors(mongo):
    make, _ = mongo
    store = make()
    store.open()
    with pytest.raises(StoreError, match="BSON"):
        store.insert([log("big", value=2**70)])
    with pytest.raises(StoreError, match="no string 'type'"):
        store.insert([{"msg": "untyped"}])
    with pytest.raises(StoreError, match="job_id"):
        store.save_jobs([{"name": "no id"}])


def test_a_retried_batch_is_stored_exactly_once(mongo, monkeypatch):
    """The server stored part of a batch but the reply was lost: the Journal retries it."""
    make, _ = mongo
    store = make()
    store.open()
    batch = [log(f"d{i}") for i in range(10)]
    original = MongoStore._insert_many

    def half_then_lost(coll, docs):
        original(coll, docs[:5])
        raise AutoReconnect("connection reset after the server applied the write")

    monkeypatch.setattr(MongoStore, "_insert_many", staticmethod(half_then_lost))
    with pytest.raises(StoreUnavailableError):
        store.insert(batch)
    monkeypatch.undo()
    later = log("later")
    assert store.insert([*batch, later]) == 11  # the Journal may retry with more documents behind
    items = store.read_after(0)
    assert [d["tag"] for d in items] == [*(f"d{i}" for i in range(10)), "later"]
    assert [d["seq"] for d in items] == list(range(1, 12))
    assert store.insert([log("d0")]) == 1  # an equal but new document is a new document
    assert store.last_seq() == 12


def test_tail_resumes_after_the_server_restarts(mongo, mongo_service):
    mongo_service.require_restartable("the tail across a server restart")
    make, _ = mongo
    store = make(timeout_s=0.3)
    store.open()
    stop = threading.Event()
    received: list[str] = []

    def consume() -> None:
        received.extend(doc["tag"] for doc in tail_documents(store, 0, None, stop, 0.05))

    consumer = threading.Thread(target=consume)
    consumer.start()
    try:
        store.insert([log("before")])
        _wait(lambda: received == ["before"])
        mongo_service.stop()
        mongo_service.start()
        after = log("after")  # one object: a retry keeps its seq, so it cannot be stored twice
        _wait(lambda: _inserted(store, after))
        _wait(lambda: received == ["before", "after"])
    finally:
        stop.set()
        consumer.join(10)
    assert not consumer.is_alive()


def _inserted(store: MongoStore, doc: dict[str, Any]) -> bool:
    try:
        return store.insert([doc]) == 1
    except StoreUnavailableError:
        return False


def _wait(check, deadline_s: float = 30.0) -> None:
    end = time.monotonic() + deadline_s
    while not check():
        if time.monotonic() > end:
            pytest.fail("timed out")
        time.sleep(0.05)
