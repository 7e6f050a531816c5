"""The web control panel and JSON API of das-actors (Bottle + Mako), served in-process.

`make_app(facade)` builds the WSGI application (pages, ``api/v1``, ``healthz``,
``metrics``, static files); `web.server.WebServer` serves it with cheroot under the
``web_base`` prefix. Everything goes through the `web.backend.Backend` protocol (the running
server's `actors.facade.Facade` implements it): no module here touches an actor.

Modules: `app` (factory, error pages, security headers), `security` (CSRF, Origin /
Sec-Fetch-Site, token, read-only), `params` (request parsing, 400s naming the field),
`backend` (the protocol of the one door the web uses), `api` and `sse` (JSON API, live
tail), `pages`, `control` and `actions` (HTML), `reports`
(the Reports section and its API), `render` (Mako, formatting), `metrics` (Prometheus
text), `openapi` (the API description), `server` (cheroot).
"""

from __future__ import annotations

from web.app import make_app

__all__ = ["make_app"]
