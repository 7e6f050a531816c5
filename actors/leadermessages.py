"""The messages of leadership (`actors.lease`): between the `Leadership` actor, the System and the Scheduler.

Why a module of its own: the same reason as `actors.streammessages`: a concept with its own
small vocabulary, kept out of the long list in `actors.messages`. Frozen and slotted, as
every message (see `actors.messages`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


# ----------------------------------------------------------------------- scheduler <- system
@dataclass(frozen=True, slots=True)
class Lead:
    """This instance took the lease under *term*: forget the follower's mirror and dispatch again
    (the System restores the schedule right after). Claims stop at the monotonic *deadline*
    unless renewed; *live* are the other instances alive now. Answers the slot ids of runs still
    in flight here from an earlier term (they are left to finish, never resumed)."""

    term: int
    deadline: float
    live: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Follow:
    """This instance is (again) a follower: dispatch nothing, save no job record. Runs in flight
    finish and are recorded as usual (by their worker and the Journal)."""

    reason: str


@dataclass(frozen=True, slots=True)
class LeaseRenewed:
    """The leader renewed its lease: claims may go on until the monotonic *deadline*."""

    deadline: float
    live: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class MirrorJobs:
    """A follower's copy of every stored job record (replaces the previous copy; ignored by a leader)."""

    records: Sequence[Mapping[str, Any]] = field(default_factory=tuple)


# ----------------------------------------------------------------------- other actors <- system
@dataclass(frozen=True, slots=True)
class RoleChanged:
    """This instance now leads (or follows): actors that work on the leader only start (or stop)."""

    leading: bool
    term: int = 0


# ----------------------------------------------------------------------- leadership <- scheduler, system
@dataclass(frozen=True, slots=True)
class Fenced:
    """A claim met an entry of a newer *term*: another instance leads; step down now."""

    term: int


@dataclass(frozen=True, slots=True)
class LeaseLost:
    """The `LeaseKeeper` lost the lease of *term* (another instance took it, or it could not be renewed in time)."""

    term: int
    reason: str


@dataclass(frozen=True, slots=True)
class Forward:
    """A follower's scheduler got an event only the leader can act on (`StreamArrived`): store it for the leader."""

    message: Any


@dataclass(frozen=True, slots=True)
class LeaseTick:
    """Leadership's own timer: renew (leader) or look at the lease (follower), beat, refresh."""


@dataclass(frozen=True, slots=True)
class RelayPoll:
    """Leadership's own timer while leading: apply the commands followers stored."""


@dataclass(frozen=True, slots=True)
class Resign:
    """Shutdown, first step: take no lease and apply no command any more; a leader keeps renewing
    its lease while its runs drain (a follower taking over now would resume them)."""


@dataclass(frozen=True, slots=True)
class Release:
    """Shutdown, last step (runs drained, jobs saved): end the lease now if held, so a follower takes
    over at its next look, forget this instance's document, stop ticking."""
