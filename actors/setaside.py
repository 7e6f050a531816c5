"""Poison jobs: what the Scheduler does when applying one job's rule or outcome raises.

Why a module of its own: an exception inside the Scheduler's handling of one job (a rule
that overflows, a stored record that cannot be rebuilt, a bug met by one odd definition)
used to kill the actor; the Supervisor restarted it on the same state, it met the same job
again, and after a few rounds the restart intensity was spent and every page answered 503.
Restart intensity is for transient faults. A poison job is *set aside* instead: state
``quarantined`` (shown like ``abandoned``, with the error), out of the schedule, its record
saved; the actor goes on with the other jobs. The operator may reschedule it, run it now or
remove it.

Also here: how late the oldest due run is (`lateness`), which `/healthz` reads to tell
"due runs wait while workers are idle".
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

import structlog

from actors.schedstate import SchedulerState

log = structlog.get_logger("das_actors.scheduler")


def set_aside(state: SchedulerState, job_id: str, exc: BaseException, doing: str) -> None:
    """Set job *job_id* aside after *exc* raised while *doing* (said in its error)."""
    error = f"{type(exc).__name__} while {doing}: {str(exc)[:500]}"
    job = state.timetable.set_aside(job_id, error)
    log.error("job.quarantined", job_id=job_id, job=None if job is None else job.spec.name, error=error,
              note="set aside; the other jobs go on (reschedule, run now or remove it)", exc_info=exc)
    if job is not None:
        state.dirty.add(job_id)


def unrestorable(state: SchedulerState, record: Any, exc: BaseException) -> None:
    """A stored job record could not be rebuilt: set it aside when it got as far as a job, else
    keep the record in the store as it is and say so (scheduler status, health details, log)."""
    job_id = str(record.get("job_id") if isinstance(record, Mapping) else None)
    if state.timetable.get(job_id) is not None:
        set_aside(state, job_id, exc, "restoring its stored record")
        return
    error = f"{type(exc).__name__}: {str(exc)[:500]}"
    state.unrestorable[job_id] = error
    log.error("job.unrestorable", job_id=job_id, error=error,
              note="the stored record is kept as it is; fix or delete it, the other jobs go on")


def lateness(state: SchedulerState, now: float) -> float:
    """Seconds the oldest due run has waited (0 when none is due): the head of the waiting line,
    or a due time in the heap that the waker should already have acted on."""
    oldest = state.timetable.next_wake()
    for job_id in itertools.islice(state.waiting, 16):  # the head; a manual run keeps a later due time
        job = state.timetable.get(job_id)
        if job is not None and job.due_at is not None and (oldest is None or job.due_at < oldest):
            oldest = job.due_at
    return 0.0 if oldest is None else round(max(0.0, now - oldest), 3)


__all__ = ["lateness", "set_aside", "unrestorable"]
