"""The live tails (Server-Sent Event streams) an app is serving, counted and stoppable.

Why a module of its own: a tail holds a request thread for as long as it streams, so the
app caps how many may be open (a full cap is a 503 with ``Retry-After``) and the server ends
them all at shutdown; the stream itself is `web.sse`'s business.
"""

from __future__ import annotations

import threading

from actors.errors import RefusedError


class Tails:
    """The live tails (SSE streams) being served, so shutdown can end them all at once."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._stops: set[threading.Event] = set()
        self._lock = threading.Lock()

    def open(self) -> threading.Event:
        """A stop event for a new stream; 503 when `limit` streams are already open."""
        with self._lock:
            if len(self._stops) >= self.limit:
                raise RefusedError(f"too many live tails open ({self.limit}); close one and retry", status=503)
            stop = threading.Event()
            self._stops.add(stop)
            return stop

    def close(self, stop: threading.Event) -> None:
        """Forget (and stop) one stream."""
        stop.set()
        with self._lock:
            self._stops.discard(stop)

    def stop_all(self) -> None:
        """End every stream (server shutdown)."""
        with self._lock:
            stops, self._stops = list(self._stops), set()
        for stop in stops:
            stop.set()

    def __len__(self) -> int:
        with self._lock:
            return len(self._stops)
