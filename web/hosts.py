"""Which names this server answers to: the Host allow-list (DNS rebinding) and same-origin writes.

Why: a page on ``evil.example`` whose name the attacker re-points at 127.0.0.1 (DNS
rebinding) talks to the loopback panel as a *same-origin* page: the browser sends
``Host: evil.example:8213`` and ``Origin: http://evil.example:8213``, so comparing Origin with
the request's own Host let it read pages and CSRF tokens and post changes. The rule here::

    allowed names   the bound address, localhost, 127.0.0.1, [::1] (each with the bound port or
                    none), plus ``web_allowed_hosts`` (``name`` or ``name:port``, comma-separated:
                    the real names of a reverse proxy or of a wildcard bind)
    any request     Host missing -> 400, Host not allowed -> 421 Misdirected Request, answered by
                    `host_guard` in front of everything (pages, API, static, healthz, live tails,
                    redirects), before any routing or authentication
    writes          Origin, when sent, must name an allowed host (`Security.check_origin`)

A name with no port means the scheme's default port (80 / 443): a proxy in front of the
panel. A name given with a port in ``web_allowed_hosts`` is allowed with that port only.
Names compare case-insensitively and exactly: no wildcards, no trailing-dot variants.
"""

from __future__ import annotations

import ipaddress
import json
import re
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

import structlog

from actors.errors import ConfigError

log = structlog.get_logger("das_actors.web")

#: Names every server answers to, whatever it is bound to.
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")
#: The scheme's port a Host or Origin without a port means.
DEFAULT_PORTS = {"http": 80, "https": 443}
#: A host name or an IPv4 address (RFC 1123 labels), or a bracketed IPv6 literal.
_NAME = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*"
                   r"|\[[0-9a-f:.]+\]")

#: Seconds between two log lines about the same refused Host (a rebinding page may send thousands).
REFUSAL_LOG_INTERVAL_S = 60.0
_REFUSALS_REMEMBERED = 256

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def split_host(text: str) -> tuple[str, int | None] | None:
    """``("name", port or None)`` of a Host header value (None when it is not one)."""
    text = text.strip().lower()
    name, port_text = text, ""
    if text.startswith("["):
        end = text.find("]")
        name, rest = text[: end + 1], text[end + 1:]
        if end < 0 or (rest and not rest.startswith(":")):
            return None
        port_text = rest[1:]
        if rest and not port_text:
            return None
    elif ":" in text:
        name, _, port_text = text.partition(":")
        if not port_text:
            return None
    if not _NAME.fullmatch(name) or len(name) > 253:
        return None
    if name.startswith("["):
        try:
            ipaddress.IPv6Address(name[1:-1])
        except ValueError:
            return None
    if not port_text:
        return name, None
    if not port_text.isdigit() or len(port_text) > 5 or not 0 < int(port_text) < 65536:
        return None
    return name, int(port_text)


def _bracketed(address: str) -> str:
    """``[::1]`` for an IPv6 address, the address itself otherwise."""
    return f"[{address}]" if ":" in address and not address.startswith("[") else address


class AllowedHosts:
    """The names (and ports) this server answers to; `bind` adds the real address and port.

    Thread-safe: `bind` runs once in the thread that starts the server, the checks in every
    request thread.
    """

    def __init__(self, extra: str | Iterable[str] = "") -> None:
        entries = [e.strip() for e in extra.split(",")] if isinstance(extra, str) else [e.strip() for e in extra]
        self._named: dict[str, int | None] = dict.fromkeys(LOOPBACK_NAMES)  # name -> its only port, or None
        for entry in filter(None, entries):
            parsed = split_host(entry)
            if parsed is None:
                raise ConfigError(f"option 'web_allowed_hosts': {entry!r} is not a host name, an IP address "
                                  "or [IPv6] with an optional :port (no scheme, no path, no wildcard)")
            self._named[parsed[0]] = parsed[1]
        self._port: int | None = None
        self._lock = threading.Lock()

    def bind(self, address: str, port: int) -> None:
        """The server listens on *address*:*port*: allow that address, and that port for every name."""
        with self._lock:
            self._named.setdefault(_bracketed(address.lower()), None)
            self._port = port

    @property
    def names(self) -> tuple[str, ...]:
        """The allowed names (for messages and logs)."""
        with self._lock:
            return tuple(self._named)

    def allows(self, host: str, scheme: str = "http") -> bool:
        """True when *host* (a Host header or an Origin's netloc) is one of ours."""
        parsed = split_host(host)
        if parsed is None:
            return False
        name, port = parsed
        if port == DEFAULT_PORTS.get(scheme):
            port = None
        with self._lock:
            if name not in self._named:
                return False
            only = self._named[name]
            if only is not None:
                return port == only or (port is None and only == DEFAULT_PORTS.get(scheme))
            return port is None or port == self._port

    def allows_origin(self, origin: str) -> bool:
        """True when an Origin header (``scheme://host[:port]``) names one of our hosts."""
        try:
            parts = urlsplit(origin.strip())
        except ValueError:
            return False
        if parts.scheme not in DEFAULT_PORTS or not parts.netloc or parts.path not in ("", "/"):
            return False
        if "@" in parts.netloc or parts.query or parts.fragment:
            return False
        return self.allows(parts.netloc, parts.scheme)


def _answer(start_response: Callable[..., Any], status: str, message: str) -> list[bytes]:
    code = int(status.split(maxsplit=1)[0])
    body = json.dumps({"error": {"status": code, "message": message, "field": "Host"}}).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body))),
                            ("Cache-Control", "no-store"),
                            ("X-Content-Type-Options", "nosniff")])
    return [body]


def host_guard(app: WsgiApp, hosts: AllowedHosts) -> WsgiApp:
    """*app* behind the Host check: 400 without a Host, 421 for a Host that is not allowed."""

    logged: dict[str, float] = {}

    def note(host: str, environ: dict[str, Any]) -> None:
        now = time.monotonic()
        if now - logged.get(host, -REFUSAL_LOG_INTERVAL_S) < REFUSAL_LOG_INTERVAL_S:
            return
        if len(logged) >= _REFUSALS_REMEMBERED:
            logged.clear()
        logged[host] = now
        log.warning("web.host_refused", host=host, client=environ.get("REMOTE_ADDR"),
                    path=str(environ.get("PATH_INFO", ""))[:200], allowed=list(hosts.names),
                    note="DNS rebinding or a missing web_allowed_hosts entry; logged once a minute per host")

    def guarded(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        host = environ.get("HTTP_HOST")
        scheme = str(environ.get("wsgi.url_scheme") or "http")
        if not host:
            return _answer(start_response, "400 Bad Request", "a Host header is required")
        if not hosts.allows(str(host), scheme):
            note(str(host)[:100], environ)
            return _answer(start_response, "421 Misdirected Request",
                           f"this server does not answer to Host {str(host)[:100]!r}: add the name to "
                           "web_allowed_hosts if it is really this server's")
        return app(environ, start_response)

    return guarded
