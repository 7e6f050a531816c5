"""What the route modules of one app share: the facade, the security rules, flashes, tails.

One `WebState` per `make_app`; handlers reach everything through it (and the facade
through it), so several apps can live in one process (tests) without globals.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import bottle
import structlog

from web.backend import Backend
from web.render import Flashes, PageContext, render
from web.requests import next_of
from web.security import ADMIN, READER, ROLE_KEY, Security
from web.tails import Tails

log = structlog.get_logger("das_actors.web")


#: Seconds between the live refreshes of a page (option ``web_refresh``).
DEFAULT_REFRESH_S = 5.0
#: The header the panel's script sends when it refreshes a page's live parts (`web/static/app.js`).
LIVE_HEADER = "X-Das-Live"


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
