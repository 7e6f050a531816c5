"""Pure retry and restart policies: validated value objects with a pure ``next_delay``.

Two budgets are kept apart on purpose (Ray's lesson): a *job* has a retry budget
(`RetryPolicy`, how often a failed run is tried again), a *worker process* has a restart
budget (`RestartPolicy`, Erlang's restart intensity plus Akka's exponential backoff).
A crash during a run consumes both.

No clocks and no threads here: time is passed in, randomness is a callable returning a
float in [0, 1), so every rule is unit-tested in microseconds.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

Random = Callable[[], float]


def _check(name: str, value: float, *, minimum: float = 0.0, maximum: float = math.inf) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    if not minimum <= value <= maximum:
        raise ValueError(f"{name} must be within [{minimum:g}, {maximum:g}], got {value!r}")


def _jittered(delay: float, jitter: float, rng: Random) -> float:
    """Spread *delay* uniformly over ``delay * [1 - jitter, 1 + jitter)``."""
    return delay * (1.0 + jitter * (2.0 * rng() - 1.0))


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How a failed run is retried: exactly ``max_retries`` times, then the job is abandoned.

    The delay before retry *n* (1-based) is ``min(max_delay, base_delay * factor**(n-1))``
    spread by ``± jitter`` (a fraction), and never above ``max_delay``.
    """

    max_retries: int = 1
    base_delay_s: float = 60.0
    max_delay_s: float = 3600.0
    factor: float = 2.0
    jitter: float = 0.2

    def __post_init__(self) -> None:
        if isinstance(self.max_retries, bool) or not isinstance(self.max_retries, int) or self.max_retries < 0:
            raise ValueError(f"max_retries must be an integer >= 0, got {self.max_retries!r}")
        _check("retry_delay", self.base_delay_s)
        _check("retry_max_delay", self.max_delay_s, minimum=self.base_delay_s)
        _check("retry factor", self.factor, minimum=1.0)
        _check("retry_jitter", self.jitter, maximum=1.0)

    def allows(self, retries_used: int) -> bool:
        """True while another retry fits in the budget (``retries_used`` already spent)."""
        return retries_used < self.max_retries

    def next_delay(self, retry: int, rng: Random) -> float:
        """Seconds to wait before retry number *retry* (1-based)."""
        if retry < 1:
            raise ValueError(f"retry numbers start at 1, got {retry}")
        exponent = min(retry - 1, 64)  # 2**64 * any base is past every cap: avoid overflow
        raw = min(self.max_delay_s, self.base_delay_s * self.factor**exponent)
        return min(self.max_delay_s, max(0.0, _jittered(raw, self.jitter, rng)))


@dataclass(frozen=True, slots=True)
class RestartPolicy:
    """How a dead worker process is restarted (Erlang intensity + Akka backoff).

    At most ``max_restarts`` within ``window_s`` seconds, else the slot is *degraded*.
    The n-th consecutive restart waits ``min(max_backoff, min_backoff * 2**n)`` spread by
    ``random_factor``; the count resets after the process has run ``reset_after_s``.
    """

    max_restarts: int = 5
    window_s: float = 60.0
    min_backoff_s: float = 0.5
    max_backoff_s: float = 30.0
    random_factor: float = 0.2
    reset_after_s: float = 30.0

    def __post_init__(self) -> None:
        if isinstance(self.max_restarts, bool) or not isinstance(self.max_restarts, int) or self.max_restarts < 1:
            raise ValueError(f"restart_max must be an integer >= 1, got {self.max_restarts!r}")
        _check("restart_window", self.window_s)
        _check("restart_min_backoff", self.min_backoff_s)
        _check("restart_max_backoff", self.max_backoff_s, minimum=self.min_backoff_s)
        _check("restart_jitter", self.random_factor, maximum=1.0)
        _check("restart_reset_after", self.reset_after_s)

    def next_delay(self, consecutive: int, rng: Random) -> float:
        """Backoff before the restart that follows *consecutive* earlier quick failures."""
        exponent = min(max(consecutive, 0), 64)
        raw = min(self.max_backoff_s, self.min_backoff_s * 2.0**exponent)
        return raw * (1.0 + self.random_factor * rng())


@dataclass(slots=True)
class RestartTracker:
    """The mutable restart bookkeeping of one worker slot, driven by `RestartPolicy`.

    Call `started` when a process comes up and `exited` when it goes down; `exited`
    answers how long to wait before the next start, or None when the intensity is exceeded
    (the slot is then degraded).
    """

    policy: RestartPolicy
    _restarts: deque[float] = field(default_factory=deque)
    _consecutive: int = 0
    _started_at: float | None = None

    def started(self, now: float) -> None:
        """A process of this slot is up (time *now*)."""
        self._started_at = now

    def exited(self, now: float, rng: Random) -> float | None:
        """A process died at *now*: seconds to wait before restarting, or None to give up."""
        if self._started_at is not None and now - self._started_at >= self.policy.reset_after_s:
            self._consecutive = 0
        self._started_at = None
        while self._restarts and now - self._restarts[0] > self.policy.window_s:
            self._restarts.popleft()
        if len(self._restarts) >= self.policy.max_restarts:
            return None
        self._restarts.append(now)
        delay = self.policy.next_delay(self._consecutive, rng)
        self._consecutive += 1
        return delay

    @property
    def recent_restarts(self) -> int:
        """Restarts counted in the current window."""
        return len(self._restarts)
