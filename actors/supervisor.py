"""Supervisor actor: starts the Journal, the Scheduler and the workers in order, restarts them.

pykka has no supervision, so this is it (Erlang's ``one_for_one`` with restart intensity):

* every child actor reports its own death from ``on_failure`` (`ChildFailed`);
* a liveness tick also checks ``is_alive()``, because an actor whose ``on_start`` raised
  never calls ``on_failure``;
* a dead child is replaced by a new actor (a new ref, published in the `Directory`),
  after a backoff, at most ``max_restarts`` in ``window_s`` per child; past that the
  child is left down, logged as an error and reported by `describe`;
* a worker that died mid-run has its run reported ``crashed`` so the job's retry rules
  apply; the scheduler state survives a scheduler restart (it lives outside the actor).

Shutdown order is the reverse of start order and is driven by `actors.system.System`.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pykka
import structlog

from actors.jobs import Outcome, RunReport
from actors.messages import ChildFailed, GetStatus, Housekeep, RestartChild, RunFinished, Stopping, WorkerDown
from actors.policy import RestartPolicy, RestartTracker
from actors.routing import Directory, TimerHandle, tell_later

log = structlog.get_logger("das_actors.supervisor")

#: Seconds between liveness checks of the child actors.
LIVENESS_TICK_S = 1.0


@dataclass(frozen=True, slots=True)
class Builders:
    """How to make each kind of child actor (the supervisor knows no configuration)."""

    journal: Callable[[], pykka.ActorRef[Any]]
    scheduler: Callable[[], pykka.ActorRef[Any]]
    worker: Callable[[int], pykka.ActorRef[Any]]
    workers: int
    #: The stream hub (`actors.streamhub`), started last; None: no streams.
    streams: Callable[[], pykka.ActorRef[Any]] | None = None


class Supervisor(pykka.ThreadingActor):
    """Owns the child actors; see the module docstring."""

    def __init__(self, builders: Builders, directory: Directory, policy: RestartPolicy) -> None:
        super().__init__()
        self._build = builders
        self._dir = directory
        self._policy = policy
        self._trackers: dict[tuple[str, int], RestartTracker] = {}
        self._down: dict[tuple[str, int], str] = {}
        self._pending: set[tuple[str, int]] = set()
        self._stopping = False
        self._timer: TimerHandle | None = None

    def on_start(self) -> None:
        """Actor thread: start children in order (journal, scheduler, workers)."""
        self._dir.supervisor = self.actor_ref
        self._dir.journal = self._start("journal", 0)
        self._dir.scheduler = self._start("scheduler", 0)
        self._dir.workers = [None] * self._build.workers
        for slot in range(self._build.workers):
            self._dir.workers[slot] = self._start("worker", slot)
        if self._build.streams is not None:
            self._dir.streams = self._start("streams", 0)
        self._arm(LIVENESS_TICK_S, Housekeep())

    def on_stop(self) -> None:
        """Actor thread: stop the liveness tick (children are stopped by the System, in order)."""
        self._stopping = True
        if self._timer is not None:
            self._timer.cancel()

    def on_receive(self, message: Any) -> Any:
        """Actor thread: child failures, liveness ticks, restart timers, status."""
        if isinstance(message, ChildFailed):
            self._on_failed(message)
        elif isinstance(message, Housekeep):
            self._timer = None
            self._check_liveness()
            self._arm(LIVENESS_TICK_S, Housekeep())
        elif isinstance(message, RestartChild):
            self._pending.discard((message.role, message.slot))
            if not self._stopping:
                self._replace(message.role, message.slot)
        elif isinstance(message, Stopping):
            self._stopping = True
        elif isinstance(message, GetStatus):
            return {"down": {f"{role}:{slot}": why for (role, slot), why in self._down.items()},
                    "restarts": {f"{role}:{slot}": t.recent_restarts for (role, slot), t in self._trackers.items()}}
        return None

    # ------------------------------------------------------------------ internals
    def _start(self, role: str, slot: int) -> pykka.ActorRef[Any]:
        tracker = self._trackers.setdefault((role, slot), RestartTracker(self._policy))
        tracker.started(time.monotonic())
        if role == "journal":
            return self._build.journal()
        if role == "scheduler":
            return self._build.scheduler()
        if role == "streams" and self._build.streams is not None:
            return self._build.streams()
        return self._build.worker(slot)

    def _ref(self, role: str, slot: int) -> pykka.ActorRef[Any] | None:
        if role == "journal":
            return self._dir.journal
        if role == "scheduler":
            return self._dir.scheduler
        if role == "streams":
            return self._dir.streams
        return self._dir.workers[slot] if slot < len(self._dir.workers) else None

    def _check_liveness(self) -> None:
        if self._stopping:
            return
        children = [("journal", 0), ("scheduler", 0)] + [("worker", s) for s in range(len(self._dir.workers))]
        if self._build.streams is not None:
            children.append(("streams", 0))
        for role, slot in children:
            ref = self._ref(role, slot)
            key = (role, slot)
            if ref is not None and not ref.is_alive() and key not in self._pending and key not in self._down:
                self._on_failed(ChildFailed(role, slot, "actor found dead by the liveness check"))

    def _on_failed(self, message: ChildFailed) -> None:
        key = (message.role, message.slot)
        log.error("actor.failed", role=message.role, slot=message.slot, error=message.error)
        if message.run is not None:
            now = time.time()
            report = RunReport(Outcome.CRASHED, started_at=now, finished_at=now,
                               error=f"worker actor {message.slot} failed during {message.run.describe()}: "
                                     f"{message.error}")
            self._dir.tell_scheduler(RunFinished(message.slot, message.run, report, worker_free=False))
        if message.role == "worker":
            self._dir.tell_scheduler(WorkerDown(message.slot, f"worker actor failed: {message.error}"))
        if self._stopping or key in self._pending:
            return
        delay = self._trackers.setdefault(key, RestartTracker(self._policy)).exited(time.monotonic(), random.random)
        if delay is None:
            self._down[key] = message.error
            log.error("actor.degraded", role=message.role, slot=message.slot,
                      reason=f"more than {self._policy.max_restarts} restarts in {self._policy.window_s:g}s")
            if message.role == "worker":
                self._dir.tell_scheduler(WorkerDown(message.slot, message.error, degraded=True))
            return
        self._pending.add(key)
        self._arm(delay, RestartChild(message.role, message.slot))

    def _replace(self, role: str, slot: int) -> None:
        old = self._ref(role, slot)
        if old is not None and old.is_alive():
            old.stop(block=False)
        ref = self._start(role, slot)
        if role == "journal":
            self._dir.journal = ref
        elif role == "scheduler":
            self._dir.scheduler = ref
        elif role == "streams":
            self._dir.streams = ref
        else:
            self._dir.workers[slot] = ref
        log.warning("actor.restarted", role=role, slot=slot)

    def _arm(self, delay_s: float, message: Any) -> None:
        timer = tell_later(self.actor_ref, delay_s, message)
        if isinstance(message, Housekeep):
            self._timer = timer
