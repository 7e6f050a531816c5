"""How an exception becomes an answer: JSON errors for the API, the error page for the panel.

Why a module of its own: every route module installs one of these two Bottle plugins, and
the status of an answer comes from the exception alone (`actors.errors.http_status`), so a
handler never formats an error by hand. A 5xx other than 503 is logged with its traceback;
the answer never carries internals (object addresses, stack frames).

No exception of any kind escapes a handler: ``SystemExit``, ``KeyboardInterrupt`` and
``MemoryError`` raised by a handler or a plugin it calls (a report, a module it imports) are
500s like any other, since in a request thread they can only come from the code it runs;
only the server's own shutdown stops the server (`web.app.WebApp.wsgi` is the last net).
"""

from __future__ import annotations

import json
from typing import Any

import bottle
import structlog

from actors.errors import http_status
from actors.jsonsafe import sanitize
from web.params import error_body
from web.state import WebState

log = structlog.get_logger("das_actors.web")

JSON_TYPE = "application/json"


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
            except BaseException as exc:
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
            except BaseException as exc:
                status, message, field_name = http_status(exc)
                if status >= 500 and status != 503:
                    log.exception("web.page_failed", path=bottle.request.path, method=bottle.request.method)
                return self.state.error_page(status, message, field_name)

        return wrapper
