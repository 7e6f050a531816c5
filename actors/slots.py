"""Slot identity, deterministic jitter, and the interface every schedule answers (`Schedule`).

A *slot* is a moment a job is meant to run, as a UTC epoch in seconds. It is the identity
of a run in the run ledger (`slot_id`: job id + the slot in whole milliseconds), so it is
never the jittered moment: jitter only moves the *due* time (`Schedule.due_at`), by an
offset derived from sha256(job id, slot). A restart therefore recomputes the same due time,
and two instances agree on it, with no random state to store.

`Schedule` is what the scheduler and `actors.misfire` need of a schedule: the next slot
strictly after t, the newest slot at or before t, the slots in (a, b], and how many slots
lie in (a, b] *without listing them* (planning after a year of downtime stays cheap).
Implementations: `actors.schedule.IntervalSchedule`, `actors.cron.CronSchedule`.

Pure: no clock, no I/O; time is passed in.
"""

from __future__ import annotations

import hashlib
import itertools
import math
from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import Any

from actors.errors import InvalidJobError

#: The largest jitter accepted; the offset is also capped by the gap to the next slot.
MAX_JITTER_S = 86400.0
#: Fire times asked of `Schedule.next_fire_times` at most.
MAX_FIRE_TIMES = 1000
#: Two slots closer than this count as the same instant (float noise of anchor + k * interval).
FLOOR_TOLERANCE_S = 1e-6


def slot_key(slot: float) -> int:
    """The slot's epoch in whole milliseconds: the stable number a ledger entry is keyed by."""
    return round(slot * 1000)


def slot_id(job_id: str, slot: float) -> str:
    """``job_id@epoch_ms``: the identity of one slot of one job in the run ledger."""
    return f"{job_id}@{slot_key(slot)}"


def jitter_fraction(job_id: str, slot: float) -> float:
    """A number in [0, 1) fixed by (job id, slot): sha256 of `slot_id`, 53 bits."""
    digest = hashlib.sha256(slot_id(job_id, slot).encode()).digest()
    return (int.from_bytes(digest[:8], "big") >> 11) / float(1 << 53)


def jitter_offset(slot: float, job_id: str, jitter_s: float) -> float:
    """Seconds (whole milliseconds) in [0, jitter_s) that this job's run of *slot* is moved by."""
    if jitter_s <= 0:
        return 0.0
    return math.floor(jitter_fraction(job_id, slot) * jitter_s * 1000) / 1000


def jittered(slot: float, job_id: str, jitter_s: float) -> float:
    """*slot* moved by its deterministic offset in [0, jitter_s): a restart computes the same moment."""
    return slot + jitter_offset(slot, job_id, jitter_s)


def floor_ok(prev_slot: float | None, slot: float, minimum_s: float) -> bool:
    """True when *slot* is at least ``minimum_interval`` after the previous slot (or there is none)."""
    return prev_slot is None or slot - prev_slot >= minimum_s - FLOOR_TOLERANCE_S


def next_slot_with_floor(schedule: Schedule, prev_slot: float, minimum_s: float) -> tuple[float | None, int]:
    """The first slot after *prev_slot* that `floor_ok` allows, and how many slots it passed over."""
    limit = prev_slot + max(minimum_s, 0.0) - FLOOR_TOLERANCE_S
    if limit <= prev_slot:
        return schedule.next_after(prev_slot), 0
    return schedule.next_after(limit), schedule.count_between(prev_slot, limit)


def finite_number(name: str, value: Any, *, low: float, high: float, unit: str = "seconds") -> float:
    """*value* as a float, or an `InvalidJobError` naming field *name*, the value and the range."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
            or not low <= value <= high:
        raise InvalidJobError(f"{name} must be a finite number of {unit} within [{low:g}, {high:g}], got {value!r}",
                              field=name)
    return float(value)


class Schedule(ABC):
    """The slots of one job. Subclasses are frozen value objects; `jitter_s` is their jitter."""

    __slots__ = ()
    jitter_s: float

    @property
    @abstractmethod
    def kind(self) -> str:
        """``"interval"`` or ``"cron"``."""

    @abstractmethod
    def next_after(self, t: float) -> float | None:
        """The first slot strictly after *t*, or None when there is none."""

    @abstractmethod
    def prev_at_or_before(self, t: float) -> float | None:
        """The newest slot at or before *t*, or None when there is none."""

    @abstractmethod
    def count_between(self, after: float, upto: float) -> int:
        """How many slots lie in (after, upto], computed without listing them."""

    @abstractmethod
    def fields(self) -> dict[str, Any]:
        """The definition fields (what a job id is hashed from): interval or cron+tz, and jitter."""

    @abstractmethod
    def describe(self) -> str:
        """A short human description for logs and the panel."""

    def prev_before(self, t: float) -> float | None:
        """The newest slot strictly before *t*."""
        return self.prev_at_or_before(math.nextafter(t, -math.inf))

    def slots_between(self, after: float, upto: float) -> Iterator[float]:
        """The slots in (after, upto], oldest first, lazily (the caller caps how many it takes)."""
        slot = self.next_after(after)
        while slot is not None and slot <= upto:
            yield slot
            slot = self.next_after(slot)

    def next_fire_times(self, n: int, after: float, job_id: str | None = None) -> tuple[float, ...]:
        """The next *n* slots after *after* (their jittered due times when *job_id* is given)."""
        if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= MAX_FIRE_TIMES:
            raise ValueError(f"n must be an integer within [0, {MAX_FIRE_TIMES}], got {n!r}")
        slots = itertools.islice(self.slots_between(after, math.inf), n)
        return tuple(slots) if job_id is None else tuple(self.due_at(slot, job_id) for slot in slots)

    def period_after(self, slot: float) -> float | None:
        """Seconds from *slot* to the next slot, or None when no slot follows."""
        following = self.next_after(slot)
        return None if following is None else following - slot

    def due_at(self, slot: float, job_id: str) -> float:
        """When this job's run of *slot* is due: the slot plus its jitter offset.

        The offset is drawn from [0, min(jitter, gap to the next slot)), so jittered due
        times keep the slots' order (slot k is always due before slot k+1).
        """
        if self.jitter_s <= 0:
            return slot
        gap = self.period_after(slot)
        span = self.jitter_s if gap is None else min(self.jitter_s, gap)
        return jittered(slot, job_id, span)
