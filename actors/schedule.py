"""The schedule of a job, from its fields: an interval or a cron expression, plus jitter.

The public surface of the time rules (`actors.slots` holds slot identity, jitter and the
`Schedule` interface; `actors.cron` the cron evaluation and its DST rule). The misfire
planner (`actors.misfire`) works on any `Schedule`.

* `IntervalSchedule`: ``anchor + k * interval`` for every integer k. A slot is always
  computed from (anchor, k), never by repeated addition, so its float (its ledger
  identity) is reproducible after a restart.
* `CronSchedule`: a cron expression in an IANA zone, evaluated by cronsim. DST follows
  Debian cron: fixed wall-clock times (``30 2 * * *``) run at the first instant after a
  spring-forward gap and once (first occurrence) in a fall-back hour; expressions with a
  ``*`` minute or hour field (``*/30``, ``0 * * * *``) keep absolute instants.
* `schedule_from_fields` enforces exactly one of ``interval`` / ``cron``.

Every validation error is an `InvalidJobError` whose ``field`` names the job field
(``interval``, ``cron``, ``tz``, ``jitter``) and whose message names the value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from actors.cron import MACROS, MAX_CRON_CHARS, CronSchedule, canonical_cron
from actors.errors import InvalidJobError
from actors.slots import (
    FLOOR_TOLERANCE_S,
    MAX_FIRE_TIMES,
    MAX_JITTER_S,
    Schedule,
    finite_number,
    floor_ok,
    jitter_fraction,
    jitter_offset,
    jittered,
    next_slot_with_floor,
    slot_id,
    slot_key,
)

__all__ = [
    "FLOOR_TOLERANCE_S", "MACROS", "MAX_CRON_CHARS", "MAX_FIRE_TIMES", "MAX_INTERVAL_S", "MAX_JITTER_S",
    "MIN_INTERVAL_S", "CronSchedule", "IntervalSchedule", "Schedule", "canonical_cron", "floor_ok",
    "jitter_fraction", "jitter_offset", "jittered", "next_slot_with_floor", "schedule_from_fields", "slot_id",
    "slot_key",
]

#: The longest interval accepted: 100 Julian years.
MAX_INTERVAL_S = 100 * 365.25 * 86400
#: The shortest interval accepted (slot ids are kept in whole milliseconds).
MIN_INTERVAL_S = 0.001


@dataclass(frozen=True, slots=True)
class IntervalSchedule(Schedule):
    """Slots every ``interval_s`` seconds on the grid through ``anchor`` (both directions)."""

    interval_s: float
    anchor: float = 0.0
    jitter_s: float = 0.0

    def __post_init__(self) -> None:
        interval = finite_number("interval", self.interval_s, low=MIN_INTERVAL_S, high=MAX_INTERVAL_S)
        object.__setattr__(self, "interval_s", interval)
        object.__setattr__(self, "anchor", finite_number("anchor", self.anchor, low=-1e11, high=1e11))
        jitter = finite_number("jitter", self.jitter_s, low=0.0, high=MAX_JITTER_S)
        if jitter > self.interval_s:
            raise InvalidJobError(f"jitter must not exceed the interval ({self.interval_s:g} s), got {jitter:g}",
                                  field="jitter")
        object.__setattr__(self, "jitter_s", jitter)

    @property
    def kind(self) -> str:
        """``"interval"``."""
        return "interval"

    def slot(self, k: int) -> float:
        """Slot number *k* (0 is the anchor)."""
        return self.anchor + k * self.interval_s

    def index_at_or_before(self, t: float) -> int:
        """The number of the newest slot at or before *t*."""
        k = math.floor((t - self.anchor) / self.interval_s)
        while self.slot(k + 1) <= t:
            k += 1
        while self.slot(k) > t:
            k -= 1
        return k

    def next_after(self, t: float) -> float:
        """The first slot strictly after *t*."""
        return self.slot(self.index_at_or_before(t) + 1)

    def prev_at_or_before(self, t: float) -> float:
        """The newest slot at or before *t*."""
        return self.slot(self.index_at_or_before(t))

    def count_between(self, after: float, upto: float) -> int:
        """Slots in (after, upto], by index arithmetic."""
        return max(0, self.index_at_or_before(upto) - self.index_at_or_before(after))

    def fields(self) -> dict[str, Any]:
        """``{"interval": s, "jitter": s}`` (the anchor is state, not definition)."""
        return {"interval": self.interval_s, "jitter": self.jitter_s}

    def describe(self) -> str:
        """``every 3600 s`` (``, jitter 30 s``)."""
        jitter = f", jitter {self.jitter_s:g} s" if self.jitter_s else ""
        return f"every {self.interval_s:g} s{jitter}"


def schedule_from_fields(*, interval: Any = None, cron: Any = None, tz: Any = None, jitter: Any = None,
                         anchor: float = 0.0) -> Schedule:
    """The schedule named by job fields: exactly one of ``interval`` (seconds) and ``cron``.

    ``tz`` applies to cron only (default UTC); ``jitter`` (seconds, default 0) to both.
    Every error is an `InvalidJobError` whose ``field`` names the offending field.
    """
    jitter_s = 0.0 if jitter is None else jitter
    if cron is not None and interval is not None:
        raise InvalidJobError(f"give either interval or cron, not both (interval={interval!r}, cron={cron!r})",
                              field="cron")
    if cron is None and interval is None:
        raise InvalidJobError("a job needs a schedule: give interval (seconds) or cron (an expression such as "
                              "'30 2 * * *')", field="interval")
    if cron is not None:
        return CronSchedule(cron, tz, jitter_s)
    if tz not in (None, ""):
        raise InvalidJobError(f"tz applies to cron schedules only; an interval has no time zone, got tz={tz!r}",
                              field="tz")
    return IntervalSchedule(interval, anchor, jitter_s)
