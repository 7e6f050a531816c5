"""Who is where: the current refs of the long-lived actors.

A restarted actor is a new actor with a new ref (pykka actors cannot be restarted).
Instead of handing refs around, every actor reaches the others through one `Directory`,
which only the Supervisor updates. Reading an attribute is atomic, so no lock is needed.
A tell to an actor that is dead (being replaced) is logged and dropped; the Supervisor
is responsible for what that loses (it re-reports the run of a dead worker).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import pykka
import structlog

log = structlog.get_logger("das_actors.routing")


@dataclass(slots=True)
class Directory:
    """Current refs of the supervisor, scheduler, journal and worker slots."""

    supervisor: pykka.ActorRef[Any] | None = None
    scheduler: pykka.ActorRef[Any] | None = None
    journal: pykka.ActorRef[Any] | None = None
    workers: list[pykka.ActorRef[Any] | None] = field(default_factory=list)

    def tell_scheduler(self, message: Any) -> None:
        """Tell the scheduler, if it is alive."""
        _tell(self.scheduler, "scheduler", message)

    def tell_journal(self, message: Any) -> None:
        """Tell the journal, if it is alive."""
        _tell(self.journal, "journal", message)

    def tell_supervisor(self, message: Any) -> None:
        """Tell the supervisor, if it is alive."""
        _tell(self.supervisor, "supervisor", message)

    def tell_worker(self, slot: int, message: Any) -> bool:
        """Tell worker *slot*; False if it is not there."""
        ref = self.workers[slot] if 0 <= slot < len(self.workers) else None
        return _tell(ref, f"worker {slot}", message)


def tell_later(ref: pykka.ActorRef[Any], delay_s: float, message: Any) -> threading.Timer:
    """Tell *ref* *message* after *delay_s* seconds (a daemon timer; a dead actor is ignored).

    The actors' timeouts, restarts, flushes and ticks all go through here. Returns the timer
    so that it can be cancelled.
    """

    def fire() -> None:
        try:
            ref.tell(message)
        except pykka.ActorDeadError:
            pass

    timer = threading.Timer(delay_s, fire)
    timer.daemon = True
    timer.start()
    return timer


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
