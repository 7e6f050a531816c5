"""Who may change what: Origin / Sec-Fetch-Site, CSRF tokens on forms, the web token, read-only.

Each rule is shown to refuse and to accept. These are rules of the web door alone, so the
app runs over `FakeBackend` (no actors, no worker processes: milliseconds per test).
"""

from __future__ import annotations

import pytest

from actors.config import Settings
from tests.web.conftest import API, Api, client, unique
from tests.web.fake_backend import FakeBackend


@pytest.fixture(scope="module")
def facade(fake):
    return fake


@pytest.fixture
def app(fake):
    return client(fake)


@pytest.fixture
def api(app):
    return Api(app, None)

NEW_JOB = {"classname": "Echo", "interval": 3600, "when": "+1h"}


def new_job(**extra):
    return {"name": unique(), **NEW_JOB, **extra}


def refused(resp, status: int, words: str) -> None:
    assert resp.status_int == status, resp.text
    assert words in resp.text


# ------------------------------------------------------------------------------------------ origin
@pytest.mark.parametrize("headers", [
    {"Origin": "http://evil.example"}, {"Origin": "null"}, {"Origin": "http://localhost:8080"},
    {"Origin": "https://localhost.evil.example"}, {"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"},
    {"Origin": "http://localhost", "Sec-Fetch-Site": "cross-site"},
])
def test_cross_site_writes_are_refused(app, headers):
    resp = app.post_json(API + "/jobs", new_job(), headers=headers, expect_errors=True)
    assert resp.status_int == 403 and resp.json["error"]["status"] == 403
    assert "origin" in resp.json["error"]["message"] or "cross-site" in resp.json["error"]["message"]


@pytest.mark.parametrize("headers", [
    {}, {"Origin": "http://localhost"}, {"Origin": "http://localhost:80"}, {"Sec-Fetch-Site": "same-origin"},
    {"Sec-Fetch-Site": "none"}, {"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"},
])
def test_same_origin_and_non_browser_writes_are_accepted(app, headers):
    app.post_json(API + "/jobs", new_job(), headers=headers, status=201)


def test_x_forwarded_host_does_not_make_an_origin_ours(app):
    # anyone can send X-Forwarded-Host; a proxy's real name goes in web_allowed_hosts (test_host_allowlist.py)
    headers = {"Origin": "https://panel.example.org", "X-Forwarded-Host": "panel.example.org"}
    refused(app.post_json(API + "/jobs", new_job(), headers=headers, expect_errors=True), 403, "another origin")


def test_reads_are_not_origin_checked(app):
    app.get(API + "/jobs", headers={"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"}, status=200)


def test_page_forms_are_origin_checked_too(app, api):
    jid = api.add(when="+1h")["job_id"]
    page = app.get("/schedule")
    form = _form(page, f"/jobs/{jid}/pause")
    refused(form.submit(headers={"Origin": "http://evil.example"}, expect_errors=True), 403, "another origin")
    refused(form.submit(headers={"Sec-Fetch-Site": "cross-site"}, expect_errors=True), 403, "cross-site")
    form.submit(headers={"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"}, status=303)


def _form(page, action_end: str):
    return next(f for f in page.forms.values() if f.action.endswith(action_end))


# ------------------------------------------------------------------------------------------ CSRF
def test_page_forms_need_the_csrf_token_of_the_session(app, api, facade):
    jid = api.add(when="+1h")["job_id"]
    refused(app.post(f"/jobs/{jid}/pause", expect_errors=True), 403, "session cookie")
    page = app.get("/schedule")
    assert "das_sid" in app.cookies
    refused(app.post(f"/jobs/{jid}/pause", {"csrf_token": "0" * 64}, expect_errors=True), 403, "CSRF token")
    refused(app.post(f"/jobs/{jid}/pause", expect_errors=True), 403, "CSRF token")
    other = client(facade)  # another app: another secret, so another valid-looking token
    other_token = _form(other.get("/schedule"), f"/jobs/{jid}/pause")["csrf_token"].value
    refused(app.post(f"/jobs/{jid}/pause", {"csrf_token": other_token}, expect_errors=True), 403, "CSRF token")
    assert api.job(jid)["state"] == "scheduled"
    resp = _form(page, f"/jobs/{jid}/pause").submit(status=303)
    assert resp.headers["Location"].endswith("/analytics/schedule")
    assert api.job(jid)["state"] == "paused"
    assert "paused" in resp.follow().text


def test_session_cookie_is_httponly_strict_and_scoped(app):
    resp = app.get("/")
    cookie = next(v for k, v in resp.headerlist if k == "Set-Cookie" and v.startswith("das_sid="))
    assert "HttpOnly" in cookie and "samesite=strict" in cookie.lower() and "Path=/analytics/" in cookie
    again = app.get("/schedule")
    assert not any(k == "Set-Cookie" for k, _ in again.headerlist)  # one session, not one per page


def test_api_writes_need_no_csrf_token(app):
    app.post_json(API + "/jobs", new_job(), status=201)


# ------------------------------------------------------------------------------------------ token
@pytest.fixture(scope="module")
def token_facade(tmp_path_factory):
    backend = FakeBackend(tmp_path_factory.mktemp("token"), Settings({"web_token": "t0ken-of-the-day",
                                                                       "task_packages": "tests"}))
    yield backend
    backend.close()


@pytest.fixture
def locked(token_facade):
    return client(token_facade)


def test_api_needs_the_bearer_token(locked):
    resp = locked.get(API + "/jobs", expect_errors=True)
    assert resp.status_int == 401 and resp.headers["WWW-Authenticate"].startswith("Bearer")
    assert resp.json["error"]["status"] == 401
    for header in ("Bearer wrong", "Bearer ", "Basic dDBrZW4=", "t0ken-of-the-day", "Bearer t0ken-of-the-day2"):
        assert locked.get(API + "/jobs", headers={"Authorization": header}, expect_errors=True).status_int == 401
    good = {"Authorization": "Bearer t0ken-of-the-day"}
    assert locked.get(API + "/jobs", headers=good).status_int == 200
    assert locked.get(API + "/jobs", headers={"Authorization": "bearer t0ken-of-the-day"}).status_int == 200
    refused(locked.post_json(API + "/jobs", new_job(), expect_errors=True), 401, "authentication required")
    locked.post_json(API + "/jobs", new_job(), headers=good, status=201)
    refused(locked.post_json(API + "/jobs", new_job(), headers={**good, "Origin": "http://evil.example"},
                             expect_errors=True), 403, "another origin")


def test_metrics_need_the_token_and_healthz_is_public_without_details(locked):
    locked.get("/metrics", status=401)
    locked.get("/metrics", headers={"Authorization": "Bearer t0ken-of-the-day"}, status=200)
    assert locked.get("/healthz").json == {"status": "ok"}
    locked.get("/static/style.css", status=200)


def test_pages_need_a_login_that_sets_an_hmac_cookie(locked):
    resp = locked.get("/schedule?due_within=60", status=401)
    assert resp.forms["login-form"]["next"].value == "schedule?due_within=60"
    form = resp.forms["login-form"]
    form["token"] = "wrong"
    refused(form.submit(expect_errors=True), 401, "wrong token")
    assert "das_auth" not in locked.cookies
    form = locked.get("/login").forms["login-form"]
    form["token"] = "t0ken-of-the-day"
    form["next"] = "schedule?due_within=60"
    done = form.submit(status=303)
    assert done.headers["Location"].endswith("/analytics/schedule?due_within=60")
    auth = next(v for k, v in done.headerlist if k == "Set-Cookie" and v.startswith("das_auth="))
    assert "HttpOnly" in auth and "samesite=strict" in auth.lower() and "t0ken" not in auth
    assert done.follow().status_int == 200
    assert locked.get(API + "/jobs").status_int == 200  # the browser's cookie works for the API (live tail)
    logout = locked.get("/").forms[0]
    assert logout.action.endswith("/logout")
    logout.submit(status=303)
    locked.get("/schedule", status=401)


def test_a_stolen_session_id_alone_does_not_log_in(locked, token_facade):
    locked.get("/login")
    sid = locked.cookies["das_sid"]
    thief = client(token_facade)
    thief.set_cookie("das_sid", sid)
    thief.set_cookie("das_auth", "0" * 64)
    thief.get("/schedule", status=401)


def test_login_refuses_other_origins_and_missing_csrf(locked):
    form = locked.get("/login").forms["login-form"]
    form["token"] = "t0ken-of-the-day"
    refused(form.submit(headers={"Origin": "http://evil.example"}, expect_errors=True), 403, "another origin")
    refused(locked.post("/login", {"token": "t0ken-of-the-day"}, expect_errors=True), 403, "CSRF")


def test_next_after_login_stays_on_this_site(locked):
    form = locked.get("/login").forms["login-form"]
    form["token"] = "t0ken-of-the-day"
    form["next"] = "//evil.example/x"
    assert form.submit(status=303).headers["Location"] == "/analytics/"


# ------------------------------------------------------------------------------------------ read-only
@pytest.fixture
def read_only(facade):
    facade.set_option("web_read_only", True)
    yield
    facade.set_option("web_read_only", False)


def test_read_only_refuses_every_change_and_allows_reads(app, read_only):
    refused(app.post_json(API + "/jobs", new_job(), expect_errors=True), 403, "read-only")
    refused(app.put_json(API + "/options/web_read_only", {"value": False}, expect_errors=True), 403, "read-only")
    refused(app.delete(API + "/jobs/0123456789abcdef", expect_errors=True), 403, "read-only")
    page = app.get("/schedule")
    assert page.status_int == 200 and 'id="read-only-banner"' in page.text
    assert "run-now" not in page.text and "add-job-form" not in app.get("/control").text
    token = app.app.state.security.csrf_token(app.cookies["das_sid"])
    refused(app.post("/jobs/0123456789abcdef/pause", {"csrf_token": token}, expect_errors=True), 403, "read-only")
    app.get(API + "/jobs", status=200)


def test_read_only_off_again_accepts_changes(app, facade):
    facade.set_option("web_read_only", True)
    facade.set_option("web_read_only", False)
    app.post_json(API + "/jobs", new_job(), status=201)


def test_read_only_can_be_switched_on_through_the_api(app, facade):
    try:
        app.put_json(API + "/options/web_read_only", {"value": True}, status=200)
        refused(app.post_json(API + "/jobs", new_job(), expect_errors=True), 403, "read-only")
    finally:
        facade.set_option("web_read_only", False)


# ------------------------------------------------------------------------------------------ headers
@pytest.mark.parametrize("path", ["/", "/schedule", API + "/jobs", "/nowhere", API + "/nowhere", "/healthz",
                                  "/metrics", "/static/app.js", "/jobs/unknown"])
def test_security_headers_on_every_response(app, path):
    resp = app.get(path, expect_errors=True)
    assert "default-src 'self'" in resp.headers["Content-Security-Policy"]
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Referrer-Policy"] == "same-origin"
    assert resp.headers["X-Frame-Options"] == "DENY"


def test_pages_have_no_inline_script(app):
    for path in ("/", "/schedule", "/logs", "/control", "/help"):
        html = app.get(path).html
        for script in html.find_all("script"):
            assert script.get("src") and not script.string
        assert not any(attr.startswith("on") for tag in html.find_all(True) for attr in tag.attrs)
