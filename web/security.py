"""Who may look and who may change: token, CSRF, Origin / Sec-Fetch-Site, read-only.

DAS changed state with GET links and had no authentication at all ("TODO: Auth"). The
rules here, checked by `Guard` before a route runs (so unknown paths still get 404/405)::

    any request        --web-token set? the API wants `Authorization: Bearer <token>` or the
                       login cookie; pages want the login cookie (else 401 + login form).
                       Public: the login page, static files, /healthz (details only when
                       authenticated).
    POST/PUT/DELETE    Sec-Fetch-Site, when sent, must be same-origin or none      (else 403)
                       Origin, when sent, must be this server's scheme://host      (else 403)
                       --web-read-only refuses every change but log in/out         (else 403)
                       HTML forms carry csrf_token = HMAC(secret, session id)      (else 403)

A browser always sends Origin (and Sec-Fetch-Site) on cross-origin writes; a script with
neither header is not a browser and is let through by the token alone (or freely when no
token is configured). Cookies hold only random ids and HMACs under a per-process random
secret (never the token, never a pickled value: no bottle ``secret=`` cookies); they are
``HttpOnly; SameSite=Strict`` and ``Secure`` behind HTTPS. Every comparison is constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import bottle

from actors.errors import RefusedError

SESSION_COOKIE = "das_sid"
AUTH_COOKIE = "das_auth"
CSRF_FIELD = "csrf_token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "DELETE", "PATCH"})
#: Sec-Fetch-Site values a write may come with (a user action on our own pages).
ALLOWED_FETCH_SITES = frozenset({"same-origin", "none"})
_SESSION_ID = re.compile(r"[A-Za-z0-9_-]{32,64}")
_DEFAULT_PORTS = {"http": "80", "https": "443"}
READ_ONLY_MESSAGE = "the web interface is read-only (--web-read-only): changes are refused"


class Security:
    """The secrets and checks of one web application (one per process, one per `make_app`)."""

    def __init__(self, token: str = "", read_only: Callable[[], bool] = lambda: False,
                 secret: bytes | None = None) -> None:
        self.token = token
        self.read_only = read_only
        self._secret = secret or secrets.token_bytes(32)
        self._token_digest = hashlib.sha256(token.encode("utf-8")).digest()

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

    def token_matches(self, given: str) -> bool:
        """Constant-time comparison of *given* with the configured token."""
        digest = hashlib.sha256(given.encode("utf-8", "replace")).digest()
        return hmac.compare_digest(digest, self._token_digest)

    def _auth_cookie_value(self, sid: str) -> str:
        return self._mac("auth", sid, self._token_digest.hex())

    def authenticated(self, request: bottle.BaseRequest) -> bool:
        """No token configured, a valid Bearer token, or a valid login cookie."""
        if not self.enabled:
            return True
        header = request.get_header("Authorization") or ""
        scheme, _, credentials = header.partition(" ")
        if scheme.lower() == "bearer" and credentials.strip():
            return self.token_matches(credentials.strip())
        sid, cookie = self.session(request), request.get_cookie(AUTH_COOKIE)
        if sid is None or not cookie:
            return False
        return hmac.compare_digest(cookie.encode("latin-1", "replace"), self._auth_cookie_value(sid).encode("ascii"))

    def log_in(self, request: bottle.BaseRequest, response: bottle.BaseResponse, given: str) -> bool:
        """Check *given*; on success start a fresh session holding the login cookie."""
        if not self.enabled or not self.token_matches(given):
            return False
        sid = secrets.token_urlsafe(32)  # a new session id at login (no session fixation)
        _set_cookie(request, response, SESSION_COOKIE, sid)
        _set_cookie(request, response, AUTH_COOKIE, self._auth_cookie_value(sid))
        return True

    @staticmethod
    def log_out(request: bottle.BaseRequest, response: bottle.BaseResponse) -> None:
        """Forget the login cookie."""
        response.delete_cookie(AUTH_COOKIE, path=request.script_name)

    # ------------------------------------------------------------------ origin
    @staticmethod
    def check_origin(request: bottle.BaseRequest) -> None:
        """403 for a write that a browser says comes from another site or origin."""
        site = request.get_header("Sec-Fetch-Site")
        if site is not None and site.strip().lower() not in ALLOWED_FETCH_SITES:
            raise RefusedError(f"cross-site request refused (Sec-Fetch-Site: {site[:40]})")
        origin = request.get_header("Origin")
        if origin is not None and not _same_origin(origin, request):
            raise RefusedError(f"request from another origin refused (Origin: {origin[:80]})")

    # ------------------------------------------------------------------ all together
    def check(self, request: bottle.BaseRequest, *, api: bool, public: bool = False,
              allow_read_only: bool = False) -> None:
        """Every rule of the module docstring for one request (raises `RefusedError`)."""
        unsafe = request.method.upper() in UNSAFE_METHODS
        if unsafe:
            self.check_origin(request)
        if not public and not self.authenticated(request):
            raise RefusedError("authentication required: send 'Authorization: Bearer <token>'" if api
                          else "log in with the web token", status=401)
        if unsafe and not allow_read_only and self.read_only():
            raise RefusedError(READ_ONLY_MESSAGE)
        if unsafe and not api:
            self.check_csrf(request)


class Guard:
    """Bottle plugin (API v2) running `Security.check` before each route of one app.

    Route options: ``public=True`` (no token needed), ``read_only_ok=True`` (allowed when
    read-only: log in and out).
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

        def guarded(*args: Any, **kwargs: Any) -> Any:
            self.security.check(bottle.request, api=self.is_api, public=public, allow_read_only=read_only_ok)
            return callback(*args, **kwargs)

        return guarded


def _set_cookie(request: bottle.BaseRequest, response: bottle.BaseResponse, name: str, value: str) -> None:
    response.set_cookie(name, value, path=request.script_name, httponly=True, samesite="Strict",
                        secure=request.urlparts.scheme == "https")


def _normal(scheme: str, netloc: str) -> str:
    netloc = netloc.strip().lower()
    default = _DEFAULT_PORTS.get(scheme)
    if default and netloc.endswith(f":{default}"):
        netloc = netloc[: -len(default) - 1]
    return netloc


def _same_origin(origin: str, request: bottle.BaseRequest) -> bool:
    """Origin ``scheme://host[:port]`` names the host this request was sent to."""
    try:
        parts = urlsplit(origin.strip())
    except ValueError:
        return False
    if parts.scheme not in _DEFAULT_PORTS or not parts.netloc or parts.path not in ("", "/"):
        return False
    hosts = [request.get_header("Host") or ""]
    forwarded = request.get_header("X-Forwarded-Host")
    if forwarded:
        hosts.append(forwarded.split(",")[0])
    want = _normal(parts.scheme, parts.netloc)
    return any(host and _normal(parts.scheme, host) == want for host in hosts)
