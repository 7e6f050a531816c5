"""The production WSGI server: waitress (`web.front`), in the server's own process.

`actors.server.Server` binds it before any actor starts (a port in use fails the start
before anything runs), serves once the actors are up, and stops it first at shutdown.
Handlers only ask
the actors through the facade (with timeouts), so a pool of threads is safe; requests
are read by waitress's event loop, so a slow client never holds a thread (`web.front`).
The server owns what comes before the app::

    Host allow-list (`web.hosts`)   400 / 421 before anything else, redirects included
    URL prefix (``web_base``)       sets ``SCRIPT_NAME``; ``/`` and the bare prefix redirect
                                    to ``{web_base}/``; anything else outside it is a 404

so the app stays prefix-agnostic. At start it warns (``web.exposed_without_token``) when
the panel listens beyond loopback with no token: anyone who can reach the port may then
add jobs, i.e. run code; it tells the app too (`WebState.exposed_on`), and every page
carries a banner saying so while no token is required.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import threading
from collections.abc import Callable, Iterable
from typing import Any

import structlog

from web.app import app_state
from web.front import FrontLimits, FrontServer
from web.hosts import AllowedHosts, host_guard

log = structlog.get_logger("das_actors.web")

#: Request threads. Live tails hold one each, and at most half of them may.
THREADS = FrontLimits().threads
#: Seconds a stopping server waits for requests in progress.
SHUTDOWN_TIMEOUT_S = 2

#: What the start log (and the command line) says when the panel is open to the network without a token.
EXPOSED_NOTE = ("the panel listens beyond this machine and no web token is set: anyone who can reach the port can "
                "add jobs, i.e. run code here. Set web_token_file (or DAS_ACTORS_WEB_TOKEN) or listen on 127.0.0.1")

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


def is_loopback(address: str) -> bool:
    """True for 127.0.0.0/8, ::1 and ``localhost``; False for wildcards and everything else."""
    if address.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(address.strip("[]").split("%")[0]).is_loopback
    except ValueError:
        return False


class WebServer:
    """The web server of one app; `start` binds (``port=0``: a free port) and serves in a thread.

    The Host allow-list, the token and the limits come from the app when `web.app.make_app`
    built it (its `AllowedHosts` learns the bound address and port at start), else from the
    arguments.
    """

    def __init__(self, app: Any, host: str, port: int, base: str, *, threads: int | None = None,
                 limits: FrontLimits | None = None, hosts: AllowedHosts | None = None) -> None:
        self.app = app
        self.base = "/" + base.strip("/") if base.strip("/") else ""
        self._bind = (host, port)
        state = _state_of(app)
        self.limits = limits or getattr(app, "limits", None) or FrontLimits()
        if threads is not None:
            self.limits = dataclasses.replace(self.limits, threads=threads)
        self.hosts = hosts or (state.security.hosts if state is not None else AllowedHosts())
        self._token_required = bool(state is not None and state.security.enabled)
        self._server: FrontServer | None = None
        self._thread: threading.Thread | None = None

    def bind(self) -> WebServer:
        """Bind the socket now (`OSError` if it cannot); no request is read until `start`."""
        if self._server is None:
            host, port = self._bind
            self._server = FrontServer(host_guard(prefixed(self.app, self.base), self.hosts), host, port,
                                       self.limits)
            self.hosts.bind(self.host, self.port)  # before the loop runs: no request is read until then
        return self

    def start(self) -> WebServer:
        """Bind if not yet bound (`OSError` if it cannot) and serve in a daemon thread."""
        self.bind()
        assert self._server is not None
        self._thread = threading.Thread(target=self._server.run, name="web-server", daemon=True)
        self._thread.start()
        log.info("web.started", url=self.url, threads=self.limits.threads,
                 connection_limit=self.limits.connection_limit, allowed_hosts=list(self.hosts.names))
        state = _state_of(self.app)
        if state is not None and not is_loopback(self.host):
            state.exposed_on = f"{self.host}:{self.port}"  # every page says so while no token is required
        if self.exposed_without_token:
            log.warning("web.exposed_without_token", address=self.host, port=self.port,
                        note=EXPOSED_NOTE)
        return self

    @property
    def exposed_without_token(self) -> bool:
        """True when the panel listens beyond loopback and no token is required."""
        state = _state_of(self.app)
        required = state.security.enabled if state is not None else self._token_required
        return not is_loopback(self.host) and not required

    @property
    def host(self) -> str:
        """The address listened on."""
        if self._server is None:
            return self._bind[0]
        return str(self._server.effective_host)

    @property
    def port(self) -> int:
        """The port listened on (the real one when 0 was asked for)."""
        if self._server is None:
            return int(self._bind[1])
        return int(self._server.effective_port)

    @property
    def url(self) -> str:
        """``http://host:port/base/``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}{self.base}/"

    def stop(self) -> None:
        """End the live tails, stop accepting, wait (bounded) for requests in progress."""
        state = _state_of(self.app)
        if state is not None:
            state.tails.stop_all()
        if self._server is not None:
            self._server.stop(SHUTDOWN_TIMEOUT_S)
        if self._thread is not None:
            self._thread.join(SHUTDOWN_TIMEOUT_S + 1.0)
            self._thread = None
        log.info("web.stopped")


def _state_of(app: Any) -> Any:
    """The `WebState` of an app built by `make_app`, else None."""
    try:
        return app_state(app)
    except TypeError:
        return None
