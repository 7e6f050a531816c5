"""The real server: `System` with ``web=True`` serves the panel with waitress on a free port."""

from __future__ import annotations

import json
import re
import socket
import threading
import urllib.error
import urllib.request

import pytest

from actors.errors import ConfigError
from tests.web.conftest import T, start_system, unique, wait_for

pytestmark = pytest.mark.system

SAMPLE = re.compile(r'[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? \S+')


def fetch(url: str, method: str = "GET", body: dict | None = None, timeout: float = 10.0):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    return urllib.request.urlopen(request, timeout=timeout)


def test_system_exposes_the_bound_port_and_url(served):
    assert served.web_port and served.web_port != 8213
    assert served.web_url == f"http://127.0.0.1:{served.web_port}/analytics/"


@pytest.mark.parametrize("path", ["", "schedule", "running", "results", "logs", "control", "reports", "help"])
def test_pages_are_served_under_the_base(served, path):
    with fetch(served.web_url + path) as resp:
        assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/html")
        text = resp.read().decode()
    assert 'href="/analytics/schedule"' in text and resp.headers["X-Frame-Options"] == "DENY"


def test_root_and_bare_base_redirect_and_outside_is_404(served):
    root = f"http://127.0.0.1:{served.web_port}"
    for path in ("/", "/analytics"):
        with fetch(root + path) as resp:
            assert resp.url == served.web_url
    with pytest.raises(urllib.error.HTTPError) as caught:
        fetch(root + "/elsewhere")
    assert caught.value.code == 404


def test_api_and_healthz(served):
    with fetch(served.web_url + "healthz") as resp:
        assert json.load(resp) == {"status": "ok"}
    body = {"name": unique(), "classname": "Echo", "interval": 3600, "when": "+1h"}
    with fetch(served.web_url + "api/v1/jobs", "POST", body) as resp:
        assert resp.status == 201 and json.load(resp)["job"]["name"] == body["name"]
    with pytest.raises(urllib.error.HTTPError) as caught:
        fetch(served.web_url + "api/v1/jobs", "POST", {"name": "x"})
    assert caught.value.code == 400 and json.load(caught.value)["error"]["field"] == "classname"


def test_metrics_parse_as_prometheus_text(served):
    with fetch(served.web_url + "metrics") as resp:
        text = resp.read().decode()
    samples = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert samples and all(SAMPLE.fullmatch(line) for line in samples)
    from prometheus_client.parser import text_string_to_metric_families

    assert "das_workers" in {f.name for f in text_string_to_metric_families(text)}


def test_live_tail_delivers_a_new_log_line(served):
    message = unique("tailed")
    stream = fetch(served.web_url + "api/v1/logs/tail?type=reslog", timeout=15)
    assert stream.headers["Content-Type"].startswith("text/event-stream")
    assert stream.readline().startswith(b": das-actors live tail")
    body = {"name": unique(), "classname": T + "Say", "interval": 3600, "kwargs": {"message": message}}
    fetch(served.web_url + "api/v1/jobs", "POST", body).close()
    found: dict = {}

    def read() -> None:
        seq = None
        for raw in stream:
            line = raw.decode().rstrip("\n")
            if line.startswith("id: "):
                seq = int(line[4:])
            elif line.startswith("data: "):
                doc = json.loads(line[6:])
                if doc.get("msg") == message:
                    found.update(doc, id=seq)
                    return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(20)  # the deadline; the socket timeout also bounds each read
    stream.close()
    assert found.get("msg") == message and found["id"] == found["seq"] and found["type"] == "reslog"


def test_tails_are_ended_by_shutdown_and_the_port_is_released(tmp_path):
    system = start_system(tmp_path, web=True, web_port=0)
    port = system.web_port
    stream = fetch(f"{system.web_url}api/v1/logs/tail", timeout=15)
    assert stream.readline().startswith(b":")
    assert system.web is not None and len(system.web.app.state.tails) == 1
    system.shutdown(grace_s=0.2)
    assert stream.read() is not None  # the stream ended (EOF) instead of hanging
    assert system.web_port is None
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


def test_a_port_in_use_stops_start_with_a_config_error(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ConfigError, match=f"127.0.0.1:{port}"):
            start_system(tmp_path, web=True, web_port=port)


def _open_tails(tails) -> set:
    """The stop events of the tails open now (each stream's own: a tail another test left open
    may close at any moment, so a count would not say whether ours is there)."""
    with tails._lock:
        return set(tails._stops)


def test_a_client_that_goes_away_frees_its_tail(served):
    tails = served.web.app.state.tails
    before = _open_tails(tails)
    stream = fetch(served.web_url + "api/v1/logs/tail?type=log", timeout=15)
    stream.readline()
    ours = wait_for(lambda: _open_tails(tails) - before, what="our tail open")
    assert len(ours) == 1
    stream.close()

    def gone() -> bool:
        # a write to the closed connection fails and the server closes the stream's generator; the
        # heartbeat is 15 s, so make events instead: each added job logs a line this (unfiltered) tail sends
        fetch(served.web_url + "api/v1/jobs", "POST", {"name": unique(), "classname": "Echo", "interval": 3600,
                                                       "when": "+1h"}).close()
        return not ours & _open_tails(tails)

    wait_for(gone, timeout=20, every=0.2, what="our tail freed")


def test_the_prefix_is_the_servers_business(facade):
    import webtest  # type: ignore[import-untyped]

    from web import make_app
    from web.server import prefixed

    deep = webtest.TestApp(prefixed(make_app(facade), "/ops/das/"))
    page = deep.get("/ops/das/schedule")
    assert 'href="/ops/das/results"' in page.text and page.html.find(id="brand")["href"] == "/ops/das/"
    assert deep.get("/ops/das", status=308).headers["Location"] == "/ops/das/"
    deep.get("/ops/dash/", status=404)
    root = webtest.TestApp(prefixed(make_app(facade), "/"))
    assert 'href="/results"' in root.get("/schedule").text
    assert root.get("/api/v1/jobs").json["jobs"] is not None


def test_live_tails_are_bounded():
    from actors.errors import RefusedError
    from web.tails import Tails

    tails = Tails(2)
    first, _second = tails.open(), tails.open()
    with pytest.raises(RefusedError) as caught:
        tails.open()
    assert caught.value.status == 503
    tails.close(first)
    third = tails.open()
    tails.stop_all()
    assert third.is_set() and len(tails) == 0
