"""The messages of stream ingestion: the facade and the hub, the hub and its consumers, the scheduler.

Kept apart from `actors.messages` (the scheduler's, workers' and journal's vocabulary) so that
streams are a room of their own; the same rules hold: frozen, slotted dataclasses, events in
the past tense, commands in the imperative, questions start with ``Get`` or ``List``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from actors.streamspec import StreamSpec


# ----------------------------------------------------------------------- hub <- facade
@dataclass(frozen=True, slots=True)
class ListStreams:
    """Every stream (with *tag*): its definition and live status, by name."""

    tag: str | None = None


@dataclass(frozen=True, slots=True)
class GetStream:
    """One stream's definition and live status (`NotFoundError` when unknown)."""

    name: str


@dataclass(frozen=True, slots=True)
class AddStream:
    """Register a stream and start consuming it; an existing name is a conflict unless ``replace``."""

    spec: StreamSpec
    replace: bool = False


@dataclass(frozen=True, slots=True)
class PauseStream:
    """Stop consuming (the broker keeps the messages); kept paused across restarts."""

    name: str


@dataclass(frozen=True, slots=True)
class ResumeStream:
    """Consume a paused stream again."""

    name: str


@dataclass(frozen=True, slots=True)
class RemoveStream:
    """Stop consuming and forget the stream and its stored messages."""

    name: str


# ----------------------------------------------------------------------- hub <- consumers, timers
@dataclass(frozen=True, slots=True)
class ConsumerStatus:
    """A consumer's live status changed (state, last error, counters, rate)."""

    name: str
    generation: int
    status: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class ConsumerFailed:
    """A consumer actor died of an unhandled exception (from its ``on_failure``)."""

    name: str
    generation: int
    error: str


@dataclass(frozen=True, slots=True)
class RestartConsumer:
    """A restart timer of the hub fired: start the consumer of *name* again."""

    name: str
    generation: int


# ----------------------------------------------------------------------- consumer <- itself
@dataclass(frozen=True, slots=True)
class Connect:
    """(Re)connect to the broker now."""

    attempt: int = 0


@dataclass(frozen=True, slots=True)
class Poll:
    """Service the connection once: deliveries, heartbeats, the store, acks."""


# ----------------------------------------------------------------------- scheduler <- consumers
@dataclass(frozen=True, slots=True)
class StreamArrived:
    """*count* new messages of *stream* were stored (the scheduler runs the jobs that wait for them)."""

    stream: str
    count: int
