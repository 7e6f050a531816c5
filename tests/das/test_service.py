"""`DasService` against the real stores (SQLite file, MongoDB/FerretDB) and a real DemoUpstream,
with an injected clock."""

from __future__ import annotations

import threading

import pytest

from tasks.das.query import parse_query, qhash
from tasks.das.service import PRUNE_EVERY_S, DasService
from tasks.das.upstream import Upstreams
from tests.das.conftest import T0, generations

Q = "dataset dataset.name=/A/B/C"


def test_miss_fetches_once_then_hits_while_fresh_then_refetches_when_expired(make_service, demo, clock, store):
    service = make_service(expire_s=60.0)
    first = service.call(Q)
    assert (first.status, first.source, first.error) == ("ok", "upstream", None)
    assert len(first.records) == 3 and first.expire == T0 + 60 and demo.requests == 1
    assert first.qhash == qhash(parse_query(Q))
    clock.advance(59.0)
    hit = service.call(Q)
    assert (hit.status, hit.source, hit.expire) == ("cached", "cache", T0 + 60)
    assert hit.records == first.records and demo.requests == 1
    assert service.in_cache(Q) and service.expiry(Q) == T0 + 60
    clock.advance(1.0)  # expire <= now: stale
    assert not service.in_cache(Q) and service.expiry(Q) == T0 + 60  # stale answers still have an expiry
    again = service.call(Q)
    assert again.status == "ok" and demo.requests == 2 and again.expire == T0 + 120
    assert {r["gen"] for r in again.records} == {2}
    assert generations(store, again.qhash) == {store.read(again.qhash).generation}  # the old one is gone
    assert service.stats() | {"hit_ratio": None} == {"calls": 3, "hits": 1, "misses": 2, "refreshes": 0,
                                                      "upstream_calls": 2, "errors": 0, "hit_ratio": None}
    assert service.stats()["hit_ratio"] == pytest.approx(1 / 3)


def test_storage_form_and_text_are_the_same_query(make_service, demo):
    service = make_service()
    service.call(Q)
    assert service.call(parse_query(Q)).status == "cached"
    assert service.call({"spec": [{"key": "dataset.name", "value": "/A/B/C"}]}).status == "cached"
    assert demo.requests == 1
    with pytest.raises(ValueError, match="empty query"):
        service.call("")


def test_max_age_overrides_expire_s(make_service, demo, clock):
    service = make_service(expire_s=100.0)
    demo.ttl_s = 7
    assert service.call(Q).expire == T0 + 7
    clock.advance(7)
    assert service.call(Q).status == "ok"  # stale after max-age, not after expire_s
    demo.ttl_s = 0  # max-age=0: never fresh
    assert service.call("dataset.name=/X").expire == clock.now
    assert service.call("dataset.name=/X").status == "ok" and demo.requests == 4


def test_expiry_is_the_earliest_api_of_the_answer(store, demo, clock):
    config = demo.config(expire_s=10.0, retry_delay_s=0.01)
    second = {**config[0], "system": "mirror", "expire_s": 20.0}
    service = DasService(store, Upstreams([config[0], second]), clock=clock)
    result = service.call(Q)
    assert result.status == "ok" and len(result.records) == 6 and result.expire == T0 + 10
    assert service.expiry(Q) == T0 + 10
    calls = sorted((c["system"], c["expire"]) for c in store.apicall_records(result.qhash))
    assert calls == [("dbs", T0 + 10), ("mirror", T0 + 20)]


def test_upstream_500_fails_after_retries_and_keeps_the_old_answer(make_service, demo, clock):
    service = make_service(retries=2, expire_s=30.0)
    good = service.call(Q)
    demo.fail(500)
    failed = service.refresh(Q)
    assert failed.status == "failed" and failed.records == [] and failed.expire is None
    assert "HTTP 500" in str(failed.error) and "after 3 attempts" in str(failed.error)
    assert demo.requests == 1 + 3
    assert service.call(Q, record=False).records == good.records  # still served from the cache
    clock.advance(30)
    stale = service.call(Q)
    assert stale.status == "failed" and demo.requests == 1 + 3 + 3
    log = service.api_calls()
    assert [e["status"] for e in log] == ["ok", "failed", "failed"]
    assert log[1]["attempts"] == 3 and "HTTP 500" in log[1]["error"] and log[1]["expire"] is None
    assert service.api_calls(since=T0 + 30) == log[2:]
    assert service.stats()["errors"] == 2


def test_upstream_timeout_fails_with_error(make_service, demo):
    service = make_service(timeout_s=0.1, retries=1)
    demo.latency_s = 0.4
    result = service.call(Q)
    assert result.status == "failed" and "timed out after 0.1s" in str(result.error)
    assert demo.requests == 2


def test_no_upstream_answers(make_service, demo):
    result = make_service().call("run run.number between [1,5]")
    assert result.status == "failed" and "no upstream API answers 'run run.number between [1,5]'" in str(result.error)
    assert demo.requests == 0


def test_record_appends_to_the_query_log_and_record_false_does_not(make_service, clock):
    service = make_service()
    service.call(Q, record=False)
    service.refresh(Q)
    service.in_cache(Q)
    assert service.list_queries(after=0, before=2 * T0) == []
    service.call(Q)
    clock.advance(5)
    service.call(Q)
    service.call(Q, record=False)
    (doc,) = service.list_queries(after=0, before=2 * T0)
    assert doc == {"query": Q, "mongoquery": parse_query(Q), "qhash": qhash(parse_query(Q)), "times": [T0, T0 + 5]}


def test_history_is_pruned(make_service, clock):
    service = make_service(history_s=100.0)
    service.call("dataset.name=/old")  # at T0: the first call prunes (nothing to prune yet)
    service.call(Q)
    clock.advance(50)
    service.call(Q)  # T0+50: pruned less than PRUNE_EVERY_S ago, so no pruning now
    clock.advance(PRUNE_EVERY_S + 90)  # now T0 + 200 - ... > T0 + 100
    service.call(Q)  # prunes times < now - 100
    docs = service.list_queries(after=0, before=2 * T0)
    assert [(d["query"], d["times"]) for d in docs] == [(Q, [clock.now])]  # /old vanished entirely
    assert service.prune() == 0


def test_list_queries_has_elem_match_semantics_and_filters_by_key(make_service, clock):
    service = make_service()
    a, b, c = "dataset dataset.name=/A", "dataset dataset.name=/B", "site site.name=T1"
    clock.now = 100.0
    service.call(a)
    clock.now = 200.0
    service.call(b)
    service.call(c)
    clock.now = 300.0
    service.call(a)
    # a has times on both sides of [150, 250] but none inside: it must not match
    assert [d["query"] for d in service.list_queries(after=150, before=250)] == sorted(
        [b, c], key=lambda q: qhash(parse_query(q)))
    assert [d["query"] for d in service.list_queries(key="dataset.name", after=150, before=250)] == [b]
    assert [d["query"] for d in service.list_queries(key="site.name", after=0, before=1000)] == [c]
    assert service.list_queries(key="block.name", after=0, before=1000) == []
    assert [d["times"] for d in service.list_queries(after=100, before=100)] == [[100.0, 300.0]]  # inclusive
    assert service.list_queries(after=301, before=400) == []


def test_summaries_are_immutable_and_queried_by_window(make_service):
    service = make_service()
    service.add_summary("keyhotspot", 100, 200, keys=[["dataset.name", 5], ["site.name", 1]])
    service.add_summary("keyhotspot", 100, 200, keys=[["dataset.name", 99]])  # same window: the first stays
    service.add_summary("keyhotspot", 200, 300, keys=[])
    service.add_summary("keyhotspot", 50, 250, keys=[["x", 1]])
    service.add_summary("query_analyzer", 100, 200, queries=[[{"fields": ["dataset"], "keys": {"dataset_name":
                                                                                             "string"}}, 3]])
    got = service.get_summaries("keyhotspot", after=100, before=300)
    assert got == [{"analyzer": "keyhotspot", "start": 100, "finish": 200, "keys": [["dataset.name", 5],
                                                                                  ["site.name", 1]]},
                   {"analyzer": "keyhotspot", "start": 200, "finish": 300, "keys": []}]
    assert [s["start"] for s in service.get_summaries("keyhotspot", after=0, before=1000)] == [50, 100, 200]
    assert service.get_summaries("keyhotspot", after=100, before=299) == got[:1]  # finish must be inside
    (analyzer,) = service.get_summaries("query_analyzer", after=0, before=1000)
    assert analyzer["queries"][0][1] == 3 and "keys" not in analyzer
    assert service.remove_summaries(older_than=250, analyzer="keyhotspot") == 1  # finish 200 < 250
    assert [s["start"] for s in service.get_summaries("keyhotspot", after=0, before=1000)] == [50, 200]
    assert service.remove_summaries(older_than=10_000) == 3
    assert service.get_summaries("keyhotspot", after=0, before=1000) == []


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"analyzer": "", "start": 1, "finish": 2, "keys": []}, "analyzer must be"),
    ({"analyzer": "a", "start": 3, "finish": 2, "keys": []}, "is before start"),
    ({"analyzer": "a", "start": "1", "finish": 2, "keys": []}, "start must be an epoch"),
    ({"analyzer": "a", "start": 1, "finish": 2}, "exactly one payload"),
    ({"analyzer": "a", "start": 1, "finish": 2, "keys": [], "queries": []}, "exactly one payload"),
    ({"analyzer": "a", "start": 1, "finish": 2, "keys": [["x"]]}, "expected [item, count] pairs"),
])
def test_add_summary_validation(make_service, kwargs, message):
    with pytest.raises(ValueError, match=__import__("re").escape(message)):
        make_service().add_summary(**kwargs)


def test_remove_drops_records_and_api_calls(make_service, store):
    service = make_service()
    result = service.call(Q)
    assert service.remove(Q) == 3
    assert not service.in_cache(Q) and service.expiry(Q) is None and store.read(result.qhash) is None
    assert store.apicall_records(result.qhash) == [] and generations(store, result.qhash) == set()
    assert service.remove(Q) == 0
    assert service.call(Q).status == "ok"


def test_concurrent_misses_of_one_query_fetch_once(make_service, demo):
    service = make_service()
    demo.latency_s = 0.2
    results = []
    threads = [threading.Thread(target=lambda: results.append(service.call(Q))) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert demo.requests == 1
    assert sorted(r.status for r in results) == ["cached"] * 5 + ["ok"], [r.error for r in results]
    assert len({r.records[0]["gen"] for r in results}) == 1


def test_concurrent_first_calls_all_reach_the_query_log(store):
    storage = parse_query(Q)
    key = qhash(storage)

    def log(thread: int) -> None:
        for call in range(5):
            store.log_call(key, Q, storage, thread * 10 + call)

    threads = [threading.Thread(target=log, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    (doc,) = store.list_queries(key=None, after=0, before=1000)
    assert doc["times"] == sorted(float(t * 10 + c) for t in range(8) for c in range(5))


def test_a_newer_generation_wins_the_switch(store):
    storage = parse_query(Q)
    key = qhash(storage)
    from tasks.das.store import Part

    part = Part("dbs", "datasets", "http://x", 50.0, [{"n": 1}])
    store.write_generation(key, 10, [part], 1.0)
    assert store.switch(key, 10, expire=50.0, count=1, query=storage, now=1.0)
    store.write_generation(key, 5, [Part("dbs", "datasets", "http://x", 60.0, [{"n": 2}, {"n": 3}])], 2.0)
    assert not store.switch(key, 5, expire=60.0, count=2, query=storage, now=2.0)  # older: refused
    assert store.read(key).records == [{"n": 1}] and store.state(key) == (10, 50.0)
    store.drop_generation(key, 5)
    store.write_generation(key, 11, [Part("dbs", "datasets", "http://x", 70.0, [])], 3.0)
    assert store.switch(key, 11, expire=70.0, count=0, query=storage, now=3.0)
    store.drop_older(key, 11)
    entry = store.read(key)
    assert entry.records == [] and entry.generation == 11 and entry.query == storage and entry.updated == 3.0
    assert generations(store, key) == set()


def test_store_failure_is_a_failed_call_not_an_exception(tmp_path, demo):
    from tasks.das.backends import SQLiteDasStore

    blocker = tmp_path / "file"
    blocker.write_text("")
    service = DasService(SQLiteDasStore(blocker / "das.db"), Upstreams(demo.config()))
    result = service.call(Q)
    assert result.status == "failed" and "das sqlite store" in str(result.error)


def test_sqlite_connections_of_finished_threads_are_closed(tmp_path):
    from tasks.das.backends import SQLiteDasStore

    store = SQLiteDasStore(tmp_path / "das.db")
    for _ in range(20):  # the HTTP endpoint runs one thread per connection
        thread = threading.Thread(target=store.state, args=("x",))
        thread.start()
        thread.join()
    assert len(store._conns) <= 2
    store.close()
    assert store.state("x") is None  # reopens
