"""Guessing the token is slow, logged and fruitless; logging out and changing the token end sessions.

The probe: 1,800 wrong tokens a second were checked, none logged, no slowdown; logout did
not revoke a saved cookie. Here: after `FREE_FAILURES` wrong tokens (login form or Bearer
header) a client is locked out with exponential backoff (429 + Retry-After, the token not
even checked, so a right guess looks like a wrong one), each failure is logged without the
token, a saved cookie stops working at logout and at a token change, and the token can come
from a file or the environment instead of the command line.
"""

from __future__ import annotations

import os
import stat

import pytest
import webtest  # type: ignore[import-untyped]

from actors.config import Settings
from actors.errors import ConfigError
from actors.logs import capture_logs
from tests.web.conftest import API, BASE, make_facade, start_system
from web import make_app
from web.app import app_for
from web.ratelimit import FREE_FAILURES, LoginThrottle, client_key
from web.server import WebServer, is_loopback
from web.sessions import Sessions
from web.token_source import TOKEN_ENV, resolve_token

pytestmark = pytest.mark.system

TOKEN = "guess-me-if-you-can"


def logged(events: list[dict], name: str) -> list[dict]:
    """The fields of the captured *name* events (see `actors.logs.capture_logs`), with their level."""
    return [{**e["fields"], "levelname": e["levelname"]} for e in events if e["msg"] == name]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# ------------------------------------------------------------------------------------ the throttle
def test_free_failures_then_doubling_lockouts_up_to_the_cap():
    clock = Clock()
    throttle = LoginThrottle(free_failures=3, base_delay_s=1.0, max_delay_s=8.0, clock=clock)
    assert [throttle.failed("10.0.0.1")[1] for _ in range(3)] == [0.0, 0.0, 0.0]
    assert throttle.retry_after("10.0.0.1") == 0.0
    delays = []
    for _ in range(6):
        failures, delay = throttle.failed("10.0.0.1")
        delays.append(delay)
        assert throttle.retry_after("10.0.0.1") == delay
        clock.now += delay
    assert delays == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0] and failures == 9
    assert throttle.retry_after("10.0.0.2") == 0.0  # another client is not affected


def test_a_success_clears_and_an_old_record_is_forgotten():
    clock = Clock()
    throttle = LoginThrottle(free_failures=0, base_delay_s=1.0, max_delay_s=4.0, clock=clock)
    throttle.failed("10.0.0.1")
    throttle.succeeded("10.0.0.1")
    assert throttle.retry_after("10.0.0.1") == 0.0 and len(throttle) == 0
    throttle.failed("10.0.0.1")
    clock.now += 1.0 + 4.0 + 0.1  # the lockout ended, then max_delay more
    throttle.failed("10.0.0.2")
    assert len(throttle) == 1


def test_ipv6_clients_are_counted_by_their_64_network_and_the_table_is_bounded():
    assert client_key("2001:db8::1") == client_key("2001:db8::ffff:1") == "2001:db8::/64"
    assert client_key("2001:db8:0:1::1") != client_key("2001:db8::1")
    assert client_key("::ffff:10.0.0.1") == "10.0.0.1" and client_key("127.0.0.1") == "127.0.0.1"
    throttle = LoginThrottle(max_clients=3, clock=Clock())
    for i in range(10):
        throttle.failed(f"10.0.0.{i}")
    assert len(throttle) == 3


def test_sessions_end_one_or_all_and_expire():
    clock = Clock()
    sessions = Sessions(max_sessions=2, max_age_s=10.0, clock=clock)
    sessions.start("a")
    sessions.start("b")
    assert sessions.active("a") and sessions.end("a") and not sessions.active("a")
    sessions.start("c")
    sessions.start("d")  # bounded: "b", the oldest, is dropped
    assert not sessions.active("b") and sessions.active("c")
    clock.now += 11
    assert not sessions.active("c")
    sessions.start("e")
    assert sessions.end_all() == 2 and not sessions.active("e")


# ------------------------------------------------------------------------------------ the app
@pytest.fixture(scope="module")
def token_facade(tmp_path_factory):
    system = start_system(tmp_path_factory.mktemp("logins"), web_token=TOKEN)
    yield make_facade(system)
    system.shutdown(grace_s=0.5)


def browser(app_or_facade, address: str = "192.0.2.10") -> webtest.TestApp:
    app = (app_or_facade if not hasattr(app_or_facade, "system")
           else app_for(app_or_facade, app_or_facade.system.settings))
    return webtest.TestApp(app, extra_environ={"SCRIPT_NAME": BASE, "REMOTE_ADDR": address})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_wrong_bearer_tokens_are_logged_then_locked_out_with_retry_after(token_facade):
    app = browser(token_facade)
    with capture_logs(level="INFO") as events:
        for _ in range(FREE_FAILURES):
            assert app.get(API + "/jobs", headers=bearer("wrong"), expect_errors=True).status_int == 401
        assert app.get(API + "/jobs", headers=bearer("wrong"), expect_errors=True).status_int == 401  # 1 s lockout
        locked = app.get(API + "/jobs", headers=bearer(TOKEN), expect_errors=True)  # right, but not even checked
    assert locked.status_int == 429 and int(locked.headers["Retry-After"]) >= 1
    assert locked.json["error"]["status"] == 429 and "too many failed logins" in locked.json["error"]["message"]
    failed = logged(events, "web.login_failed")
    assert len(failed) == FREE_FAILURES + 1
    assert all(e["client"] == "192.0.2.10" and e["via"] == "bearer" for e in failed)
    assert failed[-1]["locked_out_s"] == 1.0 and failed[-1]["failures"] == FREE_FAILURES + 1
    assert not any("wrong" in str(e) or TOKEN in str(e) for e in events)  # never the token
    # another client is not locked out; a logged-in cookie session is not a guess
    assert browser(app.app, "192.0.2.11").get(API + "/jobs", headers=bearer(TOKEN)).status_int == 200


def test_the_lockout_ends_and_a_right_token_clears_the_count(token_facade):
    app = browser(token_facade)
    clock = Clock()
    app.app.state.security.throttle = LoginThrottle(clock=clock)
    for _ in range(FREE_FAILURES + 2):
        app.get(API + "/jobs", headers=bearer("wrong"), expect_errors=True)
    assert app.get(API + "/jobs", headers=bearer(TOKEN), expect_errors=True).status_int == 429
    clock.now += 2.0  # the second lockout (2 s) is over
    assert app.get(API + "/jobs", headers=bearer(TOKEN)).status_int == 200
    assert app.get(API + "/jobs", headers=bearer("wrong"), expect_errors=True).status_int == 401  # count restarted


def test_the_login_form_is_throttled_too(token_facade):
    app = browser(token_facade)
    with capture_logs(level="INFO") as events:
        for _ in range(FREE_FAILURES + 1):
            form = app.get("/login").forms["login-form"]
            form["token"] = "nope"
            assert "wrong token" in form.submit(status=401).text
        form = app.get("/login").forms["login-form"]
        form["token"] = TOKEN
        resp = form.submit(expect_errors=True)
    assert resp.status_int == 429 and int(resp.headers["Retry-After"]) >= 1
    assert "das_auth" not in app.cookies
    assert [e["via"] for e in logged(events, "web.login_failed")] == ["form"] * (FREE_FAILURES + 1)
    assert not any("nope" in str(e) for e in events)


def log_in(app: webtest.TestApp) -> None:
    form = app.get("/login").forms["login-form"]
    form["token"] = TOKEN
    form.submit(status=303)
    assert app.get("/schedule").status_int == 200


def test_logout_revokes_a_saved_cookie(token_facade):
    app = browser(token_facade)
    log_in(app)
    saved = dict(app.cookies)
    assert set(saved) >= {"das_sid", "das_auth"}
    app.get("/").forms[0].submit(status=303)  # log out
    replay = browser(app.app, "192.0.2.99")
    for name, value in saved.items():
        replay.set_cookie(name, value)
    replay.get("/schedule", status=401)
    assert replay.get(API + "/jobs", expect_errors=True).status_int == 401


def test_a_token_change_ends_every_session(token_facade):
    app = browser(token_facade)
    log_in(app)
    other = browser(app.app, "192.0.2.12")
    log_in(other)
    security = app.app.state.security
    try:
        assert security.change_token("the-new-token") == 2
        app.get("/schedule", status=401)
        other.get("/schedule", status=401)
        assert app.get(API + "/jobs", headers=bearer(TOKEN), expect_errors=True).status_int == 401
        assert app.get(API + "/jobs", headers=bearer("the-new-token")).status_int == 200
    finally:
        security.change_token(TOKEN)


# ------------------------------------------------------------------------------------ where it comes from
def settings(**values) -> Settings:
    return Settings(values)


def test_the_option_then_the_file_then_the_environment(tmp_path):
    path = tmp_path / "token"
    path.write_text("from-the-file\n")
    path.chmod(0o600)
    env = {TOKEN_ENV: "from-the-env"}
    assert resolve_token(settings(web_token="from-the-option", web_token_file=str(path)), env) == (
        "from-the-option", "option")
    assert resolve_token(settings(web_token_file=str(path)), env) == ("from-the-file", "file")
    assert resolve_token(settings(), env) == ("from-the-env", "env")
    assert resolve_token(settings(), {}) == ("", "none")
    path.write_text("crlf-token\r\n")
    assert resolve_token(settings(web_token_file=str(path)), {})[0] == "crlf-token"


@pytest.mark.parametrize(("content", "words"), [
    (None, "cannot read"), ("", "is empty"), ("\n", "is empty"), ("two\nlines\n", "more than one line"),
    ("x" * 5000, "larger than"),
])
def test_a_bad_token_file_refuses_the_start(tmp_path, content, words):
    path = tmp_path / "token"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ConfigError, match=f"web_token_file.*{words}"):
        resolve_token(settings(web_token_file=str(path)), {})


def test_a_token_file_others_can_read_is_warned_about(tmp_path):
    path = tmp_path / "token"
    path.write_text("t\n")
    path.chmod(0o644)
    with capture_logs() as events:
        resolve_token(settings(web_token_file=str(path)), {})
    assert logged(events, "web.token_file_readable")
    path.chmod(stat.S_IRUSR | stat.S_IWUSR)


def test_the_panel_takes_its_token_from_a_file(tmp_path):
    path = tmp_path / "token"
    path.write_text("file-token\n")
    path.chmod(0o600)
    system = start_system(tmp_path, web_token_file=str(path))
    try:
        app = browser(make_facade(system))
        assert app.get(API + "/jobs", expect_errors=True).status_int == 401
        assert app.get(API + "/jobs", headers=bearer("file-token")).status_int == 200
        assert "file-token" not in " ".join(os.environ.values())
    finally:
        system.shutdown(grace_s=0.5)


def test_the_panel_takes_its_token_from_the_environment(facade, monkeypatch):
    monkeypatch.setenv(TOKEN_ENV, "env-token")
    app = browser(facade)
    assert app.get(API + "/jobs", expect_errors=True).status_int == 401
    assert app.get(API + "/jobs", headers=bearer("env-token")).status_int == 200


# ------------------------------------------------------------------------------------ exposed without a token
@pytest.mark.parametrize(("address", "loopback"), [
    ("127.0.0.1", True), ("127.3.4.5", True), ("::1", True), ("localhost", True), ("0.0.0.0", False), ("::", False),
    ("192.0.2.1", False), ("panel.example.org", False),
])
def test_is_loopback(address, loopback):
    assert is_loopback(address) is loopback


@pytest.mark.parametrize(("host", "token", "warned"), [("0.0.0.0", "", True), ("0.0.0.0", TOKEN, False),
                                                       ("127.0.0.1", "", False)])
def test_listening_beyond_loopback_without_a_token_is_warned_about(facade, host, token, warned):
    server = WebServer(make_app(facade, token=token), host, 0, "/analytics")
    with capture_logs() as events:
        server.start()
    server.stop()
    exposed = logged(events, "web.exposed_without_token")
    assert bool(exposed) is warned
    if warned:
        assert exposed[0]["levelname"] == "WARNING" and exposed[0]["address"] == host


@pytest.mark.parametrize(("options", "words"), [
    ({"web_token_file": "/nonexistent/das-token"}, "web_token_file.*cannot read"),
    ({"web_allowed_hosts": "https://panel.example.org"}, "web_allowed_hosts"),
    ({"web_max_tails": 4, "web_threads": 4}, "web_max_tails.*below.*web_threads"),
])
def test_bad_web_door_options_refuse_the_start(tmp_path, options, words):
    with pytest.raises(ConfigError, match=words):
        start_system(tmp_path, web=True, web_port=0, **options)
