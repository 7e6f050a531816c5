"""DNS rebinding: the server answers only to its own names, before routing, on every path.

A page on ``evil.example`` re-pointed at 127.0.0.1 makes the browser send
``Host: evil.example:<port>`` (and, on writes, ``Origin: http://evil.example:<port>``).
These tests send exactly that with a real HTTP client to a real server: every path
(pages, API, static, healthz, the live tail, the login form, unknown paths, redirects)
must answer 421 without running the app (no session cookie, no CSRF token, no job added),
and a write from a foreign Origin with an allowed Host is still refused.
"""

from __future__ import annotations

import http.client
import json
import socket

import pytest

from actors.errors import ConfigError
from tests.web.conftest import start_system, unique, wait_for
from web.hosts import AllowedHosts, split_host

pytestmark = pytest.mark.system

PATHS = ["/analytics/", "/analytics/schedule", "/analytics/login", "/analytics/api/v1/jobs",
         "/analytics/api/v1/openapi.json", "/analytics/static/style.css", "/analytics/healthz",
         "/analytics/metrics", "/analytics/api/v1/logs/tail?timeout=0", "/analytics/no/such/page",
         "/analytics", "/", "/elsewhere"]


# ------------------------------------------------------------------------------------ the rule
@pytest.fixture
def bound() -> AllowedHosts:
    hosts = AllowedHosts()
    hosts.bind("127.0.0.1", 8213)
    return hosts


@pytest.mark.parametrize("host", [
    "localhost:8213", "localhost", "127.0.0.1:8213", "127.0.0.1", "[::1]:8213", "[::1]", "LOCALHOST:8213",
    "localhost:80",
])
def test_loopback_names_with_the_bound_port_or_none_are_allowed(bound, host):
    assert bound.allows(host)


@pytest.mark.parametrize("host", [
    "evil.example:8213", "evil.example", "localhost:8214", "127.0.0.1:8080", "127.0.0.1.evil.example:8213",
    "localhost.evil.example", "localhost.:8213", "", " ", "localhost:", "localhost:x", "localhost:8213:1",
    "user@localhost:8213", "[::1", "[::1]8213", "[zz::1]:8213", "localhost:99999", "127.0.0.2:8213",
    "localhost/x", "0.0.0.0:8213", "127.0.0.1:0008213",
])
def test_every_other_host_is_refused(bound, host):
    assert not bound.allows(host)


def test_the_default_port_of_the_scheme_means_no_port(bound):
    assert bound.allows("localhost:443", "https") and not bound.allows("localhost:443", "http")


def test_configured_names_with_and_without_a_port(bound):
    hosts = AllowedHosts("panel.example.org, Other.Example:8443 ,10.0.0.5")
    hosts.bind("127.0.0.1", 8213)
    assert hosts.allows("panel.example.org") and hosts.allows("panel.example.org:8213")
    assert not hosts.allows("panel.example.org:9000")
    assert hosts.allows("other.example:8443") and not hosts.allows("other.example")
    assert not hosts.allows("other.example:8213")
    assert hosts.allows("10.0.0.5:8213") and not hosts.allows("10.0.0.6:8213")
    assert hosts.allows_origin("https://panel.example.org") and hosts.allows_origin("https://other.example:8443")


@pytest.mark.parametrize("entry", ["http://panel.example.org", "*.example.org", "a b", "x/y", "[::1", "h:0",
                                   "h:65536", "-bad-.example"])
def test_malformed_configured_names_name_the_option(entry):
    with pytest.raises(ConfigError, match="web_allowed_hosts"):
        AllowedHosts(f"localhost, {entry}")


@pytest.mark.parametrize(("origin", "ok"), [
    ("http://localhost:8213", True), ("http://127.0.0.1:8213", True), ("http://[::1]:8213", True),
    ("http://localhost", True), ("http://evil.example:8213", False), ("null", False), ("http://localhost:8080", False),
    ("http://localhost:8213/x", False), ("ftp://localhost:8213", False), ("http://u@localhost:8213", False),
    ("localhost:8213", False),
])
def test_origins_must_name_an_allowed_host(bound, origin, ok):
    assert bound.allows_origin(origin) is ok


def test_split_host_brackets_and_ports():
    assert split_host("[::1]:8213") == ("[::1]", 8213)
    assert split_host("Example.ORG") == ("example.org", None)
    assert split_host("[::1]:") is None and split_host(":80") is None


# ------------------------------------------------------------------------------------ a real server
@pytest.fixture(scope="module")
def server(tmp_path_factory):
    system = start_system(tmp_path_factory.mktemp("hosts"), web=True, web_port=0,
                          web_allowed_hosts="panel.example.org")
    wait_for(lambda: all(w["status"] == "idle" for w in system.workers()), 30)
    yield system
    system.shutdown(grace_s=0.5)


def ask(port: int, method: str, path: str, host: str | None, headers: dict | None = None, body: bytes | None = None):
    """One request with exactly the Host given (None: no Host header at all)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        if host is not None:
            conn.putheader("Host", host)
        for name, value in (headers or {}).items():
            conn.putheader(name, value)
        if body is not None:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read()
    finally:
        conn.close()


@pytest.mark.parametrize("path", PATHS)
def test_a_rebound_name_gets_421_on_every_path_before_the_app(server, path):
    status, headers, body = ask(server.web_port, "GET", path, f"evil.example:{server.web_port}",
                                {"Origin": f"http://evil.example:{server.web_port}"})
    assert status == 421, body
    assert json.loads(body)["error"]["field"] == "Host"
    assert "Set-Cookie" not in headers and b"csrf" not in body.lower()


@pytest.mark.parametrize("path", PATHS)
def test_the_same_paths_answer_to_the_loopback_names(server, path):
    for host in (f"127.0.0.1:{server.web_port}", f"localhost:{server.web_port}", "127.0.0.1"):
        status, _, _ = ask(server.web_port, "GET", path, host)
        assert status not in (400, 421), (host, path, status)


def test_a_rebound_write_adds_nothing(server):
    name = unique("rebound")
    body = json.dumps({"name": name, "classname": "Echo", "interval": 3600, "when": "+1h"}).encode()
    evil = f"evil.example:{server.web_port}"
    for content_type in ("application/json", "text/plain"):
        status, _, _ = ask(server.web_port, "POST", "/analytics/api/v1/jobs", evil,
                           {"Origin": f"http://{evil}", "Content-Type": content_type}, body)
        assert status == 421
    status, _, listing = ask(server.web_port, "GET", "/analytics/api/v1/jobs?limit=1000", "localhost")
    assert status == 200 and name not in listing.decode()


def test_a_missing_host_is_a_400(server):
    with socket.create_connection(("127.0.0.1", server.web_port), timeout=10) as sock:
        sock.sendall(b"GET /analytics/healthz HTTP/1.0\r\n\r\n")
        answer = b""
        while chunk := sock.recv(4096):
            answer += chunk
    assert answer.startswith(b"HTTP/1.0 400") or answer.startswith(b"HTTP/1.1 400"), answer[:200]
    assert b"Host header is required" in answer


def test_an_allowed_host_with_a_foreign_origin_cannot_write(server):
    body = json.dumps({"name": unique(), "classname": "Echo", "interval": 3600, "when": "+1h"}).encode()
    status, _, answer = ask(server.web_port, "POST", "/analytics/api/v1/jobs", f"127.0.0.1:{server.web_port}",
                            {"Origin": f"http://evil.example:{server.web_port}", "Content-Type": "application/json"},
                            body)
    assert status == 403 and b"another origin" in answer


def test_a_configured_name_serves_and_may_write(server):
    status, _, page = ask(server.web_port, "GET", "/analytics/control", "panel.example.org")
    assert status == 200 and b"csrf_token" in page
    body = json.dumps({"name": unique(), "classname": "Echo", "interval": 3600, "when": "+1h"}).encode()
    status, _, answer = ask(server.web_port, "POST", "/analytics/api/v1/jobs", "panel.example.org",
                            {"Origin": "https://panel.example.org", "Content-Type": "application/json"}, body)
    assert status == 201, answer
