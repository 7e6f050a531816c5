"""One contract for every store backend: the same tests on SQLite (a temp file) and on MongoDB.

The MongoDB variant runs on a real server (tests/services.py: MONGO_URI, mongod or
FerretDB 1.24), one fresh database per test. Waits are polling loops with deadlines.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from pymongo import MongoClient

from actors.journal import Journal, JournalConfig
from actors.messages import GetStatus, Records
from actors.routing import Directory
from actors.store.base import Query, Store, TailableStore, poll_tail, tail_documents
from actors.store.mongo import MongoStore
from actors.store.sqlite import SQLiteStore

DEADLINE_S = 60.0


def result(tag: str, *, job_id: str = "j1", index: int = 1, outcome: str = "ok", classname: str = "Sum",
           name: str = "sum", parent: list[str] | None = None, time: float = 1000.0) -> dict[str, Any]:  # fmt: skip
    return {"type": "result", "tag": tag, "time": time, "job_id": job_id, "index": index, "attempt": 0,
            "name": name, "classname": classname, "parent": parent or [], "outcome": outcome,
            "result": {"value": 1, "nested": {"list": [1, 2.5, None, True, "é"]}}, "notes": []}  # fmt: skip


def reslog(tag: str, *, job_id: str = "j1", index: int = 1, logger: str = "tasks.sum", level: int = 20,
           time: float = 1000.0, parent: list[str] | None = None) -> dict[str, Any]:  # fmt: skip
    return {"type": "reslog", "tag": tag, "time": time, "job_id": job_id, "index": index, "attempt": 0,
            "name": "sum", "classname": "Sum", "level": level, "levelname": "INFO", "logger": logger,
            "msg": f"line {tag}", "parent": parent or []}  # fmt: skip


def log(tag: str, *, logger: str = "actors.scheduler", level: int = 20, time: float = 1000.0,
        pad: int = 0) -> dict[str, Any]:  # fmt: skip
    return {"type": "log", "tag": tag, "time": time, "level": level, "levelname": "INFO", "logger": logger,
            "msg": f"message {tag}" + "x" * pad, "fields": {"k": tag}}  # fmt: skip


def tags(store: Store, query: Query) -> list[str]:
    return [item["tag"] for item in store.find(query).items]


def wait_for(what: str, check: Callable[[], Any], deadline_s: float = DEADLINE_S, every_s: float = 0.05) -> Any:
    """Poll *check* until it returns something truthy; fail with *what* at the deadline."""
    end = time.monotonic() + deadline_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > end:
            pytest.fail(f"timed out after {deadline_s:g}s waiting for {what}")
        time.sleep(every_s)


class Backend:
    """Builds stores of one backend at one location, and can take that location away."""

    def __init__(self, name: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
        self.name = name
        self.opened: list[Store] = []
        self.path = tmp_path / "store.db"
        self.service: Any = None
        if name == "mongo":
            self.service = request.getfixturevalue("mongo_service")
            self.db_name = f"das_test_{uuid.uuid4().hex[:12]}"

    def make(self, *, size_bytes: int = 10_000_000, max_docs: int = 0, open_: bool = True) -> Store:
        store: Store
        if self.name == "sqlite":
            store = SQLiteStore(self.path, size_bytes=size_bytes, max_docs=max_docs)
        else:
            store = MongoStore(self.service.uri, size_bytes=size_bytes, max_docs=max_docs, db_name=self.db_name,
                               timeout_s=0.5)  # fmt: skip
        if open_:
            store.open()
        self.opened.append(store)
        return store

    @contextmanager
    def outage(self, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Callable[[], None], Callable[[], None]]]:
        """(down, up): stop the server process / hold an exclusive SQLite lock, and undo it."""
        if self.name == "mongo":
            self.service.require_restartable("the outage test")
            try:
                yield self.service.stop, self.service.start
            finally:
                self.service.start()
            return
        original = SQLiteStore._connect

        def quick_busy(store: SQLiteStore, path: str | None = None) -> sqlite3.Connection:
            conn = original(store, path)
            conn.execute("PRAGMA busy_timeout = 20")  # fail fast while the lock is held
            return conn

        monkeypatch.setattr(SQLiteStore, "_connect", quick_busy)
        locker = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)

        def down() -> None:
            locker.execute("BEGIN EXCLUSIVE")

        def up() -> None:
            if locker.in_transaction:
                locker.execute("ROLLBACK")

        try:
            yield down, up
        finally:
            up()
            locker.close()

    def cleanup(self) -> None:
        for store in self.opened:
            store.close()
        if self.name == "mongo":
            client: MongoClient[dict[str, Any]] = MongoClient(self.service.uri, serverSelectionTimeoutMS=5000)
            try:
                client.drop_database(self.db_name)
            finally:
                client.close()


@pytest.fixture(params=["sqlite", "mongo"])
def backend(request, tmp_path):
    made = Backend(request.param, request, tmp_path)
    yield made
    made.cleanup()


@pytest.fixture
def store(backend):
    return backend.make()


@pytest.fixture
def corpus(store):
    store.insert([
        result("r1", job_id="j1", index=1, outcome="ok", classname="Sum", name="sum", time=100.0),
        result("r2", job_id="j1", index=2, outcome="failed", classname="Sum", name="sum", time=200.0),
        result("r3", job_id="j2", index=1, outcome="ok", classname="Avg", name="avg", time=300.0,
               parent=["root"]),
        result("r4", job_id="j3", index=1, outcome="timeout", classname="Avg", name="avg2", time=400.0,
               parent=["root", "mid"]),
        result("r5", job_id="j4", index=7, outcome="ok", classname="Leaf", name="leaf", time=500.0,
               parent=["root", "mid", "leafparent"]),
        reslog("l1", job_id="j1", index=2, logger="tasks.sum", level=40, time=200.0),
        reslog("l2", job_id="j2", index=1, logger="tasks.avg", level=10, time=300.0, parent=["root"]),
        log("s1", logger="actors.scheduler", level=20, time=150.0),
        log("s2", logger="actors.scheduler.timer", level=30, time=250.0),
        log("s3", logger="actors.web", level=10, time=350.0),
    ])  # fmt: skip
    return store


# -- documents ------------------------------------------------------------------------------


def test_insert_stores_copies_plus_seq(store):
    docs = [log("a"), result("b"), reslog("c"), {**log("d"), "seq": 999}]
    before = json.dumps(docs)
    assert store.insert(docs) == 4
    assert store.insert([]) == 0
    assert json.dumps(docs) == before, "the caller's documents must not be modified"
    items = store.find(Query()).items
    assert [item["seq"] for item in items] == [4, 3, 2, 1]
    assert all("_id" not in item for item in items)
    expected = [{k: v for k, v in doc.items() if k != "seq"} for doc in docs]
    assert [{k: v for k, v in item.items() if k != "seq"} for item in reversed(items)] == expected
    assert store.last_seq() == 4


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (Query(), ["s3", "s2", "s1", "l2", "l1", "r5", "r4", "r3", "r2", "r1"]),
        (Query(type="result"), ["r5", "r4", "r3", "r2", "r1"]),
        (Query(type="reslog"), ["l2", "l1"]),
        (Query(type="nope"), []),
        (Query(job_id="j1"), ["l1", "r2", "r1"]),
        (Query(job_id="j1", index=2), ["l1", "r2"]),
        (Query(index=7), ["r5"]),
        (Query(outcome="ok"), ["r5", "r3", "r1"]),
        (Query(type="result", outcome="failed"), ["r2"]),
        (Query(classname="Avg"), ["r4", "r3"]),
        (Query(name="avg"), ["r3"]),
        (Query(parent="root"), ["l2", "r5", "r4", "r3"]),
        (Query(parent="mid"), ["r5", "r4"]),
        (Query(parent="roo"), []),
        (Query(parent="root", type="result", outcome="ok"), ["r5", "r3"]),
        (Query(since=200.0, until=300.0), ["s2", "l2", "l1", "r3", "r2"]),
        (Query(since=450.0), ["r5"]),
        (Query(until=150.0), ["s1", "r1"]),
        (Query(min_level=30), ["s2", "l1"]),
        (Query(type="log", min_level=20), ["s2", "s1"]),
        (Query(logger_prefix="actors.scheduler"), ["s2", "s1"]),
        (Query(logger_prefix="actors"), ["s3", "s2", "s1"]),
        (Query(logger_prefix="actors.sched"), []),
        (Query(job_id="j2", type="reslog", min_level=10), ["l2"]),
        (Query(classname="Sum", outcome="ok"), ["r1"]),
    ],
)
def test_find_filters_are_anded_newest_first_with_totals(corpus, query, expected):
    page = corpus.find(query)
    assert [item["tag"] for item in page.items] == expected
    assert (page.total, page.more) == (len(expected), False)


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [("a.b", ["a.b.c", "a.b"]), ("a", ["a.bc", "a.b.c", "a.b", "a"]), ("a%b", ["a%b.x"]), ("a_b", ["a_b.x"]),
     ("a.*", []), ("a+b", ["a+b.c"]), ("A.b", ["A.b.c"]), ("b", [])],
)  # fmt: skip
def test_logger_prefix_is_the_name_or_its_dotted_descendants_escaped(store, prefix, expected):
    loggers = ["a", "a.b", "a.b.c", "a.bc", "a-b", "ab", "x.a.b", "A.b.c", "a%b.x", "aXb.x", "a_b.x", "a+b.c",
               "aab.c"]  # fmt: skip
    store.insert([log(name, logger=name) for name in loggers])
    assert tags(store, Query(logger_prefix=prefix)) == expected


def test_paging_newest_first_with_real_totals_and_more(store):
    store.insert([log(f"d{i}", time=float(i)) for i in range(25)])
    first = store.find(Query(type="log", limit=10))
    assert [item["tag"] for item in first.items] == [f"d{i}" for i in range(24, 14, -1)]
    assert (first.total, first.more) == (25, True)
    last = store.find(Query(type="log", limit=10, offset=20))
    assert [item["tag"] for item in last.items] == [f"d{i}" for i in range(4, -1, -1)]
    assert (last.total, last.more) == (25, False)
    beyond = store.find(Query(limit=10, offset=30))
    assert (beyond.items, beyond.total, beyond.more) == ([], 25, False)
    counted = store.find(Query(limit=0))
    assert (counted.items, counted.total, counted.more) == ([], 25, True)
    filtered = store.find(Query(since=10.0, limit=3, offset=3))
    assert [item["tag"] for item in filtered.items] == ["d21", "d20", "d19"]
    assert (filtered.total, filtered.more) == (15, True)
    with pytest.raises(ValueError):
        store.find(Query(limit=-1))


def test_read_after_oldest_first_with_types_and_limit(corpus):
    assert [d["tag"] for d in corpus.read_after(0, limit=3)] == ["r1", "r2", "r3"]
    assert [d["tag"] for d in corpus.read_after(5, ["log", "reslog"])] == ["l1", "l2", "s1", "s2", "s3"]
    assert [d["tag"] for d in corpus.read_after(7, "log")] == ["s1", "s2", "s3"]
    assert corpus.read_after(0, []) == []
    assert corpus.read_after(10) == []
    assert corpus.last_seq() == 10


# -- capped collection ------------------------------------------------------------------------


def _newest_kept(store: Store, inserted: int) -> list[int]:
    seqs = [doc["seq"] for doc in store.read_after(0, limit=100_000)]
    assert seqs, "a capped store keeps the newest documents"
    assert seqs == list(range(seqs[0], inserted + 1)), "only the oldest are evicted, in insertion order"
    return seqs


def test_capped_by_size_evicts_the_oldest(backend):
    """MongoDB and SQLite evict on insert; FerretDB in a periodic cleanup: wait for it."""
    capacity = 64 * 1024
    store = backend.make(size_bytes=capacity)
    for batch in range(4):
        store.insert([log(f"{batch}-{i}", pad=500) for i in range(100)])
    settled = wait_for("the store to fit its capacity",
                       lambda: (s := store.stats())["bytes"] <= capacity and s["docs"] < 400 and s)  # fmt: skip
    seqs = _newest_kept(store, 400)
    assert seqs[-1] == 400 and len(seqs) == settled["docs"] < 400
    assert store.find(Query(limit=1)).items[0]["tag"] == "3-99"


def test_capped_by_max_docs_keeps_exactly_the_newest(backend):
    store = backend.make(max_docs=50)
    for batch in range(3):
        store.insert([log(f"{batch}-{i}") for i in range(40)])
    wait_for("eviction down to max_docs", lambda: store.stats()["docs"] <= 50)
    assert _newest_kept(store, 120) == list(range(71, 121))
    assert store.find(Query()).total == 50


def test_size_accounting_in_stats(backend):
    capacity = 256 * 1024
    store = backend.make(size_bytes=capacity, max_docs=300)
    empty = store.stats()
    assert (empty["kind"], empty["docs"], empty["evicted"]) == (store.kind, 0, 0)
    assert (empty["capacity_bytes"], empty["max_docs"]) == (capacity, 300)
    docs = [log(str(i), pad=100) for i in range(200)]
    store.insert(docs)
    stats = store.stats()
    body = sum(len(json.dumps(doc, separators=(",", ":"))) for doc in docs)
    assert stats["docs"] == 200 and stats["evicted"] == 0
    # JSON bodies (SQLite), BSON sizes (MongoDB) or SQLite pages (FerretDB): same order of magnitude.
    assert body // 2 <= stats["bytes"] <= 3 * body + 16 * 1024, (stats, body)
    store.insert([log(f"more{i}", pad=100) for i in range(200)])
    settled = wait_for("max_docs cleanup", lambda: (s := store.stats())["docs"] <= 300 and s)
    assert settled["docs"] == 300 and settled["docs"] + settled["evicted"] == 400
    assert settled["docs"] == store.find(Query(limit=0)).total


# -- jobs and restarts ------------------------------------------------------------------------


def test_schedule_and_seq_persist_across_restart(backend):
    store = backend.make()
    store.save_jobs([{"job_id": "a", "name": "A", "kwargs": {"x": [1, 2]}, "next_due": 10.5},
                     {"job_id": "b", "name": "B", "kwargs": {}, "next_due": 20.0},
                     {"job_id": "c", "name": "C", "kwargs": {}, "next_due": 30.0}])  # fmt: skip
    store.save_jobs([{"job_id": "b", "name": "B2", "kwargs": {"y": None}, "next_due": 25.0}])
    store.delete_jobs(["c", "unknown"])
    store.insert([log("before1"), log("before2")])
    store.close()
    again = backend.make()
    assert sorted(again.load_jobs(), key=lambda job: job["job_id"]) == [
        {"job_id": "a", "name": "A", "kwargs": {"x": [1, 2]}, "next_due": 10.5},
        {"job_id": "b", "name": "B2", "kwargs": {"y": None}, "next_due": 25.0},
    ]
    again.insert([log("after")])
    assert [(d["tag"], d["seq"]) for d in again.read_after(0)] == [("before1", 1), ("before2", 2), ("after", 3)]
    again.save_jobs([])
    again.delete_jobs([])


def test_iter_jobs_streams_every_record_once_in_batches(backend):
    store = backend.make()
    store.save_jobs([{"job_id": f"j{i:03d}", "name": f"J{i}", "n": i} for i in range(23)])
    store.delete_jobs(["j005"])
    streamed = list(store.iter_jobs(batch=4))
    assert sorted(job["job_id"] for job in streamed) == sorted(job["job_id"] for job in store.load_jobs())
    assert len(streamed) == 22 and len({job["job_id"] for job in streamed}) == 22
    assert all("_id" not in job for job in streamed)


# -- live tail --------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["tail_documents", "poll_tail"])
def test_live_tail_yields_new_documents_in_order_until_stopped(backend, how):
    store = backend.make()
    store.insert([reslog("old1"), log("old2")])
    after = store.last_seq()
    assert isinstance(store, TailableStore) == (backend.name == "mongo")
    stop = threading.Event()
    watchdog = threading.Timer(DEADLINE_S, stop.set)
    watchdog.start()
    tail = tail_documents if how == "tail_documents" else poll_tail
    received: list[dict[str, Any]] = []
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            for i in range(30):
                store.insert([reslog(f"n{i}a"), log(f"sys{i}"), reslog(f"n{i}b")])
                time.sleep(0.002)  # pacing only: spread the writes over the tail's polls
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        for doc in tail(store, after, ["reslog"], stop, 0.05):
            received.append(doc)
            if len(received) == 60:
                stop.set()
    finally:
        watchdog.cancel()
    thread.join(DEADLINE_S)
    assert not errors
    expected = [f"n{i}{part}" for i in range(30) for part in "ab"]
    assert [doc["tag"] for doc in received] == expected
    seqs = [doc["seq"] for doc in received]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs) and seqs[0] > after
    assert all("_id" not in doc for doc in received)


def test_live_tail_starts_on_an_empty_store_and_stop_ends_it(backend):
    store = backend.make()
    stop = threading.Event()
    received: list[str] = []

    def consume() -> None:
        received.extend(doc["tag"] for doc in tail_documents(store, 0, None, stop, 0.05))

    consumer = threading.Thread(target=consume)
    consumer.start()
    store.insert([log("first")])
    wait_for("the first document", lambda: received == ["first"])
    store.insert([log("second"), result("third")])
    wait_for("the next two", lambda: received == ["first", "second", "third"])
    started = time.monotonic()
    stop.set()
    consumer.join(10)
    assert not consumer.is_alive() and time.monotonic() - started < 5


# -- outage -----------------------------------------------------------------------------------


def test_outage_replay_stores_every_document_exactly_once(backend, monkeypatch):
    """A real Journal gets 1,000 task log lines while the store goes away and comes back."""
    store = backend.make()
    job_id = f"outage-{uuid.uuid4().hex[:8]}"
    expected = {f"line {i}" for i in range(1000)}
    with backend.outage(monkeypatch) as (down, up):
        journal = Journal.start(store, JournalConfig(flush_interval_s=0.02, echo_task_logs=False), Directory())
        try:

            def stats() -> dict[str, Any]:
                answer = journal.ask(GetStatus(), timeout=30)
                assert isinstance(answer, dict)
                return answer

            def send(first: int, last: int) -> None:
                for start in range(first, last, 10):
                    docs = [{**reslog(str(i), job_id=job_id), "msg": f"line {i}"} for i in range(start, start + 10)]
                    journal.tell(Records(docs))

            send(0, 300)
            wait_for("the first 300 written", lambda: stats()["written"] >= 300)
            down()
            sender = threading.Thread(target=send, args=(300, 1000))
            sender.start()
            wait_for("a failed write", lambda: stats()["failed_writes"] >= 2)
            sender.join(DEADLINE_S)
            up()
            final = wait_for("all 1,000 written",
                             lambda: (s := stats())["written"] == 1000 and s["buffered"] == 0 and s)  # fmt: skip
        finally:
            journal.stop(timeout=30)
    assert final["failed_writes"] > 0 and final["dropped"] == 0 and final["outage_since"] is None
    page = store.find(Query(type="reslog", job_id=job_id, limit=5000))
    msgs = [item["msg"] for item in page.items]
    assert page.total == len(msgs) == 1000, "every line stored exactly once"
    assert set(msgs) == expected


def test_results_filter_by_the_tags_of_their_job(store):
    store.insert([{**result("a"), "tags": ["nightly", "cms"]}, {**result("b"), "tags": ["cms"]}, result("c"),
                  {**reslog("l1"), "tags": ["cms"]}])
    assert tags(store, Query(type="result", tag="cms")) == ["b", "a"]
    assert tags(store, Query(type="result", tag="nightly")) == ["a"]
    assert store.find(Query(type="result", tag="none")).total == 0
    assert store.find(Query(type="result", tag="cms", job_id="j1", limit=1)).total == 2
