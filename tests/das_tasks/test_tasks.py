"""Every DAS task against the real das service: SQLite store, a DemoUpstream on loopback."""

from __future__ import annotations

import dataclasses

import pytest

from actors.errors import ServiceError
from tasks.das.hotspot import find_coverage
from tasks.das.query import parse_query
from tasks.das_analyzer import ANALYZER, AnalyticsCleanup, QueryAnalyzer, read_structure
from tasks.das_hotspot import HotspotBase, KeyHotspot, ValueHotspot
from tasks.das_query import QueryMaintainer, QueryRunner
from tasks.registry import TaskRegistry
from tests.das_tasks.conftest import traffic

Q = "dataset dataset.name=/A/B/RAW"


def log_times(das, query=Q):
    found = [r for r in das.list_queries(after=0, before=4e9) if r["mongoquery"] == parse_query(query)]
    return found[0]["times"] if found else []


# ------------------------------------------------------------------------------ discovery, service
def test_registry_indexes_the_das_tasks_but_not_hotspotbase():
    registry = TaskRegistry()
    registry.discover()
    names = set(registry.names())
    assert {"QueryRunner", "QueryMaintainer", "ValueHotspot", "KeyHotspot", "QueryAnalyzer",
            "AnalyticsCleanup"} <= names
    assert "HotspotBase" not in names
    assert not {k: v for k, v in registry.errors.items() if "das" in k}
    with pytest.raises(Exception, match="option 'key' is required"):
        registry.prepare_kwargs("ValueHotspot", {})
    assert registry.prepare_kwargs("QueryMaintainer", {"dasquery": Q})["preempt"] == 60.0


@pytest.mark.parametrize("cls", [QueryRunner, QueryMaintainer, ValueHotspot, KeyHotspot, QueryAnalyzer,
                                 AnalyticsCleanup])
def test_without_the_service_every_task_fails_naming_the_option(cls, make_task):
    task = make_task(cls, services={}, dasquery=Q, key="dataset.name")
    with pytest.raises(ServiceError, match="--das-db-uri"):
        task()


# ------------------------------------------------------------------------------ QueryRunner
def test_query_runner_caches_without_counting_itself(das, make_task, demo):
    result = make_task(QueryRunner, dasquery=Q)()
    assert result["status"] == "ok" and result["records"] == 3 and result["source"] == "upstream"
    assert das.in_cache(Q) and log_times(das) == []  # record=False: not in the query log
    assert make_task(QueryRunner, dasquery=parse_query(Q))()["status"] == "cached"
    assert demo.requests == 1


def test_query_runner_failure_fails_the_run(make_task, demo):
    demo.fail(500)
    with pytest.raises(ServiceError, match=r"query-failed: dataset dataset.name=/A/B/RAW: .*500"):
        make_task(QueryRunner, dasquery=Q)()
    with pytest.raises(ServiceError, match="dasquery must be DAS-QL text"):
        make_task(QueryRunner, dasquery=42)()


# ------------------------------------------------------------------------------ QueryMaintainer
def test_query_maintainer_refreshes_and_asks_for_expiry_minus_preempt(das, make_task, clock):
    das.call(Q, record=False)
    first_gen = das.call(Q, record=False).records[0]["gen"]
    clock.advance(10)
    result = make_task(QueryMaintainer, dasquery=Q, preempt=15.0)()
    assert result["status"] == "ok" and result["expire"] == clock.now + 60
    assert result["next_at"] == clock.now + 60 - 15
    cached = das.call(Q, record=False)
    assert cached.status == "cached" and cached.records[0]["gen"] != first_gen  # new data, switched
    assert log_times(das) == []


def test_query_maintainer_next_is_never_in_the_past(make_task, clock):
    result = make_task(QueryMaintainer, dasquery=Q, preempt=600.0, min_delay=2.5)()
    assert result["next_at"] == clock.now + 2.5


def test_query_maintainer_detects_a_failed_refresh_and_keeps_the_old_answer(das, make_task, demo):
    das.call(Q, record=False)
    demo.fail(503)
    with pytest.raises(ServiceError, match=r"query-failed: refreshing dataset dataset\.name=/A/B/RAW"):
        make_task(QueryMaintainer, dasquery=Q)()
    assert das.call(Q, record=False).status == "cached"


def test_query_maintainer_detects_a_missing_expiry(das, make_task):
    class NoExpiry:
        def __getattr__(self, name):
            return getattr(das, name)

        def refresh(self, query):
            return dataclasses.replace(das.refresh(query), expire=None)

        def expiry(self, query):
            return None

    with pytest.raises(ServiceError, match="find-expiry-failed"):
        make_task(QueryMaintainer, services={"das": NoExpiry()}, dasquery=Q)()


# ------------------------------------------------------------------------------ ValueHotspot
def value_hotspot(make_task, **options):
    base = {"key": "dataset.name", "period": 86400.0, "allowed_gap": 0.0, "mode": "fixed", "fraction": 2,
            "preempt": 30.0}
    return make_task(ValueHotspot, interval=options.pop("interval", 3600.0), **{**base, **options})


def test_value_hotspot_selects_hot_values_and_spawns_maintainers(das, make_task, clock, demo):
    traffic(das, clock, {"/A/B/RAW": 5, "/C/D/RAW": 3, "/E/F/RAW": 3, "/G/*": 9})
    clock.advance(100)
    for value in ("/A/B/RAW", "/C/D/RAW"):
        das.remove(f"dataset dataset.name={value}")  # not cached: the hotspot fetches them
    before = demo.requests
    result = value_hotspot(make_task, interval=60.0)()
    assert result["identifier"] == "valuehotspot-dataset-name"
    # the wildcard value is dropped (allow_wildcarding off); the tie is broken by value
    assert result["selected"] == [["/A/B/RAW", 5], ["/C/D/RAW", 3]]
    assert result["calls"] == 20 and result["items"] == 4  # before preselection
    assert demo.requests == before + 2 and result["fetched_now"] == 2
    now = clock.now
    children = result["new_tasks"]
    assert [c["name"] for c in children] == ["valuehotspot-dataset-name-/A/B/RAW-dataset",
                                             "valuehotspot-dataset-name-/C/D/RAW-dataset"]
    for child in children:
        assert child["classname"] == "QueryMaintainer"
        assert child["only_before"] == now + 60  # this task's next run
        assert child["interval"] == pytest.approx(60 - 30)  # expiry (now + 60) - preempt - now
        assert child["kwargs"]["preempt"] == 30.0
        assert child["kwargs"]["dasquery"]["spec"][0]["key"] == "dataset.name"
    assert len(log_times(das, "dataset dataset.name=/A/B/RAW")) == 5  # the fetch was not recorded


def test_value_hotspot_needs_no_child_when_the_data_outlives_its_next_run(das, make_task, clock):
    traffic(das, clock, {"/A/B/RAW": 2})
    result = value_hotspot(make_task, interval=10.0, mode="calls", fraction=0.5)()
    assert result["selected"] == [["/A/B/RAW", 2]] and result["new_tasks"] == []  # expires in ~60 s > 10 s


def test_value_hotspot_reuses_summaries_and_reports_short_gaps(das, make_task, clock):
    traffic(das, clock, {"/A/B/RAW": 3})
    first = value_hotspot(make_task, interval=3600.0, period=4 * 3600.0)()
    assert first["new_summaries"] == 4 and first["summaries"] == 4  # backfilled the whole period
    clock.advance(30)
    second = value_hotspot(make_task, interval=3600.0, period=4 * 3600.0, allowed_gap=60.0)()
    # the window slid by 30 s: the oldest summary left it, the uncovered head is summarised again;
    # the 30 s since the last run are at most allowed_gap: deferred and reported
    assert second["new_summaries"] == 1 and second["summaries"] == 4
    assert second["skipped_gaps"] == [{"start": first["epoch_end"], "finish": clock.now, "seconds": 30.0,
                                       "trailing": True}]
    traffic(das, clock, {"/C/D/RAW": 4})
    clock.advance(100)
    third = value_hotspot(make_task, interval=3600.0, period=4 * 3600.0, allowed_gap=60.0)()
    assert third["new_summaries"] == 2 and third["skipped_gaps"] == []  # the head, and the 134 s since
    assert third["selected"] == [["/C/D/RAW", 4], ["/A/B/RAW", 3]]  # window sum over old and new summaries


def test_value_hotspot_reports_a_failing_chunk_and_retries_it_next_run(das, make_task, clock):
    traffic(das, clock, {"/A/B/RAW": 3})

    class Flaky:
        failures = 1

        def __getattr__(self, name):
            return getattr(das, name)

        def list_queries(self, **kwargs):
            if self.failures:
                self.failures -= 1
                raise RuntimeError("store hiccup")
            return das.list_queries(**kwargs)

    flaky = Flaky()
    first = value_hotspot(make_task, services={"das": flaky}, interval=3600.0, period=2 * 3600.0)()
    assert len(first["failed_chunks"]) == 1 and "RuntimeError: store hiccup" in first["failed_chunks"][0]["error"]
    assert first["new_summaries"] == 1 and first["selected"] == [["/A/B/RAW", 3]]  # the calls are in chunk 2
    second = value_hotspot(make_task, services={"das": flaky}, interval=3600.0, period=2 * 3600.0)()
    assert second["failed_chunks"] == [] and second["new_summaries"] == 1
    assert second["selected"] == [["/A/B/RAW", 3]]


def test_value_hotspot_wildcards_and_supersets(das, make_task, clock):
    traffic(das, clock, {"/A/B/RAW": 4, "/A/C/RAW": 3, "/A/*": 1, "/X/Y/Z": 2})
    plain = value_hotspot(make_task, mode="fixed", fraction=3)()
    assert [v for v, _ in plain["selected"]] == ["/A/B/RAW", "/A/C/RAW", "/X/Y/Z"]
    wild = value_hotspot(make_task, mode="fixed", fraction=3, allow_wildcarding=True)()
    assert [v for v, _ in wild["selected"]] == ["/A/B/RAW", "/A/C/RAW", "/X/Y/Z"]
    wild = value_hotspot(make_task, mode="fixed", fraction=4, allow_wildcarding=True)()
    assert ["/A/*", 1] in wild["selected"]
    merged = value_hotspot(make_task, mode="fixed", fraction=3, find_supersets=True)()
    assert merged["selected"] == [["/A/*", 7], ["/X/Y/Z", 2]]  # /A/* is cached: it covers both


def test_value_hotspot_failure_for_one_value_is_reported_per_item(das, make_task, clock, demo):
    traffic(das, clock, {"/A/B/RAW": 2, "/C/D/RAW": 1})
    das.remove("dataset dataset.name=/A/B/RAW")
    das.remove("dataset dataset.name=/C/D/RAW")
    demo.fail(500, count=1)
    result = value_hotspot(make_task, interval=3600.0)()
    assert [f[0] for f in result["failed_items"]] == ["/A/B/RAW"]
    assert "query-failed" in result["failed_items"][0][2]
    assert [c["kwargs"]["dasquery"]["spec"][0]["value"] for c in result["new_tasks"]] == ["/C/D/RAW"]


def test_unknown_mode_and_missing_interval_are_clear_failures(make_task):
    with pytest.raises(ValueError, match="unknown mode 'top'"):
        value_hotspot(make_task, mode="top")
    with pytest.raises(ServiceError, match=r"interval .* must be positive"):
        value_hotspot(make_task, interval=0.0)()


def test_hotspotbase_is_abstract_but_documented():
    assert HotspotBase.hide is True
    assert "identifier" in {o["name"] for o in HotspotBase.task_options}


# ------------------------------------------------------------------------------ KeyHotspot
def test_key_hotspot_is_constructible_counts_keys_and_spawns_value_hotspots(das, make_task, clock):
    traffic(das, clock, {"/A/B/RAW": 4})
    traffic(das, clock, {"T1_CH": 2}, template="site site.name={value}")
    traffic(das, clock, {"b1": 1}, template="block block.name={value}")
    result = make_task(KeyHotspot, interval=86400.0, period=86400.0, mode="fixed", fraction=2,
                       child_interval=600.0, child_preempt=120.0, child_kwargs={"mode": "fixed", "fraction": 3})()
    assert result["identifier"] == "keyhotspot"
    assert result["selected"] == [["dataset.name", 4], ["site.name", 2]]
    first = result["new_tasks"][0]
    assert first == {"classname": "ValueHotspot", "name": "keyhotspot-valuehotspot-dataset-name",
                     "interval": 600.0, "only_before": clock.now + 86400.0,
                     "kwargs": {"mode": "fixed", "fraction": 3, "key": "dataset.name", "preempt": 120.0}}
    assert "warning" not in result
    assert TaskRegistry().prepare_kwargs("tasks.das_hotspot:ValueHotspot", first["kwargs"])["key"] == "dataset.name"


def test_key_hotspot_warns_when_its_children_could_never_run(make_task):
    assert "warning" in make_task(KeyHotspot, interval=60.0, period=600.0, child_interval=60.0)()


# ------------------------------------------------------------------------------ QueryAnalyzer
def test_query_analyzer_stores_structures_gap_aware(das, make_task, clock):
    traffic(das, clock, {"/A/B/RAW": 3, "/A/*": 2})
    traffic(das, clock, {"T1_CH": 1}, template="site site.name={value}")
    das.call({"fields": ["dataset"], "spec": [{"key": "dataset.name", "value": '"/broken'}]})
    clock.advance(10)
    first = make_task(QueryAnalyzer, interval=3600.0, period=7200.0)()
    assert first["new_summaries"] == 2 and first["calls"] == 7
    assert first["bad_value_count"] == 1 and first["bad_values"][0]["value"] == '"/broken'
    summaries = das.get_summaries(ANALYZER, after=0, before=clock.now)
    assert all(":" in k for s in summaries for st, _ in s["queries"] for k in st["keys"])  # no dots stored
    pairs = [[read_structure(st), n] for s in summaries for st, n in s["queries"]]
    by_structure = {(tuple(st["fields"]), tuple(sorted(st["keys"].items()))): n for st, n in pairs}
    assert by_structure == {
        (("dataset",), (("dataset.name", "string"),)): 3,
        (("dataset",), (("dataset.name", "wildcard_end"),)): 2,
        (("site",), (("site.name", "string"),)): 1,
        (("dataset",), (("dataset.name", "unknown"),)): 1,
    }
    clock.advance(30)  # within allowed_gap: deferred, reported
    second = make_task(QueryAnalyzer, interval=3600.0, period=7200.0, allowed_gap=60.0)()
    assert second["skipped_gaps"][-1]["trailing"] is True and second["skipped_gaps"][-1]["seconds"] == 30
    traffic(das, clock, {"/A/B/RAW": 1})
    clock.advance(1800)  # a late run: what is uncovered is summarised once, nothing twice
    make_task(QueryAnalyzer, interval=3600.0, period=7200.0, allowed_gap=60.0)()
    window = find_coverage(das.get_summaries(ANALYZER, after=clock.now - 7200, before=clock.now),
                           clock.now - 7200, clock.now)
    assert window.gaps == [] and window.nested == 0
    assert sum(n for s in window.used for _, n in s["queries"]) == 8  # every call in the window, once


# ------------------------------------------------------------------------------ AnalyticsCleanup
def test_analytics_cleanup_really_deletes_old_summaries(das, make_task, clock):
    day = 86400.0
    now = clock.now
    for age in (40, 31, 29, 1):
        das.add_summary("valuehotspot-dataset-name", now - age * day - 10, now - age * day, keys=[["x", 1]])
    das.add_summary(ANALYZER, now - 50 * day, now - 50 * day + 1, queries=[])
    result = make_task(AnalyticsCleanup, cutoff=30 * day, analyzer="valuehotspot-dataset-name")()
    assert result == {"removed": 2, "older_than": now - 30 * day, "analyzer": "valuehotspot-dataset-name"}
    assert len(das.get_summaries("valuehotspot-dataset-name", after=0, before=now)) == 2
    assert make_task(AnalyticsCleanup)()["removed"] == 1  # default: 30 days, every analyzer
    assert make_task(AnalyticsCleanup)()["removed"] == 0
    with pytest.raises(ValueError, match="cutoff must be >= 0"):
        make_task(AnalyticsCleanup, cutoff=-1.0)()


# ------------------------------------------------------------------------------ on MongoDB
def test_the_summaries_store_on_a_mongodb_compatible_server(mongo_service, demo, clock, make_task):
    """Hotspot and analyzer summaries are storable where field names may not contain dots."""
    import uuid

    from tasks.das.backends import MongoDasStore
    from tasks.das.service import DasService
    from tasks.das.upstream import Upstreams

    store = MongoDasStore(mongo_service.uri, f"das_tasks_{uuid.uuid4().hex[:12]}", timeout_s=5.0)
    das = DasService(store, Upstreams(demo.config(expire_s=60.0, retries=0)), clock=clock)
    try:
        traffic(das, clock, {"/A/B/RAW": 2, "/C/*": 1})
        traffic(das, clock, {"T1": 1}, template="site site.name={value}")
        services = {"das": das}
        hot = value_hotspot(make_task, services=services, mode="calls", fraction=0.5)()
        assert hot["selected"] == [["/A/B/RAW", 2]] and hot["failed_chunks"] == []
        keys = make_task(KeyHotspot, services=services, interval=86400.0, period=86400.0)()
        assert keys["selected"] == [["dataset.name", 3]] and keys["failed_chunks"] == []
        analyzed = make_task(QueryAnalyzer, services=services, interval=3600.0, period=7200.0)()
        assert analyzed["failed_chunks"] == [] and analyzed["calls"] == 4
        stored = das.get_summaries(ANALYZER, after=0, before=clock.now)
        types = {(k, t) for s in stored for st, _ in s["queries"] for k, t in read_structure(st)["keys"].items()}
        assert types == {("dataset.name", "string"), ("dataset.name", "wildcard_end"), ("site.name", "string")}
        assert make_task(AnalyticsCleanup, services=services, cutoff=0.0)()["removed"] >= 3
    finally:
        store.close()
        from pymongo import MongoClient

        client: MongoClient = MongoClient(mongo_service.uri, serverSelectionTimeoutMS=5000)
        client.drop_database(store.db_name)
        client.close()
