"""Bulk building without the cyclic garbage collector walking every job again and again.

Why a module of its own: loading a million jobs (from a config file, or restored from the
store) allocates a few container objects per job, all of them long-lived. CPython's cyclic
collector runs a full collection each time the survivors grow by a quarter, so a bulk load
walks the jobs built so far several times over: in the scale benchmark (100k jobs) the
collector took 2.8 s of 12.4 s of load + add + save + restore work (measured with
``gc.callbacks``). While `paused_gc` is held the collector does not run (reference counting
still frees everything that is not a cycle); when the last holder leaves, the objects built
meanwhile are collected once (the young generations only; every generation before a freeze)
and, with ``settle=True`` after a bulk load (`SETTLE_MIN_OBJECTS`), moved to the permanent
generation (``gc.freeze``), so that the full collections of the running server (which stop
every thread) no longer walk a million jobs that will live as long as it does. Objects frozen
are still freed by reference counting when their job goes (a job holds no reference cycle).
A settling pause then also hands the memory the bulk load freed back to the system (`trim_heap`:
glibc keeps the freed temporaries of a restore, the records read and the indexes built to match
them, in its heap; at 1M jobs that is ~100 MB of resident size, returned in ~30 ms).

Pure: no threads of its own, no I/O; safe to nest and to hold from several threads at once
(the collector comes back when the last holder leaves).
"""

from __future__ import annotations

import ctypes
import gc
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import cast

#: Young objects (``gc.get_count()[0]``) a settling pause must have built before it freezes
#: (about 100k jobs). Below it, the collector walks them cheaply, and a freeze would keep any
#: object alive at that moment that later becomes a garbage cycle (a test's whole server, a
#: failed-over term's actors) from ever being collected.
SETTLE_MIN_OBJECTS = 500_000


class _Pause:
    """Who holds the pause, whether the collector ran before the first holder came, and whether
    any holder asked to settle (freeze) what was built."""

    lock = threading.Lock()
    holders = 0
    was_enabled = False
    settle = False


@contextmanager
def paused_gc(*, settle: bool = False) -> Iterator[None]:
    """Pause the cyclic collector while building many long-lived objects (nests; thread-safe).

    When the last holder leaves, the collector is re-enabled if it was enabled before the
    first one came, the young generations are collected once, and, if any holder asked
    *settle* and at least `SETTLE_MIN_OBJECTS` objects were built, every generation is
    collected and what survives is frozen (``gc.freeze``: out of reach of later full
    collections; no garbage cycle is frozen with it).
    """
    with _Pause.lock:
        if _Pause.holders == 0:
            _Pause.was_enabled, _Pause.settle = gc.isenabled(), False
            gc.disable()
        _Pause.holders += 1
        _Pause.settle = _Pause.settle or settle
    try:
        yield
    finally:
        with _Pause.lock:
            _Pause.holders -= 1
            if _Pause.holders == 0 and _Pause.was_enabled:
                freeze = _Pause.settle and gc.get_count()[0] >= SETTLE_MIN_OBJECTS
                # What the paused collector would have found: in the young objects, or in all of
                # them before a freeze (a frozen garbage cycle would never be collected).
                gc.collect(2 if freeze else 1)
                if freeze:
                    gc.freeze()
                    trim_heap()
                gc.enable()


def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim`` in the running process, or None (another C library, another system)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        trim = ctypes.CDLL(None).malloc_trim  # the process's own C library
    except (OSError, AttributeError):
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return cast("Callable[[int], int]", trim)


_MALLOC_TRIM = _malloc_trim()


def trim_heap() -> bool:
    """Return the C heap's free pages to the system (``malloc_trim(0)``); True when some were.
    Nothing to do (False) without glibc."""
    return bool(_MALLOC_TRIM(0)) if _MALLOC_TRIM is not None else False


__all__ = ["paused_gc", "trim_heap"]
