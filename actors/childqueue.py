"""The worker subprocess's queue of runs: each starts at its due time, the pipe read meanwhile.

Why a module of its own: the Scheduler hands a run to a worker up to ``stage_ahead`` before it
is due, so that the hops between the scheduler, the worker actor and this process (a fraction of
a millisecond each, many milliseconds when the server is busy) happen *before* the due time
instead of making the run late. The worker process therefore holds a queue, not one batch:

* runs arrive as ``("runs", [wire, ...])`` and are kept in order, also while a run executes
  or the head waits for its due time (the worker actor appends to a queue of fast runs);
* the process asks the kernel for a short time slice (`short_slice`), so that its wake-up at a
  due time preempts what else runs on the CPU;
* the head starts at its ``due_at``: the pipe is watched until shortly before it
  (`POLL_SLACK_S`), the rest is one ``time.sleep`` (``clock_nanosleep``, well under a
  millisecond late); never later than `MAX_STAGE_AHEAD_S` after it arrived, whatever a run says;
* a run's result is sent at once when nothing follows it or the next run is due more than
  `RESULT_HOLD_S` later, else with the next ones (`actors.childpipe.RESULT_BATCH` at most, the
  flusher's 50 ms);
* ``("config", {...})`` applies to the runs after it; ``("stop",)`` ends the process (runs
  still queued are given back by the worker actor, which sees the process exit).

Stdlib only: this runs in every worker subprocess.
"""

from __future__ import annotations

import os
import struct
import sys
import time
from collections import deque
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from actors.bounds import MAX_STAGE_AHEAD_S

#: A result waits for the next ones (one pipe message for several) only when the next run is
#: due within this long; before a longer wait it is sent at once.
RESULT_HOLD_S = 0.005
#: The pipe is watched until this long before a due time; the rest is slept (poll() has a
#: millisecond granularity, sleep does not).
POLL_SLACK_S = 0.002


def due_in(due_at: Any, now: float) -> float:
    """Seconds from *now* until *due_at* (both epoch), at most `MAX_STAGE_AHEAD_S`; 0 when due or
    unreadable. One *now* for both ends: ``now + due_in(due_at, now)`` is never before *due_at*
    (reading the clock again here would make it a few microseconds early)."""
    if not isinstance(due_at, int | float) or due_at != due_at:  # noqa: PLR0124 - NaN
        return 0.0
    return min(max(float(due_at) - now, 0.0), MAX_STAGE_AHEAD_S)


#: The time slice a worker process asks for, ns (the kernel's smallest): see `short_slice`.
SHORT_SLICE_NS = 100_000
_SCHED_SETATTR = {"x86_64": 314, "aarch64": 274}


def short_slice() -> bool:
    """Ask Linux (6.12+, EEVDF) for a short time slice for this thread (and the threads it starts):
    a task that wakes with a short slice gets an early virtual deadline, so it preempts what runs
    on its CPU instead of waiting out that task's slice. Measured here (2 CPUs, 80% idle, 2,000
    runs/s): runs woken 2-4 ms late now and then, p99 lateness 1.4-1.8 ms; with a 0.1 ms slice
    0.33-0.47 ms; a CPU-bound task sharing a CPU keeps its share (within noise). Switching the
    slice around each wait does not work (the change re-queues the running task). Needs no
    privilege; True if the kernel took it, False where ``sched_setattr`` is missing or refused."""
    number = _SCHED_SETATTR.get(os.uname().machine) if sys.platform.startswith("linux") else None
    if number is None:
        return False
    try:
        import ctypes

        syscall = ctypes.CDLL(None, use_errno=True).syscall
        # struct sched_attr (56 bytes): size, policy SCHED_OTHER, flags, nice, priority, runtime (the slice), ...
        attr = struct.pack("IIQiIQQQII", 56, 0, 0, os.getpriority(os.PRIO_PROCESS, 0), 0, SHORT_SLICE_NS, 0, 0, 0, 0)
        return bool(syscall(number, 0, attr, 0) == 0)
    except (OSError, AttributeError):
        return False


def serve(conn: Connection, take: Callable[[tuple[Any, ...]], bool],
          run: Callable[[dict[str, Any], Callable[[], bool]], None]) -> None:
    """Read messages and run the queued runs until ``stop`` or EOF.

    *take(message)* handles a message other than ``runs`` and returns False when the process
    must end; *run(wire, result_now)* runs one and sends its result at once if ``result_now()``
    (asked after the run) says so, else buffers it."""
    queue: deque[tuple[float, dict[str, Any]]] = deque()  # (when it starts, the run), in order
    short_slice()  # woken on time at a due time, not after what else runs on the CPU

    def read(timeout: float | None) -> bool:
        """Handle what the pipe holds (waiting up to *timeout*, None = until a message); False: end."""
        try:
            if timeout is not None and not conn.poll(timeout):
                return True
            message = conn.recv()
            while True:
                if message[0] == "runs":
                    now = time.time()
                    queue.extend((now + due_in(wire.get("due_at"), now), wire) for wire in message[1])
                elif not take(message):
                    return False
                if not conn.poll(0):
                    return True
                message = conn.recv()
        except (EOFError, OSError):
            return False

    while True:
        if not queue:
            if not read(None):
                return
            continue
        delay = queue[0][0] - time.time()
        if delay > POLL_SLACK_S:
            if not read(delay - POLL_SLACK_S):
                return
            continue
        if not read(0.0):  # runs appended while the last one ran: its result may wait for them
            return
        delay = queue[0][0] - time.time()
        if delay > 0:
            time.sleep(delay)
        run(queue.popleft()[1], lambda: not queue or queue[0][0] - time.time() > RESULT_HOLD_S)
