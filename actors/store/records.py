"""Keyed records: small JSON documents by ``(kind, key)``, with insert-if-absent.

Why: scripts and their versions (`actors.store.scripts`), action targets added in the panel,
and the idempotency keys of the trigger API are all small documents found by a name, listed by
a key prefix, and some must be created exactly once even when two requests race (a script
version number, an ``Idempotency-Key``). One small concept with both backends, SQLite
(`actors.store.records_sqlite`) and MongoDB (`actors.store.records_mongo`), opened by
`actors.store.beside` and contract-tested alike, serves them all, in the server and in worker
processes.

Bodies are JSON-safe dicts; `find` lists one kind by key order (``desc`` for newest-first
keys such as zero-padded version numbers).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

from actors.store.base import Page

#: Longest kind and key.
MAX_KIND, MAX_KEY = 40, 400


def check_kind_key(kind: str, key: str) -> None:
    """`ValueError` for a kind or key no backend should see (programming errors, not user input)."""
    if not isinstance(kind, str) or not kind or len(kind) > MAX_KIND or "/" in kind:
        raise ValueError(f"record kind must be 1..{MAX_KIND} characters without '/', got {kind!r}")
    if not isinstance(key, str) or not key or len(key) > MAX_KEY or "\x00" in key:
        raise ValueError(f"record key must be 1..{MAX_KEY} characters without NUL, got {key[:40]!r}")


@runtime_checkable
class Records(Protocol):
    """Small documents by ``(kind, key)``; safe from several threads and processes."""

    kind: str

    def open(self) -> None:
        """Create the table/collection and its index if missing. Idempotent."""

    def close(self) -> None:
        """Let go of connections. Idempotent."""

    def insert_new(self, kind: str, key: str, body: Mapping[str, Any]) -> bool:
        """Store *body* unless ``(kind, key)`` exists: True if stored, False if it was there."""

    def put(self, kind: str, key: str, body: Mapping[str, Any]) -> None:
        """Store *body* under ``(kind, key)``, replacing what was there."""

    def get(self, kind: str, key: str) -> dict[str, Any] | None:
        """The body under ``(kind, key)``, or None."""

    def delete(self, kind: str, key: str) -> bool:
        """Remove ``(kind, key)``; True if it existed."""

    def find(self, kind: str, *, prefix: str = "", limit: int = 100, offset: int = 0,
             descending: bool = False) -> Page:
        """Bodies of *kind* whose key starts with *prefix*, by key, with the real total."""

