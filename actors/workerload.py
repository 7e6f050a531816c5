"""`WorkerLoad`: how many runs each worker holds, and which of them may be given more meanwhile.

Why a module of its own: with runs handed over before they are due (``stage_ahead``) a worker
holds a queue whose runs wait for their due times. Runs that enter the horizon meanwhile
would otherwise wait until the whole queue is done, and the ones due in that hop would be
late. So a worker that holds only runs of fast task classes is given more while it works
(appended to its queue, in order, up to `cap` runs: about `APPEND_BUDGET_S` of work at the
class's mean duration, at most `APPEND_MAX`, so a run handed over later, a run now, waits
behind a fraction of a second at most); a worker that holds a run of a slow or unknown class
takes nothing more until it is empty (no run waits behind a slow one), and one that refused an
append (what it has not read of its pipe is too much, `actors.worker`) takes nothing more until
some of its runs finish.

Plain data, used on the Scheduler's thread only; the counts follow the worker's own reports
(every run sent comes back finished or refused), and are forgotten when a worker goes down.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: Most runs one worker holds when runs are appended to its queue ...
APPEND_MAX = 2048
#: ... and at most about this much work, at the mean duration of the runs' class.
APPEND_BUDGET_S = 0.25


def cap(mean_s: float | None) -> int:
    """How many runs of a class whose runs take *mean_s* on average one worker may hold."""
    if mean_s is None or not mean_s > 0:  # unknown (or NaN): as for the fastest
        return APPEND_MAX
    return max(1, min(APPEND_MAX, int(APPEND_BUDGET_S / mean_s)))


@dataclass(slots=True)
class WorkerLoad:
    """Runs held per worker slot, and the slots that take no appended runs now."""

    held: dict[int, int] = field(default_factory=dict)
    slow: set[int] = field(default_factory=set)  # holds a run of a slow or unknown class: until empty
    full: set[int] = field(default_factory=set)  # refused an append: until one of its runs finishes

    def sent(self, slot: int, count: int, *, fast: bool) -> None:
        """*count* runs went to *slot*; *fast*: all of classes known to be fast."""
        self.held[slot] = self.held.get(slot, 0) + count
        if not fast:
            self.slow.add(slot)

    def done(self, slot: int, count: int) -> int:
        """*count* runs of *slot* finished (or came back): how many it still holds."""
        self.full.discard(slot)
        left = self.held.get(slot, 0) - count
        if left <= 0:
            self.forget(slot)
            return 0
        self.held[slot] = left
        return left

    def refused(self, slot: int, count: int) -> None:
        """*slot* gave *count* runs back: it takes no appended runs until one of its runs finishes."""
        if self.done(slot, count):
            self.full.add(slot)

    def forget(self, slot: int) -> None:
        """*slot* is empty, or its worker went down (it reported every run it held first)."""
        self.held.pop(slot, None)
        self.slow.discard(slot)
        self.full.discard(slot)

    def open_slot(self, most: int) -> int | None:
        """The least loaded slot that holds runs, fewer than *most*, and takes appended ones; or None."""
        best: int | None = None
        for slot, count in self.held.items():
            if (count < most and slot not in self.slow and slot not in self.full
                    and (best is None or count < self.held[best])):
                best = slot
        return best

    def room(self, slot: int, most: int) -> int:
        """How many more runs *slot* may be given when a worker holds at most *most*."""
        return max(most - self.held.get(slot, 0), 0)
