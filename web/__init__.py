"""The web control panel and JSON API of das-actors (Bottle + Mako), served in-process.

`make_app(facade)` builds the WSGI application (pages, ``api/v1``, ``healthz``,
``metrics``, static files); `web.server.WebServer` serves it with waitress under the
``web_base`` prefix, behind the Host allow-list. Everything goes through the
`web.backend.Backend` protocol (the running server's `actors.facade.Facade` implements it):
no module here touches an actor.

Modules: `app` (factory, error pages, security headers), `backend` (the protocol of the one
door the web uses), `security` (CSRF, Origin / Sec-Fetch-Site, token, JSON writes,
read-only), `hosts` (the Host allow-list), `ratelimit` (failed-login backoff), `sessions`
(logged-in sessions, revocable), `token_source` (the token from option, file or
environment), `params` (request parsing, 400s naming the field), `requests` (decoding
queries and forms, safe redirects), `errors` (exceptions as JSON errors or the error page),
`state` (what one app's handlers share), `tails` (the live tails served), `api` and `sse` (JSON API,
live tail), `pages`, `control` and `actions` (HTML), `reports` (the Reports section and its
API), `render` (Mako, formatting), `metrics` (Prometheus text), `openapi` (the API
description), `server` and `front` (waitress: the event loop reads requests, threads run
them).
"""

from __future__ import annotations

from web.app import make_app

__all__ = ["make_app"]
