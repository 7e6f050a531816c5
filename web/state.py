"""What the route modules share: the facade, the security rules, flashes, live tails.

One `WebState` per `make_app`; handlers reach everything through it (and the facade
through it), so several apps can live in one process (tests) without globals.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NoReturn, TypeVar

import bottle
import structlog

from actors.errors import BadRequestError, RefusedError, http_status
from actors.jsonsafe import sanitize
from web.backend import Backend
from web.params import error_body
from web.render import Flashes, PageContext, render
from web.security import Security

log = structlog.get_logger("das_actors.web")

JSON_TYPE = "application/json"


class Tails:
    """The live tails (SSE streams) being served, so shutdown can end them all at once."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._stops: set[threading.Event] = set()
        self._lock = threading.Lock()

    def open(self) -> threading.Event:
        """A stop event for a new stream; 503 when `limit` streams are already open."""
        with self._lock:
            if len(self._stops) >= self.limit:
                raise RefusedError(f"too many live tails open ({self.limit}); close one and retry", status=503)
            stop = threading.Event()
            self._stops.add(stop)
            return stop

    def close(self, stop: threading.Event) -> None:
        """Forget (and stop) one stream."""
        stop.set()
        with self._lock:
            self._stops.discard(stop)

    def stop_all(self) -> None:
        """End every stream (server shutdown)."""
        with self._lock:
            stops, self._stops = list(self._stops), set()
        for stop in stops:
            stop.set()

    def __len__(self) -> int:
        with self._lock:
            return len(self._stops)


@dataclass
class WebState:
    """Everything the handlers of one app share."""

    facade: Backend
    security: Security
    heartbeat_s: float = 15.0
    flashes: Flashes = field(default_factory=Flashes)
    tails: Tails = field(default_factory=lambda: Tails(8))

    # ------------------------------------------------------------------ pages
    def page(self, section: str) -> PageContext:
        """The layout context of the current request (creates the session cookie if needed)."""
        request, response = bottle.request, bottle.response
        sid = self.security.ensure_session(request, response)
        here = request.path.lstrip("/") + ("?" + request.query_string if request.query_string else "")
        return PageContext(base=request.script_name, section=section, csrf=self.security.csrf_token(sid),
                           read_only=self.facade.read_only, login=self.security.enabled, here=here,
                           flash=self.flashes.take(sid))

    def flash(self, kind: str, message: str) -> None:
        """Show *message* on the next page this browser loads."""
        sid = self.security.session(bottle.request)
        if sid is not None:
            self.flashes.add(sid, kind, message)

    def error_page(self, status: int, message: str, field_name: str | None = None) -> str:
        """The HTML error page (or the login form for 401), with *status* set."""
        bottle.response.status = status
        bottle.response.content_type = "text/html; charset=utf-8"
        try:
            page = self.page("")
            if status == 401:
                return render("login.mako", page, message=message, next_url=_next_of(bottle.request))
            return render("error.mako", page, status=status, message=message, field=field_name)
        except Exception:
            log.exception("web.error_page_failed", status=status)
            from html import escape

            return f"<!doctype html><title>{status}</title><h1>{status}</h1><p>{escape(message)}</p>"


Handler = TypeVar("Handler", bound=Callable[..., Any])


def route(app: bottle.Bottle, method: str, path: str, **config: Any) -> Callable[[Handler], Handler]:
    """``@route(app, "GET", "/x")``: Bottle's ``app.route`` with the handler's type kept."""

    def register(handler: Handler) -> Handler:
        app.route(path, method, handler, **config)
        return handler

    return register


def query_params() -> dict[str, str]:
    """The query string as text (400 when it is not UTF-8)."""
    try:
        return dict(bottle.request.query.decode().items())
    except UnicodeError:
        raise BadRequestError("query string: not valid UTF-8", field="query") from None


def form_params() -> dict[str, str]:
    """The posted form fields as text (400 when they are not UTF-8)."""
    try:
        return dict(bottle.request.forms.decode().items())
    except UnicodeError:
        raise BadRequestError("form: not valid UTF-8", field="form") from None


def json_response(value: Any, status: int | None = None) -> str:
    """Serialise *value* as the response body (strict JSON, non-JSON parts stringified)."""
    response = bottle.response
    if status is not None:
        response.status = status
    response.content_type = JSON_TYPE
    try:
        return json.dumps(value, allow_nan=False, default=str)
    except ValueError:
        return json.dumps(sanitize(value, []), allow_nan=False, default=str)


class JsonErrors:
    """Bottle plugin for the API: dict/list results become JSON, exceptions JSON errors."""

    name = "das_json"
    api = 2

    def apply(self, callback: Any, route: bottle.Route) -> Any:
        """Wrap *callback*."""

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                result = callback(*args, **kwargs)
            except bottle.HTTPResponse:
                raise
            except Exception as exc:
                status, message, field_name = http_status(exc)
                if status >= 500 and status != 503:
                    log.exception("web.request_failed", path=bottle.request.path, method=bottle.request.method)
                if status == 401:
                    bottle.response.set_header("WWW-Authenticate", 'Bearer realm="das-actors"')
                return json_response(error_body(status, message, field_name), status)
            if isinstance(result, dict | list):
                return json_response(result)
            return result

        return wrapper


class HtmlErrors:
    """Bottle plugin for the pages: exceptions become the error page (401: the login form)."""

    name = "das_html"
    api = 2

    def __init__(self, state: WebState) -> None:
        self.state = state

    def apply(self, callback: Any, route: bottle.Route) -> Any:
        """Wrap *callback*."""

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return callback(*args, **kwargs)
            except bottle.HTTPResponse:
                raise
            except Exception as exc:
                status, message, field_name = http_status(exc)
                if status >= 500 and status != 503:
                    log.exception("web.page_failed", path=bottle.request.path, method=bottle.request.method)
                return self.state.error_page(status, message, field_name)

        return wrapper


def _next_of(request: bottle.BaseRequest) -> str:
    """Where the login form returns to: this page, when it was a GET."""
    if request.method != "GET" or request.path.startswith("/login"):
        return ""
    path: str = request.path.lstrip("/")
    return path + ("?" + request.query_string if request.query_string else "")


def see_other(path: str) -> NoReturn:
    """Answer 303 See Other to *path* (a path on this server; cookies set so far are kept)."""
    moved = bottle.response.copy(cls=bottle.HTTPResponse)
    moved.status = 303
    moved.body = ""
    moved.set_header("Location", path)
    raise moved


def safe_next(value: str | None, default: str = "") -> str:
    """A relative path under the base to go back to (anything else becomes *default*)."""
    if not value or len(value) > 1000 or value.startswith(("/", "\\")) or "://" in value or "\\" in value:
        return default
    if any(ord(ch) < 32 for ch in value):
        return default
    return value

