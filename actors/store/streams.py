"""Stream messages and stream definitions in the data store, behind one protocol.

Why: messages consumed from an AMQP queue (`actors.ingest`) must be stored before they are
acknowledged, exactly once, and kept within a bound per stream; tasks then read them back by
time window or after a sequence number (the task SDK), and the panel shows the newest. The
registered streams themselves are kept here too, so a restart consumes them again.

* Each stream's messages are capped (``max_messages``; on MongoDB also ``size_bytes``, a capped
  collection): the oldest go first.
* A message is identified by its AMQP ``message_id``, or, when the publisher set none, by the
  sha256 of its routing key, headers, timestamp and body (`message_key`). A second message
  with the same id (a redelivery after a lost ack) is not stored again: ``append`` counts only
  new ones.
* A stored message gets ``seq``, increasing per stream in storage order, and ``recv``, the
  epoch it was received. Bodies that are JSON (strict, and storable as a document) are kept
  as values (``kind: json``), others as bytes (``kind: bytes``).

Implementations are safe to use from several threads.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from actors.jsonsafe import sanitize

#: Messages returned by one read at most.
MAX_READ = 10_000


@dataclass(frozen=True, slots=True)
class StreamMessage:
    """One message as received, before the store gives it a ``seq``."""

    message_id: str
    recv: float
    kind: str
    body: Any
    headers: Mapping[str, Any] = field(default_factory=dict)
    routing_key: str = ""
    content_type: str | None = None
    published_at: float | None = None

    def to_doc(self) -> dict[str, Any]:
        """The stored fields (``seq`` and ``stream`` are the store's)."""
        return {"message_id": self.message_id, "recv": self.recv, "kind": self.kind, "body": self.body,
                "headers": dict(self.headers), "routing_key": self.routing_key, "content_type": self.content_type,
                "published_at": self.published_at}


def _storable(value: Any, depth: int = 0) -> bool:
    """JSON that both stores keep as a document: string keys without a leading ``$`` or a ``.``."""
    if depth > 64:
        return False
    if isinstance(value, dict):
        return all(isinstance(k, str) and not k.startswith("$") and "." not in k and "\x00" not in k
                   and _storable(v, depth + 1) for k, v in value.items())
    if isinstance(value, list):
        return all(_storable(v, depth + 1) for v in value)
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return -(2**63) <= value < 2**63
    return value is None or isinstance(value, str | bool)


def _reject(name: str) -> Any:
    raise ValueError(name)


def parse_body(body: bytes, content_type: str | None) -> tuple[str, Any]:
    """``("json", value)`` when *body* is strict, storable JSON (not declared otherwise), else ``("bytes", body)``."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media and not (media.endswith("json") or media.startswith("text/")):
        return "bytes", bytes(body)
    try:
        value = json.loads(body.decode("utf-8"), parse_constant=_reject)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return "bytes", bytes(body)
    return ("json", value) if _storable(value) else ("bytes", bytes(body))


def message_key(message_id: str | None, routing_key: str, headers: Mapping[str, Any], published_at: float | None,
                body: bytes) -> str:
    """The publisher's message id, else ``sha256:<hex>`` of the routing key, headers, timestamp and body."""
    if message_id:
        return str(message_id)[:512]
    digest = hashlib.sha256()
    digest.update(json.dumps([routing_key, dict(headers), published_at], sort_keys=True, default=str).encode())
    digest.update(b"\x00")
    digest.update(body)
    return "sha256:" + digest.hexdigest()


def make_message(body: bytes, *, recv: float, message_id: str | None = None, routing_key: str = "",
                 headers: Mapping[str, Any] | None = None, content_type: str | None = None,
                 published_at: float | None = None) -> StreamMessage:
    """A `StreamMessage` from what a broker delivered (headers made JSON-safe)."""
    notes: list[str] = []
    safe_headers = sanitize(dict(headers or {}), notes, "headers")
    kind, value = parse_body(body, content_type)
    return StreamMessage(message_id=message_key(message_id, routing_key, safe_headers, published_at, body), recv=recv,
                         kind=kind, body=value, headers=safe_headers, routing_key=routing_key,
                         content_type=content_type, published_at=published_at)


@runtime_checkable
class StreamStore(Protocol):
    """What the ingest actors, the panel, the API and the task SDK need from the stream store."""

    kind: str
    max_messages: int

    def open(self) -> None:
        """Create tables/collections if missing. Idempotent."""

    def close(self) -> None:
        """Release connections. Idempotent."""

    # -- definitions
    def save_stream(self, record: Mapping[str, Any]) -> None:
        """Upsert a stream definition (``name`` is the key; ``paused`` and more are kept as given)."""

    def load_streams(self) -> list[dict[str, Any]]:
        """Every stored stream definition, by name."""

    def remove_stream(self, name: str) -> bool:
        """Forget a stream and drop its messages; False if it was not there."""

    # -- messages
    def append(self, name: str, messages: Sequence[StreamMessage]) -> int:
        """Store *messages* of stream *name* in order, skipping ids already stored; how many were new.

        Raises `StoreUnavailableError` when the store cannot be reached (nothing of the batch
        may be assumed stored: the caller acknowledges nothing and retries)."""

    def since(self, name: str, seq: int, limit: int = 1000) -> list[dict[str, Any]]:
        """Messages with ``seq`` > *seq*, oldest first."""

    def window(self, name: str, since_time: float, until_time: float | None = None,
               limit: int = MAX_READ) -> list[dict[str, Any]]:
        """Messages received at or after *since_time* (and before *until_time*), oldest first."""

    def latest(self, name: str, limit: int = 20) -> list[dict[str, Any]]:
        """The newest *limit* messages, newest first."""

    def count(self, name: str) -> int:
        """Messages stored for *name* now."""

    def last_seq(self, name: str) -> int:
        """The newest ``seq`` of *name*, 0 when none."""

    def stats(self) -> dict[str, Any]:
        """``kind, streams, messages``."""


def checked_limit(limit: int) -> int:
    """*limit* within 0 .. `MAX_READ` (a ValueError for a negative one)."""
    if limit < 0:
        raise ValueError(f"limit must be >= 0, got {limit}")
    return min(limit, MAX_READ)
