"""One delivery attempt of an action: an HTTP POST or an AMQP publish, and what came back.

Why a module of its own: the delivery actor (`actors.dispatcher`) decides *when* to try and
what an outcome means (retry, give up); this module only *tries*, with a timeout, and never
raises for what a receiver does: every outcome is an `Attempt`.

* webhooks: ``POST`` with the signed headers (`actors.webhooks`), no redirects followed (a
  3xx is a failed attempt), at most `RESPONSE_BYTES` of the answer kept; ``Retry-After``
  (seconds or an HTTP date) is read from 429 and 503 answers;
* SSRF guard: for an action to a URL (not a configured target) every address the host
  resolves to must be a global one unless ``act_allow_private``; the connection then goes
  to the address that was checked (no second lookup an attacker's DNS could answer
  differently), with the host name kept for ``Host`` and TLS;
* AMQP: pika's blocking connection, publisher confirms, persistent delivery, ``mandatory``
  (a message no queue takes is a failed attempt, not a silent drop).
"""

from __future__ import annotations

import email.utils
import http.client
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

#: Bytes of a receiver's answer kept on the attempt.
RESPONSE_BYTES = 300
USER_AGENT = "das-actors-webhooks/1"


@dataclass(frozen=True, slots=True)
class Attempt:
    """What one attempt came to: an HTTP status (None for AMQP or no answer), an error, a wait asked for."""

    ok: bool
    status: int | None = None
    error: str | None = None
    retry_after_s: float | None = None
    response: str = ""
    duration_s: float = 0.0
    #: True when trying again cannot help (a refused address, an unknown target).
    final: bool = False


class RefusedAddressError(Exception):
    """The host resolves to an address actions may not reach."""


def _resolve(host: str, port: int, *, allow_private: bool) -> list[tuple[int, str]]:
    """``(family, address)`` of *host* that may be reached; `RefusedAddressError` otherwise."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    found: list[tuple[int, str]] = []
    for family, _type, _proto, _name, sockaddr in infos:
        address = str(sockaddr[0])
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        mapped = getattr(ip, "ipv4_mapped", None)
        checked = mapped or ip
        if not allow_private and (not checked.is_global or checked.is_multicast):
            raise RefusedAddressError(f"{host} resolves to {address}, which is not a public address (actions to URLs "
                                      "may not reach loopback, private or link-local addresses unless "
                                      "act_allow_private)")
        found.append((family, address))
    if not found:
        raise RefusedAddressError(f"{host} resolves to no address")
    return found


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """HTTP to a checked *address*, ``Host`` still the URL's host name."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to a checked *address*, the certificate checked against the URL's host name."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        raw = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(raw, server_hostname=self.host)  # type: ignore[attr-defined]


def retry_after(value: str | None, now: float) -> float | None:
    """Seconds asked for by a ``Retry-After`` value (delta seconds or an HTTP date), None if unreadable."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now)


def post_webhook(url: str, body: bytes, headers: dict[str, str], *, timeout_s: float, check_address: bool,
                 allow_private: bool = False) -> Attempt:
    """POST *body* to *url* once; see the module docstring."""
    started = time.monotonic()
    parts = urlsplit(url)
    host = parts.hostname or ""
    secure = parts.scheme.lower() == "https"
    port = parts.port or (443 if secure else 80)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        address = _resolve(host, port, allow_private=allow_private)[0][1] if check_address else host
        cls = _PinnedHTTPSConnection if secure else _PinnedHTTPConnection
        conn = cls(host, port, address, timeout_s)
        try:
            conn.request("POST", path, body=body, headers={"User-Agent": USER_AGENT, **headers,
                                                           "Content-Length": str(len(body))})
            answer = conn.getresponse()
            text = answer.read(RESPONSE_BYTES).decode("utf-8", "replace")
            wait = retry_after(answer.getheader("Retry-After"), time.time()) if answer.status in (429, 503) else None
            ok = 200 <= answer.status < 300
            return Attempt(ok=ok, status=answer.status, error=None if ok else f"HTTP {answer.status} {answer.reason}",
                           retry_after_s=wait, response=text, duration_s=time.monotonic() - started)
        finally:
            conn.close()
    except RefusedAddressError as exc:
        return Attempt(ok=False, error=str(exc), duration_s=time.monotonic() - started, final=True)
    except (OSError, http.client.HTTPException, ValueError) as exc:
        return Attempt(ok=False, error=f"{type(exc).__name__}: {exc}", duration_s=time.monotonic() - started)


def publish_amqp(url: str, *, exchange: str, routing_key: str, body: bytes, content_type: str, message_id: str,
                 timeout_s: float, check_address: bool, allow_private: bool = False) -> Attempt:
    """Publish *body* once with publisher confirms; see the module docstring."""
    started = time.monotonic()
    try:
        import pika
        from pika import exceptions as amqp_errors
    except ImportError:
        return Attempt(ok=False, error="pika is not installed (pip install das-actors[amqp])", final=True)
    parts = urlsplit(url)
    try:
        if check_address:
            _resolve(parts.hostname or "", parts.port or (5671 if parts.scheme == "amqps" else 5672),
                     allow_private=allow_private)
        parameters: Any = pika.URLParameters(url)
        parameters.socket_timeout = timeout_s
        parameters.blocked_connection_timeout = timeout_s
        parameters.stack_timeout = timeout_s
        parameters.connection_attempts = 1
        connection = pika.BlockingConnection(parameters)
        try:
            channel = connection.channel()
            channel.confirm_delivery()
            properties = pika.BasicProperties(delivery_mode=2, message_id=message_id, content_type=content_type,
                                              timestamp=int(time.time()), app_id="das-actors")
            channel.basic_publish(exchange=exchange, routing_key=routing_key, body=body, properties=properties,
                                  mandatory=True)
        finally:
            try:
                connection.close()
            except Exception:  # noqa: BLE001, S110 - closing a broken connection: nothing left to do
                pass
    except RefusedAddressError as exc:
        return Attempt(ok=False, error=str(exc), duration_s=time.monotonic() - started, final=True)
    except amqp_errors.UnroutableError:
        return Attempt(ok=False, error=f"unroutable: no queue is bound to exchange {exchange or '(default)'!r} with "
                       f"routing key {routing_key!r}", duration_s=time.monotonic() - started)
    except amqp_errors.NackError:
        return Attempt(ok=False, error="the broker did not confirm the message (nack)",
                       duration_s=time.monotonic() - started)
    except (amqp_errors.AMQPError, OSError, ValueError) as exc:
        return Attempt(ok=False, error=f"{type(exc).__name__}: {exc or 'no detail'}",
                       duration_s=time.monotonic() - started)
    return Attempt(ok=True, response="confirmed by the broker", duration_s=time.monotonic() - started)
