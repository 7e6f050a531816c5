"""Leadership actor: holds or watches the lease, beats, and hands followers' commands to the leader.

Why an actor of its own: with several servers on one MongoDB (`actors.lease` says why one
leads), something must renew the lease on time whatever the Scheduler is busy with, notice
when it lapsed elsewhere, and switch this instance's role. One `Leadership` per System, on
its own thread, driven by its own timer (`LeaseTick`, every ``ttl / 3``):

* **leader**: the lease is renewed by a `LeaseKeeper` on a thread of its own (so a long
  restore or a slow command never costs the lease); the tick tells the Scheduler who else is
  alive (`LeaseRenewed`), and every `relay.POLL_S` the commands followers stored are applied
  (`actors.relay`). The lease lost (`LeaseLost`: another instance took it, or a renewal came
  back after our own deadline) or a claim that met a newer term (`Fenced`) steps down at once.
* **follower**: try to take the lease (only a lapsed one can be taken), else look again at
  the lease's end or in ``ttl / 3``; refresh the mirror of the stored job records.
* both: write this instance's heartbeat document (the panel's Instances table, and how a
  new leader tells a live instance's runs in flight from a dead one's).

Role changes are the System's business (restore, mirror): `RoleHooks` are its callables,
called in this actor's thread. What this actor raises is logged, never fatal: a tick that
failed is retried at the next.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pykka
import structlog

from actors.errors import DasActorsError
from actors.leadermessages import Fenced, Forward, LeaseLost, LeaseTick, RelayPoll, Release, Resign
from actors.lease import (
    Lease,
    LeaseStore,
    Role,
    follower_wait,
    live_others,
    local_deadline,
    renew_every,
)
from actors.leasekeeper import LeaseKeeper
from actors.messages import GetStatus
from actors.relay import KEEP_S as RELAY_KEEP_S
from actors.relay import POLL_S, RelayClient, RelayStore, decode, error_fields
from actors.routing import Directory, TimerHandle, tell_later

log = structlog.get_logger("das_actors.leadership")

#: Documents of instances not heard of for this long are deleted (by the leader).
FORGET_INSTANCES_AFTER_S = 86400.0
#: How often the leader deletes old instance documents and answered commands.
PRUNE_EVERY_S = 600.0
#: Most commands applied per poll (the rest at the next poll).
COMMANDS_PER_POLL = 50
#: A follower re-reads the job records at most every MIRROR_COST_FACTOR times what the last read took.
MIRROR_COST_FACTOR = 20.0


@dataclass(frozen=True, slots=True)
class RoleHooks:
    """The System's side of a role change (called in the Leadership thread)."""

    promote: Callable[[Lease, float, frozenset[str]], None]  # the lease taken, claims' deadline, live others
    demote: Callable[[str], None]  # why
    renewed: Callable[[float, frozenset[str]], None]  # new deadline, live others
    mirror: Callable[[], None]  # refresh the follower's copy of the job records
    execute: Callable[[Any], Any]  # apply a follower's command here (the leader); its JSON-safe answer


class Leadership(pykka.ThreadingActor):
    """See the module docstring. *identity*: what this instance's document shows (``id``, ``host``...)."""

    def __init__(self, leases: LeaseStore, relay: RelayStore | None, identity: Mapping[str, Any], *, ttl_s: float,
                 hooks: RoleHooks, directory: Directory) -> None:
        super().__init__()
        self._leases = leases
        self._relay = relay
        self._identity = dict(identity)
        self._me = str(identity["id"])
        self._ttl = ttl_s
        self._hooks = hooks
        self._dir = directory
        self.role = Role.FOLLOWER
        self._keeper: LeaseKeeper | None = None  # renews our lease, while leading
        self._seen: Lease | None = None  # the lease as last read
        self._since = time.time()
        self._live: frozenset[str] = frozenset()
        self._tick_timer: TimerHandle | None = None
        self._poll_timer: TimerHandle | None = None
        self._resigning = False
        self._released = False
        self._failing_since: float | None = None
        self._next_mirror = 0.0
        self._last_prune = 0.0
        self._stats = {"elected": 0, "stepped_down": 0, "commands": 0, "tick_failures": 0}
        self._why_stepped_down: str | None = None

    def on_stop(self) -> None:
        """Actor thread: cancel the timers."""
        self._cancel_timers()

    def on_receive(self, message: Any) -> Any:
        """Actor thread: the timers, `Fenced` from the Scheduler, `Forward` from a follower's Scheduler,
        `GetStatus`, and `Resign`/`Release` from the System at shutdown."""
        if isinstance(message, LeaseTick):
            return self._tick()
        if isinstance(message, RelayPoll):
            return self._poll()
        if isinstance(message, Fenced):
            if self.role is Role.LEADER:
                self._step_down(f"a claim met term {message.term}, newer than ours ({self._term})")
            return None
        if isinstance(message, LeaseLost):
            if self.role is Role.LEADER and message.term == self._term:
                self._step_down(message.reason)
            return None
        if isinstance(message, Forward):
            return self._forward(message.message)
        if isinstance(message, GetStatus):
            return self.status()
        if isinstance(message, Resign):
            self._resigning = True
            if self._poll_timer is not None:
                self._poll_timer.cancel()
            return self.status()
        if isinstance(message, Release):
            return self._release()
        log.error("leadership.unknown_message", message=repr(message)[:200])
        return None

    # ------------------------------------------------------------------ the tick
    @property
    def _lease(self) -> Lease | None:
        return self._keeper.lease if self._keeper is not None else None

    @property
    def _deadline(self) -> float:
        return self._keeper.deadline if self._keeper is not None else 0.0

    @property
    def _term(self) -> int:
        lease = self._lease
        return lease.term if lease is not None else 0

    def _tick(self) -> dict[str, Any]:
        if self._released:
            return self.status()
        self._tick_timer = None
        wait = renew_every(self._ttl)
        try:
            asked = time.monotonic()
            now = self._leases.server_time()
            if self.role is not Role.LEADER and not self._resigning:
                taken = self._leases.acquire_lease(self._me, self._ttl, now)
                if taken is not None:
                    self._take(taken, asked, now)
                else:
                    self._seen = self._leases.read_lease()
                    wait = follower_wait(self._ttl, self._seen, now)
            self._beat(now)
            self._live = live_others(self._leases.instances(), self._me, now)
            if self.role is Role.LEADER:
                self._hooks.renewed(self._deadline, self._live)
                self._prune(now)
            elif not self._resigning and time.monotonic() >= self._next_mirror:
                started = time.monotonic()
                self._hooks.mirror()
                self._next_mirror = started + MIRROR_COST_FACTOR * (time.monotonic() - started)
            if self._failing_since is not None:
                log.info("leadership.store_back", down_s=round(time.time() - self._failing_since, 3))
                self._failing_since = None
        except Exception as exc:  # noqa: BLE001 - a failed tick is retried at the next; never fatal
            self._stats["tick_failures"] += 1
            if self._failing_since is None:
                self._failing_since = time.time()
                log.error("leadership.tick_failed", role=str(self.role), error=f"{type(exc).__name__}: {exc}",
                          note="retried every tick; a leader claims nothing past its lease's deadline")
            wait = min(wait, 1.0)
        if not self._released:
            self._tick_timer = tell_later(self.actor_ref, wait, LeaseTick())
        return self.status()

    def _take(self, lease: Lease, asked: float, now: float) -> None:
        """The lease is ours: keep it renewed, beat as leader, learn who else is alive, let the System
        restore."""
        self._seen = lease
        ref = self.actor_ref
        self._keeper = LeaseKeeper(self._leases, self._me, lease, self._ttl, local_deadline(asked, self._ttl),
                                   renewed=lambda deadline: self._hooks.renewed(deadline, self._live),
                                   lost=lambda reason: ref.tell(LeaseLost(lease.term, reason))).start()
        self.role = Role.LEADER
        self._since = time.time()
        self._stats["elected"] += 1
        self._beat(now)
        self._live = live_others(self._leases.instances(), self._me, now)
        log.warning("leader.elected", instance=self._me, term=lease.term, others_alive=sorted(self._live))
        try:
            self._hooks.promote(lease, self._deadline, self._live)
        except Exception as exc:  # noqa: BLE001 - a half-restored leader must not lead: give the lease back
            log.error("leader.promotion_failed", term=lease.term, error=f"{type(exc).__name__}: {exc}",
                      note="this instance stays a follower and ends its lease; another may take over")
            self._step_down("the promotion failed")
            try:
                self._leases.release_lease(self._me, lease.term)
            except DasActorsError:
                pass
            return
        self._poll_timer = tell_later(self.actor_ref, 0.0, RelayPoll())

    def _step_down(self, reason: str) -> None:
        term = self._term
        self.role = Role.FOLLOWER
        if self._keeper is not None:
            self._keeper.stop()
            self._keeper = None
        self._since = time.time()
        self._next_mirror = 0.0
        self._stats["stepped_down"] += 1
        self._why_stepped_down = reason
        if self._poll_timer is not None:
            self._poll_timer.cancel()
            self._poll_timer = None
        log.warning("leader.stepped_down", instance=self._me, term=term, reason=reason)
        try:
            self._hooks.demote(reason)
        except Exception as exc:  # noqa: BLE001 - logged; the scheduler already stood by on a fence
            log.error("leader.demotion_failed", error=f"{type(exc).__name__}: {exc}")

    def _beat(self, now: float) -> None:
        lease = self._lease
        self._leases.beat({**self._identity, "role": str(self.role), "term": lease.term if lease else None,
                           "lease_until": lease.until if lease else None, "heartbeat": now, "ttl": self._ttl,
                           "since": self._since, "resigning": self._resigning})

    def _prune(self, now: float) -> None:
        if now - self._last_prune < PRUNE_EVERY_S:
            return
        self._last_prune = now
        gone = self._leases.forget_instances(beat_before=now - FORGET_INSTANCES_AFTER_S)
        if self._relay is not None:
            self._relay.prune_commands(time.time() - RELAY_KEEP_S)
        if gone:
            log.info("instances.forgotten", count=gone, note="not heard of for a day")

    # ------------------------------------------------------------------ commands
    def _poll(self) -> int:
        self._poll_timer = None
        if self.role is not Role.LEADER or self._resigning or self._relay is None:
            return 0
        applied = 0
        try:
            while applied < COMMANDS_PER_POLL and (doc := self._relay.take_command(self._me)) is not None:
                applied += 1
                self._apply(doc)
        except DasActorsError as exc:
            log.warning("relay.poll_failed", error=str(exc))
        self._stats["commands"] += applied
        self._poll_timer = tell_later(self.actor_ref, 0.0 if applied >= COMMANDS_PER_POLL else POLL_S, RelayPoll())
        return applied

    def _apply(self, doc: Mapping[str, Any]) -> None:
        assert self._relay is not None
        command_id = str(doc["_id"])
        try:
            answer = self._hooks.execute(decode(doc))
        except DasActorsError as exc:
            self._relay.finish_command(command_id, error=error_fields(exc))
            return
        except Exception as exc:  # noqa: BLE001 - the follower gets a 500 naming it; the leader goes on
            log.error("relay.command_failed", op=doc.get("op"), by=doc.get("by"), error=f"{type(exc).__name__}: {exc}")
            self._relay.finish_command(command_id, error=error_fields(exc))
            return
        self._relay.finish_command(command_id, answer=answer)
        log.info("relay.applied", op=doc.get("op"), by=doc.get("by"), command=command_id)

    def _forward(self, message: Any) -> bool:
        """An event for the leader from this (follower's) scheduler: store it; the leader's poll tells its scheduler."""
        if self.role is Role.LEADER:
            self._dir.tell_scheduler(message)
            return True
        if self._relay is None:
            return False
        try:
            RelayClient(self._relay, self._me).send(message)
        except DasActorsError as exc:
            log.warning("relay.forward_failed", message=type(message).__name__, error=str(exc))
            return False
        return True

    # ------------------------------------------------------------------ status and shutdown
    def status(self) -> dict[str, Any]:
        """This instance's role, term, lease end, whether claims may go on, the others alive, counters."""
        lease = self._lease if self.role is Role.LEADER else self._seen
        confirmed = self.role is Role.LEADER and time.monotonic() < self._deadline
        return {"instance": self._me, "role": str(self.role), "term": lease.term if lease else None,
                "leader": lease.holder if lease is not None and lease.until > 0 else None,
                "lease_until": lease.until if lease else None, "lease_ttl_s": self._ttl,
                "lease_confirmed": confirmed, "since": self._since, "others_alive": sorted(self._live),
                "store_failing_since": self._failing_since, "resigning": self._resigning, "pid": os.getpid(),
                "stepped_down_because": self._why_stepped_down, **self._stats}

    def _release(self) -> bool:
        self._released = True
        self._cancel_timers()
        released = False
        keeper, self._keeper = self._keeper, None
        try:
            if keeper is not None:
                keeper.stop()
            if self.role is Role.LEADER and keeper is not None:
                released = self._leases.release_lease(self._me, keeper.lease.term)
                log.info("leader.released", term=keeper.lease.term, released=released)
            self._leases.forget_instances([self._me])
        except DasActorsError as exc:
            log.warning("leadership.release_failed", error=str(exc),
                        note="the lease lapses by itself after its ttl")
        self.role = Role.FOLLOWER
        return released

    def _cancel_timers(self) -> None:
        for timer in (self._tick_timer, self._poll_timer):
            if timer is not None:
                timer.cancel()
        self._tick_timer = self._poll_timer = None


__all__ = ["Leadership", "RoleHooks"]
