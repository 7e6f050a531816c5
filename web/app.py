"""`make_app(facade)`: the WSGI application of the panel and the API.

The app is prefix-agnostic: whoever serves it sets ``SCRIPT_NAME`` (`web.server` does,
from ``web_base``; tests pass ``extra_environ={"SCRIPT_NAME": "/analytics"}``) and every
link is built from ``request.script_name``. Three explicit Bottle apps, one per area,
are composed on a root app: the pages (HTML errors, CSRF on forms), ``api/v1`` (JSON
errors, mounted) and the operational routes (``healthz``, ``metrics``, ``static``).
The root adds the security headers to every response, errors included. What the server
in front needs from the options (the Host allow-list, the token, `FrontLimits`) is built
here too, from the facade's settings, so `web.server.WebServer` takes the app alone.
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import bottle
import structlog

from actors.config import Settings
from actors.errors import ConfigError
from web.api import api_app
from web.backend import Backend
from web.errors import JsonErrors, json_response
from web.front import FrontLimits
from web.hosts import AllowedHosts
from web.metrics import CONTENT_TYPE, prometheus_text
from web.multipart import FORM_OVERHEAD_BYTES
from web.pages import pages_app
from web.params import error_body
from web.readcache import ReadCache
from web.render import STATIC
from web.reports import register_reports
from web.requests import route
from web.security import Guard, Security
from web.state import DEFAULT_CACHE_S, DEFAULT_REFRESH_S, DEFAULT_YIELD_S, WebState
from web.tails import Tails
from web.token_source import resolve_read_token, resolve_token

log = structlog.get_logger("das_actors.web")

#: Added to every response that does not set them itself.
SECURITY_HEADERS = (
    ("Content-Security-Policy",
     "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
    ("X-Frame-Options", "DENY"),
    ("Cache-Control", "no-store"),
)


#: Paths answered at once even while due runs are handed out (health checks, static files).
UNYIELDING = ("/healthz", "/static/")
#: Methods that change nothing: every other request starts a new generation of `web.readcache`.
READS = frozenset({"GET", "HEAD", "OPTIONS"})


class WebApp(bottle.Bottle):  # type: ignore[misc]  # bottle has no type hints
    """The root app: security headers on everything, JSON or HTML for router errors."""

    def __init__(self, state: WebState, limits: FrontLimits | None = None) -> None:
        super().__init__()
        self.state = state
        self.limits = limits or FrontLimits()

    def wsgi(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        """Bottle's WSGI entry, with `SECURITY_HEADERS` added, and the last net: whatever escapes
        Bottle (it lets ``SystemExit``, ``KeyboardInterrupt`` and ``MemoryError`` through) is a
        500 here, and an exception while a streamed body is produced ends that body, never the
        server's thread. Only the server's own shutdown passes (`is_server_shutdown`)."""

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            present = {name.lower() for name, _ in headers}
            headers = list(headers) + [(k, v) for k, v in SECURITY_HEADERS if k.lower() not in present]
            if exc_info is None:
                return start_response(status, headers)
            return start_response(status, headers, exc_info)

        if self.state.yield_s > 0 and not str(environ.get("PATH_INFO") or "").startswith(UNYIELDING):
            self.state.facade.yield_to_runs(self.state.yield_s)  # due runs first (actors.pressure)
        try:
            body: Iterable[bytes] = super().wsgi(environ, start)
        except BaseException as exc:
            if environ.get("REQUEST_METHOD") not in READS:
                self.state.reads.invalidate()
            if is_server_shutdown(exc):
                raise
            return crashed_response(environ, start, exc)
        if environ.get("REQUEST_METHOD") not in READS:  # a write: the writer's next page shows it
            self.state.reads.invalidate()
        return guarded_body(body, environ)

    def default_error_handler(self, res: bottle.HTTPError) -> str:
        """404 / 405 / 500 raised by Bottle itself: JSON under ``api/``, an HTML page elsewhere."""
        status = res.status_code
        message = {404: f"not found: {bottle.request.path}", 405: f"method {bottle.request.method} not allowed "
                   f"here (allowed: {res.headers.get('Allow', '-')})"}.get(status, str(res.body or res.status_line))
        if status >= 500:
            message = "internal error; see the server log"
        if bottle.request.path.startswith(("/api/", "/healthz", "/metrics")):
            return json_response(error_body(status, message))
        return self.state.error_page(status, message)


def is_server_shutdown(exc: BaseException) -> bool:
    """A ``KeyboardInterrupt`` in the main thread (Ctrl-C while serving there) ends the server;
    in a request thread, ``SystemExit`` and ``KeyboardInterrupt`` come from the code a request ran."""
    return isinstance(exc, KeyboardInterrupt) and threading.current_thread() is threading.main_thread()


def crashed_response(environ: dict[str, Any], start: Callable[..., Any], exc: BaseException) -> list[bytes]:
    """The 500 of a request whose exception escaped Bottle: JSON under the API, a plain page
    elsewhere; the exception type only (the traceback goes to the log)."""
    path = str(environ.get("PATH_INFO") or "")
    log.error("web.request_crashed", path=path[:200], method=environ.get("REQUEST_METHOD"),
              error=type(exc).__name__, exc_info=exc)
    message = f"internal error ({type(exc).__name__}); see the server log"
    if path.startswith(("/api/", "/healthz", "/metrics")):
        body = json.dumps(error_body(500, message)).encode()
        kind = "application/json"
    else:
        body = f"<!doctype html><title>500</title><h1>500</h1><p>{message}</p>".encode()
        kind = "text/html; charset=utf-8"
    start("500 Internal Server Error", [("Content-Type", kind), ("Content-Length", str(len(body)))],
          sys.exc_info())
    return [body]


def guarded_body(body: Iterable[bytes], environ: dict[str, Any]) -> Iterable[bytes]:
    """*body*, but an exception while it is produced (a live tail's generator) ends it and is
    logged, instead of reaching the server's thread."""
    if isinstance(body, list):
        return body  # already produced: nothing can raise any more
    return _GuardedBody(body, str(environ.get("PATH_INFO") or ""))


class _GuardedBody:
    """An iterable response body that cannot raise into the server (see `guarded_body`)."""

    def __init__(self, body: Iterable[bytes], path: str) -> None:
        self._body, self._path = body, path

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self._body
        except GeneratorExit:
            raise
        except BaseException as exc:
            if is_server_shutdown(exc):
                raise
            log.error("web.body_failed", path=self._path[:200], error=type(exc).__name__, exc_info=exc)

    def close(self) -> None:
        close = getattr(self._body, "close", None)
        if close is not None:
            close()


def ops_app(state: WebState) -> bottle.Bottle:
    """``healthz``, ``metrics`` and the static files."""
    app = bottle.Bottle()
    app.uninstall(True)
    app.install(JsonErrors())
    app.install(Guard(state.security, api=True))
    facade, security = state.facade, state.security

    @route(app, "GET", "/healthz", public=True)
    def healthz() -> dict[str, Any]:
        ok, details = facade.health()
        bottle.response.status = 200 if ok else 503
        if ok:
            return {"status": "ok"}
        if security.authenticated(bottle.request):
            return {"status": "unhealthy", "problems": details.get("problems", [])}
        return {"status": "unhealthy", "problems": [f"{len(details.get('problems', []))} problem(s); "
                                                    "authenticate to see them"]}

    @route(app, "GET", "/metrics")
    def metrics() -> str:
        text = prometheus_text(facade.metrics())
        bottle.response.content_type = CONTENT_TYPE
        return text

    @route(app, "GET", "/static/<name:re:[A-Za-z0-9_-]+\\.(?:css|js|png|svg|ico)>", public=True)
    def static(name: str) -> Any:
        response = bottle.static_file(name, root=str(STATIC))
        response.set_header("Cache-Control", "public, max-age=3600")
        return response

    return app


def make_app(facade: Backend, *, token: str = "", allowed_hosts: str = "", limits: FrontLimits | None = None,
             heartbeat_s: float = 15.0, max_tails: int = 8, secret: bytes | None = None, read_token: str = "",
             refresh_s: float = DEFAULT_REFRESH_S, cache_s: float = DEFAULT_CACHE_S,
             yield_s: float = DEFAULT_YIELD_S) -> bottle.Bottle:
    """The panel + API for *facade*.

    Args:
        facade: the running server's facade (anything that has the `Backend` methods).
        token: the web (admin) token ("" = none).
        read_token: the read-only token ("" = none; needs *token*, `ConfigError` otherwise).
        refresh_s: seconds between the pages' live refreshes (0 = off).
        cache_s: seconds identical reads share one answer (`web.readcache`; 0 = off).
        yield_s: seconds a request waits, at most, while due runs are handed out (`actors.pressure`; 0 = never).
        allowed_hosts: the ``web_allowed_hosts`` option (names beyond the loopback ones).
        limits: what the front lets clients hold (threads, connections, request deadline).
        heartbeat_s: seconds between keep-alive comments of a live tail.
        max_tails: live tails served at once (each holds a server thread).
        secret: HMAC key of sessions and CSRF tokens (default: random per app).
    """
    limits = limits or FrontLimits()
    security = Security(token, read_only=lambda: facade.read_only, secret=secret, hosts=AllowedHosts(allowed_hosts),
                        max_upload_bytes=facade.object_max_size, read_token=read_token)
    state = WebState(facade=facade, security=security, heartbeat_s=heartbeat_s, tails=Tails(max_tails),
                     refresh_s=refresh_s, reads=ReadCache(cache_s), yield_s=yield_s)
    root = WebApp(state, limits)
    root.merge(pages_app(state))
    root.merge(ops_app(state))
    root.mount("/api/v1/", api_app(state))
    register_reports(root, state)
    return root


def app_for(facade: Backend, settings: Settings, **overrides: Any) -> bottle.Bottle:
    """`make_app` with the ``web_*`` options of *settings*: what the server runs.

    The token is `web.token_source.resolve_token`'s (``web_token``, then ``web_token_file``,
    then env ``DAS_ACTORS_WEB_TOKEN``), the read-only token `resolve_read_token`'s (the same
    three with ``read``). *overrides* go to `make_app` as they are.

    Raises:
        ConfigError: an unreadable token file, a read-only token without an admin token, a
            malformed ``web_allowed_hosts``, or ``web_max_tails`` not below ``web_threads``.
    """
    limits = FrontLimits(threads=int(settings.web_threads), connection_limit=int(settings.web_connection_limit),
                         request_timeout_s=float(settings.web_request_timeout),
                         max_body_bytes=max(FrontLimits().max_body_bytes,
                                            int(settings.object_max_size) + FORM_OVERHEAD_BYTES))
    max_tails = int(overrides.pop("max_tails", settings.web_max_tails))
    if max_tails >= limits.threads:
        raise ConfigError(f"option 'web_max_tails' ({max_tails}) must be below option 'web_threads' "
                          f"({limits.threads}): live tails hold a thread each and must leave some for pages")
    if "token" not in overrides:
        overrides["token"], _ = resolve_token(settings)
    if "read_token" not in overrides:
        overrides["read_token"], _ = resolve_read_token(settings)
    overrides.setdefault("refresh_s", float(settings.web_refresh))
    overrides.setdefault("cache_s", float(settings.web_cache))
    overrides.setdefault("yield_s", float(settings.web_yield))
    return make_app(facade, allowed_hosts=str(settings.web_allowed_hosts or ""), limits=limits, max_tails=max_tails,
                    **overrides)


def app_state(app: bottle.Bottle) -> WebState:
    """The `WebState` of an app built by `make_app` (the server stops its tails)."""
    if not isinstance(app, WebApp):
        raise TypeError(f"{app!r} was not built by make_app")
    return app.state
