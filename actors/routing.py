"""Who is where: the current refs of the long-lived actors.

A restarted actor is a new actor with a new ref (pykka actors cannot be restarted).
Instead of handing refs around, every actor reaches the others through one `Directory`,
which only the Supervisor updates. Reading an attribute is atomic, so no lock is needed.
A tell to an actor that is dead (being replaced) is logged and dropped; the Supervisor
is responsible for what that loses (it re-reports the run of a dead worker).
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import pykka
import structlog

log = structlog.get_logger("das_actors.routing")


@dataclass(slots=True)
class Directory:
    """Current refs of the supervisor, scheduler, journal, worker slots and stream hub."""

    supervisor: pykka.ActorRef[Any] | None = None
    scheduler: pykka.ActorRef[Any] | None = None
    journal: pykka.ActorRef[Any] | None = None
    workers: list[pykka.ActorRef[Any] | None] = field(default_factory=list)
    streams: pykka.ActorRef[Any] | None = None
    #: Several instances (`actors.lease`): the `Leadership` actor, this instance's role (``leader`` or
    #: ``follower``; a single instance is its own leader) and the leader's term (0 for a single
    #: instance). Actors that must act on the leader only (dispatchers) read ``role`` when they act.
    leadership: pykka.ActorRef[Any] | None = None
    role: str = "leader"
    term: int = 0

    @property
    def leading(self) -> bool:
        """Whether this instance leads (always, for a single instance)."""
        return self.role == "leader"

    def tell_scheduler(self, message: Any) -> None:
        """Tell the scheduler, if it is alive."""
        _tell(self.scheduler, "scheduler", message)

    def tell_journal(self, message: Any) -> None:
        """Tell the journal, if it is alive."""
        _tell(self.journal, "journal", message)

    def tell_streams(self, message: Any) -> None:
        """Tell the stream hub, if it is running."""
        if self.streams is not None:
            _tell(self.streams, "streams", message)

    def tell_leadership(self, message: Any) -> None:
        """Tell the leadership actor, if there is one (several instances on one store)."""
        if self.leadership is not None:
            _tell(self.leadership, "leadership", message)

    def tell_supervisor(self, message: Any) -> None:
        """Tell the supervisor, if it is alive."""
        _tell(self.supervisor, "supervisor", message)

    def tell_worker(self, slot: int, message: Any) -> bool:
        """Tell worker *slot*; False if it is not there."""
        ref = self.workers[slot] if 0 <= slot < len(self.workers) else None
        return _tell(ref, f"worker {slot}", message)


class TimerHandle:
    """A pending `tell_later`; `cancel` makes it a no-op."""

    __slots__ = ("cancelled",)

    def __init__(self) -> None:
        self.cancelled = False

    def cancel(self) -> None:
        """Do not deliver the message."""
        self.cancelled = True


class _Clockwork:
    """One daemon thread delivering every delayed tell of the process from a heap.

    A thread per timer (``threading.Timer``) would start thousands of threads a second
    under load (each run has a timeout); one heap and one condition cost a push and a pop.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, TimerHandle, pykka.ActorRef[Any], Any]] = []
        self._seq = itertools.count()
        self._thread: threading.Thread | None = None

    def schedule(self, ref: pykka.ActorRef[Any], delay_s: float, message: Any) -> TimerHandle:
        handle = TimerHandle()
        with self._cond:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="clockwork", daemon=True)
                self._thread.start()
            entry = (time.monotonic() + max(0.0, delay_s), next(self._seq), handle, ref, message)
            heapq.heappush(self._heap, entry)
            if self._heap[0] is entry:
                self._cond.notify()
        return handle

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._heap or self._heap[0][0] > time.monotonic():
                    timeout = None if not self._heap else min(self._heap[0][0] - time.monotonic(), 3600.0)
                    self._cond.wait(timeout)
                _, _, handle, ref, message = heapq.heappop(self._heap)
            if not handle.cancelled:
                try:
                    ref.tell(message)
                except pykka.ActorDeadError:
                    pass


_clockwork = _Clockwork()


def tell_later(ref: pykka.ActorRef[Any], delay_s: float, message: Any) -> TimerHandle:
    """Tell *ref* *message* after *delay_s* seconds (a dead actor is ignored).

    The actors' timeouts, restarts, flushes and ticks all go through here, served by one
    thread. Returns a handle whose ``cancel()`` drops the message.
    """
    return _clockwork.schedule(ref, delay_s, message)


def _tell(ref: pykka.ActorRef[Any] | None, role: str, message: Any) -> bool:
    if ref is None:
        log.warning("message.dropped", to=role, message=type(message).__name__, reason="no such actor")
        return False
    try:
        ref.tell(message)
    except pykka.ActorDeadError:
        log.warning("message.dropped", to=role, message=type(message).__name__, reason="actor is dead")
        return False
    return True
