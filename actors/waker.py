"""`Waker`: one thread that tells an actor `Tick` when the earliest due time comes.

Why a module of its own: the Scheduler must never poll and never block its inbox; a
condition variable that sleeps until one absolute time, re-armed freely and never flooding
the actor with ticks, is a small concept of its own (and is tested on its own).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pykka

from actors.messages import Tick

#: Longest single wait (it re-checks after; far below threading.TIMEOUT_MAX).
MAX_WAIT_S = 3600.0


class Waker:
    """One thread that tells an actor `Tick` at a given time (re-armed freely, never floods)."""

    def __init__(self, tell: Callable[[Any], None], clock: Callable[[], float] = time.time) -> None:
        self._tell, self._clock = tell, clock
        self._cond = threading.Condition()
        self._at: float | None = None
        self._stopped = False
        self._thread = threading.Thread(target=self._loop, name="scheduler-waker", daemon=True)
        self._thread.start()

    def wake_at(self, at: float | None) -> None:
        """Tick at *at* (epoch), replacing any earlier request; None cancels.

        The thread is woken only when it must wake sooner (or was waiting for nothing): a later
        time or a cancel is read when the current wait ends (it then waits again, or not at all),
        which spares the Scheduler a thread switch on most of its dispatches."""
        with self._cond:
            if at != self._at:
                sooner = at is not None and (self._at is None or at < self._at)
                self._at = at
                if sooner:
                    self._cond.notify()

    def stop(self) -> None:
        """End the thread."""
        with self._cond:
            self._stopped = True
            self._cond.notify()

    def _loop(self) -> None:
        with self._cond:
            while not self._stopped:
                if self._at is None:
                    self._cond.wait()
                    continue
                delay = self._at - self._clock()
                if delay > 0:
                    self._cond.wait(min(delay, MAX_WAIT_S))  # a due time centuries away must not overflow
                    continue
                self._at = None
                try:
                    self._tell(Tick())
                except pykka.ActorDeadError:
                    return
