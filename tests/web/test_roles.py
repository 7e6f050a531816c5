"""Two roles and an honest exposure (issue 16): a read-only token beside the admin token, the tokens
from a file or the environment, and a banner on every page while the panel is open to the network
without a token.

The rules run over `FakeBackend`; scripts (written in the panel, so code) and the banner over
a real server and a real socket.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator

import pytest
import webtest  # type: ignore[import-untyped]

from actors.config import Settings
from actors.errors import ConfigError
from actors.server import Server
from tests.web.conftest import API, BASE, start_system, unique, wait_for
from web import make_app
from web.app import app_for, app_state
from web.server import WebServer
from web.token_source import READ_TOKEN_ENV, resolve_read_token

ADMIN_TOKEN, READ_TOKEN = "admin-token-for-tests", "read-token-for-tests"
NEW_JOB = {"classname": "Echo", "interval": 3600, "when": "+1h"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def two_roles(backend) -> webtest.TestApp:
    return webtest.TestApp(make_app(backend, token=ADMIN_TOKEN, read_token=READ_TOKEN),
                           extra_environ={"SCRIPT_NAME": BASE})


def logged_in(backend, token: str) -> webtest.TestApp:
    app = two_roles(backend)
    form = app.get("/login").forms["login-form"]
    form["token"] = token
    form.submit(status=303)
    return app


# ------------------------------------------------------------------------------------------ the API
def test_the_read_token_reads_every_get_route_and_every_write_is_403_naming_the_role(fake):
    app = two_roles(fake)
    job = app.post_json(API + "/jobs", {"name": unique("roles"), **NEW_JOB}, headers=bearer(ADMIN_TOKEN),
                        status=201).json["job"]
    for path in ("/jobs", f"/jobs/{job['job_id']}", "/runs", "/logs", "/workers", "/options", "/tasks", "/health"):
        assert app.get(API + path, headers=bearer(READ_TOKEN), expect_errors=True).status_int == 200, path
    writes = [("post", "/jobs", {"name": unique("nope"), **NEW_JOB}), ("post", f"/jobs/{job['job_id']}/pause", {}),
              ("post", f"/jobs/{job['job_id']}/run-now", None), ("delete", f"/jobs/{job['job_id']}", None),
              ("put", "/options/max_retries", {"value": 3}), ("put", "/scripts/x", {"source": "x = 1\n"})]
    for method, path, body in writes:
        send = getattr(app, f"{method}_json")
        resp = send(API + path, body, headers=bearer(READ_TOKEN), expect_errors=True)
        assert resp.status_int == 403, (path, resp.text)
        assert "role 'read'" in resp.json["error"]["message"] and "admin token" in resp.json["error"]["message"]
    assert app.get(API + f"/jobs/{job['job_id']}", headers=bearer(READ_TOKEN)).json["job"]["state"] == "scheduled"
    app.post_json(API + f"/jobs/{job['job_id']}/pause", headers=bearer(ADMIN_TOKEN), status=200)
    assert app.get(API + "/jobs", headers=bearer("neither"), expect_errors=True).status_int == 401


def test_with_no_read_token_configured_nothing_else_gets_in(fake):
    app = webtest.TestApp(make_app(fake, token=ADMIN_TOKEN), extra_environ={"SCRIPT_NAME": BASE})
    assert app.get(API + "/jobs", headers=bearer(READ_TOKEN), expect_errors=True).status_int == 401
    assert app.get(API + "/jobs", headers=bearer(""), expect_errors=True).status_int == 401


# ------------------------------------------------------------------------------------------ the pages
def test_a_reader_logged_in_sees_every_page_without_forms_and_cannot_post_one(fake):
    job = fake.add_job({"name": unique("reader"), **NEW_JOB})
    reader, admin = logged_in(fake, READ_TOKEN), logged_in(fake, ADMIN_TOKEN)
    for path in ("/", "/schedule", "/running", "/results", f"/jobs/{job['job_id']}", "/logs", "/control", "/help"):
        page = reader.get(path)
        assert page.status_int == 200 and 'id="read-role-banner"' in page.text and 'data-testid="role"' in page.text
    schedule = reader.get("/schedule")
    assert f'id="pause-{job["job_id"]}"' not in schedule.text  # no action a reader could not take
    admin_schedule = admin.get("/schedule")
    assert f'id="pause-{job["job_id"]}"' in admin_schedule.text and 'read-role-banner' not in admin_schedule.text
    csrf = _csrf(reader)  # the log-out form's: a reader's page has no other
    refused = reader.post(f"/jobs/{job['job_id']}/pause", {"csrf_token": csrf}, expect_errors=True)
    assert refused.status_int == 403 and "role &#39;read&#39;" in refused.text
    assert fake.job(job["job_id"])["state"] == "scheduled"
    reader.post("/logout", {"csrf_token": csrf}, status=303)  # a reader may still log out
    assert reader.get("/schedule", expect_errors=True).status_int == 401


def _csrf(app: webtest.TestApp) -> str:
    page = app.get("/schedule")
    return next(f for f in page.forms.values() if "csrf_token" in f.fields)["csrf_token"].value


def test_a_read_cookie_cannot_be_passed_off_as_an_admin_one(fake):
    reader = logged_in(fake, READ_TOKEN)
    cookie = reader.cookies["das_auth"]
    # the role is inside the cookie's HMAC: the same session with a recomputed "admin" value is unknowable
    assert cookie and reader.post_json(API + "/jobs", {"name": unique("forged"), **NEW_JOB},
                                       expect_errors=True).status_int == 403


# ------------------------------------------------------------------------------------------ options
@pytest.mark.parametrize(("options", "words"), [
    ({"read_token": READ_TOKEN}, r"web_read_token.*no admin token"),
    ({"token": ADMIN_TOKEN, "read_token": ADMIN_TOKEN}, r"web_read_token.*same as the admin token"),
])
def test_a_read_token_needs_its_own_admin_token(fake, options, words):
    with pytest.raises(ConfigError, match=words):
        make_app(fake, **options)


def test_the_read_token_comes_from_the_option_a_file_or_the_environment(tmp_path):
    path = tmp_path / "read-token"
    path.write_text("from-the-file\n")
    path.chmod(0o600)
    env = {READ_TOKEN_ENV: "from-the-env"}
    assert resolve_read_token(Settings({"web_read_token": "from-the-option", "web_read_token_file": str(path)}),
                              env) == ("from-the-option", "option")
    assert resolve_read_token(Settings({"web_read_token_file": str(path)}), env) == ("from-the-file", "file")
    assert resolve_read_token(Settings({}), env) == ("from-the-env", "env")
    assert resolve_read_token(Settings({}), {}) == ("", "none")
    with pytest.raises(ConfigError, match=r"web_read_token_file.*cannot read"):
        resolve_read_token(Settings({"web_read_token_file": str(tmp_path / "missing")}), {})


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    path = tmp_path_factory.mktemp("roles-token") / "read"
    path.write_text(READ_TOKEN + "\n")
    path.chmod(0o600)
    running = start_system(tmp_path_factory.mktemp("roles"), web_token=ADMIN_TOKEN, web_read_token_file=str(path))
    wait_for(lambda: all(w["status"] == "idle" for w in running.workers()), 30)
    yield running
    running.shutdown(grace_s=0.5)


def test_editing_scripts_needs_the_admin_token_and_the_read_token_is_never_shown(server):
    facade = server.facade  # the server's own: it has the scripts door
    app = webtest.TestApp(app_for(facade, server.system.settings), extra_environ={"SCRIPT_NAME": BASE})
    name = unique("roles-script")
    refused = app.put_json(f"{API}/scripts/{name}", {"source": "x = 1\n"}, headers=bearer(READ_TOKEN),
                           expect_errors=True)
    assert refused.status_int == 403 and "role 'read'" in refused.json["error"]["message"]
    app.put_json(f"{API}/scripts/{name}", {"source": "x = 1\n"}, headers=bearer(ADMIN_TOKEN), status=201)
    assert app.get(f"{API}/scripts/{name}", headers=bearer(READ_TOKEN)).json["version"]["source"] == "x = 1\n"
    assert app.post_json(f"{API}/scripts/{name}/runs", {}, headers=bearer(READ_TOKEN), expect_errors=True
                         ).status_int == 403
    options = {o["name"]: o for o in app.get(API + "/options", headers=bearer(READ_TOKEN)).json["options"]}
    assert options["web_token"]["value"] == "***" and options["web_read_token"]["value"] == ""
    assert READ_TOKEN not in app.get("/control", headers=bearer(READ_TOKEN), expect_errors=True).text


# ------------------------------------------------------------------------------------------ exposed
def _page(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return str(resp.read().decode())


@pytest.mark.parametrize(("host", "token", "banner"), [("0.0.0.0", "", True), ("0.0.0.0", ADMIN_TOKEN, False),
                                                       ("127.0.0.1", "", False)])
def test_every_page_says_when_the_panel_is_open_to_the_network_without_a_token(fake, host, token, banner):
    app = make_app(fake, token=token)
    server = WebServer(app, host, 0, "/analytics").start()
    try:
        assert server.exposed_without_token is banner
        url = f"http://127.0.0.1:{server.port}/analytics/"
        for path in ("", "schedule", "help", "login"):
            text = _page(url + path) if not token or path == "login" else _page(url + "login")
            assert ('id="exposed-banner"' in text) is banner, path
            if banner:
                assert f"0.0.0.0:{server.port}" in text and "web_token_file" in text
        if banner:  # a token set later (change_token) ends the warning
            app_state(app).security.change_token(ADMIN_TOKEN)
            assert 'id="exposed-banner"' not in _page(url + "login")
    finally:
        server.stop()


def test_stopping_after_the_loop_closed_its_trigger_writes_to_no_descriptor(fake):
    """Found by CI: the event loop saw the stop and closed its trigger before `stop` pulled it
    (EBADF; with the descriptor number reused meanwhile, a write into somebody else's file)."""
    server = WebServer(make_app(fake), "127.0.0.1", 0, "/analytics").start()
    front = server._server
    assert front is not None
    with front._trigger_lock:  # the loop's side of the race, made to come first
        front._stopping.set()
        front.pull_trigger()
    assert front._closed.wait(5.0) and front._closing
    server.stop()  # wrote to the closed trigger before
