"""What the route modules of one app share: the facade, the security rules, flashes, tails.

One `WebState` per `make_app`; handlers reach everything through it (and the facade
through it), so several apps can live in one process (tests) without globals.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

import bottle
import structlog

from web.backend import Backend
from web.readcache import ReadCache
from web.render import Flashes, PageContext, render
from web.requests import next_of
from web.security import ADMIN, READER, ROLE_KEY, Security
from web.tails import Tails

log = structlog.get_logger("das_actors.web")


#: Seconds between the live refreshes of a page (option ``web_refresh``).
DEFAULT_REFRESH_S = 5.0
#: The header the panel's script sends when it refreshes a page's live parts (`web/static/app.js`).
LIVE_HEADER = "X-Das-Live"
#: Seconds a request waits, at most, while a backlog of due runs is handed out (option ``web_yield``).
DEFAULT_YIELD_S = 0.5
#: Seconds a drawn page or API answer is reused (option ``web_cache``; `web.readcache`).
DEFAULT_CACHE_S = 0.5
#: What a cached page carries instead of a session's CSRF token (random: no data can spell it).
CSRF_STAND_IN = "csrf-stand-in-" + secrets.token_hex(16)
#: `PageContext` fields a cached page does not depend on: the token is put in per session, a page
#: with one-shot messages is never cached, and the clock may be up to the cache's bounds old.
_UNKEYED = frozenset({"csrf", "flash", "now"})


@dataclass
class WebState:
    """Everything the handlers of one app share."""

    facade: Backend
    security: Security
    heartbeat_s: float = 15.0
    flashes: Flashes = field(default_factory=Flashes)
    tails: Tails = field(default_factory=lambda: Tails(8))
    refresh_s: float = DEFAULT_REFRESH_S
    #: ``host:port`` when the server listens beyond loopback (set by `web.server.WebServer`): with no
    #: token required, every page then says so.
    exposed_on: str | None = None
    #: Identical reads share one answer for a fraction of a second (`web.readcache`).
    reads: ReadCache = field(default_factory=lambda: ReadCache(DEFAULT_CACHE_S))
    #: Seconds a request waits, at most, for a backlog of due runs to be handed out (`actors.pressure`).
    yield_s: float = DEFAULT_YIELD_S

    # ------------------------------------------------------------------ pages
    def page(self, section: str) -> PageContext:
        """The layout context of the current request (creates the session cookie if needed).

        A live refresh (the panel's script, header `LIVE_HEADER`) leaves the session's one-shot
        messages for the next page the user opens."""
        request, response = bottle.request, bottle.response
        sid = self.security.ensure_session(request, response)
        here = request.path.lstrip("/") + ("?" + request.query_string if request.query_string else "")
        role = request.environ.get(ROLE_KEY) or (ADMIN if not self.security.enabled else None)
        live = bool(request.get_header(LIVE_HEADER))
        return PageContext(base=request.script_name, section=section, csrf=self.security.csrf_token(sid),
                           read_only=self.facade.read_only or role == READER, login=self.security.enabled, here=here,
                           flash=[] if live else self.flashes.take(sid), role=role,
                           server_read_only=self.facade.read_only, refresh_s=self.refresh_s,
                           exposed_on=None if self.security.enabled else self.exposed_on)

    def cached_page(self, name: str, page: PageContext, draw: Callable[[PageContext], str]) -> str:
        """The HTML of page *name* for *page*: drawn by *draw*, or shared with the identical requests of
        the last fraction of a second (`reads`). Everything *page* says is in the key but the session's
        CSRF token (drawn as `CSRF_STAND_IN`, this session's put in here), its one-shot messages (a page
        that has some is drawn for it alone) and the clock; the request's path and query are in
        ``page.here``, so *draw* must depend on nothing else of the request."""
        if page.flash or not self.reads.enabled:
            return draw(page)
        key = ("page", name, *((f.name, getattr(page, f.name)) for f in dataclasses.fields(page)
                               if f.name not in _UNKEYED))
        html: str = self.reads.get(key, lambda: draw(dataclasses.replace(page, csrf=CSRF_STAND_IN)))
        return html.replace(CSRF_STAND_IN, page.csrf)

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
                return render("login.mako", page, message=message, next_url=next_of(bottle.request))
            return render("error.mako", page, status=status, message=message, field=field_name)
        except Exception:
            log.exception("web.error_page_failed", status=status)
            from html import escape

            return f"<!doctype html><title>{status}</title><h1>{status}</h1><p>{escape(message)}</p>"
