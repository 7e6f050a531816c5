"""Failed logins slow the guesser down: exponential backoff per client address.

Why: the login form and the Bearer header checked 1,800 wrong tokens a second from one
client, logged none of them and never slowed down, so a short token fell to brute force.
`LoginThrottle` counts the failed token checks of each client (an IPv4 address, or the /64
network of an IPv6 one, since one host owns a whole /64). The first `free_failures` cost
nothing; after that each failure locks the client out for ``base_delay_s * 2**k`` seconds,
at most `max_delay_s`. While locked out, its attempts are refused (429 with Retry-After)
*without* checking the token, so a lucky guess cannot be told from a wrong one. A success
clears the record; a record is forgotten `max_delay_s` after its lockout ends. The table is
bounded (`max_clients`, oldest dropped first).

The client is the TCP peer (``REMOTE_ADDR``), never ``X-Forwarded-For``, which anyone can
send. Behind a reverse proxy every client shares the proxy's address and its lockout: the
price of not trusting a header. Pure bookkeeping with an injectable clock: no I/O, no logs
(`web.security` logs each failure).
"""

from __future__ import annotations

import ipaddress
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

#: Failed logins of one client that cost nothing (typos).
FREE_FAILURES = 5
#: Lockout after the first failure beyond the free ones, doubled by each further failure.
BASE_DELAY_S = 1.0
#: Longest lockout.
MAX_DELAY_S = 60.0
#: Clients remembered at once.
MAX_CLIENTS = 10_000


def client_key(address: str) -> str:
    """The unit a lockout applies to: the IPv4 address, or the /64 network of an IPv6 address."""
    try:
        ip = ipaddress.ip_address(address.strip().split("%")[0])
    except ValueError:
        return address.strip()[:64] or "unknown"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


@dataclass(slots=True)
class _Record:
    failures: int
    locked_until: float


class LoginThrottle:
    """Per-client failure counts and lockouts (thread-safe)."""

    def __init__(self, *, free_failures: int = FREE_FAILURES, base_delay_s: float = BASE_DELAY_S,
                 max_delay_s: float = MAX_DELAY_S, max_clients: int = MAX_CLIENTS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if free_failures < 0 or not 0 < base_delay_s <= max_delay_s or max_clients < 1:
            raise ValueError(f"LoginThrottle: free_failures={free_failures} >= 0, 0 < base_delay_s={base_delay_s} "
                             f"<= max_delay_s={max_delay_s}, max_clients={max_clients} >= 1 expected")
        self.free_failures = free_failures
        self.base_delay_s = base_delay_s
        self.max_delay_s = max_delay_s
        self.max_clients = max_clients
        self._clock = clock
        self._records: OrderedDict[str, _Record] = OrderedDict()
        self._lock = threading.Lock()

    def delay_after(self, failures: int) -> float:
        """Seconds a client is locked out after its *failures*-th failure."""
        beyond = failures - self.free_failures
        if beyond <= 0:
            return 0.0
        return min(self.max_delay_s, self.base_delay_s * 2.0 ** min(beyond - 1, 60))

    def retry_after(self, address: str) -> float:
        """Seconds before *address* may try again (0.0: now)."""
        now = self._clock()
        with self._lock:
            record = self._records.get(client_key(address))
            return 0.0 if record is None else max(0.0, record.locked_until - now)

    def failed(self, address: str) -> tuple[int, float]:
        """Count a failed login of *address*: ``(failures so far, seconds locked out now)``."""
        now = self._clock()
        key = client_key(address)
        with self._lock:
            self._forget(now)
            record = self._records.pop(key, None) or _Record(0, now)
            record.failures += 1
            delay = self.delay_after(record.failures)
            record.locked_until = max(record.locked_until, now + delay)
            self._records[key] = record  # most recent last
            while len(self._records) > self.max_clients:
                self._records.popitem(last=False)
            return record.failures, delay

    def succeeded(self, address: str) -> None:
        """A correct token from *address*: forget its failures."""
        with self._lock:
            self._records.pop(client_key(address), None)

    def _forget(self, now: float) -> None:
        """Drop records whose lockout ended more than `max_delay_s` ago (lock held).

        Oldest updates first, stopping at the first record still in force: cheap per call,
        and whatever it leaves behind the size bound removes.
        """
        while self._records:
            key, record = next(iter(self._records.items()))
            if record.locked_until + self.max_delay_s >= now:
                break
            del self._records[key]

    def __len__(self) -> int:
        with self._lock:
            return len(self._records)


def retry_after_header(seconds: float) -> str:
    """The Retry-After value (whole seconds, at least 1) for a lockout of *seconds*."""
    return str(max(1, math.ceil(seconds)))
