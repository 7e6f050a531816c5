"""`ReadCache`: identical reads of the panel share one answer for a fraction of a second.

Why: the server is one Python process. Fifty clients on the Schedule page and the jobs API
each asked the scheduler for a page of jobs (and the Schedule page for the metrics: three more
asks, the journal's included) and rendered 100 rows of action menus. Under a herd of 2,000
jobs the scheduler answered those asks between its dispatches, and the request threads took
the GIL from it while they rendered: pages took ~1 s (p99 2.4 s) and the herd's lateness
tripled (benchmarks/README.md, "Panel under load"). Reads of the same thing within a fraction
of a second may share one answer; this is where they do.

What is shared, and with whom:

- the *key* says what an answer depends on; a caller puts in it everything that may differ
  between two requests (the query, the role, the read-only switch ...). `web.state.WebState`
  caches pages drawn for a role with a stand-in for the session's CSRF token and puts each
  session's own token in on the way out, so no session ever sees another's token;
- staleness is bounded: an answer is *fresh* for ``ttl_s`` seconds (counted from when its
  reads began); after that, while one request draws the next answer, the others get the last
  one as long as it is younger than ``STALE_FACTOR * ttl_s``; past that they wait for it;
- a write through the web (`invalidate`, called for every request that is not a GET or a
  HEAD) starts a new generation: no answer drawn before it is served again, so the writer's
  next page shows the change. Changes made elsewhere (the scheduler's own, another
  instance's, the command line's) show within the bounds above;
- identical requests arriving together wait for the one answer being drawn (one flight per
  key and generation) rather than each drawing its own;
- at most ``max_entries`` answers are kept (the oldest go first): keys come from clients.

``ttl_s = 0`` turns the cache off (every read draws its own answer).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

#: An answer past its freshness may still be served (while a fresher one is drawn) up to this many ttl_s old.
STALE_FACTOR = 3.0
#: Answers kept at most.
MAX_ENTRIES = 256


@dataclass(slots=True)
class _Entry:
    value: Any
    at: float  # when the reads behind it began (monotonic)
    generation: int


class _Flight:
    """One answer being drawn: the waiters wait on `done`."""

    __slots__ = ("done",)

    def __init__(self) -> None:
        self.done = threading.Event()


class ReadCache:
    """Answers by key, fresh for ``ttl_s`` seconds; see the module docstring."""

    def __init__(self, ttl_s: float, *, max_entries: int = MAX_ENTRIES,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if ttl_s < 0 or max_entries < 1:
            raise ValueError(f"ReadCache: ttl_s >= 0 and max_entries >= 1 expected, got {ttl_s} and {max_entries}")
        self.ttl_s = float(ttl_s)
        self.max_age_s = STALE_FACTOR * self.ttl_s
        self.max_entries = max_entries
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self._flights: dict[tuple[Hashable, int], _Flight] = {}
        self._generation = 0
        #: Counters: answers served fresh, served stale (a fresher one being drawn), drawn.
        self.stats = {"fresh": 0, "stale": 0, "drawn": 0}

    @property
    def enabled(self) -> bool:
        """False when every read draws its own answer (``ttl_s = 0``)."""
        return self.ttl_s > 0

    def invalidate(self) -> None:
        """Forget every answer drawn so far (a write went through)."""
        with self._lock:
            self._generation += 1
            self._entries.clear()

    def get(self, key: Hashable, draw: Callable[[], Any]) -> Any:
        """The answer for *key*: a fresh one, the last one while another request draws the next,
        or the one *draw* returns (its exceptions are the caller's; nothing is kept then)."""
        if not self.enabled:
            return draw()
        while True:
            with self._lock:
                now = self._clock()
                generation = self._generation
                entry = self._entries.get(key)
                if entry is not None and entry.generation == generation:
                    age = now - entry.at
                    if age <= self.ttl_s:
                        self.stats["fresh"] += 1
                        return entry.value
                    if (key, generation) in self._flights and age <= self.max_age_s:
                        self.stats["stale"] += 1
                        return entry.value
                flight = self._flights.get((key, generation))
                if flight is None:
                    flight = self._flights[(key, generation)] = _Flight()
                    break  # this request draws
            flight.done.wait(self.max_age_s + 30.0)  # another request draws it: wait, then look again
        try:
            value = draw()
        except BaseException:
            self._land(key, generation, flight, None)
            raise
        self._land(key, generation, flight, _Entry(value, now, generation))
        return value

    def _land(self, key: Hashable, generation: int, flight: _Flight, entry: _Entry | None) -> None:
        with self._lock:
            self._flights.pop((key, generation), None)
            if entry is not None and generation == self._generation:
                self.stats["drawn"] += 1
                self._entries[key] = entry
                self._entries.move_to_end(key)
                while len(self._entries) > self.max_entries:
                    self._entries.popitem(last=False)
        flight.done.set()
