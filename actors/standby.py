"""The Scheduler's side of leadership: standing by as a follower, leading under a term.

Why a module of its own: the Scheduler dispatches; *whether* it may dispatch, with several
instances on one store (`actors.lease`), is a concept of its own. `Standby` is mixed into
`actors.scheduler.Scheduler` and handles `actors.leadermessages`:

* `Follow`: stand by: dispatch nothing, save no job record, forget the waiting line. Runs
  in flight finish and are recorded by their workers and the Journal as usual; their
  outcomes are not applied to the timetable (their term is not the current one).
* `MirrorJobs`: while standing by, the timetable is a copy of the stored job records, so
  the panel and the API of a follower read the schedule as the leader saved it.
* `Lead`: forget the mirror, take the term and the lease's deadline, dispatch again; the
  System then restores the schedule from the store and the run ledger, as after a restart.
* `LeaseRenewed`: move the deadline of claims; dispatch what waited for it.

It runs in the Scheduler's thread; the state is `SchedulerState`'s.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import structlog

from actors.leadermessages import Follow, Forward, Lead, LeaseRenewed, MirrorJobs
from actors.routing import Directory
from actors.schedstate import SchedulerState
from actors.slots import slot_id
from actors.streammessages import StreamArrived
from actors.waker import Waker

log = structlog.get_logger("das_actors.scheduler")


class _Scheduler(Protocol):
    """What these handlers use of `actors.scheduler.Scheduler`."""

    _s: SchedulerState
    _dir: Directory
    _clock: Callable[[], float]
    _waker: Waker | None

    def _dispatch(self) -> None: ...


class Standby:
    """Mixed into the Scheduler: the handlers of `actors.leadermessages` (see the module docstring)."""

    def _lead(self: _Scheduler, message: Lead) -> list[str]:
        s = self._s
        in_flight = [slot_id(run.job_id, run.slot) for _, run in s.running.values() if run.slot is not None]
        s.timetable.reset()
        s.waiting.clear()
        s.ahead.clear()
        s.dirty.clear()
        s.deleted.clear()
        s.stream_counts.clear()
        s.term = s.timetable.term = message.term
        s.lease_deadline, s.lease_lapsed, s.live_owners = message.deadline, False, message.live
        s.standby = False
        log.info("scheduler.leading", term=message.term, runs_in_flight=len(in_flight))
        return in_flight

    def _follow(self: _Scheduler, message: Follow) -> bool:
        s = self._s
        s.standby = True
        s.term = s.timetable.term = 0
        s.lease_deadline, s.lease_lapsed = None, False
        s.waiting.clear()
        s.ahead.clear()
        s.dirty.clear()
        s.deleted.clear()
        if self._waker is not None:
            self._waker.wake_at(None)
        log.info("scheduler.standing_by", reason=message.reason, runs_in_flight=len(s.running))
        return True

    def _lease_renewed(self: _Scheduler, message: LeaseRenewed) -> None:
        s = self._s
        s.lease_deadline, s.live_owners = message.deadline, message.live
        if s.lease_lapsed:
            s.lease_lapsed = False
            log.info("lease.confirmed", term=s.term)
            self._dispatch()

    def _mirror(self: _Scheduler, message: MirrorJobs) -> int:
        s = self._s
        if not s.standby:
            return 0
        now, tt = self._clock(), s.timetable
        tt.reset()
        for record in message.records:
            tt.mirror(record, now)
        return len(tt)

    def _forward_stream(self: _Scheduler, message: StreamArrived) -> bool:
        """A follower's stream consumer stored messages: the leader runs the jobs waiting for them.
        True when forwarded (standing by), False when this scheduler leads and handles it."""
        if not self._s.standby:
            return False
        self._dir.tell_leadership(Forward(message))
        return True

    def _standby_running(self: _Scheduler) -> list[dict[str, Any]]:
        """A follower's runs in progress: those the stored records show (on the leader), no worker slot."""
        return [{**job.running.to_wire(), "slot": None, "due_slot": job.running.slot, "run_id": job.running.run_id,
                 "on": "leader"}
                for job in self._s.timetable.jobs() if job.running is not None]
