"""The composition root: one `Server` wires the runtime, the facade and the web server.

Why a module of its own: the layers point one way (core < store < tasks, reports <
runtime actors < facade < web < cli), so the only place allowed to know all of them is
the top. ``das-actors start`` builds a `Server`; so do the tests that want the whole
thing, panel included, in-process on a temporary store.

Start order, so that a failed start runs nothing:

1. the web socket is bound (a port in use is a `ConfigError` before any actor exists);
2. the facade and the web application are built (a broken plugin fails here, too);
3. the `System` starts: store, actors, restore, config jobs;
4. the web server starts serving.

Shutdown is the reverse: the web server stops first (no new requests), then the System
drains and stops. A `Server` is used like its `System` (attribute reads fall through to
it), plus `facade`, `web_url` and `web_port`.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from typing import Any

from actors.config import Settings
from actors.errors import ConfigError
from actors.facade import Facade
from actors.jobs import JobSpec
from actors.store import Store
from actors.streamspec import StreamSpec
from actors.system import System
from web import app as web_app
from web import server as web_server


class Server:
    """System + Facade + web server; see the module docstring. A context manager."""

    def __init__(self, settings: Settings, jobs: Sequence[JobSpec] = (), *, store: Store | None = None,
                 clock: Callable[[], float] = time.time, rng: Callable[[], float] = random.random,
                 registry: Any | None = None, streams: Sequence[StreamSpec] = ()) -> None:
        self.system = System(settings, jobs, store=store, clock=clock, rng=rng, streams=streams)
        self.facade = Facade(self.system, registry)
        self.web: web_server.WebServer | None = None

    def start(self) -> Server:
        """Bind, build, start the actors, serve (see the module docstring). Returns self."""
        s = self.system.settings
        if s.web:
            app = web_app.app_for(self.facade, s)
            web = web_server.WebServer(app, s.web_host, s.web_port, s.web_base)
            try:
                web.bind()
            except OSError as exc:
                raise ConfigError(f"--web-port: cannot serve the web interface on {s.web_host}:{s.web_port}: "
                                  f"{exc}") from exc
            self.web = web
            self.system.web_url = web.url  # shown in the Instances table (several instances on one store)
        try:
            self.system.start()
        except BaseException:
            if self.web is not None:
                self.web.stop()
                self.web = None
            raise
        if self.web is not None:
            self.web.start()
        return self

    def shutdown(self, grace_s: float | None = None) -> None:
        """Stop serving, then drain and stop the System."""
        if self.web is not None:
            self.web.stop()
            self.web = None
        self.system.shutdown(grace_s)

    @property
    def web_port(self) -> int | None:
        """The port the web interface listens on (the real one with ``web_port=0``), None when off."""
        return None if self.web is None else self.web.port

    @property
    def web_url(self) -> str | None:
        """``http://host:port{web_base}/`` of the web interface, None when off."""
        return None if self.web is None else self.web.url

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.system, name)

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
