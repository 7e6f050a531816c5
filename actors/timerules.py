"""Which slot a job runs next: its effective schedule, its first slot, and the misfire plan.

Why a module of its own: `actors.timetable` applies outcomes (retries, limits, children,
pauses); choosing *slots* is a concept apart, shared by four moments that must agree:

* a job is added (`first_slot`): an interval job's grid is anchored at its first slot
  (config jobs at a random offset within the interval, API jobs at once or at ``when``,
  children one interval away); a cron job's first slot is the next fire time;
* a run ended (`next_step`): `actors.misfire.plan` from the newest slot accounted for
  decides what runs now (``catchup``), what is recorded ``missed`` and the next slot;
* an overdue slot is found after a restart or a resume (`overdue_step`): the same plan,
  from the ledger's newest slot;
* ``minimum_interval`` floors every path: an interval job's grid uses
  ``max(interval, minimum_interval)``; a cron job skips slots closer than the minimum to its
  previous slot (`actors.slots.next_slot_with_floor`); the due time of every run is also
  floored against the previous start (the timetable's ``_floor``).

A slot is a job's identity of a run in the run ledger (`actors.ledger`); jitter only moves
its due time (`Schedule.due_at`). Pure: no clock, no I/O; ``now`` is an argument.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass

from actors.jobs import JobSpec, Origin
from actors.jobstate import Job, Limits
from actors.misfire import MisfirePolicy, SlotSpan, plan
from actors.policy import RetryPolicy
from actors.schedule import FLOOR_TOLERANCE_S, IntervalSchedule, Schedule, next_slot_with_floor

#: Most slots one backfill may queue (each is a real run of the task).
MAX_BACKFILL_SLOTS = 10_000
#: Origins read for every job added, bound once (an enum member read off its class: ~70 ns in Python 3.11).
_CONFIG, _CHILD = Origin.CONFIG, Origin.CHILD


def effective_schedule(job: Job, limits: Limits, *, keep: bool = True) -> Schedule:
    """The schedule the job runs on now: a cron job's own, or the interval grid through the job's
    anchor with the interval floored by ``minimum_interval`` (cached on the job unless not *keep*:
    a job just added to a million others does not keep one until it runs, ~64 B a job)."""
    spec = job.spec
    if spec.interval_s is None:
        return spec.schedule
    interval = max(spec.interval_s, limits.minimum_interval_s)
    anchor = job.anchor if job.anchor is not None else 0.0
    cached = job.schedule_cache  # the schedule itself: no key tuples kept per job (~110 B a job)
    if cached is not None and cached.interval_s == interval and cached.anchor == anchor:
        return cached
    schedule = IntervalSchedule(interval, anchor, spec.jitter_s)
    if keep:
        job.schedule_cache = schedule
    return schedule


def retry_policy(limits: Limits) -> RetryPolicy:
    """The retry backoff under ``minimum_interval``: it *grows from* the floor (first retry after
    ``max(retry_delay, minimum_interval)``, then doubling, with the policy's jitter), instead of
    every retry being pushed up to the floor (which turned "2 s, 4 s" into "5 s, 5 s")."""
    policy = limits.retry
    floor = limits.minimum_interval_s
    if floor <= policy.base_delay_s:
        return policy
    return dataclasses.replace(policy, base_delay_s=floor, max_delay_s=max(policy.max_delay_s, floor))


def floor_notes(spec: JobSpec, limits: Limits) -> list[str]:
    """What ``minimum_interval`` changes about *spec*, in words (the API's answer, the log, the job page)."""
    floor = limits.minimum_interval_s
    if spec.interval_s is not None and spec.interval_s < floor:
        return [f"interval {spec.interval_s:g} s is below minimum_interval {floor:g} s: the job runs every "
                f"{floor:g} s"]
    return []


def misfire_policy(job: Job, limits: Limits) -> MisfirePolicy:
    """The job's misfire policy: its own fields, the server's default for those left out."""
    return MisfirePolicy.from_fields(job.spec.misfire_fields(), limits.misfire)


def period_of(job: Job, limits: Limits, slot: float | None) -> float:
    """The ``interval`` a task is told: the interval, or for cron the gap to the next slot (0: none)."""
    spec = job.spec
    if spec.interval_s is not None:
        return spec.interval_s
    gap = None if slot is None else effective_schedule(job, limits).period_after(slot)
    return 0.0 if gap is None else gap


def first_slot(job: Job, limits: Limits, now: float, first_due_at: float | None,
               rng: Callable[[], float]) -> float | None:
    """The first slot of a new job (None: a cron expression with no further fire time).

    Interval jobs: *first_due_at*, else config jobs ``now + random() * interval`` (``now``
    with no start offset), children ``now + max(interval, minimum_interval)``, API jobs now;
    it anchors the grid. Cron jobs: the first fire time at or after *first_due_at*, else
    after now (a child's floored by ``minimum_interval``).
    """
    spec = job.spec
    if spec.interval_s is not None:
        if first_due_at is not None:
            anchor = first_due_at
        elif spec.origin is _CONFIG:
            anchor = now + (rng() * spec.interval_s if limits.start_offset else 0.0)
        elif spec.origin is _CHILD:
            anchor = now + max(spec.interval_s, limits.minimum_interval_s)
        else:
            anchor = now
        job.anchor = anchor
        return anchor
    schedule = spec.schedule
    if first_due_at is not None:
        return schedule.next_after(math.nextafter(first_due_at, -math.inf))
    after = now
    if spec.origin is Origin.CHILD and limits.minimum_interval_s > 0:
        after = now + limits.minimum_interval_s - FLOOR_TOLERANCE_S
    return schedule.next_after(after)


@dataclass(frozen=True, slots=True)
class Step:
    """What to do after a run (or on finding a slot overdue): run ``slot`` at ``due_at``.

    ``catchup`` is True when ``slot`` is an elapsed slot run late; ``queue`` holds more
    elapsed slots to run after it (policy ``all``), ``deferred`` the missed slots that follow
    them (recorded once the queue is done). ``missed``/``spans`` are to be recorded now.
    ``slot`` None: the schedule has no further slot.
    """

    slot: float | None
    due_at: float | None
    catchup: bool = False
    missed: tuple[float, ...] = ()
    spans: tuple[SlotSpan, ...] = ()
    queue: tuple[float, ...] = ()
    deferred: tuple[tuple[float, ...], tuple[SlotSpan, ...]] = ((), ())
    newest: float | None = None  # the newest slot this step accounts for (run, queued or missed)

    @property
    def missed_count(self) -> int:
        """Slots recorded missed now."""
        return len(self.missed) + sum(span.count for span in self.spans)


def next_step(job: Job, limits: Limits, now: float, *, last: float | None) -> Step:
    """Plan from *last* (the newest slot accounted for) at *now*: see `actors.misfire.plan`.

    The catch-up slots run oldest first; with policy ``all`` the missed slots newer than
    the catch-up runs are deferred until those ran (so a restart in between plans them
    again from the ledger instead of leaving them neither run nor missed).
    """
    schedule = effective_schedule(job, limits)
    if last is not None:
        upper = schedule.prev_at_or_before(now)
        if upper is None or upper <= last:  # no slot fell due since the last one: the common case, and
            return _next_slot_step(job, limits, schedule, schedule.next_after(max(now, last)), last=last)  # no plan
    policy = misfire_policy(job, limits)
    result = plan(schedule, policy, last_slot=last, now=now, job_id=job.job_id)
    accounted = [s for s in (last, *result.run, *result.missed, *(span.last for span in result.unlisted))
                 if s is not None]
    newest = max(accounted) if accounted else None
    if result.run:
        first = result.run[0]
        missed = tuple(s for s in result.missed if s < first)
        spans = tuple(span for span in result.unlisted if span.last < first)
        later = (tuple(s for s in result.missed if s > first), tuple(span for span in result.unlisted
                                                                     if span.last > first))
        return Step(first, now, True, missed, spans, result.run[1:], later, newest)
    return _next_slot_step(job, limits, schedule, result.next_slot, last=last, missed=result.missed,
                           spans=result.unlisted, newest=newest)


def _next_slot_step(job: Job, limits: Limits, schedule: Schedule, slot: float | None, *, last: float | None,
                    missed: tuple[float, ...] = (), spans: tuple[SlotSpan, ...] = (),
                    newest: float | None = None) -> Step:
    """The step that runs nothing now: the next slot (a cron job's floored by ``minimum_interval``)."""
    if slot is not None and spec_is_cron(job) and limits.minimum_interval_s > 0 and last is not None:
        floored, _ = next_slot_with_floor(schedule, last, limits.minimum_interval_s)
        if floored is None or floored > slot:
            slot = floored
    due = None if slot is None else schedule.due_at(slot, job.job_id)
    return Step(slot, due, False, missed, spans, (), ((), ()), last if newest is None else newest)


def spec_is_cron(job: Job) -> bool:
    """True for a cron job."""
    return job.spec.cron is not None


def overdue_last(job: Job, ledger_last: float | None) -> float:
    """Where to plan from when the job's pending slot is overdue: just before that slot, or the
    ledger's newest slot if that is later (the ledger, not memory, says what is accounted for)."""
    pending = job.slot if job.slot is not None else job.due_at
    floor = -math.inf if pending is None else math.nextafter(pending, -math.inf)
    return floor if ledger_last is None else max(floor, ledger_last)
