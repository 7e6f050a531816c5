"""The HTTP endpoint and the load generator end-to-end on loopback: spam -> das HTTP
endpoint -> DasService (SQLite) -> DemoUpstream; and the two CLI sub-commands."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from pathlib import Path

import pytest

from actors.cli import main
from tasks.das.backends import SQLiteDasStore
from tasks.das.http import DasHttpServer
from tasks.das.service import DasService
from tasks.das.spam import SpamConfig, run_spam, sampler
from tasks.das.upstream import Upstreams

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def endpoint(tmp_path, demo):
    service = DasService(SQLiteDasStore(tmp_path / "das.db"), Upstreams(demo.config(retry_delay_s=0.01)))
    with DasHttpServer(service, port=0) as server:
        yield server


def get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, json.loads(exc.read())


def query_url(server: DasHttpServer, text: str) -> str:
    return f"{server.query_url}?q={urllib.parse.quote(text)}"


def test_endpoint_answers_from_upstream_then_cache_and_records_the_calls(endpoint, demo):
    status, body = get(query_url(endpoint, "dataset dataset.name=/A/B/C"))
    assert status == 200 and body["status"] == "ok" and body["source"] == "upstream" and len(body["records"]) == 3
    assert isinstance(body["latency_ms"], float) and body["expire"] > 0 and len(body["qhash"]) == 32
    status, body = get(query_url(endpoint, "dataset.name=/A/B/C"))
    assert (status, body["status"], body["source"]) == (200, "cached", "cache")
    assert demo.requests == 1
    (logged,) = endpoint.service.list_queries(after=0, before=float("inf"))
    assert len(logged["times"]) == 2  # outside traffic is recorded
    status, stats = get(f"{endpoint.url}/das/stats")
    assert status == 200 and stats["hits"] == 1 and stats["misses"] == 1 and stats["hit_ratio"] == 0.5


def test_endpoint_errors(endpoint, demo):
    status, body = get(query_url(endpoint, "dataset dataset.name="))
    assert status == 400 and body["status"] == "failed" and "empty value" in body["error"]
    status, body = get(f"{endpoint.query_url}")
    assert status == 400 and "/das/query?q=" in body["error"]
    demo.fail(500)
    status, body = get(query_url(endpoint, "dataset dataset.name=/X"))
    assert status == 502 and body["status"] == "failed" and "HTTP 500" in body["error"]
    status, body = get(f"{endpoint.url}/nope")
    assert status == 404 and "no such endpoint" in body["error"]
    request = urllib.request.Request(endpoint.query_url, data=b"x", method="POST")
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=10)
    assert caught.value.code == 405
    caught.value.close()


def test_spam_end_to_end_counts_requests_and_reports_the_hit_ratio(endpoint, demo):
    summary = run_spam(SpamConfig(url=endpoint.url, workers=3, duration_s=1.5, rate=120, values=30, seed=7))
    assert summary["errors"] == 0 and summary["ok"] == summary["requests"]
    assert 100 <= summary["requests"] <= 190  # about rate x duration
    # every distinct value is fetched once (long TTL, single flight), every other request hits
    assert summary["upstream"] == demo.requests == summary["distinct_values"]
    assert summary["cached"] + summary["upstream"] == summary["requests"]
    assert summary["hit_ratio"] == pytest.approx(summary["cached"] / summary["requests"], abs=1e-6)
    assert summary["hit_ratio"] > 0.6
    assert 0 < summary["p50_ms"] <= summary["p99_ms"] <= summary["max_ms"]
    assert summary["mean_ms"] > 0 and summary["server_mean_ms"] >= 0
    assert summary["p50_ms"] < 25  # a hit takes about 1 ms: no 40 ms Nagle/delayed-ACK stall per response
    logged = endpoint.service.list_queries(after=0, before=float("inf"))
    assert sum(len(d["times"]) for d in logged) == summary["requests"]  # all traffic reached the query log
    assert len(logged) == summary["distinct_values"]


def test_spam_max_calls_and_uniform(endpoint):
    summary = run_spam(SpamConfig(url=endpoint.query_url, workers=4, duration_s=30, rate=0, values=5,
                                  popularity="uniform", max_calls=40))
    assert summary["requests"] == 40 and summary["errors"] == 0 and summary["duration_s"] < 30
    assert summary["distinct_values"] == 5


def test_spam_counts_errors(endpoint, demo):
    demo.fail(404)
    summary = run_spam(SpamConfig(url=endpoint.url, workers=2, duration_s=5, rate=0, values=3, max_calls=6))
    assert summary["requests"] == 6 and summary["errors"] == 6 and summary["ok"] == 0
    assert summary["hit_ratio"] is None and "HTTP 502" in summary["error_samples"][0]
    dead = run_spam(SpamConfig(url="http://127.0.0.1:9/", workers=1, duration_s=5, rate=0, max_calls=2))
    assert dead["errors"] == 2 and "ConnectionRefusedError" in dead["error_samples"][0]


def test_zipf_popularity_favours_low_values_and_is_reproducible():
    config = SpamConfig(url="http://x:1", values=1000, zipf_s=1.1)
    draw = sampler(config, random.Random(1))
    counts = Counter(draw() for _ in range(20000))
    assert counts[0] > counts[1] > counts[5] > counts[100]
    assert counts[0] / 20000 == pytest.approx(1 / sum(1 / (i + 1) ** 1.1 for i in range(1000)), rel=0.1)
    again = sampler(config, random.Random(1))
    first = sampler(config, random.Random(1))
    assert [again() for _ in range(50)] == [first() for _ in range(50)]
    draw = sampler(SpamConfig(url="http://x:1", values=4, popularity="uniform"), random.Random(2))
    uniform = Counter(draw() for _ in range(4000))
    assert set(uniform) == {0, 1, 2, 3} and min(uniform.values()) > 800


@pytest.mark.parametrize(("change", "message"), [
    ({"url": "ftp://x"}, "url must be http://"), ({"workers": 0}, "workers must be >= 1"),
    ({"duration_s": 0}, "duration must be > 0"), ({"rate": -1}, "rate must be >= 0"),
    ({"popularity": "pareto"}, "popularity must be zipf or uniform"), ({"zipf_s": 0}, "zipf_s must be > 0"),
    ({"values": 0}, "values must be >= 1"), ({"query_template": "dataset x"}, "containing {value}"),
])
def test_spam_config_errors(change, message):
    with pytest.raises(ValueError, match=__import__("re").escape(message)):
        SpamConfig(**{"url": "http://127.0.0.1:1", **change}).check()


def test_cli_spam(endpoint, capsys):
    code = main(["spam", "--url", endpoint.url, "--workers", "2", "--duration", "0.6", "--rate", "50",
                 "--values", "10", "--seed", "3"])
    summary = json.loads(capsys.readouterr().out)
    assert code == 0 and summary["requests"] > 10 and summary["errors"] == 0 and summary["config"]["seed"] == 3
    assert main(["spam", "--url", "ftp://nowhere"]) == 2
    assert "url must be http://" in capsys.readouterr().err
    assert main(["spam", "--url", endpoint.url, "--workers", "0"]) == 2
    assert main(["spam", "--url", "http://127.0.0.1:9", "--max-calls", "1", "--duration", "5"]) == 1
    with pytest.raises(SystemExit) as usage:
        main(["spam"])
    assert usage.value.code == 2


def test_cli_das_serve_usage_errors(tmp_path, capsys):
    assert main(["das-serve", "--db-uri", "sqlite:///" + str(tmp_path / "d.db"),
                 "--upstreams", str(tmp_path / "missing.json")]) == 2
    assert "not found" in capsys.readouterr().err
    (tmp_path / "up.json").write_text("[]")
    assert main(["das-serve", "--db-uri", "postgres://x", "--upstreams", str(tmp_path / "up.json")]) == 2
    assert "is not supported" in capsys.readouterr().err
    assert main(["das-serve", "--db-uri", "sqlite:///x.db", "--upstreams", "u", "--port", "70000"]) == 2
    with pytest.raises(SystemExit) as usage:
        main(["das-serve", "--upstreams", "u.json"])
    assert usage.value.code == 2


def test_cli_das_serve_with_demo_upstream_serves_until_sigterm(tmp_path):
    upstreams = tmp_path / "upstreams.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "actors.cli", "das-serve", "--db-uri", f"sqlite:///{tmp_path}/das.db",
         "--upstreams", str(upstreams), "--demo-upstream", "--demo-latency", "0", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    try:
        assert process.stdout is not None
        ready = json.loads(process.stdout.readline())
        assert ready["event"] == "das.serving" and ready["demo_upstream"].startswith("http://127.0.0.1:")
        assert "dbs/datasets" in ready["upstreams"]
        assert [u["api"] for u in json.loads(upstreams.read_text())][:1] == ["datasets"]
        status, body = get(f"{ready['url']}?q={urllib.parse.quote('dataset dataset.name=/A/B/C')}")
        assert status == 200 and body["source"] == "upstream"
        status, body = get(f"{ready['url']}?q={urllib.parse.quote('dataset dataset.name=/A/B/C')}")
        assert body["source"] == "cache"
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    stopped = json.loads(out.strip().splitlines()[-1])
    assert stopped["event"] == "das.stopped" and stopped["stats"]["hits"] == 1
