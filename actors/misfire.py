"""What to do with slots that fell due while nothing ran them: the misfire policy and its plan.

After downtime or a long stall, the slots between the last slot recorded in the run
ledger and *now* were not run. Forgetting them silently is what users of APScheduler (1 s
default grace) and cron keep reporting; replaying all of them in a burst is no better. So a
job chooses (`MisfirePolicy`), and `plan` decides from the ledger's last slot, not from
memory:

=========  ==============================================================================
policy     elapsed slots within the grace                 elapsed slots past the grace
=========  ==============================================================================
coalesce   the newest runs once; the older ones are missed  missed
all        run oldest first, up to ``max_catchup``; the     missed
           newer rest is missed
skip       none runs; all are missed                        missed
=========  ==============================================================================

*Within the grace* means the slot's due time (the slot plus its jitter, `Schedule.due_at`)
is at most ``grace_s`` before now. The default grace (``grace_s=None``) is
``min(period, 1 h)``, the period being the gap from the newest elapsed slot to the next
slot; ``math.inf`` means no limit. Every missed slot is accounted for: listed one by one up
to a cap, the rest as counted spans (`SlotSpan`), so the ledger records them all (the
spans as one summary record each) and a year of downtime of an every-second job is planned
by arithmetic, not by listing 31 million slots.

Pure: no clock, no I/O; time and the ledger's last slot are passed in.
"""

from __future__ import annotations

import enum
import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from actors.errors import InvalidJobError
from actors.slots import Schedule

#: The default grace is the period, but never more than this.
DEFAULT_GRACE_CAP_S = 3600.0
#: Default for ``max_catchup``: how many missed slots the ``all`` policy runs at most.
DEFAULT_MAX_CATCHUP = 100
#: The largest ``max_catchup`` accepted (each run is a real run of the task).
MAX_CATCHUP_LIMIT = 10_000
#: Missed slots listed one by one in a plan at most; the rest are counted in spans.
LISTED_MISSED_MAX = 1000
#: How ``misfire_grace`` spells "no limit" in JSON (where infinity does not exist).
UNLIMITED = "unlimited"


class Misfire(enum.StrEnum):
    """The misfire policies."""

    COALESCE = "coalesce"
    ALL = "all"
    SKIP = "skip"


@dataclass(frozen=True, slots=True)
class MisfirePolicy:
    """How a job treats slots it missed; validated on construction (errors name the option)."""

    policy: Misfire = Misfire.COALESCE
    grace_s: float | None = None
    max_catchup: int = DEFAULT_MAX_CATCHUP

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "policy", Misfire(self.policy))
        except ValueError:
            raise InvalidJobError(f"misfire must be one of {', '.join(repr(str(m)) for m in Misfire)}, "
                                  f"got {self.policy!r}", field="misfire") from None
        grace = self.grace_s
        if grace is not None:
            if isinstance(grace, bool) or not isinstance(grace, int | float) or math.isnan(grace) or grace < 0:
                raise InvalidJobError(f"misfire_grace must be a number of seconds >= 0 (or None for the default "
                                      f"min(period, 1 h)), got {grace!r}", field="misfire_grace")
            object.__setattr__(self, "grace_s", float(grace))
        catchup = self.max_catchup
        if isinstance(catchup, bool) or not isinstance(catchup, int) or not 1 <= catchup <= MAX_CATCHUP_LIMIT:
            raise InvalidJobError(f"max_catchup must be an integer within [1, {MAX_CATCHUP_LIMIT}], got {catchup!r}",
                                  field="max_catchup")

    def grace_for(self, period_s: float | None) -> float:
        """The grace in seconds for a schedule whose current period is *period_s* (None: unknown)."""
        if self.grace_s is not None:
            return self.grace_s
        return DEFAULT_GRACE_CAP_S if period_s is None else min(period_s, DEFAULT_GRACE_CAP_S)

    def fields(self) -> dict[str, Any]:
        """JSON-safe job fields: ``misfire``, ``misfire_grace`` (None, seconds or "unlimited"), ``max_catchup``."""
        grace: float | str | None = UNLIMITED if self.grace_s == math.inf else self.grace_s
        return {"misfire": str(self.policy), "misfire_grace": grace, "max_catchup": self.max_catchup}

    @classmethod
    def from_fields(cls, fields: Mapping[str, Any], default: MisfirePolicy | None = None) -> MisfirePolicy:
        """The policy named by job fields; a field left out (or None) comes from *default*."""
        base = default if default is not None else cls()

        def given(name: str, fallback: Any) -> Any:
            value = fields.get(name)
            return fallback if value is None or value == "" else value

        grace = given("misfire_grace", base.grace_s)
        return cls(policy=given("misfire", base.policy), grace_s=math.inf if grace == UNLIMITED else grace,
                   max_catchup=given("max_catchup", base.max_catchup))


@dataclass(frozen=True, slots=True)
class SlotSpan:
    """Missed slots counted, not listed: ``count`` slots from ``first`` to ``last`` inclusive."""

    first: float
    last: float
    count: int


@dataclass(frozen=True, slots=True)
class MisfirePlan:
    """What to do now: ``run`` these slots (oldest first), record ``missed`` and ``unlisted``.

    Together ``run``, ``missed`` and ``unlisted`` hold every slot in (last slot, now] whose
    due time has come, each exactly once. ``next_slot`` is the next slot to schedule
    (None: the schedule has no further slot); its due time is ``schedule.due_at``.
    """

    run: tuple[float, ...]
    missed: tuple[float, ...]
    unlisted: tuple[SlotSpan, ...]
    next_slot: float | None
    grace_s: float

    @property
    def missed_count(self) -> int:
        """Every missed slot: listed plus counted."""
        return len(self.missed) + sum(span.count for span in self.unlisted)


def _region(schedule: Schedule, after: float, upto: float, budget: int) -> tuple[tuple[float, ...], SlotSpan | None]:
    """The slots in (after, upto] (*upto* is a slot): up to *budget* listed, the rest counted."""
    if upto <= after:
        return (), None
    listed = tuple(itertools.islice(schedule.slots_between(after, upto), budget))
    if len(listed) < budget:
        return listed, None
    last = listed[-1] if listed else after
    rest = schedule.count_between(last, upto)
    first = schedule.next_after(last)
    if rest == 0 or first is None:
        return listed, None
    return listed, SlotSpan(first, upto, rest)


def _newest_stale(schedule: Schedule, *, floor: float, upper: float, now: float, grace: float, job_id: str) -> float:
    """The newest slot in (floor, upper] due more than *grace* before *now*, or *floor*.

    Due times increase with slots (jitter stays below the gap), so the stale slots are a
    prefix; the slot at ``now - grace`` is found by search, then checked with the same
    comparison as everywhere (``now - due > grace``) one slot either side, which absorbs
    jitter and float rounding.
    """
    def stale(slot: float) -> bool:
        return now - schedule.due_at(slot, job_id) > grace

    newest = schedule.prev_at_or_before(now - grace)
    if newest is not None and not stale(newest):
        newest = schedule.prev_before(newest)
    following = schedule.next_after(newest if newest is not None else floor)
    if following is not None and following <= upper and stale(following):
        newest = following
    if newest is None or newest <= floor:
        return floor
    return min(newest, upper)


def plan(schedule: Schedule, policy: MisfirePolicy, *, last_slot: float | None, now: float, job_id: str = "",
         list_limit: int = LISTED_MISSED_MAX) -> MisfirePlan:
    """Decide which elapsed slots after *last_slot* run now and which are missed.

    *last_slot* is the newest slot the ledger holds for the job (run or missed); None
    means the job has no slot yet, so nothing was missed. *job_id* fixes the jitter.
    Work is bounded by ``list_limit + max_catchup`` slots plus `Schedule.count_between`.
    """
    if list_limit < 0:
        raise ValueError(f"list_limit must be >= 0, got {list_limit!r}")
    floor = now if last_slot is None else last_slot
    upper = schedule.prev_at_or_before(now)
    pending: float | None = None
    if upper is not None and upper > floor and schedule.due_at(upper, job_id) > now:
        pending, upper = upper, schedule.prev_before(upper)  # elapsed, but its jittered due time has not come
    next_slot = pending if pending is not None else schedule.next_after(max(now, floor))
    period = schedule.period_after(upper) if upper is not None else schedule.period_after(floor)
    grace = policy.grace_for(period)
    if upper is None or upper <= floor:
        return MisfirePlan((), (), (), next_slot, grace)

    stale_end = floor  # slots in (floor, stale_end] were due more than the grace ago
    if math.isfinite(grace):
        stale_end = _newest_stale(schedule, floor=floor, upper=upper, now=now, grace=grace, job_id=job_id)

    run: tuple[float, ...] = ()
    regions: list[tuple[float, float]]
    if policy.policy is Misfire.SKIP or stale_end >= upper:
        regions = [(floor, upper)]
    elif policy.policy is Misfire.COALESCE:
        run = (upper,)
        before = schedule.prev_before(upper)
        regions = [(floor, before if before is not None else floor)]
    else:
        run = tuple(itertools.islice(schedule.slots_between(stale_end, upper), policy.max_catchup))
        regions = [(floor, stale_end), (run[-1], upper)]

    missed: list[float] = []
    spans: list[SlotSpan] = []
    for after, upto in regions:
        listed, span = _region(schedule, after, upto, list_limit - len(missed))
        missed.extend(listed)
        if span is not None:
            spans.append(span)
    return MisfirePlan(run, tuple(missed), tuple(spans), next_slot, grace)
