"""Who may look and who may change: token, sessions, CSRF, Origin / Sec-Fetch-Site, read-only.

DAS changed state with GET links and had no authentication at all ("TODO: Auth"). The
rules here, checked by `Guard` before a route runs (so unknown paths still get 404/405);
the Host allow-list (`web.hosts`) has already refused foreign names in front of it::

    any request        --web-token set? the API wants `Authorization: Bearer <token>` or the
                       login cookie of a live session; pages want the login cookie (else 401 +
                       login form). Public: the login page, static files, /healthz (details
                       only when authenticated).
    two roles          the admin token (``web_token``) may do everything; the read token
                       (``web_read_token``, optional) reads every page and GET route, and any
                       change it sends is 403 naming its role. The role travels in the login
                       cookie's HMAC, so a read cookie cannot be turned into an admin one.
    a token guess      (login form, Bearer header) that fails is logged (`web.login_failed`,
                       client address, never the token) and counted per client: after a few,
                       exponential backoff (`web.ratelimit`: 429 + Retry-After, token unchecked)
    POST/PUT/DELETE    Sec-Fetch-Site, when sent, must be same-origin or none      (else 403)
                       Origin, when sent, must name an allowed host (`web.hosts`)  (else 403)
                       --web-read-only refuses every change but log in/out         (else 403)
                       API: Content-Type application/json, or no body at all       (else 415),
                       except a PUT of raw bytes (an object upload): a browser never
                       sends a cross-origin PUT without the preflight never granted
                       HTML forms carry csrf_token = HMAC(secret, session id)      (else 403);
                       a multipart form (an upload) is parsed first (`web.multipart`)

A browser always sends Origin (and Sec-Fetch-Site) on cross-origin writes, and cannot send
``application/json`` cross-site without a CORS preflight, which this server never grants: a
``text/plain`` or form body, the kinds a page may send anywhere, never reaches an API handler.
A script with neither header is not a browser and is let through by the token alone (or
freely when no token is configured). Cookies hold only random ids and HMACs under a
per-process random secret (never the token, never a pickled value: no bottle ``secret=``
cookies); they are ``HttpOnly; SameSite=Strict`` and ``Secure`` behind HTTPS. A login is
also registered server-side (`web.sessions`): log out ends that session, a token change
ends them all, whatever copies of the cookie exist. Every comparison is constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable
from typing import Any

import bottle
import structlog

from actors.errors import BadRequestError, ConfigError, RefusedError
from web import multipart
from web.hosts import AllowedHosts
from web.ratelimit import LoginThrottle, retry_after_header
from web.sessions import Sessions

log = structlog.get_logger("das_actors.web")

SESSION_COOKIE = "das_sid"
AUTH_COOKIE = "das_auth"
CSRF_FIELD = "csrf_token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "DELETE", "PATCH"})
#: Sec-Fetch-Site values a write may come with (a user action on our own pages).
ALLOWED_FETCH_SITES = frozenset({"same-origin", "none"})
#: The only media type an API write may declare.
JSON_MEDIA_TYPE = "application/json"
_SESSION_ID = re.compile(r"[A-Za-z0-9_-]{32,64}")
READ_ONLY_MESSAGE = "the web interface is read-only (--web-read-only): changes are refused"
#: The roles a client may have: everything, or reading only (`Security.role`).
ADMIN, READER = "admin", "read"
READER_MESSAGE = ("role 'read': this client logged in with the read token (web_read_token), which may look but "
                  "not change; changes need the admin token (web_token)")
#: Where `Guard` leaves the role of the request for the handlers and pages.
ROLE_KEY = "das.role"


class TooManyAttempts(RefusedError):
    """429: this client failed to log in too often; it may try again in `retry_after_s` seconds."""

    status = 429
    retry_after_s: float

    def __init__(self, retry_after_s: float) -> None:
        super().__init__(f"too many failed logins from this address: try again in "
                         f"{retry_after_header(retry_after_s)} s", field="token")
        self.retry_after_s = retry_after_s


def client_address(request: bottle.BaseRequest) -> str:
    """The TCP peer of *request* (never ``X-Forwarded-For``: anyone can send that)."""
    return str(request.environ.get("REMOTE_ADDR") or "unknown")


class Security:
    """The secrets and checks of one web application (one per process, one per `make_app`)."""

    def __init__(self, token: str = "", read_only: Callable[[], bool] = lambda: False,
                 secret: bytes | None = None, *, hosts: AllowedHosts | None = None,
                 throttle: LoginThrottle | None = None, sessions: Sessions | None = None,
                 max_upload_bytes: int = 1024**3, read_token: str = "") -> None:
        if read_token and not token:
            raise ConfigError("option 'web_read_token' is set but no admin token is (web_token, web_token_file or "
                              "DAS_ACTORS_WEB_TOKEN): without one every client may change everything, so a "
                              "read-only token would protect nothing")
        if read_token and read_token == token:
            raise ConfigError("option 'web_read_token' is the same as the admin token: give it another value")
        self.read_only = read_only
        self.max_upload_bytes = max_upload_bytes
        self.hosts = hosts or AllowedHosts()
        self.throttle = throttle or LoginThrottle()
        self.sessions = sessions or Sessions()
        self._secret = secret or secrets.token_bytes(32)
        self.token = token
        self._token_digest = hashlib.sha256(token.encode("utf-8")).digest()
        self._read_digest = hashlib.sha256(read_token.encode("utf-8")).digest() if read_token else None

    # ------------------------------------------------------------------ sessions and CSRF
    def _mac(self, *parts: str) -> str:
        return hmac.new(self._secret, "\x00".join(parts).encode("utf-8"), hashlib.sha256).hexdigest()

    @staticmethod
    def session(request: bottle.BaseRequest) -> str | None:
        """The session id cookie, if it is well formed."""
        sid = request.get_cookie(SESSION_COOKIE)
        return sid if sid and _SESSION_ID.fullmatch(sid) else None

    def ensure_session(self, request: bottle.BaseRequest, response: bottle.BaseResponse) -> str:
        """The session id, creating (and setting) one when the browser has none."""
        sid = self.session(request)
        if sid is None:
            sid = secrets.token_urlsafe(32)
            _set_cookie(request, response, SESSION_COOKIE, sid)
            request.environ["das.new_session"] = sid
        return sid

    def csrf_token(self, sid: str) -> str:
        """The token every HTML form of this session carries."""
        return self._mac("csrf", sid)

    def check_csrf(self, request: bottle.BaseRequest) -> None:
        """403 unless the form's csrf_token matches this session's."""
        sid = self.session(request)
        if sid is None:
            raise RefusedError("no session cookie: reload the page and submit the form again")
        multipart.parse(request, self.max_upload_bytes)  # an upload: without bottle#1470, bounded
        try:
            sent = request.forms.get(CSRF_FIELD) or ""
        except (UnicodeError, ValueError):
            sent = ""
        if not hmac.compare_digest(str(sent).encode("latin-1", "replace"), self.csrf_token(sid).encode("ascii")):
            raise RefusedError("missing or stale CSRF token: reload the page and submit the form again")

    # ------------------------------------------------------------------ token
    @property
    def enabled(self) -> bool:
        """True when a token is required (``--web-token``)."""
        return bool(self.token)

    @property
    def has_read_token(self) -> bool:
        """True when a read-only token is configured beside the admin token."""
        return self._read_digest is not None

    def token_matches(self, given: str) -> bool:
        """Constant-time comparison of *given* with the configured (admin) token."""
        return self.token_role(given) == ADMIN

    def token_role(self, given: str) -> str | None:
        """The role *given* grants (`ADMIN`, `READER`) or None; both tokens are always compared."""
        digest = hashlib.sha256(given.encode("utf-8", "replace")).digest()
        admin = hmac.compare_digest(digest, self._token_digest)
        reader = hmac.compare_digest(digest, self._read_digest or self._token_digest) and self._read_digest is not None
        return ADMIN if admin else READER if reader else None

    def change_token(self, token: str) -> int:
        """Require *token* from now on and end every logged-in session; how many were ended."""
        self.token = token
        self._token_digest = hashlib.sha256(token.encode("utf-8")).digest()
        ended = self.sessions.end_all()
        log.warning("web.token_changed", sessions_ended=ended, token_required=self.enabled)
        return ended

    def _auth_cookie_value(self, sid: str, role: str = ADMIN) -> str:
        digest = self._token_digest if role == ADMIN else (self._read_digest or b"")
        return self._mac("auth", sid, digest.hex(), role)

    def _guess(self, request: bottle.BaseRequest, given: str, via: str) -> str | None:
        """Check a token guess of *request*'s client, with the throttle and the failure log: the
        role it grants, or None.

        Raises `TooManyAttempts` (the token unchecked) while the client is locked out.
        """
        client = client_address(request)
        wait = self.throttle.retry_after(client)
        if wait > 0:
            raise TooManyAttempts(wait)
        role = self.token_role(given)
        if role is not None:
            self.throttle.succeeded(client)
            return role
        failures, locked_s = self.throttle.failed(client)
        log.warning("web.login_failed", client=client, via=via, failures=failures,
                    locked_out_s=round(locked_s, 3), path=request.path)
        return None

    def role(self, request: bottle.BaseRequest) -> str | None:
        """What *request* may do: `ADMIN` (no token configured, the admin token, or its login
        cookie), `READER` (the read token or its cookie), or None (not authenticated).

        A Bearer token is a guess: `TooManyAttempts` while its client is locked out.
        """
        if not self.enabled:
            return ADMIN
        header = request.get_header("Authorization") or ""
        scheme, _, credentials = header.partition(" ")
        if scheme.lower() == "bearer" and credentials.strip():
            return self._guess(request, credentials.strip(), "bearer")
        sid, cookie = self.session(request), request.get_cookie(AUTH_COOKIE)
        if sid is None or not cookie or not self.sessions.active(sid):
            return None
        sent = cookie.encode("latin-1", "replace")
        admin = hmac.compare_digest(sent, self._auth_cookie_value(sid, ADMIN).encode("ascii"))
        reader = hmac.compare_digest(sent, self._auth_cookie_value(sid, READER).encode("ascii"))
        return ADMIN if admin else READER if reader and self.has_read_token else None

    def authenticate(self, request: bottle.BaseRequest) -> bool:
        """True when *request* has a role (`role`); `TooManyAttempts` as there."""
        return self.role(request) is not None

    def quiet_role(self, request: bottle.BaseRequest) -> str | None:
        """`role`, with a locked-out client simply not authenticated (never raises)."""
        try:
            return self.role(request)
        except TooManyAttempts:
            return None

    def authenticated(self, request: bottle.BaseRequest) -> bool:
        """`authenticate`, with a locked-out client simply not authenticated (never raises)."""
        return self.quiet_role(request) is not None

    def log_in(self, request: bottle.BaseRequest, response: bottle.BaseResponse, given: str) -> bool:
        """Check *given*; on success start a fresh session holding the login cookie.

        Raises `TooManyAttempts` (Retry-After set on *response*) while the client is locked out.
        """
        if not self.enabled:
            return False
        try:
            role = self._guess(request, given, "form")
        except TooManyAttempts as exc:
            response.set_header("Retry-After", retry_after_header(exc.retry_after_s))
            raise
        if role is None:
            return False
        sid = secrets.token_urlsafe(32)  # a new session id at login (no session fixation)
        self.sessions.start(sid)
        _set_cookie(request, response, SESSION_COOKIE, sid)
        _set_cookie(request, response, AUTH_COOKIE, self._auth_cookie_value(sid, role))
        log.info("web.logged_in", client=client_address(request), role=role)
        return True

    def log_out(self, request: bottle.BaseRequest, response: bottle.BaseResponse) -> None:
        """End this session server-side (every copy of its cookie stops working) and forget the cookie."""
        sid = self.session(request)
        if sid is not None and self.sessions.end(sid):
            log.info("web.logged_out", client=client_address(request))
        response.delete_cookie(AUTH_COOKIE, path=request.script_name)

    # ------------------------------------------------------------------ origin and body type
    def check_origin(self, request: bottle.BaseRequest) -> None:
        """403 for a write that a browser says comes from another site or origin."""
        site = request.get_header("Sec-Fetch-Site")
        if site is not None and site.strip().lower() not in ALLOWED_FETCH_SITES:
            raise RefusedError(f"cross-site request refused (Sec-Fetch-Site: {site[:40]})")
        origin = request.get_header("Origin")
        if origin is not None and not self.hosts.allows_origin(origin):
            raise RefusedError(f"request from another origin refused (Origin: {origin[:80]}; this server answers "
                          "to the names in web_allowed_hosts, localhost and its own address)")

    @staticmethod
    def check_json_body(request: bottle.BaseRequest) -> None:
        """415 unless an API write declares ``application/json`` or carries nothing at all."""
        declared = str(request.environ.get("CONTENT_TYPE") or "").strip()
        media = declared.split(";", 1)[0].strip().lower()
        if media == JSON_MEDIA_TYPE:
            return
        has_body = request.content_length > 0 or bool(request.environ.get("HTTP_TRANSFER_ENCODING"))
        if not declared and not has_body:
            return
        got = f"got {declared[:60]!r}" if declared else "got a body without one"
        raise BadRequestError(f"Content-Type: API writes take '{JSON_MEDIA_TYPE}' ({got})", status=415,
                              field="Content-Type")

    # ------------------------------------------------------------------ all together
    def check(self, request: bottle.BaseRequest, *, api: bool, public: bool = False,
              allow_read_only: bool = False, raw_body: bool = False) -> None:
        """Every rule of the module docstring for one request (raises `RefusedError`).

        *raw_body*: the route takes a PUT of raw bytes (any Content-Type); other methods are
        held to the JSON rule all the same."""
        unsafe = request.method.upper() in UNSAFE_METHODS
        if unsafe:
            self.check_origin(request)
        role = None
        if not public:
            role = self.role(request)
            if role is None:
                raise RefusedError("authentication required: send 'Authorization: Bearer <token>'" if api
                                   else "log in with the web token", status=401)
            request.environ[ROLE_KEY] = role
        if unsafe and not allow_read_only and self.read_only():
            raise RefusedError(READ_ONLY_MESSAGE)
        if unsafe and not allow_read_only and role == READER:
            raise RefusedError(READER_MESSAGE, field="role")
        if unsafe and api and not (raw_body and request.method.upper() == "PUT"):
            self.check_json_body(request)
        if unsafe and not api:
            self.check_csrf(request)


class Guard:
    """Bottle plugin (API v2) running `Security.check` before each route of one app.

    Route options: ``public=True`` (no token needed), ``read_only_ok=True`` (allowed when
    read-only: log in and out), ``raw_body=True`` (a PUT of raw bytes, any Content-Type: an
    object upload). A 429 gets its Retry-After header here.
    """

    name = "das_guard"
    api = 2

    def __init__(self, security: Security, *, api: bool) -> None:
        self.security = security
        self.is_api = api

    def apply(self, callback: Callable[..., Any], route: bottle.Route) -> Callable[..., Any]:
        """Wrap *callback* with the checks."""
        public = bool(route.config.get("public", False))
        read_only_ok = bool(route.config.get("read_only_ok", False))
        raw_body = bool(route.config.get("raw_body", False))

        def guarded(*args: Any, **kwargs: Any) -> Any:
            try:
                self.security.check(bottle.request, api=self.is_api, public=public, allow_read_only=read_only_ok,
                                    raw_body=raw_body)
            except TooManyAttempts as exc:
                bottle.response.set_header("Retry-After", retry_after_header(exc.retry_after_s))
                raise
            return callback(*args, **kwargs)

        return guarded


def _set_cookie(request: bottle.BaseRequest, response: bottle.BaseResponse, name: str, value: str) -> None:
    response.set_cookie(name, value, path=request.script_name, httponly=True, samesite="Strict",
                        secure=request.urlparts.scheme == "https")
