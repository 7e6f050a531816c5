"""Upstream APIs: configuration, which API answers a query, URLs, max-age, timeouts and
retries, against a real DemoUpstream on loopback."""

from __future__ import annotations

import json

import pytest

from tasks.das.demo_upstream import DemoUpstream
from tasks.das.query import parse_query
from tasks.das.upstream import UpstreamApi, Upstreams, _max_age, parse_upstreams

DATASETS = {"system": "dbs", "api": "datasets", "keys": ["dataset", "dataset.name"],
            "url": "http://127.0.0.1:1/dbs/datasets?name={dataset.name}"}


@pytest.mark.parametrize(("change", "message"), [
    ({"url": "http://x/{site.name}"}, "URL placeholder {site.name} is not one of its keys"),
    ({"url": "ftp://x/"}, "'url' must be an http(s) URL template"),
    ({"keys": []}, "'keys' must be a non-empty list"),
    ({"keys": ["Dataset"]}, "bad key 'Dataset'"),
    ({"system": ""}, "'system' must be a non-empty string"),
    ({"expire_s": -1}, "'expire_s' must be a number >= 0"),
    ({"retries": 1.5}, "'retries' must be an integer"),
    ({"timeout_s": 0}, "'timeout_s' must be a number >= 0.001"),
    ({"ttl": 5}, "unknown field(s) 'ttl'"),
])
def test_config_errors_name_the_entry_and_field(change, message):
    with pytest.raises(ValueError, match=r"upstreams\[0\]: .*" + __import__("re").escape(message)):
        Upstreams([{**DATASETS, **change}])


def test_duplicates_and_files(tmp_path):
    with pytest.raises(ValueError, match="dbs/datasets is configured twice"):
        Upstreams([DATASETS, DATASETS])
    with pytest.raises(ValueError, match="not found"):
        Upstreams.from_file(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    with pytest.raises(ValueError, match="expected a JSON list"):
        Upstreams.from_file(bad)
    bad.write_text("[{")
    with pytest.raises(ValueError, match=r"bad\.json"):
        Upstreams.from_file(bad)
    good = tmp_path / "good.json"
    good.write_text(json.dumps([DATASETS]))
    assert [a.api for a in Upstreams.from_file(good).apis] == ["datasets"]
    assert len(parse_upstreams("")) == 0 and len(parse_upstreams([DATASETS])) == 1


def test_which_api_answers_and_the_url():
    api = UpstreamApi.from_dict(DATASETS)
    assert api.answers(parse_query("dataset dataset.name=/A/B/*"))
    assert api.answers(parse_query("dataset.name=/A/B/*"))
    assert not api.answers(parse_query("file dataset.name=/A/B/*"))  # field not served
    assert not api.answers(parse_query("dataset dataset.name=/A site.name=T1"))  # condition not served
    assert not UpstreamApi.from_dict({**DATASETS, "keys": ["dataset", "dataset.name", "site.name"],
                                      "url": "http://h/{site.name}"}).answers(parse_query("dataset.name=/A"))
    assert api.url_for(parse_query('dataset.name="/A B/C*"')) == "http://127.0.0.1:1/dbs/datasets?name=%2FA%20B%2FC%2A"


@pytest.mark.parametrize(("header", "seconds"), [
    ("max-age=30", 30.0), ("public, max-age=5", 5.0), ("s-maxage=7", 7.0), ("max-age=x", None),
    ('max-age="9", must-revalidate', 9.0), ("no-store", 0.0), ("no-cache, max-age=30", 0.0), ("", None),
    ("private", None),
])
def test_cache_control(header, seconds):
    assert _max_age(header) == seconds


def test_fetch_honours_max_age_and_falls_back_to_expire_s():
    with DemoUpstream(ttl_s=7, records_per_value=2) as demo:
        upstreams = Upstreams(demo.config(expire_s=100))
        query = parse_query("dataset dataset.name=/A/B/C")
        (api,) = upstreams.for_query(query)
        fetched = upstreams.fetch(api, query)
        assert fetched.ok and fetched.max_age == 7.0 and fetched.lifetime_s() == 7.0 and fetched.attempts == 1
        assert [r["dataset"]["name"] for r in fetched.records] == ["/A/B/C", "/A/B/C"]
        assert {r["gen"] for r in fetched.records} == {1}
        demo.ttl_s = None
        fetched = upstreams.fetch(api, query)
        assert fetched.max_age is None and fetched.lifetime_s() == 100.0
        assert {r["gen"] for r in fetched.records} == {2}  # a new answer, a new marker
        assert demo.requests == 2


def test_500_is_retried_then_reported_and_404_is_not_retried():
    with DemoUpstream() as demo:
        upstreams = Upstreams(demo.config(retries=3, retry_delay_s=0.01))
        query = parse_query("dataset dataset.name=/A/B/C")
        (api,) = upstreams.for_query(query)
        demo.fail(500)
        fetched = upstreams.fetch(api, query)
        assert not fetched.ok and demo.requests == 4 and fetched.attempts == 4
        assert fetched.error is not None and "HTTP 500" in fetched.error and "after 4 attempts" in fetched.error
        demo.fail(503, count=2)  # two failures, then the retry succeeds
        fetched = upstreams.fetch(api, query)
        assert fetched.ok and fetched.attempts == 3 and demo.requests == 7
        demo.fail(404)
        fetched = upstreams.fetch(api, query)
        assert not fetched.ok and fetched.attempts == 1 and demo.requests == 8 and "HTTP 404" in str(fetched.error)


def test_timeout_is_retried():
    with DemoUpstream(latency_s=0.5) as demo:
        upstreams = Upstreams(demo.config(timeout_s=0.1, retries=1, retry_delay_s=0.01))
        query = parse_query("dataset dataset.name=/A/B/C")
        (api,) = upstreams.for_query(query)
        fetched = upstreams.fetch(api, query)
        assert not fetched.ok and "timed out after 0.1s" in str(fetched.error) and fetched.attempts == 2
        assert demo.requests == 2
        assert fetched.latency_s < 1.0


def test_unreachable_upstream_and_bad_json(tmp_path):
    with DemoUpstream() as demo:
        dead = demo.url
    upstreams = Upstreams([{**DATASETS, "url": f"{dead}/x?n={{dataset.name}}", "retries": 1, "retry_delay_s": 0}])
    query = parse_query("dataset.name=/A")
    fetched = upstreams.fetch(upstreams.apis[0], query)
    assert not fetched.ok and fetched.attempts == 2 and "Connection refused" in str(fetched.error)


def test_demo_expands_wildcards_deterministically():
    demo = DemoUpstream(records_per_value=3)
    try:
        records = demo.answer("/dbs/datasets", {"dataset.name": "/A/*/C*"}, serial=5)
        again = demo.answer("/dbs/datasets", {"dataset.name": "/A/*/C*"}, serial=6)
    finally:
        demo.stop()
    assert [r["dataset"]["name"] for r in records] == ["/A/x0a/Cx0b", "/A/x1a/Cx1b", "/A/x2a/Cx2b"]
    assert [r["dataset"] for r in records] == [r["dataset"] for r in again]
    assert {r["gen"] for r in records} == {5}
