"""The kinds the scheduler speaks in: job states, run outcomes, run triggers, job origins.

Why a module of its own: these closed vocabularies are shared by every layer (the pure rules,
the store's documents, the panel's badges, the worker subprocess) and carry no logic; they
are re-exported by `actors.jobs`, where the value objects that use them live.
"""

from __future__ import annotations

import enum


class JobState(enum.StrEnum):
    """Where a job is in its life. ``abandoned`` and ``finished`` are kept and shown."""

    SCHEDULED = "scheduled"  # has a due time in the future
    WAITING = "waiting"  # due, but every worker is busy
    RUNNING = "running"  # a run is in a worker now
    PAUSED = "paused"  # kept, not dispatched until resumed
    ABANDONED = "abandoned"  # failed with its retry budget spent; last error kept
    FINISHED = "finished"  # resubmit off, max_runs / only_before / only_once reached
    QUARANTINED = "quarantined"  # set aside: applying its rule or outcome raised; kept with the error


ACTIVE_STATES = frozenset({JobState.SCHEDULED, JobState.WAITING, JobState.RUNNING, JobState.PAUSED})
#: States of jobs that no longer run by themselves (kept to be looked at, rescheduled or removed).
ENDED_STATES = frozenset({JobState.FINISHED, JobState.ABANDONED, JobState.QUARANTINED})
#: Names a job list may be filtered by besides one state (the Schedule page's tabs, ``GET jobs?state=``).
STATE_GROUPS = {"active": ACTIVE_STATES, "ended": ENDED_STATES}


def in_state(state: str, wanted: str) -> bool:
    """True when a job in *state* matches the filter *wanted*: a state name or a `STATE_GROUPS` name."""
    group = STATE_GROUPS.get(wanted)
    return state == wanted if group is None else state in group


class Outcome(enum.StrEnum):
    """How one run ended."""

    SUCCESS = "success"
    FAILED = "failed"  # the task raised, or returned success: False
    CRASHED = "crashed"  # the worker process died (signal, exit code, EOF on the pipe)
    TIMEOUT = "timeout"  # we killed it after its timeout
    INTERRUPTED = "interrupted"  # the server stopped (or died) while it ran
    CANCELLED = "cancelled"  # an operator cancelled it
    MISSED = "missed"  # its slot fell due while nothing could run it (misfire policy); it never ran


#: Outcomes that count as a failure of the job (its ``failures_total``; a scheduled run retries).
FAILURES = frozenset({Outcome.FAILED, Outcome.CRASHED, Outcome.TIMEOUT})


class Trigger(enum.StrEnum):
    """Why a run was started."""

    SCHEDULE = "schedule"
    RETRY = "retry"
    MANUAL = "manual"
    RESUME = "resume"  # re-run of a run interrupted by a server stop
    ONE_OFF = "one-off"  # a run without a job in the timetable (a script's Run now, a script triggered)
    CATCHUP = "catchup"  # a slot that fell due while the job could not run, run late (misfire policy)
    BACKFILL = "backfill"  # a past slot run on an operator's request (``ctl backfill``)


#: Triggers that start a new slot (attempt 0), as opposed to another attempt of the same slot.
NEW_SLOT_TRIGGERS = frozenset({Trigger.SCHEDULE, Trigger.CATCHUP})


class Origin(enum.StrEnum):
    """Where a job definition came from."""

    CONFIG = "config"
    API = "api"
    CHILD = "child"


__all__ = [
    "ACTIVE_STATES",
    "ENDED_STATES",
    "FAILURES",
    "NEW_SLOT_TRIGGERS",
    "STATE_GROUPS",
    "JobState",
    "Origin",
    "Outcome",
    "Trigger",
    "in_state",
]
