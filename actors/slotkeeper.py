"""`SlotKeeper`: the Scheduler's side of the run ledger (claims, missed slots, backfill, pruning).

Why a module of its own: the Scheduler dispatches; keeping the ledger in step with what it
dispatches is a concept of its own (`actors.ledger` says why the ledger exists):

* `SlotKeeper.claim` claims every run's slot before the run goes to a worker (the commit
  point); a refused claim is handed to the timetable (`Timetable.claim_refused`), and while
  the ledger cannot be written nothing starts (the runs go back to the head of the waiting
  line and a `Tick` is retried with backoff). With several instances (`actors.lease`) claims
  carry the leader's term and stop at its lease's local deadline; a claim refused by an entry
  of a newer term puts this instance in standby at once (`Fenced`); one refused by a run in
  flight on another live instance leaves that run to it;
* `SlotKeeper.record_schedule_docs` turns what the timetable decided without a worker (slots
  missed by the misfire policy, runs found interrupted at a restore) into result documents
  for the Journal, which records them in the ledger too, and counts missed slots in metrics;
* `SlotKeeper.backfill` queues the past slots of a range that the ledger shows neither run
  nor claimed;
* `SlotKeeper.outcomes_stored` / `write_outcomes` record the outcomes of runs whose results the
  Journal has stored (`OutcomesStored`): from this thread, so that the ledger's writes on the
  hot path never wait for each other (`actors.store.sqlite_ledger` says why), and between
  dispatches: while runs wait for a worker or one is due within `OUTCOMES_CLEARANCE_S` they
  wait (at most `OUTCOMES_MAX_WAIT_S`) until after those are claimed. Kept and retried while
  the ledger fails;
* `SlotKeeper.prune` asks the Journal, hourly, to drop ledger entries past their retention.

It runs in the Scheduler's thread and keeps no state that matters beyond the retry backoff:
everything else is in `SchedulerState`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from typing import Any

import structlog

from actors.errors import InvalidValueError, StoreError
from actors.jobs import NEW_SLOT_TRIGGERS, JobState, Run
from actors.jobstate import Job
from actors.leadermessages import Fenced
from actors.ledger import Claim, Finished, LedgerEntry, LedgerStore, SlotState
from actors.messages import PruneLedger, Records
from actors.resultdocs import interrupted_doc, missed_docs
from actors.routing import Directory
from actors.schedstate import SchedulerState
from actors.slots import slot_id
from actors.timerules import MAX_BACKFILL_SLOTS, effective_schedule

log = structlog.get_logger("das_actors.scheduler")

#: Backoff between attempts to claim slots while the run ledger cannot be written.
LEDGER_RETRY_MIN_S = 0.2
LEDGER_RETRY_MAX_S = 5.0
#: How often old run-ledger entries are pruned (by the Journal, which writes the store).
LEDGER_PRUNE_EVERY_S = 3600.0
#: Outcomes are not written while a run is due sooner than this (they follow its dispatch) ...
OUTCOMES_CLEARANCE_S = 0.005
#: ... unless the oldest waited this long, or this many wait.
OUTCOMES_MAX_WAIT_S = 0.5
OUTCOMES_MAX_PENDING = 20_000
#: Outcomes kept while the ledger refuses them; older ones are dropped (a restart settles a run
#: whose outcome the ledger lacks from its stored result, `actors.jobrestore`).
OUTCOMES_KEEP_MAX = 200_000


class SlotKeeper:
    """See the module docstring. *requeue*, *changed* and *retry_in* are the Scheduler's own."""

    def __init__(self, state: SchedulerState, directory: Directory, *, requeue: Callable[[Run, str], None],
                 changed: Callable[[Job], None], retry_in: Callable[[float], None]) -> None:
        self._s = state
        self._dir = directory
        self._requeue, self._changed, self._retry_in = requeue, changed, retry_in
        self._retry_s = 0.0
        self._last_prune = 0.0

    def claim(self, batch: list[Run], now: float) -> list[Run] | None:
        """Claim the slots of *batch*; return the runs to dispatch, or None when the ledger is
        unavailable (the batch is back at the head of the waiting line, a retry armed) or the
        leader's lease is not confirmed (the batch is back too; `LeaseRenewed` dispatches again)."""
        s = self._s
        ledger = s.ledger
        if s.lease_deadline is not None and time.monotonic() >= s.lease_deadline:
            for run in reversed(batch):
                self._requeue(run, "the leader's lease is not confirmed")
            if not s.lease_lapsed:
                s.lease_lapsed = True
                log.warning("lease.unconfirmed", term=s.term,
                            note="the lease was not renewed in time: nothing starts until it is (or another "
                                 "instance takes over)")
            return None
        claims = [Claim(run.job_id, run.slot, run.index, run.attempt, str(run.trigger), s.owner, now, s.term)
                  for run in batch if run.slot is not None]
        if ledger is None or not claims:
            return batch
        try:
            refused = ledger.claim_slots(claims)
        except StoreError as exc:
            for run in reversed(batch):
                self._requeue(run, "the run ledger is unavailable")
            self._unavailable(exc)
            return None
        if s.ledger_down_since is not None:
            log.warning("ledger.recovered", down_s=round(time.time() - s.ledger_down_since, 3))
            s.ledger_down_since, self._retry_s = None, 0.0
        if not refused:
            return batch
        kept: list[Run] = []
        newer = max((entry.term for entry in refused.values()), default=0)
        if newer > s.term:
            return self._fenced(batch, refused, newer)
        for run in batch:
            entry = refused.get(slot_id(run.job_id, run.slot)) if run.slot is not None else None
            if entry is None:
                kept.append(run)
                continue
            s.stats["claims_refused"] += 1
            log.warning("run.claim_refused", job=run.name, job_id=run.job_id, slot=run.slot, index=run.index,
                        attempt=run.attempt, trigger=str(run.trigger), ledger_state=str(entry.state),
                        ledger_outcome=entry.outcome, note="the run ledger shows this slot already started")
            s.timetable.claim_refused(run.job_id, run, entry, now, elsewhere=self._elsewhere(entry))
            job = s.timetable.get(run.job_id)
            if job is not None:
                self._changed(job)
                if job.state is JobState.WAITING:
                    s.waiting.append(job.job_id)
        return kept

    def _elsewhere(self, entry: LedgerEntry) -> bool:
        """Is *entry* a run in flight on another instance that is alive (it will record the outcome)?"""
        return (entry.state == SlotState.CLAIMED and entry.outcome is None and entry.owner != self._s.owner
                and entry.owner in self._s.live_owners)

    def _fenced(self, batch: list[Run], refused: dict[str, LedgerEntry], term: int) -> list[Run]:
        """A claim met a newer term: another instance leads. The runs whose claims won are ours (in
        the ledger under our name: the new leader leaves them to us) and start; the refused ones are
        dropped; this instance stands by (nothing more is dispatched) and tells Leadership."""
        s = self._s
        lost = {run.run_id for run in batch if run.slot is not None and slot_id(run.job_id, run.slot) in refused}
        won = [run for run in batch if run.run_id not in lost]
        for run in reversed(batch):
            if run.run_id in lost:
                self._requeue(run, "another instance leads (a newer term in the run ledger)")
        s.standby = True
        log.warning("lease.fenced", term=s.term, newer_term=term, refused=len(refused),
                    note="the run ledger holds claims of a newer term: this instance stops dispatching")
        self._dir.tell_leadership(Fenced(term))
        return won

    def _unavailable(self, exc: Exception) -> None:
        s = self._s
        if s.ledger_down_since is None:
            s.ledger_down_since = time.time()
            log.error("ledger.unavailable", error=f"{type(exc).__name__}: {exc}",
                      note="no run starts until its slot is claimed; retrying with backoff")
        self._retry_s = min(LEDGER_RETRY_MAX_S, max(LEDGER_RETRY_MIN_S, self._retry_s * 2))
        self._retry_in(self._retry_s)

    def record_schedule_docs(self, now: float) -> None:
        """Send the Journal what the timetable decided without a worker: missed slots, interrupted runs."""
        s = self._s
        missed, interrupted = s.timetable.take_records()
        if not missed and not interrupted:
            return
        docs = [interrupted_doc(job, run, now) for job, run in interrupted]
        for job, listed, spans in missed:
            docs.extend(missed_docs(job, s.timetable.limits, listed, spans, now))
            count = len(listed) + sum(span.count for span in spans)
            s.metrics.count_missed(count)
            log.warning("slots.missed", job=job.spec.name, job_id=job.job_id, count=count,
                        first=min([*listed, *(span.first for span in spans)]),
                        last=max([*listed, *(span.last for span in spans)]))
        self._dir.tell_journal(Records(docs))

    def outcomes_stored(self, finished: Sequence[Finished], now: float) -> None:
        """The Journal stored the results of *finished*: their outcomes go to the ledger (now, or
        after the dispatch of a run due within `OUTCOMES_CLEARANCE_S`)."""
        s = self._s
        if s.ledger is None or not finished:
            return
        if not s.outcomes:
            s.outcomes_since = time.monotonic()
        s.outcomes.extend(finished)
        self.write_outcomes(now)

    def write_outcomes(self, now: float, *, force: bool = False) -> None:
        """Write the outcomes waiting for the ledger, unless a run is due too soon (see
        `outcomes_stored`); on a store error they are kept (the next call retries)."""
        s = self._s
        if not s.outcomes or s.ledger is None:
            return
        tt = s.timetable
        wake = tt.next_wake()
        soon = bool(s.waiting) or (wake is not None and tt.limits.handover_at(wake) - now < OUTCOMES_CLEARANCE_S)
        if (not force and soon and len(s.outcomes) < OUTCOMES_MAX_PENDING
                and time.monotonic() - s.outcomes_since < OUTCOMES_MAX_WAIT_S):
            return
        try:
            s.ledger.record_slots(s.outcomes, ())
        except StoreError as exc:
            if len(s.outcomes) > OUTCOMES_KEEP_MAX:
                dropped = len(s.outcomes) - OUTCOMES_KEEP_MAX
                del s.outcomes[:dropped]
                log.error("ledger.outcomes_dropped", count=dropped, kept=OUTCOMES_KEEP_MAX,
                          note="a restart settles these runs from their stored results")
            if s.outcomes_failing is None:
                s.outcomes_failing = str(exc)
                log.warning("ledger.outcomes_unwritten", pending=len(s.outcomes), error=str(exc),
                            note="kept and written again with the next outcomes or dispatch")
            return
        if s.outcomes_failing is not None:
            log.warning("ledger.outcomes_written", pending=len(s.outcomes), note="the ledger takes outcomes again")
            s.outcomes_failing = None
        s.outcomes = []

    def prune(self, now: float) -> None:
        """Hourly: ask the Journal to drop ledger entries older than ``ledger_retention``."""
        if self._s.ledger is not None and now - self._last_prune >= LEDGER_PRUNE_EVERY_S:
            self._last_prune = now
            self._dir.tell_journal(PruneLedger(now - self._s.ledger_retention_s))

    def backfill(self, job: Job, start: float, end: float, now: float) -> dict[str, Any]:
        """Queue the slots of [start, end] that the ledger shows neither run nor claimed, oldest first;
        answers ``{"slots", "queued", "skipped"}``. Refused (naming the field): a reversed or future
        range, one older than the ledger keeps, more than `MAX_BACKFILL_SLOTS` slots."""
        s = self._s
        ledger = s.ledger
        if ledger is None:
            raise InvalidValueError("backfill needs the run ledger, which this store does not keep", field="job_id")
        if end < start:
            raise InvalidValueError(f"backfill: from ({start:.3f}) is after to ({end:.3f})", field="from", value=start)
        if end > now:
            raise InvalidValueError(f"backfill: to ({end:.3f}) is in the future; the schedule runs future slots",
                                    field="to", value=end)
        horizon = now - s.ledger_retention_s
        if start < horizon and job.created_at < horizon:
            raise InvalidValueError(
                f"backfill: from ({start:.3f}) is older than the run ledger keeps (ledger_retention "
                f"{s.ledger_retention_s:g} s: from {horizon:.3f} on); slots before may have run", field="from",
                value=start)
        schedule = effective_schedule(job, s.timetable.limits)
        after = math.nextafter(start, -math.inf)
        count = schedule.count_between(after, end)
        if count > MAX_BACKFILL_SLOTS:
            raise InvalidValueError(f"backfill: the range holds {count} slots of job {job.spec.name!r}; at most "
                                    f"{MAX_BACKFILL_SLOTS} at once (split the range)", field="to", value=end)
        slots = list(schedule.slots_between(after, end))
        entries = _entries(ledger, job.job_id, after, end)
        pending = job.slot if job.next_trigger in NEW_SLOT_TRIGGERS and job.slot is not None else math.inf
        eligible = [slot for slot in slots if slot < pending and (
            (entry := entries.get(slot_id(job.job_id, slot))) is None or not entry.ran)]
        s.timetable.backfill(job.job_id, eligible)
        if job.state is JobState.WAITING and job.job_id not in s.waiting:
            s.waiting.append(job.job_id)
        log.info("job.backfill", job=job.spec.name, job_id=job.job_id, slots=len(slots), queued=len(eligible))
        return {"slots": len(slots), "queued": len(eligible), "skipped": len(slots) - len(eligible)}


def _entries(ledger: LedgerStore, job_id: str, after: float, upto: float) -> dict[str, Any]:
    try:
        return ledger.slot_entries(job_id, after, upto)
    except StoreError as exc:
        raise StoreError(f"backfill: the run ledger cannot be read now: {exc}") from exc
