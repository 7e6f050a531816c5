"""A stream definition: which AMQP queue of which broker feeds a named stream, with its tags.

Why a module of its own: a stream is declared in a config file (``Stream(name, uri, queue,
tags=...)`` beside ``Task(...)``), by the API, the CLI or the panel, and kept in the data store
so a restart consumes it again. All of those build one validated `StreamSpec`; its record is
what the store keeps and the panel shows (with the password of the URI hidden). Pure: no I/O.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from actors.errors import InvalidValueError
from actors.tags import check_name, check_tags
from actors.uri import redact

#: URI schemes a stream may name (AMQP 0-9-1, as pika speaks it).
AMQP_SCHEMES = ("amqp://", "amqps://")
#: Longest queue name AMQP allows.
MAX_QUEUE = 255


class StreamOrigin(enum.StrEnum):
    """Where a stream definition came from."""

    CONFIG = "config"
    API = "api"


@dataclass(frozen=True, slots=True)
class StreamSpec:
    """One stream: a name, the broker URI and queue it consumes, tags; validated on construction."""

    name: str
    uri: str
    queue: str
    tags: tuple[str, ...] = ()
    origin: StreamOrigin = StreamOrigin.API

    def __post_init__(self) -> None:
        check_name(self.name, field="name", what="stream")
        if not isinstance(self.uri, str) or not self.uri.startswith(AMQP_SCHEMES):
            raise InvalidValueError(f"uri: a stream's broker URI starts with amqp:// or amqps://, got "
                                    f"{redact(str(self.uri))[:80]!r}", field="uri", value=redact(str(self.uri))[:80])
        if not isinstance(self.queue, str) or not self.queue.strip() or len(self.queue) > MAX_QUEUE:
            raise InvalidValueError(f"queue: a queue name of 1 to {MAX_QUEUE} characters, got {self.queue!r}",
                                    field="queue", value=self.queue)
        object.__setattr__(self, "tags", check_tags(self.tags))
        object.__setattr__(self, "origin", StreamOrigin(self.origin))

    def to_record(self) -> dict[str, Any]:
        """What the store keeps (the URI with its password: the consumer needs it)."""
        return {"name": self.name, "uri": self.uri, "queue": self.queue, "tags": list(self.tags),
                "origin": str(self.origin)}

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> StreamSpec:
        """Rebuild from `to_record` output (or an API request using the same names)."""
        known = {"name", "uri", "queue", "tags", "origin"}
        unknown = sorted(set(record) - known - {"paused", "created_at", "updated_at"})
        if unknown:
            raise InvalidValueError(f"unknown stream field {unknown[0]!r} (known: name, uri, queue, tags)",
                                    field=unknown[0], value=unknown[0])
        for required in ("name", "uri", "queue"):
            if required not in record:
                raise InvalidValueError(f"stream field {required!r} is required", field=required)
        return cls(name=record["name"], uri=record["uri"], queue=record["queue"], tags=record.get("tags") or (),
                   origin=StreamOrigin(record.get("origin", StreamOrigin.API)))

    def view(self) -> dict[str, Any]:
        """The record as shown to people: the URI's password hidden."""
        return {**self.to_record(), "uri": redact(self.uri)}
