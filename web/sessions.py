"""Logged-in sessions kept by the server, so logging out (or a token change) ends them for good.

Why: the login cookie was an HMAC of the session id alone, so "log out" only asked the
browser to forget it: a copy of the cookie (a saved cookie jar, a shared machine) kept
working until the process restarted. Here a login registers its session id; a request is
authenticated only while its id is registered. `end` (log out) removes one, `end_all` (the
token changed) removes every one. Ids are random (256 bits), only ids live here (never the
token), and the table is bounded: at most `max_sessions`, the oldest login dropped first,
each at most `max_age_s` old. Everything is in memory: a restart ends every session too.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

#: Logged-in sessions kept at once (oldest dropped first).
MAX_SESSIONS = 1000
#: Longest a login lasts, seconds (a week).
MAX_AGE_S = 7 * 24 * 3600.0


class Sessions:
    """The ids of the logged-in sessions and when each logged in (thread-safe)."""

    def __init__(self, *, max_sessions: int = MAX_SESSIONS, max_age_s: float = MAX_AGE_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.max_sessions = max_sessions
        self.max_age_s = max_age_s
        self._clock = clock
        self._started: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def start(self, sid: str) -> None:
        """Session *sid* has just logged in."""
        with self._lock:
            self._started.pop(sid, None)
            self._started[sid] = self._clock()
            while len(self._started) > self.max_sessions:
                self._started.popitem(last=False)

    def active(self, sid: str) -> bool:
        """True while *sid* is logged in (not ended, not too old)."""
        now = self._clock()
        with self._lock:
            started = self._started.get(sid)
            if started is None:
                return False
            if now - started > self.max_age_s:
                del self._started[sid]
                return False
            return True

    def end(self, sid: str) -> bool:
        """Log *sid* out; True if it was logged in."""
        with self._lock:
            return self._started.pop(sid, None) is not None

    def end_all(self) -> int:
        """Log every session out (the token changed); how many were."""
        with self._lock:
            count = len(self._started)
            self._started.clear()
            return count

    def __len__(self) -> int:
        with self._lock:
            return len(self._started)
