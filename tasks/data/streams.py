"""``services["streams"]``: what a task reads of the streams (by time window or after a sequence number).

Each message is a dict, oldest first: ``seq`` (increasing per stream), ``recv`` (epoch it was
received), ``body`` (a JSON message as its value, anything else as bytes), ``kind`` (``json``
or ``bytes``), ``message_id``, ``headers``, ``routing_key``, ``content_type``, ``published_at``.

A task that runs on new messages (``on_stream="name"``) keeps its place with ``seq``: it reads
``since(name, last)`` and returns ``last`` (or writes it to an object) for the next run; a
periodic one usually reads ``window(name, self.interval)``.
"""

from __future__ import annotations

import time
from typing import Any

from actors.store.streams import MAX_READ, StreamStore
from actors.tags import check_name


class StreamsService:
    """The stream store as tasks see it (one per worker process)."""

    def __init__(self, store: StreamStore) -> None:
        self.store = store

    def window(self, name: str, seconds: float, *, until: float | None = None,
               limit: int = MAX_READ) -> list[dict[str, Any]]:
        """Messages received in the last *seconds* (before *until*, default now), oldest first."""
        check_name(name, field="stream", what="stream")
        end = time.time() if until is None else until
        return self.store.window(name, end - float(seconds), None if until is None else until, limit)

    def since(self, name: str, seq: int = 0, *, limit: int = 1000) -> list[dict[str, Any]]:
        """Messages after *seq*, oldest first (``seq=0``: from the oldest kept)."""
        check_name(name, field="stream", what="stream")
        return self.store.since(name, int(seq), limit)

    def latest(self, name: str, limit: int = 20) -> list[dict[str, Any]]:
        """The newest *limit* messages, newest first."""
        check_name(name, field="stream", what="stream")
        return self.store.latest(name, limit)

    def last_seq(self, name: str) -> int:
        """The newest ``seq`` of *name* (0 when empty)."""
        check_name(name, field="stream", what="stream")
        return self.store.last_seq(name)

    def names(self, tag: str | None = None) -> list[str]:
        """The registered streams (with *tag*), by name."""
        return [s["name"] for s in self.store.load_streams() if tag is None or tag in (s.get("tags") or [])]
