"""`SchedulerState`: everything the Scheduler knows, kept outside the actor.

Why a module of its own: when the Scheduler actor dies of an unexpected exception, the
Supervisor starts a new one on the *same* state object, so no job, no waiting line and no
record of which worker runs what is lost with the actor. The state is plain data; only the
Scheduler's thread touches it.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

from actors.jobs import Run
from actors.metrics import RunMetrics
from actors.timetable import Timetable


@dataclass(slots=True)
class SchedulerState:
    """Everything the scheduler knows, kept outside the actor so a restarted actor resumes it."""

    timetable: Timetable
    workers: int
    idle: set[int] = field(default_factory=set)
    down: dict[int, str] = field(default_factory=dict)
    waiting: deque[str] = field(default_factory=deque)
    running: dict[str, tuple[int, Run]] = field(default_factory=dict)  # run id -> (slot, run)
    dirty: set[str] = field(default_factory=set)
    deleted: set[str] = field(default_factory=set)
    draining: bool = False
    finished_retention_s: float = 86400.0
    stats: dict[str, int] = field(default_factory=lambda: {"dispatched": 0, "finished": 0, "coalesced": 0})
    metrics: RunMetrics = field(default_factory=RunMetrics)
    class_duration_s: dict[str, float] = field(default_factory=dict)  # EWMA per task class
    #: `time.monotonic()` when the actor last handled a message (its own timer ticks twice a
    #: second): the facade reads it without asking, so a stuck actor is seen (`/healthz`).
    heartbeat_at: float = field(default_factory=time.monotonic)
    #: Stored job records that could not even be rebuilt: job id -> why (kept in the store, shown).
    unrestorable: dict[str, str] = field(default_factory=dict)


def new_state(timetable: Timetable, workers: int, finished_retention_s: float) -> SchedulerState:
    """A fresh scheduler state for *workers* slots (all down until they report ready)."""
    return SchedulerState(timetable=timetable, workers=workers, finished_retention_s=finished_retention_s)
