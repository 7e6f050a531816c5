"""The DAS reports: their numbers on hand-built documents, then against the real das service
and a results store, then rendered as pages and API answers by the panel."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from actors.errors import ReportParamError
from actors.store.sqlite import SQLiteStore
from reports import charts
from reports.base import ReportContext
from reports.das import (
    APIReport,
    HotspotReport,
    QueryReport,
    api_figures,
    coverage_by_bin,
    hotspot_figures,
    query_figures,
)
from reports.registry import ReportRegistry
from tasks.das_analyzer import QueryAnalyzer
from tasks.das_hotspot import ValueHotspot
from tests.das_tasks.conftest import T0, traffic


def summ(start, finish, **keys):
    return {"analyzer": "valuehotspot-dataset-name", "start": start, "finish": finish,
            "keys": [[k.replace("_", "/"), v] for k, v in keys.items()]}


# ------------------------------------------------------------------------------ hotspot figures
def test_hotspot_figures_sum_counts_across_summaries_and_select_by_calls():
    summaries = [summ(0, 100, a=5, b=1), summ(100, 200, a=3, c=4), summ(200, 300, b=2, d=1),
                 summ(10, 50, a=99)]  # nested: a duplicate of covered time, not counted twice
    fig = hotspot_figures(summaries, identifier="x", start=0, now=400, fraction=0.5)
    assert fig["ncalls"] == 16 and fig["nkeys"] == 4 and fig["nsummaries"] == 3 and fig["nested_summaries"] == 1
    assert [(r["item"], r["calls"]) for r in fig["rows"]] == [("a", 8), ("c", 4), ("b", 3), ("d", 1)]
    assert fig["selected"] == [["a", 8], ["c", 4]]  # 8 is not > 8 (half of 16): c too
    assert fig["selected_calls"] == 12
    assert [r["cumulative_pct"] for r in fig["rows"]] == [50.0, 75.0, 93.75, 100.0]
    assert fig["gaps"] == [{"start": 300, "finish": 400, "seconds": 100, "trailing": True}]
    assert fig["covered_s"] == 300
    keys = fig["charts"]["keys"]
    assert keys["series"][0]["y"] == [50.0, 75.0, 93.75, 100.0] and keys["series"][1]["x"] == [1, 2]
    for spec in fig["charts"].values():
        assert "<svg" in str(charts.render(spec))


def test_hotspot_figures_follow_the_task_mode():
    summaries = [summ(0, 100, a=5, b=4, c=3, d=2)]
    assert hotspot_figures(summaries, identifier="x", start=0, now=100, fraction=2, mode="fixed")["selected"] == \
        [["a", 5], ["b", 4]]
    assert hotspot_figures(summaries, identifier="x", start=0, now=100, fraction=0.5, mode="keys")["selected"] == \
        [["a", 5], ["b", 4]]


def test_coverage_by_bin_counts_overlaps_once():
    summaries = [{"start": 0, "finish": 150}, {"start": 50, "finish": 100}, {"start": 250, "finish": 300}]
    assert coverage_by_bin(summaries, 0, 100, 4) == [100.0, 50.0, 50.0, 0.0]


# ------------------------------------------------------------------------------ query figures
def structure(keys, fields=("dataset",), instance="prod/global"):
    return {"fields": list(fields), "instance": instance, "keys": dict(keys)}


QUERY_SUMMARIES = [
    {"analyzer": "query_analyzer", "start": 0, "finish": 600, "queries": [
        [structure({"dataset.name": "string"}), 5],
        [structure({"dataset.name": "wildcard_end"}), 2],
        [structure({"dataset.name": "string", "site.name": "string"}, fields=("file",)), 1]]},
    {"analyzer": "query_analyzer", "start": 600, "finish": 1200, "queries": [
        [structure({"site:name": "string"}, fields=("site",), instance="prod/phys03"), 3],  # as stored
        [structure({"dataset.name": "string"}), 1]]},
]


def test_query_figures_count_keys_constraints_fields_instances():
    fig = query_figures(QUERY_SUMMARIES, start=0, now=1200)
    assert fig["nqueries"] == 12 and fig["nsummaries"] == 2
    assert fig["by_key"] == {"dataset.name": 9, "site.name": 4}
    assert fig["popular_key"] == "dataset.name"
    assert fig["constraints"] == {"dataset.name": {"string": 7, "wildcard_end": 2}, "site.name": {"string": 4}}
    assert fig["fields"] == {"dataset.name": {"dataset": 8, "file": 1}, "site.name": {"site": 3, "file": 1}}
    assert fig["instances"] == {"prod/global": 9, "prod/phys03": 3}
    assert fig["key_sets"] == {"dataset.name": 8, "site.name": 3, "dataset.name + site.name": 1}
    over_time = fig["charts"]["over_time"]
    assert fig["bin_s"] == 60 and sum(sum(s["values"]) for s in over_time["series"]) == 13  # per key
    by_key = {s["label"]: s["values"] for s in over_time["series"]}
    assert by_key["site.name"][5] == 1 and by_key["site.name"][15] == 3  # bins of the summary midpoints
    for spec in fig["charts"].values():
        assert "<svg" in str(charts.render(spec))


def test_query_figures_key_filter_and_a_period_under_an_hour():
    fig = query_figures(QUERY_SUMMARIES, start=0, now=1200, key="site.name")
    assert fig["nqueries"] == 4 and fig["by_key"] == {"site.name": 4, "dataset.name": 1}
    short = query_figures([], start=1000, now=1300)  # DAS divided by zero under an hour
    assert short["nqueries"] == 0 and short["popular_key"] is None and short["bin_s"] == 60


# ------------------------------------------------------------------------------ api figures
def test_api_figures_by_system_and_api():
    calls = [
        {"time": 10, "system": "dbs", "api": "datasets", "status": "ok", "latency_s": 0.1, "records": 3},
        {"time": 20, "system": "dbs", "api": "datasets", "status": "failed", "latency_s": 0.3, "records": 0},
        {"time": 30, "system": "dbs", "api": "files", "status": "ok", "latency_s": 0.2, "records": 5},
        {"time": 40, "system": "phedex", "api": "sites", "status": "ok", "latency_s": 0.4, "records": 1},
        {"time": 5000, "system": "phedex", "api": "sites", "status": "ok", "latency_s": 0.4, "records": 1},
    ]
    fig = api_figures(calls, start=0, now=3600)
    assert fig["calls"] == 4 and fig["failures"] == 1 and fig["by_system"] == {"dbs": 3, "phedex": 1}
    first = fig["rows"][0]
    assert (first["system"], first["api"], first["calls"], first["failures"], first["records"]) == \
        ("dbs", "datasets", 2, 1, 3)
    assert first["mean_latency_s"] == pytest.approx(0.2)
    assert fig["charts"]["api"]["data"]["value"] == 4


# ------------------------------------------------------------------------------ against the service
@pytest.fixture
def results(tmp_path: Path) -> Iterator[SQLiteStore]:
    store = SQLiteStore(tmp_path / "results.db", size_bytes=50_000_000)
    store.open()
    yield store
    store.close()


def stored_run(store, task, result, classname, now):
    store.insert([{"type": "result", "time": now, "job_id": "j-" + classname, "name": task.name,
                   "classname": classname, "index": 1, "attempt": 0, "outcome": "success", "parent": [],
                   "result": result}])


def context(results, das, now):
    ctx = ReportContext.from_store(results, now=now)
    ctx.services = {"das": das}
    return ctx


def test_reports_read_what_the_tasks_stored(das, clock, make_task, results, demo):
    traffic(das, clock, {"/A/B/RAW": 5, "/C/D/RAW": 2})
    traffic(das, clock, {"T1_CH": 3}, template="site site.name={value}")
    clock.advance(60)
    hot = make_task(ValueHotspot, interval=600.0, key="dataset.name", period=3600.0, allowed_gap=0.0,
                    mode="calls", fraction=0.5)
    stored_run(results, hot, hot(), "ValueHotspot", clock.now)
    make_task(QueryAnalyzer, interval=600.0, period=3600.0, allowed_gap=0.0)()
    stored_run(results, hot, {}, "QueryAnalyzer", clock.now)

    template, data = HotspotReport(context(results, das, clock.now))()
    assert template == "report_hotspot.mako" and data["identifier"] == "valuehotspot-dataset-name"
    assert data["tasks"][0]["period"] == 3600.0 and data["tasks"][0]["fraction"] == 0.5
    fig = data["figures"]
    assert fig["ncalls"] == 7 and fig["nkeys"] == 2 and fig["selected"] == [["/A/B/RAW", 5]]
    assert fig["nsummaries"] == 6 and fig["gaps"] == []
    _, wider = HotspotReport(context(results, das, clock.now))(identifier="valuehotspot-dataset-name", fraction=0.9)
    assert wider["figures"]["selected"] == [["/A/B/RAW", 5], ["/C/D/RAW", 2]]
    with pytest.raises(ReportParamError, match="identifier"):
        HotspotReport(context(results, das, clock.now))(identifier="nope")

    template, data = QueryReport(context(results, das, clock.now))(period=3600.0)
    assert template == "report_query.mako" and data["analyzer_exists"]
    assert data["figures"]["by_key"] == {"dataset.name": 7, "site.name": 3}

    template, data = APIReport(context(results, das, clock.now))(period=3600.0)
    assert template == "report_api.mako"
    rows = {(r["system"], r["api"]): r["calls"] for r in data["figures"]["rows"]}
    # a fetch per client query (the rest were cached), plus the hotspot's fetch of its expired hot value
    assert rows == {("dbs", "datasets"): 3, ("phedex", "sites"): 1}


def test_reports_without_the_service_say_how_to_configure_it(results):
    ctx = ReportContext.from_store(results, now=T0)
    for report in (HotspotReport, QueryReport, APIReport):
        _template, data = report(ctx)()
        assert data["configured"] is False and "--das-db-uri" in data["message"] and data["figures"] is None


def test_the_registry_lists_the_das_reports():
    registry = ReportRegistry(importable=("tests",))
    registry.discover()
    names = {info.name: info for info in registry.infos()}
    assert {"hotspot", "query", "api"} <= set(names)
    assert {names[n].group for n in ("hotspot", "query", "api")} == {"DAS"}


# ------------------------------------------------------------------------------ pages
@pytest.mark.system
def test_pages_and_api_render(das, clock, make_task, tmp_path):
    import webtest  # type: ignore[import-untyped]

    from actors.config import Settings
    from actors.facade import Facade
    from actors.system import System
    from tasks.registry import TaskRegistry
    from web import make_app

    clock.now = time.time() - 120  # the panel's reports end at the real now
    traffic(das, clock, {"/A/<b>&/RAW": 3})  # markup in a value must come out escaped
    clock.advance(60)
    make_task(ValueHotspot, interval=600.0, key="dataset.name", period=3600.0, allowed_gap=0.0)()
    make_task(QueryAnalyzer, interval=600.0, period=3600.0, allowed_gap=0.0)()
    system = System(Settings({"db_uri": f"sqlite:///{tmp_path}/runs.db", "workers": 1, "web": False})).start()
    try:
        registry = TaskRegistry(importable=("tests",))
        registry.discover()
        facade = Facade(system, registry)
        services = getattr(facade, "services", None)
        if not isinstance(services, dict):  # the server's shared services (issue 7), as the panel gets them
            services = facade.__dict__["services"] = {}
        services["das"] = das
        app = webtest.TestApp(make_app(facade), extra_environ={"SCRIPT_NAME": "/analytics"})
        page = app.get("/analytics/reports/hotspot", {"identifier": "valuehotspot-dataset-name", "period": "1h"})
        assert "valuehotspot-dataset-name" in page.text and "<svg" in page.text
        assert "/A/&lt;b&gt;&amp;/RAW" in page.text and "/A/<b>&" not in page.text
        page = app.get("/analytics/reports/query", {"period": "1h"})
        assert "dataset.name" in page.text and "<svg" in page.text
        page = app.get("/analytics/reports/api")
        assert "datasets" in page.text
        answer = app.get("/analytics/api/v1/reports/hotspot", {"identifier": "valuehotspot-dataset-name",
                                                              "period": "1h"}).json
        assert answer["data"]["figures"]["ncalls"] == 3
    finally:
        system.shutdown(grace_s=0.5)
