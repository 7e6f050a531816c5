"""Action targets: the named places a task may send a webhook or publish a message to.

Why a module of its own: a target is declared in a config file (``Target(name, url=...,
secret=...)`` beside ``Task(...)``), added in the panel or the API, kept in the store,
resolved by the act service in a worker and used by the delivery actor. All of them build
one validated `TargetSpec`. Only configured targets may be used unless the operator allows
any URL (``act_allow_any_url``): the server then sends requests on a task's behalf, and
SSRF rules (`actors.delivery`) decide which addresses it may reach. Pure: no I/O.

* ``http://`` / ``https://`` targets receive webhooks (signed when they have a secret,
  `actors.webhooks`), with the target's extra headers;
* ``amqp://`` / ``amqps://`` targets receive publishes, to ``exchange`` (default: the
  default exchange) with ``routing_key`` unless the task gives one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from actors.errors import InvalidValueError
from actors.uri import redact
from actors.webhooks import masked, secret_key

#: A target name: a letter or digit, then letters, digits and ``._-``; at most 64 characters.
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
WEBHOOK_SCHEMES = ("http", "https")
AMQP_SCHEMES = ("amqp", "amqps")
#: Header names a target may not set: the signature scheme and the transport own them.
RESERVED_HEADERS = frozenset({"webhook-id", "webhook-timestamp", "webhook-signature", "content-type",
                              "content-length", "host", "transfer-encoding", "connection"})
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}")
MAX_URL = 2000
MAX_HEADERS = 20
MAX_AMQP_NAME = 255


def check_target_name(name: Any, *, field: str = "name") -> str:
    """*name* if it is a valid target name, else `InvalidValueError` naming *field*."""
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise InvalidValueError(f"{field}: a target name is a letter or digit followed by up to 63 letters, "
                                f"digits or '._-', got {str(name)[:80]!r}", field=field, value=str(name)[:80])
    return name


def url_kind(url: Any, *, field: str = "url") -> str:
    """``webhook`` or ``amqp`` for a URL a target or an action may name; else `InvalidValueError`."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL or any(ord(ch) < 33 for ch in url):
        raise InvalidValueError(f"{field}: a URL of at most {MAX_URL} characters without spaces, got "
                                f"{redact(str(url))[:80]!r}", field=field, value=redact(str(url))[:80])
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidValueError(f"{field}: not a valid URL ({exc}): {redact(url)[:80]!r}", field=field,
                                value=redact(url)[:80]) from None
    scheme = parts.scheme.lower()
    if scheme not in WEBHOOK_SCHEMES + AMQP_SCHEMES or not parts.hostname:
        raise InvalidValueError(f"{field}: http(s):// for webhooks or amqp(s):// for publishes, with a host, got "
                                f"{redact(url)[:80]!r}", field=field, value=redact(url)[:80])
    if port == 0:
        raise InvalidValueError(f"{field}: port 0 is not a port: {redact(url)[:80]!r}", field=field)
    return "webhook" if scheme in WEBHOOK_SCHEMES else "amqp"


def check_headers(headers: Any, *, field: str = "headers") -> dict[str, str]:
    """Extra HTTP headers of a target: names are tokens, values single-line text, none reserved."""
    if headers is None:
        return {}
    if not isinstance(headers, Mapping):
        raise InvalidValueError(f"{field}: a mapping of header name to value, got {type(headers).__name__}",
                                field=field)
    if len(headers) > MAX_HEADERS:
        raise InvalidValueError(f"{field}: at most {MAX_HEADERS} headers, got {len(headers)}", field=field)
    out: dict[str, str] = {}
    for name, value in headers.items():
        if not isinstance(name, str) or not _HEADER_NAME.fullmatch(name):
            raise InvalidValueError(f"{field}: {str(name)[:40]!r} is not a header name", field=field,
                                    value=str(name)[:40])
        if name.lower() in RESERVED_HEADERS:
            raise InvalidValueError(f"{field}: {name!r} is set by the server (reserved: "
                                    f"{', '.join(sorted(RESERVED_HEADERS))})", field=field, value=name)
        if not isinstance(value, str) or len(value) > 1000 or any(ch in value for ch in "\r\n\x00"):
            raise InvalidValueError(f"{field}: the value of {name!r} must be one line of text (at most 1000 "
                                    "characters)", field=field, value=name)
        out[name] = value
    return out


@dataclass(frozen=True, slots=True)
class TargetSpec:
    """One named target, validated on construction (every error names the field)."""

    name: str
    url: str
    secret: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    exchange: str = ""
    routing_key: str = ""
    origin: str = "api"  # "config" (a config file; read-only in the panel) or "api"

    def __post_init__(self) -> None:
        check_target_name(self.name)
        kind = url_kind(self.url)
        if self.secret:
            if kind != "webhook":
                raise InvalidValueError("secret: only webhook (http/https) targets are signed", field="secret")
            secret_key(self.secret)
        object.__setattr__(self, "headers", MappingProxyType(check_headers(self.headers)))
        if kind == "amqp":
            if self.headers:
                raise InvalidValueError("headers: only webhook (http/https) targets send HTTP headers",
                                        field="headers")
        elif self.exchange or self.routing_key:
            field_name = "exchange" if self.exchange else "routing_key"
            raise InvalidValueError(f"{field_name}: only amqp targets have one", field=field_name)
        for name in ("exchange", "routing_key"):
            value = getattr(self, name)
            if not isinstance(value, str) or len(value) > MAX_AMQP_NAME:
                raise InvalidValueError(f"{name}: at most {MAX_AMQP_NAME} characters of text", field=name)
        if self.origin not in ("config", "api"):
            raise InvalidValueError(f"origin: config or api, got {self.origin!r}", field="origin")

    @property
    def kind(self) -> str:
        """``webhook`` or ``amqp``."""
        return url_kind(self.url)

    def to_record(self) -> dict[str, Any]:
        """What the store keeps (the secret included: the delivery actor signs with it)."""
        return {"name": self.name, "url": self.url, "secret": self.secret, "headers": dict(self.headers),
                "exchange": self.exchange, "routing_key": self.routing_key, "origin": self.origin,
                "kind": self.kind}

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> TargetSpec:
        """Rebuild a target from `to_record` output, or from an API body with the same names."""
        known = {"name", "url", "secret", "headers", "exchange", "routing_key", "origin", "kind"}
        unknown = sorted(set(record) - known)
        if unknown:
            raise InvalidValueError(f"unknown target field {unknown[0]!r} (known: {', '.join(sorted(known))})",
                                    field=unknown[0])
        return cls(name=record.get("name"), url=record.get("url"),  # type: ignore[arg-type]  # checked above
                   secret=record.get("secret") or "", headers=record.get("headers") or {},
                   exchange=record.get("exchange") or "", routing_key=record.get("routing_key") or "",
                   origin=record.get("origin") or "api")

    def public(self) -> dict[str, Any]:
        """What pages and the API show: the URL's password and the secret hidden."""
        return {"name": self.name, "url": redact(self.url), "kind": self.kind, "signed": bool(self.secret),
                "secret": masked(self.secret), "headers": dict(self.headers), "exchange": self.exchange,
                "routing_key": self.routing_key, "origin": self.origin}
