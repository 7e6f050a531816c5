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

Beside the System it owns the interact stores (scripts, targets, trigger keys: `Records`;
actions: `Outbox`), opened before the System starts, and the delivery actor
(`actors.dispatcher`), started after it and stopped before it. Config-file targets are
written to the store at start. Editing scripts is running code: with ``token_if_missing``
(``das-actors start`` sets it), scripts on and no web token given, a random token is made
at start and the login URL that carries it is logged (`login_url`), as JupyterLab does.
"""

from __future__ import annotations

import random
import secrets
import time
from collections.abc import Callable, Sequence
from typing import Any

import pykka
import structlog

from actors.actlog import ActLog
from actors.config import Settings
from actors.dispatcher import start_dispatcher
from actors.errors import ConfigError
from actors.facade import Facade
from actors.interact import Interact
from actors.jobs import JobSpec
from actors.store import Store
from actors.store.beside import open_outbox, open_records
from actors.streamspec import StreamSpec
from actors.system import System
from actors.targets import TargetSpec
from web import app as web_app
from web import server as web_server
from web.token_source import resolve_token

log = structlog.get_logger("das_actors.server")
#: Seconds the delivery actor gets to finish the attempts in flight at shutdown.
DISPATCHER_STOP_S = 30.0


class Server:
    """System + Facade + web server; see the module docstring. A context manager."""

    def __init__(self, settings: Settings, jobs: Sequence[JobSpec] = (), *, store: Store | None = None,
                 clock: Callable[[], float] = time.time, rng: Callable[[], float] = random.random,
                 registry: Any | None = None, streams: Sequence[StreamSpec] = (),
                 targets: Sequence[TargetSpec] = (), token_if_missing: bool = False) -> None:
        self.system = System(settings, jobs, store=store, clock=clock, rng=rng, streams=streams)
        self.facade = Facade(self.system, registry)
        self.web: web_server.WebServer | None = None
        where = {"db_name": settings.db_name, "db_coll": settings.db_coll, "timeout_s": settings.db_timeout}
        self.records = open_records(settings.db_uri, **where)
        self.outbox = open_outbox(settings.db_uri, **where)
        self.facade.interact = Interact(self.system, self.facade.registry, self.records, clock)
        self.facade.act = ActLog(self.outbox, self.records, clock)
        self.targets = list(targets)
        self.token_if_missing = token_if_missing
        self.dispatcher: pykka.ActorRef[Any] | None = None
        #: ``<web_url>login?token=...`` when the web token was generated at start, else None.
        self.login_url: str | None = None

    def start(self) -> Server:
        """Bind, build, start the actors, serve (see the module docstring). Returns self."""
        s = self.system.settings
        generated = ""
        if s.web:
            overrides: dict[str, Any] = {}
            if self.token_if_missing and s.scripts and not resolve_token(s)[0]:
                generated = overrides["token"] = secrets.token_urlsafe(24)
            app = web_app.app_for(self.facade, s, **overrides)
            web = web_server.WebServer(app, s.web_host, s.web_port, s.web_base)
            try:
                web.bind()
            except OSError as exc:
                raise ConfigError(f"--web-port: cannot serve the web interface on {s.web_host}:{s.web_port}: "
                                  f"{exc}") from exc
            self.web = web
            self.system.web_url = web.url  # shown in the Instances table (several instances on one store)
        try:
            self.records.open()
            self.outbox.open()
            self.facade.act.sync_config_targets(self.targets)  # type: ignore[union-attr]  # set in __init__
            self.facade.interact.adopt_config_scripts(self.system.config_jobs)  # type: ignore[union-attr]
            self.system.start()
        except BaseException:
            if self.web is not None:
                self.web.stop()
                self.web = None
            self._close_stores()
            raise
        self.dispatcher = start_dispatcher(self.outbox, self.records, s)
        if self.web is not None:
            self.web.start()
            if generated:
                self.login_url = f"{self.web.url}login?token={generated}"
                log.warning("web.token_generated", login_url=self.login_url,
                            note="scripts are on and no web token was given: this token was made for this run; "
                                 "open the login URL, or give --web-token / web_token_file to choose one")
        return self

    def shutdown(self, grace_s: float | None = None) -> None:
        """Stop serving, stop the delivery actor, then drain and stop the System; close the stores."""
        if self.web is not None:
            self.web.stop()
            self.web = None
        if self.dispatcher is not None:
            try:
                self.dispatcher.stop(block=True, timeout=DISPATCHER_STOP_S)
            except pykka.Timeout:
                log.error("actions.dispatcher_stop_timeout", timeout_s=DISPATCHER_STOP_S)
            self.dispatcher = None
        self.system.shutdown(grace_s)
        self._close_stores()

    def _close_stores(self) -> None:
        for store in (self.outbox, self.records):
            try:
                store.close()
            except Exception as exc:  # noqa: BLE001 - closing: report and go on
                log.warning("store.close_failed", store=repr(store), error=f"{type(exc).__name__}: {exc}")

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
