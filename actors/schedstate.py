"""`SchedulerState`: everything the Scheduler knows, kept outside the actor.

Why a module of its own: when the Scheduler actor dies of an unexpected exception, the
Supervisor starts a new one on the *same* state object, so no job, no waiting line and no
record of which worker runs what is lost with the actor. The state is plain data; only the
Scheduler's thread touches it.
"""

from __future__ import annotations

import heapq
import time
from collections import deque
from dataclasses import dataclass, field

from actors.jobs import Run
from actors.ledger import Finished, LedgerStore
from actors.metrics import RunMetrics
from actors.pressure import DispatchPressure
from actors.timetable import Timetable
from actors.workerload import WorkerLoad


@dataclass(slots=True)
class SchedulerState:
    """Everything the scheduler knows, kept outside the actor so a restarted actor resumes it."""

    timetable: Timetable
    workers: int
    idle: set[int] = field(default_factory=set)
    down: dict[int, str] = field(default_factory=dict)
    waiting: deque[str] = field(default_factory=deque)
    running: dict[str, tuple[int, Run]] = field(default_factory=dict)  # run id -> (slot, run)
    load: WorkerLoad = field(default_factory=WorkerLoad)  # runs each worker holds; who takes appended runs
    #: Due times (a heap) of jobs taken into the waiting line before they were due (staged): until
    #: those times pass, their runs are no backlog of due runs (`due_pending`).
    ahead: list[float] = field(default_factory=list)
    dirty: set[str] = field(default_factory=set)
    deleted: set[str] = field(default_factory=set)
    draining: bool = False
    finished_retention_s: float = 86400.0
    stats: dict[str, int] = field(default_factory=lambda: {"dispatched": 0, "finished": 0, "coalesced": 0,
                                                           "claims_refused": 0})
    metrics: RunMetrics = field(default_factory=RunMetrics)
    class_duration_s: dict[str, float] = field(default_factory=dict)  # EWMA per task class
    stream_counts: dict[str, int] = field(default_factory=dict)  # job id -> new messages (actors.streamtrigger)
    ledger: LedgerStore | None = None  # the run ledger: every slot is claimed here before dispatch
    owner: str = ""  # this server life's name on its ledger claims
    ledger_retention_s: float = 30 * 86400.0
    ledger_down_since: float | None = None  # claims failing (store down): nothing is dispatched
    #: Outcomes of stored results the Journal handed over, not yet in the ledger (`SlotKeeper.write_outcomes`).
    outcomes: list[Finished] = field(default_factory=list)
    outcomes_since: float = 0.0  # monotonic: when the oldest of them arrived
    outcomes_failing: str | None = None  # the ledger refused them: why (one warning per episode)
    #: One-off runs (no job in the timetable) not yet dispatched, dispatched before the waiting line.
    one_offs: deque[Run] = field(default_factory=deque)
    #: Run ids of one-off runs not finished yet (waiting or running): a refused one goes back in line.
    one_off_ids: set[str] = field(default_factory=set)
    #: `time.monotonic()` when the actor last handled a message (its own timer ticks twice a
    #: second): the facade reads it without asking, so a stuck actor is seen (`/healthz`).
    heartbeat_at: float = field(default_factory=time.monotonic)
    #: Stored job records that could not even be rebuilt: job id -> why (kept in the store, shown).
    unrestorable: dict[str, str] = field(default_factory=dict)
    # Several instances (actors.lease): a follower (or a leader that met a newer term) is in standby:
    # it dispatches nothing and saves no job record; its timetable is a mirror of the stored records.
    standby: bool = False
    term: int = 0  # the leader's term, stamped on claims and runs (0: a single instance)
    lease_deadline: float | None = None  # monotonic: no claim after it unless renewed (None: no lease)
    lease_lapsed: bool = False  # claims are held back: the lease was not renewed in time
    live_owners: frozenset[str] = frozenset()  # other instances alive: their runs in flight are theirs
    #: Whether a backlog of due runs is being handed out (read by the web, which then gives way).
    pressure: DispatchPressure = field(default_factory=DispatchPressure)


def due_pending(state: SchedulerState, now: float) -> int:
    """Runs due (at or before *now*) and not finished: waiting for a worker or running. Runs
    handed over before their due time are left out until it comes (the web gives way to a
    backlog of due runs, `actors.pressure`, not to a worker's queue of runs due soon)."""
    ahead = state.ahead
    while ahead and ahead[0] <= now:
        heapq.heappop(ahead)
    return max(0, len(state.waiting) + len(state.running) - len(ahead))


def new_state(timetable: Timetable, workers: int, finished_retention_s: float) -> SchedulerState:
    """A fresh scheduler state for *workers* slots (all down until they report ready)."""
    return SchedulerState(timetable=timetable, workers=workers, finished_retention_s=finished_retention_s)
