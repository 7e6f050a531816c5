"""Code loading (issue 11): a request never chooses what the server imports, and nothing a
handler raises escapes into the server.

The probes: any ``module:Class`` named in ``POST /api/v1/jobs``, the add-job form or
``GET [api/v1/]reports/<dotted>`` was imported in the server process (running its top level),
also under ``--web-read-only`` and from a cross-site ``<img>``; ``GET reports/unittest.__main__:x``
raised SystemExit and stopped the web server for good; error messages leaked object addresses.

Here a module that records whether its top level ran (it writes a marker file) sits on
``sys.path`` of the server and of its workers, and is named through every door: each must
answer 400/404 and the marker must never appear. Then handlers raise SystemExit,
KeyboardInterrupt and an error holding an address, in a served server: each is a 500 without
internals, and the server answers the next request.
"""

from __future__ import annotations

import http.client
import json
import sys
import uuid
from pathlib import Path

import pytest

from actors.errors import http_status, public_message
from tests.actors.test_system import wait_results
from tests.web.conftest import API, client, make_facade, start_system, unique, wait_for

pytestmark = pytest.mark.system

PROBE = '''
from pathlib import Path
Path({marker!r}).write_text("top level ran")


class Thing:
    """Would be a task class, if it were importable."""

    def __init__(self, **kwargs):
        pass

    def __call__(self):
        return {{}}
'''


@pytest.fixture
def probe(tmp_path, monkeypatch):
    """``(module name, marker path)``: a module on sys.path (here and in the workers) whose import
    writes the marker."""
    name = f"probe_{uuid.uuid4().hex[:12]}"
    marker = tmp_path / "marker"
    code = tmp_path / "code"
    code.mkdir()
    (code / f"{name}.py").write_text(PROBE.format(marker=str(marker)))
    monkeypatch.syspath_prepend(str(code))
    yield name, marker
    sys.modules.pop(name, None)


def _never_imported(name: str, marker: Path) -> None:
    assert not marker.exists(), f"{name} was imported: its top level ran"
    assert name not in sys.modules


@pytest.mark.parametrize("read_only", [False, True])
def test_no_door_imports_a_module_the_operator_did_not_allow(tmp_path, probe, read_only):
    name, marker = probe
    system = start_system(tmp_path, web_read_only=read_only)
    try:
        facade = make_facade(system)
        app = client(facade)
        dotted = f"{name}:Thing"
        write_status = 403 if read_only else 400
        resp = app.post(API + "/jobs", json.dumps({"name": unique(), "classname": dotted, "interval": 60}),
                        content_type="application/json", status=write_status)
        if not read_only:
            assert resp.json["error"]["field"] == "classname"
            assert "not importable by this server" in resp.json["error"]["message"]
        app.get("/help")
        token = app.app.state.security.csrf_token(app.cookies["das_sid"])
        app.post("/control/jobs", {"name": unique(), "classname": dotted, "interval": "60", "csrf_token": token},
                 status=write_status)
        app.get("/control", {"classname": dotted})  # the picker only lists known classes
        for path in (f"/reports/{dotted}", f"{API}/reports/{dotted}", f"/reports/{name}.Thing"):
            app.get(path, status=404)
        cross_site = {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Dest": "image",
                      "Origin": "http://evil.example", "Referer": "http://evil.example/"}
        app.get(f"/reports/{dotted}", headers=cross_site, status=404)
        app.get(f"{API}/reports/{dotted}", headers=cross_site, status=404)
        _never_imported(name, marker)
    finally:
        system.shutdown(grace_s=0.2)


def test_a_child_job_never_imports_a_module_the_operator_did_not_allow(tmp_path, probe):
    name, marker = probe
    system = start_system(tmp_path)
    try:
        facade = make_facade(system)
        job = facade.add_job({"name": unique("parent"), "classname": "tests.fixtures:Spawn", "interval": 3600,
                              "kwargs": {"children": [{"name": "c", "classname": f"{name}:Thing", "interval": 60}]}})
        doc = wait_results(system, job_id=job["job_id"])[0]
        assert "not importable" in " ".join(doc.get("child_errors") or []), doc
        _never_imported(name, marker)  # in the server process, and the worker never wrote the marker either
    finally:
        system.shutdown(grace_s=0.2)


@pytest.mark.parametrize("dotted", ["unittest.__main__:x", "unittest.mock:Mock", "functools:partial",
                                    "tests.__main__:x", "tests.attack_tasks:BAD_NEXT", "tests.attack_tasks:_Base",
                                    "os:system", "antigravity:x", "this:x"])
def test_names_that_are_not_tasks_are_refused_without_effect(tmp_path, dotted):
    module = dotted.split(":")[0]
    already = module in sys.modules
    system = start_system(tmp_path)
    try:
        app = client(make_facade(system))
        resp = app.post(API + "/jobs", json.dumps({"name": unique(), "classname": dotted, "interval": 60}),
                        content_type="application/json", status=400)
        assert resp.json["error"]["field"] == "classname"
        assert " at 0x" not in resp.text
        app.get(f"/reports/{dotted}", status=404)
        app.get(f"{API}/reports/{dotted}", status=404)
        if module in ("antigravity", "this", "unittest.__main__", "tests.__main__"):
            assert (module in sys.modules) == already, f"{module} was imported"
    finally:
        system.shutdown(grace_s=0.2)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    running = start_system(tmp_path_factory.mktemp("loading-served"), web=True, web_port=0)
    wait_for(lambda: all(w["status"] == "idle" for w in running.workers()), 30)
    yield running
    running.shutdown(grace_s=0.2)


def _get(server, path: str) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", server.web_port, timeout=10)
    try:
        connection.request("GET", "/analytics" + path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


RAISING = [f"{prefix}/reports/{name}" for name in ("unittest.__main__:x", "tests.web.raising:ExitReport",
                                                   "tests.web.raising:InterruptReport", "tests.web.raising:LeakReport")
           for prefix in ("", "/api/v1")]


@pytest.mark.parametrize("path", RAISING)
def test_nothing_a_handler_raises_stops_the_web_server(served, path):
    for _ in range(3):  # more than once: a dead server thread would show on the second
        status, body = _get(served, path)
        assert status in (404, 500), (status, body[:300])
        assert b" at 0x" not in body and b"Traceback" not in body
        if status == 500:
            assert b"internal error" in body or b"DasActorsError" in body
    assert _get(served, "/healthz") == (200, b'{"status": "ok"}')
    assert _get(served, "/api/v1/workers")[0] == 200


def test_the_wsgi_entry_is_the_last_net(tmp_path, monkeypatch):
    """Bottle lets SystemExit through its own handling: the app's WSGI entry answers 500."""
    system = start_system(tmp_path)
    try:
        facade = make_facade(system)
        app = client(facade)

        def exits(*_args, **_kwargs):
            raise SystemExit(1)

        monkeypatch.setattr(type(app.app), "_handle", exits)
        resp = app.get(API + "/tasks", status=500)
        assert resp.json["error"]["message"] == "internal error (SystemExit); see the server log"
        page = app.get("/control", status=500)
        assert "SystemExit" in page.text and "Content-Security-Policy" in page.headers
        monkeypatch.undo()
        monkeypatch.setattr(type(facade), "tasks", exits)
        assert app.get(API + "/tasks", status=500).json["error"]["status"] == 500
        assert "internal error (SystemExit)" in app.get("/control", status=500).text
    finally:
        system.shutdown(grace_s=0.2)


def test_error_messages_never_carry_object_addresses():
    assert public_message("a <function f at 0x7f3a2b1c> b") == "a <function f> b"
    from actors.errors import DasActorsError, NotFoundError

    status, message, _ = http_status(NotFoundError(f"no {object()!r}"))
    assert status == 404 and "0x" not in message
    status, message, _ = http_status(DasActorsError(f"boom {object()!r}"))
    assert status == 500 and "0x" not in message
    assert http_status(SystemExit(2)) == (500, "internal error (SystemExit); see the server log", None)
