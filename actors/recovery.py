"""Rebuilding a job after a restart, checked against the run ledger: the `Recovery` rules.

Why a module of its own: a job record is saved in batches, so after a crash it can lag
behind what really happened; the run ledger (`actors.ledger`) cannot. Reconciling the two
(which run is the job's latest, whether it finished, whether to resume it, what fell due
while the server was down) is a concept apart from the day-to-day rules of
`actors.timetable`, which mixes these methods into `Timetable`. The same reconciliation
answers a refused claim (`Recovery.claim_refused`): the ledger showed a slot started
elsewhere. With several instances (`actors.lease`), a slot whose run is in flight on another
instance that is alive is *elsewhere*: it is left to that instance (never resumed here) and the
job goes on from the next slot. A follower keeps a *mirror* of the stored records (`mirror`) to
answer reads, rebuilt without any of these rules. Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, Protocol, TypeVar

from actors.bounds import MAX_EPOCH, in_range, stored_count, stored_epoch
from actors.jobs import (
    ACTIVE_STATES,
    NEW_SLOT_TRIGGERS,
    TIME_FIELDS,
    JobSpec,
    JobState,
    Outcome,
    Run,
    RunReport,
    Trigger,
    canonical_json,
)
from actors.jobstate import NO_SLOTS, Decision, Job, Limits
from actors.ledger import LedgerEntry, LedgerHead
from actors.slots import slot_key
from actors.timerules import Step, next_step, overdue_last


class _Core(Protocol):
    """What these rules use of `actors.timetable.Timetable` (its state and its own rules)."""

    limits: Limits
    _jobs: dict[str, Job]
    _interrupted: list[tuple[Job, Run]]
    _missed: list[Any]
    _heap: list[tuple[float, int, str, int]]

    def finish(self, job_id: str, report: RunReport, now: float) -> Decision: ...

    def _schedule(self, job: Job, due: float, trigger: Trigger) -> None: ...

    def _apply_step(self, job: Job, step: Step, now: float, *, keep: float | None = None) -> str: ...

    def _make_run(self, job: Job, *, index: int, attempt: int, due_at: float, trigger: Trigger,
                  slot: float | None) -> Run: ...

    def _after_manual(self, job: Job) -> None: ...

    def _queue_extra(self, job: Job) -> None: ...

    def run_now(self, job_id: str, params: Mapping[str, Any] | None = None) -> Job: ...

    def _job_from_record(self, record: Mapping[str, Any], now: float, configured: JobSpec | None = None) -> Job: ...

    def _adopt(self, job: Job, entry: LedgerEntry, now: float) -> None: ...

    def _resume_from_record(self, job: Job, running: Mapping[str, Any], now: float) -> None: ...

    def run_elsewhere(self, job: Job, entry: LedgerEntry, now: float) -> None: ...


#: The fields of a stored job record that define its spec (`JobSpec.from_dict`).
SPEC_FIELDS = ("name", "classname", "interval", "kwargs", "only_once", "max_runs", "only_before", "timeout", "retries",
               "parent", "origin", *TIME_FIELDS, "tags", "on_stream", "stream_batch", "resources", "only_before_text")


_SPEC_FIELDS = frozenset(SPEC_FIELDS)


def _stored_slots(record: Mapping[str, Any], name: str) -> Sequence[float]:
    """A stored queue of slots (the valid epochs of it), or the shared empty one."""
    slots = [float(s) for s in record.get(name) or () if in_range(s, -MAX_EPOCH, MAX_EPOCH)]
    return slots if slots else NO_SLOTS


_STATES: dict[str, JobState] = {state.value: state for state in JobState}
_TRIGGERS: dict[str, Trigger] = {trigger.value: trigger for trigger in Trigger}


_E = TypeVar("_E", JobState, Trigger)


def _member(members: Mapping[str, _E], kind: Callable[[Any], _E], value: Any) -> _E:
    """``kind(value)`` (a stored state or trigger), by a dict look-up for a known text (1M records,
    two each: an enum call is ~0.8 us); anything else goes to *kind*, which names what is wrong."""
    found = members.get(value) if type(value) is str else None
    return found if found is not None else kind(value)


#: The creation time of the last job restored: the jobs of one config start share one float object.
_last_created_at: list[float] = [0.0]


def _shared_created_at(value: float) -> float:
    """*value*, or the equal float object the last restored job took (a million jobs created by one
    start need not each keep their own 24 B copy of the same epoch)."""
    last = _last_created_at[0]
    if value == last:
        return last
    _last_created_at[0] = value
    return value


def _same_definition(record: Mapping[str, Any], spec: JobSpec) -> bool:
    """Does *record* define the job exactly as *spec*'s `JobSpec.to_dict` does (the same definition
    fields, equal as JSON text: ``1``, ``1.0`` and ``true`` differ)? Then ``JobSpec.from_dict`` of its
    fields would rebuild *spec* itself, at several times the cost of this check."""
    stored = spec.to_dict()
    del stored["job_id"]  # every other key of to_dict is a definition field
    if len(_SPEC_FIELDS.intersection(record)) != len(stored):
        return False
    try:
        return canonical_json({k: record[k] for k in stored}) == canonical_json(stored)
    except (KeyError, TypeError):  # a field spec has and the record lacks; a record orjson cannot write
        return False


class Recovery:
    """Mixed into `actors.timetable.Timetable`: restore a job record, adopt the ledger's word."""

    def restore(self: _Core, record: Mapping[str, Any], now: float, head: LedgerHead | None = None, *,
                elsewhere: Collection[str] = (), configured: JobSpec | None = None) -> Job:
        """Rebuild a job from `Job.to_record` output after a restart, checked against *head*,
        the run ledger's word on the job (`actors.ledger`), which wins where the record lags:

        * the ledger shows the record's pending run (or a later one) started: its outcome is
          applied as if the run had just ended (a finished run is never run again), or, with
          no outcome stored, it is resumed as attempt + 1 of the same slot;
        * else a run in flight in the record is resumed now (recorded interrupted);
        * else a pending slot that fell due while the server was down is planned by the
          misfire policy from the ledger's newest slot (catch-up runs and ``missed`` slots).

        Interrupted runs and missed slots to record are taken with `take_records`. A newest
        ledger entry whose slot id is in *elsewhere* is a run in flight on another live
        instance: the job goes on after it (`run_elsewhere`). *configured* is the config file's
        spec of the record's job id, if any: when the record defines the job exactly as it does,
        the job takes it as it is (shared with the config, not built and validated again).
        """
        job = self._job_from_record(record, now, configured)
        self._jobs[job.job_id] = job
        running = record.get("running")
        if head is not None:
            job.run_count = max(job.run_count, head.max_index or 0)
        newest = head.newest if head is not None else None
        if newest is not None and newest.slot_id in elsewhere and job.state in ACTIVE_STATES:
            job.state = JobState.SCHEDULED
            self.run_elsewhere(job, newest, now)
            if job.paused:
                job.state = JobState.PAUSED
                job.version += 1
        elif newest is not None and job.state in ACTIVE_STATES and Recovery._ledger_is_ahead(job, newest, running):
            job.state = JobState.SCHEDULED
            self._adopt(job, newest, now)
        elif running:
            self._resume_from_record(job, running, now)
        elif job.state in (JobState.SCHEDULED, JobState.WAITING, JobState.RUNNING):
            job.state = JobState.SCHEDULED
            due = job.due_at or now  # the record's (`_job_from_record`)
            if job.next_trigger in NEW_SLOT_TRIGGERS and due <= now and job.slot is not None:
                self._apply_step(job, next_step(job, self.limits, now,
                                                last=overdue_last(job, head.last_slot if head else None)),
                                 now, keep=job.slot)
            else:
                self._schedule(job, due, job.next_trigger)
        else:
            job.due_at = stored_epoch(record, "due_at")
        if job.backfill and job.state is JobState.SCHEDULED and job.running is None:
            self._queue_extra(job)  # a backfill that was under way goes on (the caller queues the job)
        manual = record.get("manual")
        if isinstance(manual, Mapping) and job.running is None and job.state is not JobState.RUNNING:
            self.run_now(job.job_id, manual.get("params") or None)  # a run now (a trigger) was waiting
        return job

    def mirror(self: _Core, record: Mapping[str, Any], now: float) -> Job:
        """A follower's copy of a stored job record, as it is: no ledger check, no resume, no
        misfire plan, never due (a follower dispatches nothing); a run in flight is shown."""
        job = self._job_from_record(record, now)
        running = record.get("running")
        if running:
            job.running = self._make_run(job, index=int(running.get("index", job.run_count)),
                                         attempt=int(running.get("attempt", 0)),
                                         due_at=float(running.get("due_at") or now),
                                         trigger=Trigger(running.get("trigger") or "schedule"),
                                         slot=running.get("slot"))
        self._jobs[job.job_id] = job
        return job

    def reset(self: _Core) -> None:
        """Forget every job (a follower's mirror is rebuilt, a new leader restores from the store)."""
        self._jobs.clear()
        self._heap.clear()
        self._missed.clear()
        self._interrupted.clear()

    def run_elsewhere(self: _Core, job: Job, entry: LedgerEntry, now: float) -> None:
        """*entry*'s run is in flight on another live instance, which records its outcome: take its
        slot as run (never resumed here) and go on from the slot after it (the misfire policy plans
        what fell due since)."""
        job.running = None
        job.run_count = max(job.run_count, entry.index or 0)
        job.attempt = 0
        queued = [slot for slot in job.catchup if slot_key(slot) > slot_key(entry.slot)]
        if queued:  # catch-up slots planned after it have not run: the next of them now
            job.slot, job.catchup = queued[0], queued[1:]
            self._schedule(job, now, Trigger.CATCHUP)
        else:
            job.slot = entry.slot
            job.planned_to = max(entry.slot, job.planned_to if job.planned_to is not None else entry.slot)
            self._apply_step(job, next_step(job, self.limits, now, last=job.planned_to), now)
        job.note = f"slot {entry.slot} is running on instance {entry.owner}; {job.note}"

    def _job_from_record(self: _Core, record: Mapping[str, Any], now: float, configured: JobSpec | None = None) -> Job:
        spec = configured if configured is not None and _same_definition(record, configured) \
            else JobSpec.from_dict({k: record[k] for k in SPEC_FIELDS if k in record})
        job = Job(spec=spec, state=_member(_STATES, JobState, record.get("state", "scheduled")), created_at=now)
        self._jobs[job.job_id] = job  # known from here: a field failing below sets it aside
        job.created_at = _shared_created_at(stored_epoch(record, "created_at") or now)
        job.run_count = stored_count(record, "run_count")
        job.runs_before = stored_count(record, "runs_before")
        job.attempt = stored_count(record, "attempt")
        job.retries_used = stored_count(record, "retries_used")
        job.runs_total = stored_count(record, "runs_total")
        job.failures_total = stored_count(record, "failures_total")
        job.last_started_at = stored_epoch(record, "last_started_at")
        job.last_finished_at = stored_epoch(record, "last_finished_at")
        job.planned_to = stored_epoch(record, "planned_to")
        due_at = stored_epoch(record, "due_at")
        # slot_due_at: records before the ledger
        slot = stored_epoch(record, "slot") if "slot" in record else stored_epoch(record, "slot_due_at")
        if due_at is not None and due_at == slot:
            due_at = slot  # one float object for the equal times (1M jobs: 24 B each)
        job.due_at = due_at
        if spec.interval_s is not None:
            anchor = stored_epoch(record, "anchor")
            if anchor is None:
                anchor = slot if slot is not None else due_at
            elif anchor == slot:
                anchor = slot
            job.anchor = anchor
            if slot is None:
                slot = anchor
        job.slot = slot
        job.catchup = _stored_slots(record, "catchup")
        job.backfill = _stored_slots(record, "backfill")
        job.last_outcome, job.last_error = record.get("last_outcome"), record.get("last_error")
        job.note = str(record.get("note") or "")
        job.paused = bool(record.get("paused", False))
        job.next_trigger = _member(_TRIGGERS, Trigger, record.get("next_trigger") or "schedule")
        return job

    @staticmethod
    def _ledger_is_ahead(job: Job, entry: LedgerEntry, running: Mapping[str, Any] | None) -> bool:
        """Does the ledger show the run the record has pending (or in flight), or a later one, started?"""
        if running:
            slot, attempt = running.get("slot"), int(running.get("attempt", 0))
        else:
            slot, attempt = job.slot, job.attempt if job.next_trigger not in NEW_SLOT_TRIGGERS else 0
        if slot is None:
            return False
        return slot_key(entry.slot) > slot_key(slot) or (slot_key(entry.slot) == slot_key(slot)
                                                       and entry.attempt >= attempt)

    def _resume_from_record(self: _Core, job: Job, running: Mapping[str, Any], now: float) -> None:
        """A run the record shows in flight (and the ledger does not contradict): resume it now."""
        trigger = Trigger(running.get("trigger") or "schedule")
        run = self._make_run(job, index=stored_count(running, "index") if "index" in running else job.run_count,
                             attempt=stored_count(running, "attempt"), due_at=stored_epoch(running, "due_at") or now,
                             trigger=trigger, slot=stored_epoch(running, "slot"))
        self._interrupted.append((job, run))
        job.state = JobState.SCHEDULED
        if trigger in (Trigger.MANUAL, Trigger.BACKFILL):  # an operator's extra run: recorded, not repeated
            job.note = f"{trigger} run interrupted by a server stop (not repeated)"
            self._schedule(job, job.due_at if job.due_at is not None else now, job.next_trigger)
            if job.paused:
                job.state = JobState.PAUSED
                job.version += 1
            return
        job.attempt = run.attempt + 1
        job.run_count = max(job.run_count, run.index)
        if run.slot is not None:
            job.slot = run.slot
        job.note = "interrupted by a server stop; resumed"
        self._schedule(job, now, Trigger.RESUME)
        if job.paused:
            job.state = JobState.PAUSED
            job.version += 1

    def _adopt(self: _Core, job: Job, entry: LedgerEntry, now: float) -> None:
        """Take the ledger's entry as the job's latest run: apply its stored outcome as if the run
        had just ended, or, with none, resume it as attempt + 1 (recorded interrupted)."""
        try:
            trigger = Trigger(entry.trigger)
        except ValueError:
            trigger = Trigger.SCHEDULE
        job.slot = entry.slot
        job.run_count = max(job.run_count, entry.index or 0)
        job.attempt = entry.attempt
        # The catch-up slots planned after this one have not run (it is the newest run): they stay
        # queued, or the slots between it and planned_to would be passed over once it ends.
        job.catchup = [slot for slot in job.catchup if slot_key(slot) > slot_key(entry.slot)]
        run = self._make_run(job, index=entry.index or job.run_count, attempt=entry.attempt, due_at=entry.slot,
                             trigger=trigger, slot=entry.slot)
        job.running, job.state = run, JobState.RUNNING
        job.last_started_at = entry.at or job.last_started_at
        if entry.finished:
            outcome = Outcome(entry.outcome or Outcome.SUCCESS)
            error = None if outcome is Outcome.SUCCESS else f"{outcome} (recorded in the run ledger)"
            self.finish(job.job_id, RunReport(outcome, entry.at, entry.at, error=error), now)
            job.note = f"the run ledger shows run {run.index} already ended ({outcome}); {job.note}"
            return
        if entry.outcome is None:
            self._interrupted.append((job, run))
        self.finish(job.job_id, RunReport(Outcome.INTERRUPTED, entry.at, now,
                                          error="the server stopped or died while this run was in flight"), now)
        job.note = "interrupted by a server stop; resumed"

    def claim_refused(self: _Core, job_id: str, run: Run, entry: LedgerEntry, now: float, *,
                      elsewhere: bool = False) -> None:
        """The run ledger refused *run*'s slot (*entry* stands in the way): the run never started.

        A backfill slot is skipped. A scheduled slot that was recorded missed is passed over;
        one that was run (by an earlier life of the server, or another instance) is taken as
        the job's latest run (`_adopt`): its stored outcome applies, or it is resumed; unless
        *elsewhere*: its run is in flight on another live instance (`run_elsewhere`).
        """
        job = self._jobs.get(job_id)
        if job is None or job.running is not run:
            return
        job.running = None
        job.runs_total -= 1
        job.version += 1
        if run.trigger is Trigger.BACKFILL:
            job.run_count -= 1
            job.note = f"backfill of slot {run.slot} skipped: the run ledger has it ({entry.state})"
            if job.backfill:
                job.state = JobState.WAITING
            else:
                self._after_manual(job)
            return
        if run.trigger in NEW_SLOT_TRIGGERS:
            job.run_count -= 1
        job.state = JobState.SCHEDULED
        if entry.ran and elsewhere and not entry.finished:
            self.run_elsewhere(job, entry, now)
            return
        if entry.ran:
            self._adopt(job, entry, now)
            return
        job.planned_to = max(entry.slot, job.planned_to if job.planned_to is not None else entry.slot)
        self._apply_step(job, next_step(job, self.limits, now, last=job.planned_to), now)
        job.note = f"slot {run.slot} was recorded missed in the run ledger; {job.note}"
