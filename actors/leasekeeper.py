"""`LeaseKeeper`: the leader's lease renewed on a thread of its own, whatever else is going on.

Why not in the `Leadership` actor's own tick: that actor also runs the restore of a takeover and
applies the commands followers relay, either of which can take longer than a lease lasts (a
takeover restore took 1.5 s on a loaded 2-core machine with ``lease_ttl`` 2 s, and the new
leader lost its lease before it had renewed once). The keeper renews every ``ttl / 3`` and
nothing else; it tells the Scheduler each new deadline of its claims, and tells the actor when
the lease is lost (the term was taken, or a renewal came back after our own deadline: the lease
may have lapsed meanwhile, so it is ended, never revived). A store error changes nothing: the
Scheduler holds its claims back once the deadline passes, and the next renewal decides.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import structlog

from actors.lease import Lease, LeaseStore, local_deadline, renew_every

log = structlog.get_logger("das_actors.leadership")

#: Shortest wait between two renewals while the store fails.
RETRY_MAX_S = 0.5
#: How long `stop` waits for the thread (it may be in a store call bounded by the store's timeouts).
STOP_WAIT_S = 0.1


class LeaseKeeper:
    """Renews *lease* for *holder* until stopped or lost; see the module docstring.

    *renewed(deadline)* and *lost(reason)* are called on the keeper's thread (tell an actor, do not
    block). `lease` and `deadline` are the latest (read them from any thread)."""

    def __init__(self, leases: LeaseStore, holder: str, lease: Lease, ttl_s: float, deadline: float, *,
                 renewed: Callable[[float], None], lost: Callable[[str], None]) -> None:
        self.lease = lease
        self.deadline = deadline
        self._leases = leases
        self._holder = holder
        self._ttl = ttl_s
        self._renewed, self._lost = renewed, lost
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"lease-keeper-{lease.term}", daemon=True)

    def start(self) -> LeaseKeeper:
        """Start renewing. Returns self."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Renew no more (the thread ends after a store call in progress)."""
        self._stop.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(STOP_WAIT_S)

    @property
    def running(self) -> bool:
        """Whether it still renews."""
        return not self._stop.is_set() and self._thread.is_alive()

    def _run(self) -> None:
        wait = renew_every(self._ttl)
        failing_since: float | None = None
        while not self._stop.wait(wait):
            wait = renew_every(self._ttl)
            term = self.lease.term
            try:
                asked = time.monotonic()
                now = self._leases.server_time()
                renewed = self._leases.renew_lease(self._holder, term, self._ttl, now)
            except Exception as exc:  # noqa: BLE001 - a failed renewal is tried again; the deadline guards claims
                if failing_since is None:
                    failing_since = time.time()
                    log.error("lease.renew_failed", term=term, error=f"{type(exc).__name__}: {exc}",
                              note="retried; no slot is claimed past the lease's deadline")
                wait = min(wait, RETRY_MAX_S)
                continue
            if self._stop.is_set():
                return
            if failing_since is not None:
                log.info("lease.renewed_again", term=term, failing_s=round(time.time() - failing_since, 3))
                failing_since = None
            if renewed is not None and time.monotonic() > self.deadline:
                try:
                    self._leases.release_lease(self._holder, term)
                except Exception:  # noqa: BLE001 - it lapses by itself
                    log.warning("lease.release_failed", term=term)
                self._stop.set()
                self._lost(f"the lease (term {term}) was not renewed within its ttl")
                return
            if renewed is None:
                try:
                    seen = self._leases.read_lease()
                except Exception:  # noqa: BLE001 - the reason is only for the log
                    seen = None
                self._stop.set()
                self._lost(f"the lease is held by {seen.holder if seen else 'nobody'} (term "
                           f"{seen.term if seen else '?'}); ours was term {term}")
                return
            self.lease, self.deadline = renewed, local_deadline(asked, self._ttl)
            self._renewed(self.deadline)
