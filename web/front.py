"""The asynchronous front of the web server: waitress, plus a deadline on reading a request.

Why: cheroot gave a connection to one of its 16 threads as soon as bytes arrived, and the
thread then blocked reading the request line and headers. Sixteen clients trickling one
byte a second held every thread: the panel, the API and ``/healthz`` stopped answering,
before any authentication. Waitress reads every connection in one event loop (``poll``)
and hands a thread only a request it has buffered whole, headers and body; a slow client
costs a socket and a buffer, not a thread (measured in ``benchmarks/web_doors.py``).

What a client can still hold is bounded by `FrontLimits`:

- ``connection_limit``: open connections (the loop stops accepting beyond it; lowered to
  leave `RESERVED_FDS` descriptors of the process's limit for the store, pipes and logs,
  since an accept failing for want of descriptors would spin the loop);
- ``request_timeout_s``: a request must have arrived whole within this many seconds of
  the connection (or, on a kept-alive connection, of its first byte), however steadily it
  trickles (`_DeadlineChannel`, checked every ``CLEANUP_INTERVAL_S``); waitress's own
  ``channel_timeout`` (``idle_timeout_s``) closes kept-alive connections idle between
  requests. Holding every connection then takes a flood of new ones, not a few slow ones;
- header and body sizes (a body larger than the API takes is refused before it is read; with
  object uploads, ``object_max_size`` and a little more).

A request that carries a large body (an upload) gets ``request_timeout_s`` plus the time its
bytes take at ``min_upload_bytes_per_s``: an honest upload keeps its connection as long as it
moves, a trickle is still cut after ``request_timeout_s``.

``channel_request_lookahead`` keeps a connection readable while its request runs, so a
client that hangs up is seen at once (``environ["waitress.client_disconnected"]``, used by
the live tail to free its slot).
"""

from __future__ import annotations

import resource
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog
from waitress import wasyncore
from waitress.channel import HTTPChannel
from waitress.server import TcpWSGIServer

from web.params import MAX_BODY_BYTES

log = structlog.get_logger("das_actors.web")

#: Seconds between two sweeps for idle or overdue connections.
CLEANUP_INTERVAL_S = 0.5
#: Seconds the event loop waits in poll() when nothing happens (also the stop latency).
LOOP_TIMEOUT_S = 0.5
#: File descriptors kept for everything but client connections.
RESERVED_FDS = 256


@dataclass(frozen=True, slots=True)
class FrontLimits:
    """What the front lets clients hold (the ``web_*`` options give them)."""

    #: Request threads (live tails hold one each while they stream).
    threads: int = 16
    #: Open connections at once.
    connection_limit: int = 1000
    #: Seconds a client has to send a whole request once it has begun.
    request_timeout_s: float = 15.0
    #: Seconds an idle keep-alive connection (between requests, nothing running) is kept.
    idle_timeout_s: float = 30.0
    #: Largest request head (request line and headers), bytes.
    max_header_bytes: int = 64 * 1024
    #: Largest request body, bytes (a form is URL-encoded JSON: a little over the API's limit;
    #: `web.app.app_for` raises it to what an object upload may take).
    max_body_bytes: int = 4 * MAX_BODY_BYTES
    #: Each byte of a request received extends its deadline by 1/this many seconds (uploads).
    min_upload_bytes_per_s: float = 64 * 1024

    def __post_init__(self) -> None:
        if self.threads < 2 or self.connection_limit < 1 or self.request_timeout_s <= 0 or self.idle_timeout_s <= 0:
            raise ValueError(f"FrontLimits: threads >= 2, connection_limit >= 1 and positive timeouts expected, "
                             f"got {self!r}")


def fitting_connection_limit(wanted: int) -> int:
    """*wanted*, lowered (with a warning) to what the descriptor limit leaves for connections."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or wanted <= soft - RESERVED_FDS:
        return wanted
    fitting = max(16, soft - RESERVED_FDS)
    log.warning("web.connection_limit_lowered", wanted=wanted, used=fitting, open_files_limit=soft,
                note="raise the limit (ulimit -n) to keep more connections")
    return fitting


class _DeadlineChannel(HTTPChannel):  # type: ignore[misc]  # waitress has no type hints
    """A waitress channel that remembers when its current, incomplete request began.

    A new connection's first request begins at the connection (a client that connects and
    says nothing is as slow as one that trickles); a later one at its first byte (between
    requests, waitress's idle timeout applies).
    """

    request_began: float | None = None
    #: Bytes of the current, incomplete request received so far.
    request_bytes: int = 0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.request_began = time.monotonic()

    def received(self, data: bytes) -> bool:
        """Waitress's parser, with the start of an incomplete request noted (and its bytes counted)."""
        if data and self.request is None and self.request_began is None:
            self.request_began = time.monotonic()
            self.request_bytes = 0
        self.request_bytes += len(data)
        done: bool = super().received(data)
        if self.request is None:
            self.request_began = None
            self.request_bytes = 0
        return done


class FrontServer(TcpWSGIServer):  # type: ignore[misc]  # waitress has no type hints
    """Waitress's TCP server with `_DeadlineChannel`, a stoppable loop and bounded shutdown."""

    channel_class = _DeadlineChannel

    def __init__(self, app: Callable[..., Any], host: str, port: int, limits: FrontLimits) -> None:
        self.limits = limits
        self._stopping = threading.Event()
        self._closed = threading.Event()
        # The loop closes the trigger once it sees the stop; `stop` must not write to it after that
        # (EBADF, or worse a descriptor number already reused): both sides decide under this lock.
        self._trigger_lock = threading.Lock()
        self._closing = False
        super().__init__(
            app, host=host, port=port, threads=limits.threads,
            connection_limit=fitting_connection_limit(limits.connection_limit),
            channel_timeout=limits.idle_timeout_s, cleanup_interval=CLEANUP_INTERVAL_S,
            asyncore_use_poll=True, asyncore_loop_timeout=LOOP_TIMEOUT_S, channel_request_lookahead=1,
            max_request_header_size=limits.max_header_bytes, max_request_body_size=limits.max_body_bytes,
            ident="das-actors", expose_tracebacks=False)

    def maintenance(self, now: float) -> None:
        """Waitress's idle sweep, then close connections whose request is overdue."""
        super().maintenance(now)
        cutoff = time.monotonic() - self.limits.request_timeout_s
        for channel in list(self.active_channels.values()):
            began = getattr(channel, "request_began", None)
            if began is not None:
                began += getattr(channel, "request_bytes", 0) / self.limits.min_upload_bytes_per_s
            if began is not None and began < cutoff and not channel.requests and not channel.will_close:
                channel.will_close = True
                log.debug("web.request_timed_out", client=channel.addr[0] if channel.addr else None,
                         timeout_s=self.limits.request_timeout_s)

    def run(self) -> None:
        """The event loop, until `stop` (runs in the server thread)."""
        try:
            while not self._stopping.is_set():
                wasyncore.poll2(LOOP_TIMEOUT_S, self._map)
            with self._trigger_lock:
                self._closing = True
            self._close_all()
        finally:
            self._closed.set()

    def _close_all(self) -> None:
        for dispatcher in list(self._map.values()):
            try:
                dispatcher.close()
            except OSError:
                pass

    def stop(self, timeout_s: float) -> None:
        """Stop accepting, let requests in progress finish (at most *timeout_s*), close everything."""
        self.accepting = False  # readable() is False from now on: no new connection
        self.task_dispatcher.shutdown(cancel_pending=True, timeout=timeout_s)
        with self._trigger_lock:
            self._stopping.set()
            if not self._closing:
                self.pull_trigger()  # wake the loop (it has not closed the trigger yet)
        if not self._closed.wait(timeout_s + 1.0):
            log.warning("web.stop_slow", timeout_s=timeout_s)
