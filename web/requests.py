"""Reading a request and answering with a redirect: the helpers every route module uses.

Why a module of its own: query strings and forms arrive as bytes in an unknown encoding,
and a redirect target given by a client (``next=``) is an open door; both are decoded and
checked here once (a 400 naming the field; a relative path under the base or nothing).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

import bottle

from actors.errors import BadRequestError

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


def next_of(request: bottle.BaseRequest) -> str:
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
