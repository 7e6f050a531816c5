"""Several servers on one MongoDB, one leader: the lease, the term, and who counts as alive.

Why a module of its own: a second server on the same store must not dispatch the same jobs
(job records would be overwritten by both, retries counted twice), and when the leader dies
another must take over without an operator. The rules are here, pure (no I/O, no clock):

* **The lease** is one document ``{holder, term, until}`` in the store. A follower takes it
  only when ``until`` is in the past *by the store server's clock* (one clock for every
  instance, so no two machines' clocks are compared); taking it increments ``term``. The
  leader renews it every ``ttl / 3`` (`RENEW_FRACTION`), conditional on holder and term
  being its own, so a renewal never revives a lease another instance took.
* **The local deadline**: the leader stops claiming slots when ``ttl`` (less a margin) has
  passed on its own monotonic clock since it asked the server's time for the last
  successful renewal (`local_deadline`). That instant is before the lease can lapse on the
  server, so, clock rates agreeing, the old leader has stopped before a new one can start.
* **The term** is a fencing token: it is stamped on every ledger claim and every run, a
  claim never takes over an entry of a newer term (`actors.ledger.claim_allowed`), and a
  leader whose claim meets a newer term steps down at once.
* **Alive**: every instance writes a heartbeat (the server's time) each tick; an instance is
  alive while its heartbeat is younger than two thirds of its own ttl (`is_alive`). A run in
  flight whose owner is alive is left to it (it records its outcome); one whose owner is not
  is recorded interrupted and resumed by the leader, as after a restart.

What the term does not buy: a leader *frozen* past its lease (SIGSTOP, a VM pause) wakes up
with runs in flight in its worker processes; they may complete while the new leader resumes
them. The ledger keeps the new leader's attempt as the slot's; docs/scaling-out.md says so.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

#: The leader renews every ttl * RENEW_FRACTION; followers look at the lease as often.
RENEW_FRACTION = 1.0 / 3.0
#: An instance is alive while its heartbeat is younger than ttl * ALIVE_FRACTION (it beats every ttl / 3).
ALIVE_FRACTION = 2.0 / 3.0
#: The leader's local deadline is this much before the lease's end (clock-rate drift, scheduling delays).
DEADLINE_MARGIN_FRACTION = 0.1
DEADLINE_MARGIN_MAX_S = 1.0
#: A follower looks again this long after the lease's end it read (the holder had its chance).
TAKEOVER_SLACK_S = 0.02
#: Shortest wait between two looks at the lease.
MIN_WAIT_S = 0.02


class Role(enum.StrEnum):
    """What an instance does now."""

    LEADER = "leader"  # dispatches: the scheduler claims slots and runs jobs
    FOLLOWER = "follower"  # serves the panel and the API from the store; job changes go to the leader


@dataclass(frozen=True, slots=True)
class Lease:
    """The lease document: who holds it, under which term, until when (store server's epoch seconds)."""

    holder: str
    term: int
    until: float
    acquired_at: float = 0.0

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> Lease:
        """The lease from its stored document."""
        return cls(holder=str(doc.get("holder") or ""), term=int(doc.get("term") or 0),
                   until=float(doc.get("until") or 0.0), acquired_at=float(doc.get("acquired_at") or 0.0))


@runtime_checkable
class LeaseStore(Protocol):
    """What a store offers for leadership (MongoDB: `actors.store.mongo_lease`). Times are the
    store server's epoch seconds; every method raises `actors.errors.StoreError` when the store fails."""

    def server_time(self) -> float:
        """The store server's clock now."""

    def acquire_lease(self, holder: str, ttl_s: float, now: float) -> Lease | None:
        """Take the lease if it has lapsed (``until < now``) or was never taken: term + 1, until
        ``now + ttl_s``. None when another instance holds it."""

    def renew_lease(self, holder: str, term: int, ttl_s: float, now: float) -> Lease | None:
        """Extend the lease to ``now + ttl_s`` if *holder* still holds it under *term*; None if not."""

    def release_lease(self, holder: str, term: int) -> bool:
        """End the lease now (a clean shutdown) if *holder* holds it under *term*."""

    def read_lease(self) -> Lease | None:
        """The lease as stored, None if never taken."""

    def beat(self, instance: Mapping[str, Any]) -> None:
        """Write this instance's document (``id`` plus what the panel shows); ``heartbeat`` is set
        by the caller to `server_time`."""

    def instances(self) -> list[dict[str, Any]]:
        """Every instance document, oldest first."""

    def forget_instances(self, ids: Iterable[str] = (), *, beat_before: float | None = None) -> int:
        """Delete the documents of *ids* and those whose heartbeat is older than *beat_before*."""


def renew_every(ttl_s: float) -> float:
    """Seconds between two renewals by the leader (and two looks at the lease by a follower)."""
    return ttl_s * RENEW_FRACTION


def local_deadline(asked_at: float, ttl_s: float) -> float:
    """The monotonic instant after which a leader claims nothing until it renews again;
    *asked_at* is its monotonic clock read just before it asked the server's time for the
    renewal (the server computed ``until`` from a later instant)."""
    return asked_at + ttl_s - min(DEADLINE_MARGIN_MAX_S, ttl_s * DEADLINE_MARGIN_FRACTION)


def follower_wait(ttl_s: float, lease: Lease | None, now: float) -> float:
    """Seconds until a follower looks at the lease again: every ``ttl / 3``, sooner when the lease
    read ends sooner (so a lapsed leader is replaced as soon as the store's clock allows)."""
    wait = renew_every(ttl_s)
    if lease is not None and lease.until > 0:
        wait = min(wait, lease.until - now + TAKEOVER_SLACK_S)
    return max(MIN_WAIT_S, wait)


def is_alive(instance: Mapping[str, Any], now: float) -> bool:
    """Whether an instance document's heartbeat is recent for its own ttl."""
    try:
        heartbeat, ttl = float(instance["heartbeat"]), float(instance["ttl"])
    except (KeyError, TypeError, ValueError):
        return False
    return now - heartbeat < ttl * ALIVE_FRACTION


def live_others(instances: Iterable[Mapping[str, Any]], me: str, now: float) -> frozenset[str]:
    """Ids of the other instances alive now (their runs in flight are theirs to finish)."""
    return frozenset(str(doc.get("id")) for doc in instances if doc.get("id") != me and is_alive(doc, now))


def describe_instances(instances: Iterable[Mapping[str, Any]], lease: Lease | None, now: float) -> list[dict[str, Any]]:
    """What the panel shows of each instance: its document, ``alive``, ``heartbeat_age_s`` and, for
    the holder of a lease that has not lapsed, ``role`` leader (others: follower, or lost when not alive)."""
    out = []
    for doc in instances:
        alive = is_alive(doc, now)
        leads = lease is not None and doc.get("id") == lease.holder and lease.until >= now
        heartbeat = doc.get("heartbeat")
        out.append({**doc, "alive": alive,
                    "heartbeat_age_s": None if heartbeat is None else round(now - float(heartbeat), 3),
                    "role": str(Role.LEADER) if leads else str(Role.FOLLOWER) if alive else "lost",
                    "lease_until": lease.until if leads and lease is not None else None,
                    "term": lease.term if leads and lease is not None else doc.get("term")})
    return out
