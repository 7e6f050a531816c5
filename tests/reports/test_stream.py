"""`Store.iter_rows` (both backends) and the `find` paging fallback: every match once, projected."""

from __future__ import annotations

import uuid

import pytest
from pymongo import MongoClient

from actors.store.base import Query, Store
from actors.store.mongo import MongoStore
from actors.store.sqlite import SQLiteStore
from reports.base import ReportContext, rows_by_pages
from tests.reports.docs import NOW, event, result


@pytest.fixture(params=["sqlite", "mongo"])
def any_store(request, tmp_path):
    if request.param == "sqlite":
        opened: Store = SQLiteStore(tmp_path / "s.db", size_bytes=50_000_000)
        opened.open()
        yield opened
        opened.close()
        return
    service = request.getfixturevalue("mongo_service")
    name = f"das_test_{uuid.uuid4().hex[:12]}"
    opened = MongoStore(service.uri, size_bytes=50_000_000, db_name=name, timeout_s=2.0)
    opened.open()
    yield opened
    opened.close()
    client: MongoClient = MongoClient(service.uri, serverSelectionTimeoutMS=5000)
    try:
        client.drop_database(name)
    finally:
        client.close()


def fill(store: Store) -> None:
    docs = []
    for i in range(40):  # ten runs per timestamp: batches of 3 end in the middle of a tie
        docs.append(result(100.0 - i // 10, job_id=f"j{i % 4}", index=i, outcome="success" if i % 5 else "failed",
                           result_value={"i": i}))
    docs.append({k: v for k, v in result(50.0, job_id="nodur").items() if k != "duration"})
    docs.append(event(99.0, "worker.crashed", slot=1))
    docs.append(result(5000.0, job_id="old"))
    store.insert(docs)


def test_iter_rows_yields_every_match_once_with_only_the_fields(any_store):
    fill(any_store)
    query = Query(type="result", since=NOW - 100.0, until=NOW - 50.0, limit=1, offset=99)
    rows = list(any_store.iter_rows(query, ("outcome", "job_id", "duration", "result"), 3))
    assert len(rows) == 41 and len({r[0] for r in rows}) == 41  # limit and offset are ignored
    got = [dict(zip(("seq", "time", "type", "outcome", "job_id", "duration", "result"), r, strict=True))
           for r in rows]
    for doc in got:
        assert doc["type"] == "result" and NOW - 100.0 <= doc["time"] <= NOW - 50.0
    by_job = {d["job_id"]: d for d in got}
    assert by_job["nodur"]["duration"] is None  # missing -> None
    assert sorted(d["result"]["i"] for d in got if d["job_id"] != "nodur") == list(range(40))
    assert sum(d["outcome"] == "failed" for d in got) == 8
    # The other filters work as in find: an indexed equality, no time bound (seq keyset).
    assert {r[3] for r in any_store.iter_rows(Query(type="result", job_id="j1"), ("job_id",), 2)} == {"j1"}
    assert len(list(any_store.iter_rows(Query(type="result"), ("job_id",), 7))) == 42
    logs = list(any_store.iter_rows(Query(type="log", since=NOW - 1000), ("msg", "fields"), 10))
    assert [(r[2], r[3], r[4]) for r in logs] == [("log", "worker.crashed", {"slot": 1})]


def test_the_context_streams_dicts_or_rows(any_store):
    fill(any_store)
    context = ReportContext.from_store(any_store, now=NOW)
    query = Query(type="result", since=NOW - 100.0)
    docs = list(context.stream(query, ["job_id", "outcome"]))
    assert len(docs) == 41 and set(docs[0]) == {"seq", "time", "type", "job_id", "outcome"}
    rows = sorted(context.rows(query, ["job_id", "outcome"]))
    assert rows == sorted(tuple(d.values()) for d in docs)


def test_iter_rows_refuses_bad_arguments(any_store):
    for fields in (["a.b"], ["$where"], ["x y"], "outcome"):
        with pytest.raises((ValueError, TypeError)):
            list(any_store.iter_rows(Query(type="result"), fields, 10))
    with pytest.raises(ValueError, match="batch"):
        list(any_store.iter_rows(Query(type="result"), ["outcome"], 0))


class FindOnly:
    """A store with only `find` (no iter_rows): the context pages through it."""

    def __init__(self, store: Store) -> None:
        self.inner = store
        self.calls = 0

    def find(self, query: Query):
        self.calls += 1
        return self.inner.find(query)


def test_a_store_without_iter_rows_is_paged_through_find(store):
    fill(store)
    query = Query(type="result", since=NOW - 100.0)
    wrapped = FindOnly(store)
    context = ReportContext(wrapped, now=NOW, batch=4)
    paged = sorted(context.rows(query, ["job_id", "outcome"]))
    direct = sorted(store.iter_rows(query, ["job_id", "outcome"]))
    assert paged == direct and len(paged) == 41 and wrapped.calls == 11


def test_paging_drops_a_document_seen_twice_when_new_ones_arrive(store):
    fill(store)
    query = Query(type="result", since=NOW - 100.0)
    pages = 0

    def find(q: Query):
        nonlocal pages
        pages += 1
        if pages == 2:  # two newer runs arrive between the pages: offsets shift by two
            store.insert([result(1.0, job_id="late1"), result(1.0, job_id="late2")])
        return store.find(q)

    seqs = [row[0] for row in rows_by_pages(find, query, ["job_id"], 10)]
    assert len(seqs) == len(set(seqs)) >= 41
