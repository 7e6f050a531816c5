"""The action outbox: what tasks asked to send, kept until it is delivered or given up.

Why: a task that finds something calls ``act.webhook(...)`` or ``act.publish(...)``; the
receiver may be down for an hour and the server may restart meanwhile. Writing the action to
a durable outbox first, and delivering from there (`actors.dispatcher`), means a task never
waits for a slow receiver and nothing is lost on the way: every attempt is recorded on the
action, and a restart continues with the next one.

An action (a JSON document)::

    action_id     msg_<hex>: the webhook-id (and AMQP message_id), the same on every attempt
    kind          webhook | amqp
    target, url   the named target, or the URL when any URL is allowed (target "")
    exchange, routing_key, content_type, body (text), body_encoding (utf-8 | base64)
    run_id, job_id, name                       the run that queued it
    created_at, state, next_at, lease_until, attempt_count, attempts[], last_status,
    last_error, finished_at

States: ``pending`` (due at ``next_at``), ``delivering`` (claimed until ``lease_until``; an
expired lease is claimed again: the claimer died mid-attempt), ``delivered`` and ``failed``
(final). Each attempt: ``{n, at, status, error, duration_s, response}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from actors.store.base import Page

PENDING, DELIVERING, DELIVERED, FAILED = "pending", "delivering", "delivered", "failed"
STATES = (PENDING, DELIVERING, DELIVERED, FAILED)
FINAL = frozenset({DELIVERED, FAILED})
#: Attempts kept on one action (older ones are summarised by ``attempt_count``).
MAX_ATTEMPTS_KEPT = 50


@dataclass(frozen=True, slots=True)
class ActionQuery:
    """A filter over actions; results come newest first."""

    state: str | None = None
    run_id: str | None = None
    job_id: str | None = None
    target: str | None = None
    since: float | None = None
    limit: int = 100
    offset: int = 0


@runtime_checkable
class Outbox(Protocol):
    """Durable actions; safe from several threads and processes."""

    kind: str

    def open(self) -> None:
        """Create the table/collection and indexes if missing. Idempotent."""

    def close(self) -> None:
        """Let go of connections. Idempotent."""

    def add(self, action: Mapping[str, Any]) -> None:
        """Store a new action (state ``pending``; ``action_id`` unique)."""

    def claim(self, now: float, limit: int, lease_s: float) -> list[dict[str, Any]]:
        """Up to *limit* actions due at *now* (pending and due, or leased and expired), soonest first,
        marked ``delivering`` until ``now + lease_s``; each is claimed by one caller only."""

    def finish_attempt(self, action_id: str, attempt: Mapping[str, Any], *, state: str,
                       next_at: float | None) -> dict[str, Any] | None:
        """Record one attempt and the state it leads to (``pending`` again at *next_at*, or final)."""

    def retry(self, action_id: str, now: float) -> dict[str, Any] | None:
        """Make a pending or failed action due at *now* again (an operator's retry); None if unknown."""

    def get(self, action_id: str) -> dict[str, Any] | None:
        """One action, or None."""

    def find(self, query: ActionQuery) -> Page:
        """Actions matching *query*, newest first, with the real total."""

    def counts(self, since: float) -> dict[str, int]:
        """``{pending, delivering, delivered, failed}``: pending and delivering now, the final ones
        finished since *since*."""


def after_attempt(action: Mapping[str, Any], attempt: Mapping[str, Any], state: str,
                  next_at: float | None) -> dict[str, Any]:
    """*action* with *attempt* recorded and *state* set (shared by both backends)."""
    updated = dict(action)
    attempts = [*list(updated.get("attempts") or []), dict(attempt)][-MAX_ATTEMPTS_KEPT:]
    updated.update(attempts=attempts, attempt_count=int(updated.get("attempt_count") or 0) + 1, state=state,
                   lease_until=None, last_status=attempt.get("status"), last_error=attempt.get("error"))
    if state in FINAL:
        updated.update(next_at=None, finished_at=attempt.get("at"))
    else:
        updated["next_at"] = next_at
    return updated

