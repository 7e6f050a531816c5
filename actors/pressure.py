"""`DispatchPressure`: the scheduler says when a backlog of due runs is being handed out, the web gives way.

Why: the server is one Python process, so a request thread holds the GIL the scheduler needs.
With 50 clients on the panel while 2,000 jobs fell due at once, the answers (cached: about a
millisecond each) still took the GIL for most of each burst, and the herd's lateness p99
went from ~240 ms to ~2 s (benchmarks/README.md, "Panel under load"). A due run is worth more
than a page drawn a few hundred milliseconds sooner: while due runs are pending (waiting for a
worker or running; runs handed to a worker before their due time count from that time on,
`actors.schedstate.due_pending`, or a steady load would hold every request back; releasing
the web when the line was empty but the last batches still ran measured worse, p99 330-376 ms
against 240-248 without clients) *and* the line moves (a run handed out or finished within
`RECENT_S`), a web request waits, at most the ``web_yield`` option's
seconds, until none is pending.

A line that stands still (every worker busy with long runs, others waiting behind them) is
not a burst: the scheduler has nothing to do then, and nobody waits longer than `RECENT_S`.

The herd's start matters most: at its due instant the waker and the scheduler need the GIL at
once, and with 16 request threads running they got it up to ~120 ms late (~20 ms without the
clients; that delay was the whole of the lateness added). So when the last runs to fall due
came as a herd (`HERD_MIN` at once), the next wake is expected to be one too, and the web
stands back from `LEAD_S` before it until the scheduler has taken it up (measured, 10 s of a
2,000-job herd with 50 clients: the herd was taken up 7-51 ms after its due instant instead of
14-120 ms, lateness p50/p99 85/216 ms, as without clients). Only the scheduler's thread writes
(`note`, after each message it handles); any thread may `wait` (an Event, and plain attributes
read without a lock).
"""

from __future__ import annotations

import threading
import time

#: The line "moves" when a run was handed out or finished within this many seconds.
RECENT_S = 0.25
#: Runs falling due in one step that make a herd: the next wake is then expected to be one too.
HERD_MIN = 100
#: Seconds before an expected herd the web stands back (requests in flight drain meanwhile) ...
LEAD_S = 0.05
#: ... and after its due instant, until the scheduler has taken it up (the wait ends when it has).
GRACE_S = 0.25


class DispatchPressure:
    """Published by the scheduler after each message: are due runs being worked through, or about to be?"""

    def __init__(self) -> None:
        self._calm = threading.Event()
        self._calm.set()
        self._pending_event = threading.Event()  # set while runs are pending: the opposite of _calm
        self._moves = 0
        self._pending = 0
        self.moved_at = float("-inf")  # monotonic: when a run was last handed out or finished
        self.herd = False  # the last runs to fall due came as a herd
        self.wake_at: float | None = None  # monotonic: the scheduler's next wake

    def note(self, pending: int, moves: int, wake_in_s: float | None = None) -> None:
        """Scheduler thread: *pending* runs due and not finished (waiting or running); *moves* runs handed
        out plus runs finished so far (a count that grows while the line moves); *wake_in_s* seconds
        until the next job falls due (None: none is scheduled)."""
        now = time.monotonic()
        if moves != self._moves:
            self._moves = moves
            self.moved_at = now
        if pending - self._pending >= HERD_MIN:
            self.herd = True
        elif pending > self._pending:
            self.herd = False  # a few runs fell due: the next wake is no herd
        self._pending = pending
        self.wake_at = None if wake_in_s is None else now + wake_in_s
        if pending:
            if self._calm.is_set():
                self._calm.clear()
                self._pending_event.set()
        elif not self._calm.is_set():
            self._pending_event.clear()
            self._calm.set()

    @property
    def moving(self) -> bool:
        """Due runs are pending and the line moved within `RECENT_S`."""
        return not self._calm.is_set() and time.monotonic() - self.moved_at <= RECENT_S

    @property
    def herd_near(self) -> bool:
        """The next wake is expected to be a herd, and it is less than `LEAD_S` away (or passed less
        than `GRACE_S` ago without the scheduler taking it up)."""
        wake_at = self.wake_at
        return self.herd and wake_at is not None and -LEAD_S <= time.monotonic() - wake_at <= GRACE_S

    @property
    def backlog(self) -> bool:
        """A burst is being handed out: at least `HERD_MIN` runs pending and the line `moving`
        (the Journal's timer then holds its writes back, `actors.journal`)."""
        return self._pending >= HERD_MIN and self.moving

    @property
    def busy(self) -> bool:
        """`moving` or `herd_near`: the web should give way."""
        return self.moving or self.herd_near

    def wait(self, max_wait_s: float) -> float:
        """Any thread: while `busy`, wait (at most *max_wait_s*); the seconds waited. A line that stops
        moving (long runs) ends the wait within `RECENT_S`."""
        if max_wait_s <= 0 or not self.busy:
            return 0.0
        started = time.monotonic()
        deadline = started + max_wait_s
        while (left := deadline - time.monotonic()) > 0:
            if self.moving:
                self._calm.wait(min(left, RECENT_S))
            elif self.herd_near:  # until the scheduler takes it up (no polling: the GIL is its then)
                self._pending_event.wait(min(left, LEAD_S + GRACE_S))
            else:
                break
        return time.monotonic() - started


__all__ = ["GRACE_S", "HERD_MIN", "LEAD_S", "RECENT_S", "DispatchPressure"]
