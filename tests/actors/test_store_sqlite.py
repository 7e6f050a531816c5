"""The embedded SQLite store, on real files: filters, paging, capped eviction, jobs, threads."""

from __future__ import annotations

import json
import queue
import sqlite3
import threading
from typing import Any

import pytest

from actors.errors import StoreError, StoreUnavailableError
from actors.store import Store, open_store
from actors.store.base import Query
from actors.store.sqlite import SQLiteStore


def result(tag: str, *, job_id: str = "j1", index: int = 1, outcome: str = "ok", classname: str = "Sum",
           name: str = "sum", parent: list[str] | None = None, time: float = 1000.0) -> dict[str, Any]:  # fmt: skip
    return {"type": "result", "tag": tag, "time": time, "job_id": job_id, "index": index, "attempt": 0,
            "name": name, "classname": classname, "parent": parent or [], "outcome": outcome,
            "result": {"value": 1}, "notes": []}  # fmt: skip


def reslog(tag: str, *, job_id: str = "j1", index: int = 1, logger: str = "tasks.sum", level: int = 20,
           time: float = 1000.0, parent: list[str] | None = None) -> dict[str, Any]:  # fmt: skip
    return {"type": "reslog", "tag": tag, "time": time, "job_id": job_id, "index": index, "attempt": 0,
            "name": "sum", "classname": "Sum", "level": level, "levelname": "INFO", "logger": logger,
            "msg": f"line {tag}", "parent": parent or []}  # fmt: skip


def log(tag: str, *, logger: str = "actors.scheduler", level: int = 20, time: float = 1000.0) -> dict[str, Any]:
    return {"type": "log", "tag": tag, "time": time, "level": level, "levelname": "INFO", "logger": logger,
            "msg": f"message {tag}", "fields": {"k": tag}}  # fmt: skip


def body_size(doc: dict[str, Any]) -> int:
    stored = {k: v for k, v in doc.items() if k != "seq"}
    return len(json.dumps(stored, separators=(",", ":")))


def tags(store: SQLiteStore, query: Query) -> list[str]:
    return [item["tag"] for item in store.find(query).items]


@pytest.fixture
def store(tmp_path):
    s = SQLiteStore(tmp_path / "sub" / "dir" / "store.db", size_bytes=10_000_000)
    s.open()
    yield s
    s.close()


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


def test_open_creates_parent_dirs_wal_and_is_idempotent(tmp_path):
    path = tmp_path / "a" / "b" / "x.db"
    s = SQLiteStore(path, size_bytes=1000)
    s.open()
    s.open()
    assert path.exists()
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    s.close()
    s.close()
    with pytest.raises(StoreError, match="not open"):
        s.find(Query())


def test_factory_builds_a_protocol_conforming_store(tmp_path):
    s = open_store(f"sqlite:///{tmp_path}/f.db", size_bytes=1000, max_docs=5)
    assert isinstance(s, SQLiteStore)
    assert isinstance(s, Store)
    assert s.kind == "sqlite"
    assert (s.path, s.size_bytes, s.max_docs) == (f"{tmp_path}/f.db", 1000, 5)


def test_insert_returns_count_and_items_are_stored_dict_plus_seq(store):
    docs = [log("a"), result("b"), reslog("c")]
    assert store.insert(docs) == 3
    assert store.insert([]) == 0
    items = store.find(Query()).items
    assert [item["seq"] for item in items] == [3, 2, 1]
    assert [{k: v for k, v in item.items() if k != "seq"} for item in reversed(items)] == docs


def test_caller_supplied_seq_is_replaced(store):
    store.insert([{**log("a"), "seq": 999}])
    (item,) = store.find(Query()).items
    assert item["seq"] == 1
    assert store.last_seq() == 1


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (Query(), ["s3", "s2", "s1", "l2", "l1", "r5", "r4", "r3", "r2", "r1"]),
        (Query(type="result"), ["r5", "r4", "r3", "r2", "r1"]),
        (Query(type="reslog"), ["l2", "l1"]),
        (Query(type="log"), ["s3", "s2", "s1"]),
        (Query(type="nope"), []),
        (Query(job_id="j1"), ["l1", "r2", "r1"]),
        (Query(job_id="j1", index=2), ["l1", "r2"]),
        (Query(index=7), ["r5"]),
        (Query(outcome="ok"), ["r5", "r3", "r1"]),
        (Query(type="result", outcome="failed"), ["r2"]),
        (Query(classname="Avg"), ["r4", "r3"]),
        (Query(name="avg"), ["r3"]),
        (Query(since=200.0, until=300.0), ["s2", "l2", "l1", "r3", "r2"]),
        (Query(since=450.0), ["r5"]),
        (Query(until=150.0), ["s1", "r1"]),
        (Query(min_level=30), ["s2", "l1"]),
        (Query(type="log", min_level=20), ["s2", "s1"]),
        (Query(job_id="j2", type="reslog", min_level=10), ["l2"]),
        (Query(classname="Sum", outcome="ok"), ["r1"]),
    ],
)
def test_find_filters_are_anded(corpus, query, expected):
    assert tags(corpus, query) == expected
    assert corpus.find(query).total == len(expected)


@pytest.mark.parametrize(
    ("ancestor", "expected"),
    [("root", ["l2", "r5", "r4", "r3"]), ("mid", ["r5", "r4"]), ("leafparent", ["r5"]),
     ("roo", []), ("mi", []), ("j1", [])],
)  # fmt: skip
def test_parent_matches_any_ancestor_in_the_chain_exactly(corpus, ancestor, expected):
    assert tags(corpus, Query(parent=ancestor)) == expected


def test_run_columns_match_results_only_and_missing_fields_are_fine(store):
    store.insert([{"type": "log", "tag": "odd", "name": "n", "classname": "C", "outcome": "ok", "index": 3},
                  {"type": "result", "tag": "run", "name": "n", "classname": "C", "outcome": "ok"},
                  {"type": "log", "tag": "bare"}])  # fmt: skip
    for query in (Query(name="n"), Query(classname="C"), Query(outcome="ok")):
        assert tags(store, query) == ["run"]  # outcome/class/name describe runs: result documents only
    assert tags(store, Query(index=3)) == ["odd"]
    assert tags(store, Query(min_level=0)) == []
    assert tags(store, Query(since=0.0)) == []
    assert tags(store, Query(type="log")) == ["bare", "odd"]
    assert tags(store, Query(type="log", name="n")) == []


def test_parent_combines_with_other_filters(corpus):
    assert tags(corpus, Query(parent="root", type="result", outcome="ok")) == ["r5", "r3"]


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [
        ("a.b", ["a.b.c", "a.b"]),
        ("a", ["a.bc", "a.b.c", "a.b", "a"]),
        ("a.b.c", ["a.b.c"]),
        ("a%b", ["a%b.x"]),
        ("a_b", ["a_b.x"]),
        ("A.b", ["A.b.c"]),
        ("b", []),
    ],
)
def test_logger_prefix_matches_itself_and_dotted_descendants_only(store, prefix, expected):
    loggers = ["a", "a.b", "a.b.c", "a.bc", "a-b", "ab", "x.a.b", "A.b.c", "a%b.x", "aXb.x", "a_b.x", "azb.x"]
    store.insert([log(name, logger=name) for name in loggers])
    assert tags(store, Query(logger_prefix=prefix)) == expected


def test_newest_first_paging_with_real_totals(store):
    store.insert([log(f"d{i}", time=float(i)) for i in range(25)])
    first = store.find(Query(type="log", limit=10))
    assert [item["tag"] for item in first.items] == [f"d{i}" for i in range(24, 14, -1)]
    assert (first.total, first.more) == (25, True)
    last = store.find(Query(type="log", limit=10, offset=20))
    assert [item["tag"] for item in last.items] == [f"d{i}" for i in range(4, -1, -1)]
    assert (last.total, last.more) == (25, False)
    exact = store.find(Query(limit=5, offset=20))
    assert (len(exact.items), exact.more) == (5, False)
    beyond = store.find(Query(limit=10, offset=30))
    assert (beyond.items, beyond.total, beyond.more) == ([], 25, False)
    counted = store.find(Query(limit=0))
    assert (counted.items, counted.total, counted.more) == ([], 25, True)
    filtered = store.find(Query(since=10.0, limit=3, offset=3))
    assert [item["tag"] for item in filtered.items] == ["d21", "d20", "d19"]
    assert (filtered.total, filtered.more) == (15, True)


@pytest.mark.parametrize("query", [Query(limit=-1), Query(offset=-1)])
def test_find_rejects_negative_paging(store, query):
    with pytest.raises(ValueError, match="limit and offset"):
        store.find(query)


def test_capped_by_bytes_evicts_oldest_minimally(tmp_path):
    s = SQLiteStore(tmp_path / "c.db", size_bytes=2000)
    s.open()
    docs = [log(f"d{i:03d}", time=float(i)) for i in range(60)]
    sizes = [body_size(doc) for doc in docs]
    for start in range(0, 60, 7):
        s.insert(docs[start : start + 7])
        assert s.stats()["bytes"] <= 2000
    items = s.find(Query(limit=1000)).items
    kept = sorted(item["seq"] for item in items)
    stats = s.stats()
    assert kept == list(range(kept[0], 61))  # the newest, contiguous
    assert kept[0] > 1  # the oldest are gone
    assert stats["docs"] == len(kept)
    assert stats["bytes"] == sum(sizes[seq - 1] for seq in kept) <= 2000
    assert stats["evicted"] == 60 - len(kept)
    # Minimal: keeping the newest evicted document too would have exceeded the capacity.
    assert stats["bytes"] + sizes[kept[0] - 2] > 2000
    s.close()


def test_capped_by_max_docs(tmp_path):
    s = SQLiteStore(tmp_path / "m.db", size_bytes=10_000_000, max_docs=10)
    s.open()
    for start in range(0, 25, 8):
        s.insert([log(f"d{i}") for i in range(start, min(start + 8, 25))])
        assert s.stats()["docs"] <= 10
    page = s.find(Query(limit=100))
    assert [item["seq"] for item in page.items] == list(range(25, 15, -1))
    assert page.total == 10
    assert s.stats()["evicted"] == 15
    s.close()


def test_large_eviction_spanning_many_chunks(tmp_path):
    size = body_size(log("00000"))  # every document below has this size
    s = SQLiteStore(tmp_path / "big.db", size_bytes=100 * size + size // 2)
    s.open()
    s.insert([log(f"{i:05d}") for i in range(20_000)])
    stats = s.stats()
    assert (stats["docs"], stats["bytes"], stats["evicted"]) == (100, 100 * size, 19_900)
    assert s.find(Query(limit=0)).total == 100
    assert [d["tag"] for d in s.read_after(0, limit=1)] == ["19900"]
    s.close()
    m = SQLiteStore(tmp_path / "bigm.db", size_bytes=10**9, max_docs=300)
    m.open()
    m.insert([log("x") for _ in range(20_000)])
    assert (m.stats()["docs"], m.stats()["evicted"], m.read_after(0, limit=1)[0]["seq"]) == (300, 19_700, 19_701)
    m.close()


def test_parent_side_table_is_cleaned_on_eviction(tmp_path):
    s = SQLiteStore(tmp_path / "p.db", size_bytes=10_000_000, max_docs=3)
    s.open()
    s.insert([result(f"r{i}", parent=["root", f"p{i}"]) for i in range(6)])
    assert tags(s, Query(parent="root")) == ["r5", "r4", "r3"]
    assert tags(s, Query(parent="p1")) == []
    s.close()
    with sqlite3.connect(tmp_path / "p.db") as raw:
        rows = raw.execute("SELECT seq, ancestor FROM doc_parents ORDER BY seq, ancestor").fetchall()
    assert rows == [(4, "p3"), (4, "root"), (5, "p4"), (5, "root"), (6, "p5"), (6, "root")]


def test_seq_is_never_reused_after_eviction_even_of_everything(tmp_path):
    s = SQLiteStore(tmp_path / "s.db", size_bytes=300)
    s.open()
    s.insert([log("a"), log("b")])
    assert s.last_seq() == 2
    s.insert([{**log("huge"), "msg": "x" * 1000}])  # larger than the whole capacity
    assert (s.stats()["docs"], s.last_seq()) == (0, 0)
    s.insert([log("c")])
    assert s.last_seq() == 4
    s.close()
    s.open()
    s.insert([log("d")])
    assert [item["seq"] for item in s.find(Query()).items] == [5, 4]
    s.close()


def test_read_after_is_oldest_first_with_type_filter_and_limit(corpus):
    assert [d["tag"] for d in corpus.read_after(0)][:3] == ["r1", "r2", "r3"]
    assert [d["seq"] for d in corpus.read_after(7)] == [8, 9, 10]
    assert [d["tag"] for d in corpus.read_after(0, types=["log", "reslog"])] == ["l1", "l2", "s1", "s2", "s3"]
    assert [d["tag"] for d in corpus.read_after(6, types={"reslog"})] == ["l2"]
    assert [d["tag"] for d in corpus.read_after(0, types="log", limit=2)] == ["s1", "s2"]
    assert corpus.read_after(0, types=[]) == []
    assert corpus.read_after(10) == []


def test_last_seq(store):
    assert store.last_seq() == 0
    store.insert([log("a"), log("b"), log("c")])
    assert store.last_seq() == 3


def test_jobs_upsert_load_delete(store):
    assert store.load_jobs() == []
    store.save_jobs([{"job_id": "a", "state": "scheduled"}, {"job_id": "b", "n": [1, {"x": None}]}])
    store.save_jobs([{"job_id": "a", "state": "running"}, {"job_id": "c", "state": "waiting"}])
    assert store.load_jobs() == [
        {"job_id": "a", "state": "running"}, {"job_id": "b", "n": [1, {"x": None}]},
        {"job_id": "c", "state": "waiting"},
    ]  # fmt: skip
    store.delete_jobs(["b", "unknown"])
    store.delete_jobs([])
    assert [job["job_id"] for job in store.load_jobs()] == ["a", "c"]
    with pytest.raises(StoreError, match="job_id"):
        store.save_jobs([{"state": "x"}])


def test_jobs_are_never_evicted(tmp_path):
    s = SQLiteStore(tmp_path / "j.db", size_bytes=200, max_docs=1)
    s.open()
    s.save_jobs([{"job_id": f"j{i}", "pad": "x" * 500} for i in range(5)])
    s.insert([log(f"d{i}") for i in range(5)])
    assert len(s.load_jobs()) == 5
    s.close()


def test_jobs_docs_and_totals_survive_reopen(tmp_path):
    path = tmp_path / "r.db"
    first = SQLiteStore(path, size_bytes=3000)
    first.open()
    first.insert([log(f"d{i}") for i in range(10)])
    first.save_jobs([{"job_id": "keep", "interval": 60}])
    before = first.stats()
    first.close()

    second = SQLiteStore(path, size_bytes=3000)
    second.open()
    assert second.stats() == before
    assert second.load_jobs() == [{"job_id": "keep", "interval": 60}]
    assert second.find(Query(limit=0)).total == 10
    assert second.last_seq() == 10
    second.insert([log(f"e{i}") for i in range(40)])  # only right if the byte total was re-read
    stats = second.stats()
    assert 3000 - body_size(log("d0")) < stats["bytes"] <= 3000
    assert stats["evicted"] == 50 - stats["docs"] > 0
    assert stats["bytes"] == sum(body_size(item) for item in second.find(Query(limit=1000)).items)
    second.close()

    third = SQLiteStore(path, size_bytes=3000)
    third.open()
    assert third.stats()["evicted"] == stats["evicted"]  # the counter persists too
    third.close()


def test_reopening_with_a_smaller_capacity_evicts_at_open(tmp_path):
    path = tmp_path / "shrink.db"
    big = SQLiteStore(path, size_bytes=10_000)
    big.open()
    big.insert([log(f"d{i}") for i in range(20)])
    big.close()
    small = SQLiteStore(path, size_bytes=10_000, max_docs=5)
    small.open()
    assert [item["tag"] for item in small.find(Query()).items] == ["d19", "d18", "d17", "d16", "d15"]
    assert small.stats()["evicted"] == 15
    small.close()


def test_reader_thread_sees_writer_thread_commits(store):
    written: queue.Queue[int] = queue.Queue()
    acked: queue.Queue[int] = queue.Queue()
    errors: list[BaseException] = []
    observed: list[tuple[int, int, list[int]]] = []

    def writer():  # lockstep: the next batch only after the reader looked at this one
        try:
            for batch in range(5):
                store.insert([log(f"b{batch}-{i}") for i in range(100)])
                written.put(batch)
                acked.get(timeout=30)
        except BaseException as exc:
            errors.append(exc)
        finally:
            written.put(-1)

    def reader():
        try:
            while (batch := written.get(timeout=30)) >= 0:
                tail = [d["seq"] for d in store.read_after(batch * 100, limit=1000)]
                observed.append((batch, store.find(Query(type="log", limit=0)).total, tail))
                acked.put(batch)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer), threading.Thread(target=reader)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors
    assert [(batch, total) for batch, total, _ in observed] == [(b, (b + 1) * 100) for b in range(5)]
    for batch, _, tail in observed:
        assert tail == list(range(batch * 100 + 1, batch * 100 + 101))


@pytest.mark.parametrize(
    ("kwargs", "option"),
    [
        ({"size_bytes": 0}, "db_size"),
        ({"size_bytes": -5}, "db_size"),
        ({"size_bytes": 1.5}, "db_size"),
        ({"size_bytes": True}, "db_size"),
        ({"size_bytes": "100"}, "db_size"),
        ({"size_bytes": 100, "max_docs": -1}, "db_max_docs"),
        ({"size_bytes": 100, "max_docs": 2.0}, "db_max_docs"),
    ],
)
def test_constructor_validation_names_the_option(tmp_path, kwargs, option):
    with pytest.raises(ValueError, match=rf"{option} .*{kwargs.get('max_docs', kwargs['size_bytes'])!r}"):
        SQLiteStore(tmp_path / "v.db", **kwargs)


def test_unicode_and_nested_documents_round_trip(store):
    doc = {
        "type": "result", "job_id": "ユニ", "time": 1.25, "outcome": "ok", "classname": "Ünï", "name": "名前",
        "parent": ["père", "🚀"], "result": {"nested": {"deep": [1, 2.5, None, True, {"k": "ß"}]},
                                              "emoji": "✓🚀", "empty": {}, "list": []},
        "notes": ["naïve"],
    }  # fmt: skip
    store.insert([doc])
    (item,) = store.find(Query(job_id="ユニ", classname="Ünï", name="名前", parent="🚀")).items
    assert item == {**doc, "seq": 1}
    assert store.read_after(0) == [item]


def test_bad_documents_raise_store_error_and_store_nothing(store):
    store.insert([log("ok")])
    before = store.stats()
    with pytest.raises(StoreError, match="type"):
        store.insert([log("a"), {"time": 1.0, "msg": "no type"}])
    with pytest.raises(StoreError, match="JSON"):
        store.insert([log("b"), {**log("c"), "fields": {"x": object()}}])
    assert store.stats() == before
    assert store.last_seq() == 1


def test_unreachable_file_raises_store_unavailable(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    s = SQLiteStore(blocker / "x.db", size_bytes=100)
    with pytest.raises(StoreUnavailableError, match="open"):
        s.open()
    with pytest.raises(StoreError, match="not open"):
        s.insert([log("a")])


def test_not_a_database_raises_store_error(tmp_path):
    path = tmp_path / "garbage.db"
    path.write_bytes(b"this is not sqlite" * 100)
    s = SQLiteStore(path, size_bytes=100)
    with pytest.raises(StoreError) as info:
        s.open()
    assert not isinstance(info.value, StoreUnavailableError)


def test_stats_shape(tmp_path):
    s = SQLiteStore(tmp_path / "st.db", size_bytes=5000, max_docs=7)
    s.open()
    s.insert([log("a")])
    assert s.stats() == {
        "kind": "sqlite", "docs": 1, "bytes": body_size(log("a")), "capacity_bytes": 5000, "max_docs": 7,
        "evicted": 0, "path": str(tmp_path / "st.db"),
    }  # fmt: skip
    s.close()
