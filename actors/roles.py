"""The System's side of several instances: taking the lead, standing by, the SQLite lock.

Why a module of its own: `actors.system` owns the order of start and shutdown; what changes
when this instance becomes leader or follower (`actors.lease`) is a concept of its own.
`Roles` is mixed into `actors.system.System`; its hooks run in the `Leadership` actor's
thread (`actors.leadership.RoleHooks`):

* **promote** (the lease taken under a new term): the Scheduler forgets its mirror (`Lead`),
  then the restore of a start runs: job records and ledger heads from the store, runs that
  were in flight recorded ``interrupted`` and resumed under the retry budget, missed slots
  planned by the misfire policy. Runs in flight on an instance still alive (a leader that
  stepped down finishing its runs, or this one's own from an earlier term) are left to it.
* **demote**: the Scheduler stands by (`Follow`), the mirror is read again.
* **mirror**: a follower's copy of the stored job records (`MirrorJobs`), for reads.
* **execute**: a command a follower stored, applied here (the leader), its record saved
  before the answer goes back so the follower shows the change at once.

On SQLite there is no lease: `InstanceLock` refuses a second server on the same file.
"""

from __future__ import annotations

import os
import socket
import time
from typing import Any, Protocol

import pykka
import structlog

from actors import __version__
from actors.config import Settings
from actors.errors import ActorUnavailableError, NotFoundError
from actors.leadermessages import Follow, Lead, LeaseRenewed, LeaseTick, MirrorJobs, Release, Resign, RoleChanged
from actors.leadership import Leadership, RoleHooks
from actors.lease import Lease, LeaseStore, Role, describe_instances
from actors.messages import CancelRun, GetStatus, ListRunning
from actors.relay import STREAM_COMMANDS, RelayStore
from actors.routing import Directory
from actors.store import Store
from actors.store.instancelock import InstanceLock
from actors.streammessages import StreamArrived

log = structlog.get_logger("das_actors.system")

#: Longest wait for the first leadership tick at start (taking the lease runs the whole restore).
FIRST_TICK_TIMEOUT_S = 600.0
#: Job records read per chunk for a follower's mirror.
MIRROR_CHUNK = 5_000
#: Timeout of the asks a role change makes.
ROLE_ASK_TIMEOUT_S = 30.0


class _System(Protocol):
    """What these methods use of `actors.system.System`."""

    settings: Settings
    store: Store
    directory: Directory
    instance_id: str
    started_at: float
    web_url: str | None
    leases: LeaseStore | None
    _leadership: pykka.ActorRef[Any] | None
    _lock: InstanceLock | None

    def _ask_here(self, command: Any, timeout: float = ...) -> Any: ...

    def _ask_streams_here(self, command: Any, timeout: float = ...) -> Any: ...

    def _restore(self, live: frozenset[str] = ..., mine: frozenset[str] = ...) -> None: ...

    def _unlock(self) -> None: ...

    def flush(self, timeout: float = ...) -> None: ...

    def _promote(self, lease: Lease, deadline: float, live: frozenset[str]) -> None: ...

    def _demote(self, reason: str) -> None: ...

    def _renewed(self, deadline: float, live: frozenset[str]) -> None: ...

    def _mirror(self) -> None: ...

    def _execute(self, command: Any) -> Any: ...


class Roles:
    """Mixed into the System: see the module docstring."""

    _leadership: pykka.ActorRef[Any] | None = None
    _lock: InstanceLock | None = None

    # ------------------------------------------------------------------ start and shutdown
    def _lock_sqlite(self: _System) -> None:
        """One server per SQLite store file (`InstanceLock`); nothing for other stores."""
        path = getattr(self.store, "path", None)
        if self.store.kind != "sqlite" or not isinstance(path, str) or path == ":memory:" or self._lock is not None:
            return
        self._lock = InstanceLock(path).acquire(
            f"pid {os.getpid()} on {socket.gethostname()}, started {time.strftime('%Y-%m-%d %H:%M:%S')}")

    def _unlock(self: _System) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def _start_leadership(self: _System) -> None:
        """Start the Leadership actor and run its first tick now: start() returns leader or follower."""
        assert self.leases is not None
        identity = {"id": self.instance_id, "host": socket.gethostname(), "pid": os.getpid(),
                    "started_at": self.started_at, "web_url": self.web_url, "version": __version__,
                    "workers": self.settings.workers, "compute": self.settings.compute}
        hooks = RoleHooks(promote=self._promote, demote=self._demote, renewed=self._renewed, mirror=self._mirror,
                          execute=self._execute)
        relay = self.store if isinstance(self.store, RelayStore) else None
        ref = Leadership.start(self.leases, relay, identity, ttl_s=float(self.settings.lease_ttl), hooks=hooks,
                               directory=self.directory)
        self._leadership = self.directory.leadership = ref
        ref.ask(LeaseTick(), timeout=FIRST_TICK_TIMEOUT_S)

    def _resign(self: _System) -> None:
        """Shutdown, first: take no lease, apply no command (a leader keeps renewing while it drains)."""
        if self._leadership is not None and self._leadership.is_alive():
            try:
                self._leadership.ask(Resign(), timeout=ROLE_ASK_TIMEOUT_S)
            except (pykka.Timeout, pykka.ActorDeadError):
                log.warning("leadership.resign_unanswered")

    def _release(self: _System) -> None:
        """Shutdown, last: end the lease (a follower takes over at its next look), stop the actor."""
        ref, self._leadership = self._leadership, None
        self.directory.leadership = None
        if ref is not None and ref.is_alive():
            try:
                ref.ask(Release(), timeout=ROLE_ASK_TIMEOUT_S)
            except (pykka.Timeout, pykka.ActorDeadError):
                log.warning("leadership.release_unanswered", note="the lease lapses by itself after its ttl")
            ref.stop(block=True, timeout=ROLE_ASK_TIMEOUT_S)
        self._unlock()

    # ------------------------------------------------------------------ hooks (Leadership's thread)
    def _promote(self: _System, lease: Lease, deadline: float, live: frozenset[str]) -> None:
        started = time.monotonic()
        resync_seq = getattr(self.store, "resync_seq", None)
        if callable(resync_seq):  # another server wrote while this one followed (actors.store.mongo_seq)
            resync_seq()
        mine = frozenset(self._ask_here(Lead(lease.term, deadline, live), timeout=ROLE_ASK_TIMEOUT_S))
        self.directory.term = lease.term
        self._restore(live, mine)
        self.directory.role = str(Role.LEADER)
        self.directory.tell_streams(RoleChanged(leading=True, term=lease.term))
        log.warning("leader.ready", instance=self.instance_id, term=lease.term,
                    restore_s=round(time.monotonic() - started, 3), left_to_others=sorted(live),
                    own_runs_in_flight=len(mine))

    def _demote(self: _System, reason: str) -> None:
        self.directory.role = str(Role.FOLLOWER)
        self.directory.term = 0
        self._ask_here(Follow(reason), timeout=ROLE_ASK_TIMEOUT_S)
        self.directory.tell_streams(RoleChanged(leading=False))
        self._mirror()

    def _renewed(self: _System, deadline: float, live: frozenset[str]) -> None:
        ref = self.directory.scheduler
        if ref is not None:
            try:
                ref.tell(LeaseRenewed(deadline, live))
            except pykka.ActorDeadError:
                pass

    def _mirror(self: _System) -> None:
        """A follower's copy of the stored job records, for the panel and the API."""
        if self.directory.leading:
            return
        records = list(self.store.iter_jobs(MIRROR_CHUNK))
        self._ask_here(MirrorJobs(tuple(records)), timeout=ROLE_ASK_TIMEOUT_S)

    def _execute(self: _System, command: Any) -> Any:
        """Apply a follower's command on this leader; the change is stored before the answer."""
        if isinstance(command, StreamArrived):
            self.directory.tell_scheduler(command)
            return None
        if isinstance(command, CancelRun):
            return _cancel_here(self, command.run_id)
        if isinstance(command, STREAM_COMMANDS):
            return self._ask_streams_here(command)
        answer = self._ask_here(command)
        self.flush()
        return answer

    # ------------------------------------------------------------------ views
    def leadership(self: _System) -> dict[str, Any]:
        """This instance's role: ``{"instance", "role", "term", "lease_until", "lease_confirmed", ...}``.
        A server alone on its store (SQLite, or ``lease_ttl`` 0) is its own leader, term 0."""
        ref = self._leadership
        if ref is None:
            return {"instance": self.instance_id, "role": str(Role.LEADER), "term": 0, "lease_until": None,
                    "lease_ttl_s": None, "lease_confirmed": True, "alone": True}
        try:
            status: dict[str, Any] = dict(ref.ask(GetStatus(), timeout=2.0))  # type: ignore[arg-type]
        except (pykka.Timeout, pykka.ActorDeadError) as exc:
            raise ActorUnavailableError(f"the leadership actor did not answer: {type(exc).__name__}") from exc
        status["role"] = self.directory.role  # the System's view: leader only once the restore is done
        return status

    def instances(self: _System) -> list[dict[str, Any]]:
        """Every instance on this store: id, host, pid, role, term, lease end, heartbeat and its age,
        alive. A server alone on its store lists itself."""
        if self.leases is None:
            now = time.time()
            return [{"id": self.instance_id, "host": socket.gethostname(), "pid": os.getpid(),
                     "started_at": self.started_at, "web_url": self.web_url, "role": str(Role.LEADER), "term": 0,
                     "lease_until": None, "heartbeat": now, "heartbeat_age_s": 0.0, "alive": True,
                     "version": __version__, "alone": True}]
        now = self.leases.server_time()
        found = describe_instances(self.leases.instances(), self.leases.read_lease(), now)
        for doc in found:
            doc["self"] = doc.get("id") == self.instance_id
        return found


def _cancel_here(system: _System, run_id: str) -> dict[str, Any]:
    """Cancel a run on this instance's workers (the leader's side of a relayed cancel)."""
    for run in system._ask_here(ListRunning()):
        if run["run_id"] == run_id and run.get("slot") is not None:
            if not system.directory.tell_worker(run["slot"], CancelRun(run_id)):
                raise ActorUnavailableError(f"worker {run['slot']} is not there to cancel {run_id}")
            log.info("run.cancel_requested", run=run_id, job=run["name"], relayed=True)
            return {"run_id": run_id, "cancelling": True}
    raise NotFoundError(f"no running run {run_id!r}")


__all__ = ["Roles"]
