"""The production WSGI server: cheroot, threaded, in the server's own process.

`actors.server.Server` binds it before the actors start (a port in use fails the start
before anything runs), serves once they are up, and stops it first at shutdown. Handlers only ask
the actors through the facade (with timeouts), so a pool of threads is safe; the server
owns the URL prefix (``web_base``): it sets ``SCRIPT_NAME`` and the app stays
prefix-agnostic. ``/`` and the bare prefix redirect to ``{web_base}/``; anything else
outside the prefix is a 404.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

import structlog
from cheroot import wsgi

from web.app import app_state

log = structlog.get_logger("das_actors.web")

#: Request threads. Live tails hold one each, and at most half of them may.
THREADS = 16
#: Seconds a stopping server waits for requests in progress.
SHUTDOWN_TIMEOUT_S = 2

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def prefixed(app: WsgiApp, base: str) -> WsgiApp:
    """Serve *app* under *base* (``/analytics``): set SCRIPT_NAME, strip it from PATH_INFO."""
    base = "/" + base.strip("/") if base.strip("/") else ""

    def dispatch(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "") or "/"
        if base and path in (base, "/"):
            start_response("308 Permanent Redirect", [("Location", base + "/"), ("Content-Length", "0")])
            return [b""]
        if base and not path.startswith(base + "/"):
            body = b'{"error": {"status": 404, "message": "not found: the panel is under ' + base.encode() + b'/"}}'
            start_response("404 Not Found", [("Content-Type", "application/json"),
                                              ("Content-Length", str(len(body)))])
            return [body]
        environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + base
        environ["PATH_INFO"] = path[len(base):]
        return app(environ, start_response)

    return dispatch


class WebServer:
    """A cheroot server for one app; `start` binds (``port=0``: a free port) and serves in a thread."""

    def __init__(self, app: Any, host: str, port: int, base: str, *, threads: int = THREADS) -> None:
        self.app = app
        self.base = "/" + base.strip("/") if base.strip("/") else ""
        self._server = wsgi.Server((host, port), prefixed(app, base), numthreads=threads, timeout=10,
                                   shutdown_timeout=int(SHUTDOWN_TIMEOUT_S), server_name="das-actors")
        self._thread: threading.Thread | None = None
        self._bound = False

    def bind(self) -> WebServer:
        """Bind the socket now (`OSError` if it cannot); requests wait until `start`."""
        if not self._bound:
            self._server.prepare()
            self._bound = True
        return self

    def start(self) -> WebServer:
        """Bind if not yet bound (`OSError` if it cannot) and serve in a daemon thread."""
        self.bind()
        self._thread = threading.Thread(target=self._server.serve, name="web-server", daemon=True)
        self._thread.start()
        log.info("web.started", url=self.url)
        return self

    @property
    def host(self) -> str:
        """The address listened on."""
        return str(self._server.bind_addr[0])

    @property
    def port(self) -> int:
        """The port listened on (the real one when 0 was asked for)."""
        return int(self._server.bind_addr[1])

    @property
    def url(self) -> str:
        """``http://host:port/base/``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}{self.base}/"

    def stop(self) -> None:
        """End the live tails, stop accepting, wait (bounded) for requests in progress."""
        try:
            app_state(self.app).tails.stop_all()
        except TypeError:
            pass
        self._server.stop()
        if self._thread is not None:
            self._thread.join(SHUTDOWN_TIMEOUT_S + 1.0)
            self._thread = None
        log.info("web.stopped")
