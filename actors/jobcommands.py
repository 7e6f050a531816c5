"""The Scheduler's answers to the operator and the facade: add, restore, pause, resume, run now,
backfill, remove, and the views of jobs, runs in flight, status and metrics.

Why a module of its own: these handlers turn a typed ask (`actors.messages`) into one call of
the timetable's rules and a JSON-safe answer; they share nothing with the dispatch loop but
"save this job, dispatch now" (`_after_operation`). Mixed into `actors.scheduler.Scheduler`,
they run in its thread like every other handler. A job is named by its id or by a name only
one job has (`actors.jobviews.resolve`); an unknown one is a `NotFoundError`, a state that
refuses the order an `InvalidJobError`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import structlog

from actors.jobs import JobState
from actors.jobstate import Job
from actors.jobviews import count_states, detail_view, family, jobs_page, resolve, view
from actors.messages import (
    AddJob,
    AddJobs,
    BackfillJob,
    GetJob,
    GetJobsPage,
    GetMetrics,
    GetStatus,
    ListJobs,
    ListRunning,
    PauseJob,
    RemoveJob,
    RescheduleJob,
    RestoreJobs,
    ResumeJob,
    RunJobNow,
    SetLimits,
)
from actors.schedstate import SchedulerState
from actors.setaside import lateness, unrestorable
from actors.slotkeeper import SlotKeeper

log = structlog.get_logger("das_actors.scheduler")


class _Core(Protocol):
    """What these handlers use of the Scheduler."""

    _s: SchedulerState
    _slots: SlotKeeper
    _clock: Callable[[], float]

    def _changed(self, job: Job) -> None: ...

    def _dispatch(self) -> None: ...

    def _standby_running(self) -> list[dict[str, Any]]: ...

    def _require(self, job_id: str) -> Job: ...

    def _after_operation(self, job: Job) -> dict[str, Any]: ...

    def _view(self, job: Job) -> dict[str, Any]: ...


class JobCommands:
    """Mixed into `actors.scheduler.Scheduler`: the job commands and views."""

    def _add(self: _Core, message: AddJob) -> dict[str, Any]:
        tt = self._s.timetable
        head = None
        if self._s.ledger is not None and message.spec.job_id not in tt:
            head = self._s.ledger.ledger_heads([message.spec.job_id]).get(message.spec.job_id)
        job = tt.add(message.spec, self._clock(), first_due_at=message.first_due_at, head=head)
        self._changed(job)
        self._dispatch()
        return self._view(job)

    def _add_many(self: _Core, message: AddJobs) -> int:
        now, tt = self._clock(), self._s.timetable
        for spec in message.specs:
            self._changed(tt.add(spec, now, first_due_at=message.first_due_at, head=message.heads.get(spec.job_id)))
        self._dispatch()
        return len(message.specs)

    def _restore(self: _Core, message: RestoreJobs) -> int:
        now, tt = self._clock(), self._s.timetable
        for record in message.records:
            job_id = str(record.get("job_id"))
            try:
                job = tt.restore(record, now, message.heads.get(job_id), elsewhere=message.elsewhere,
                                 configured=message.specs.get(job_id))
            except Exception as exc:  # noqa: BLE001 - one bad record must not stop the restore of the others
                unrestorable(self._s, record, exc)
                continue
            if job.job_id != job_id:  # stored under an older id scheme (a child before issue 16): moved
                self._s.deleted.add(job_id)
                self._changed(job)
                log.info("job.id_migrated", job=job.spec.name, old_job_id=job_id, job_id=job.job_id)
                job_id = job.job_id
            if job.state is JobState.WAITING and job.backfill:
                self._s.waiting.append(job_id)
            if record.get("running") or record.get("state") != str(job.state) or job_id in message.heads \
                    or record.get("due_at") != job.due_at:
                self._changed(job)  # restore changed it (a run resumed, slots planned); the rest is stored as it is
            if job.manual and job_id not in self._s.waiting:
                self._s.waiting.appendleft(job_id)  # a triggered run that was waiting
        self._dispatch()
        return len(tt)

    def _list_jobs(self: _Core, _message: ListJobs) -> list[dict[str, Any]]:
        return [self._view(j) for j in self._s.timetable.jobs()]

    def _get_job(self: _Core, message: GetJob) -> dict[str, Any]:
        job = resolve(self._s.timetable, message.job_id)  # an id, or a name only one job has
        return {**detail_view(job, self._s.timetable.limits, self._clock()), **family(self._s.timetable, job)}

    def _pause(self: _Core, message: PauseJob) -> dict[str, Any]:
        job = self._require(message.job_id)
        self._s.timetable.pause(job.job_id)
        return self._after_operation(job)

    def _resume(self: _Core, message: ResumeJob) -> dict[str, Any]:
        job = self._require(message.job_id)
        self._s.timetable.resume(job.job_id, self._clock())
        return self._after_operation(job)

    def _reschedule(self: _Core, message: RescheduleJob) -> dict[str, Any]:
        job = self._require(message.job_id)
        self._s.timetable.reschedule(job.job_id, message.due_at, self._clock())
        return self._after_operation(job)

    def _run_now(self: _Core, message: RunJobNow) -> dict[str, Any]:
        job = self._require(message.job_id)
        self._s.timetable.run_now(job.job_id)
        if job.job_id not in self._s.waiting:
            self._s.waiting.appendleft(job.job_id)
        return self._after_operation(job)

    def _backfill(self: _Core, message: BackfillJob) -> dict[str, Any]:
        job = self._require(message.job_id)
        answer = self._slots.backfill(job, message.start, message.end, self._clock())
        return {"job": self._after_operation(job), **answer}

    def _remove(self: _Core, message: RemoveJob) -> dict[str, Any]:
        job = self._require(message.job_id)
        self._s.timetable.remove(job.job_id)
        self._s.deleted.add(job.job_id)
        self._s.dirty.discard(job.job_id)
        log.info("job.removed", job=job.spec.name, job_id=job.job_id, running=job.running is not None)
        return self._view(job)

    def _list_running(self: _Core, _message: ListRunning) -> list[dict[str, Any]]:
        # "slot" is the worker slot here (as before the run ledger); the run's schedule slot is "due_slot".
        here = [{**run.to_wire(), "slot": slot, "due_slot": run.slot, "run_id": run_id}
                for run_id, (slot, run) in self._s.running.items()]
        return here + self._standby_running() if self._s.standby else here

    def _status(self: _Core, _message: GetStatus) -> dict[str, Any]:
        s = self._s
        return {"jobs": len(s.timetable), "idle": sorted(s.idle), "down": dict(s.down), "waiting": len(s.waiting),
                "running": len(s.running), "draining": s.draining, "ledger_down_since": s.ledger_down_since,
                "one_offs_waiting": len(s.one_offs), "late_s": lateness(self._s, self._clock()),
                "unrestorable": dict(s.unrestorable), "standby": s.standby, "term": s.term, **s.stats}

    def _metrics(self: _Core, _message: GetMetrics) -> dict[str, Any]:
        s = self._s
        return {"runs": s.metrics.snapshot(), "waiting": len(s.waiting), "running": len(s.running),
                "jobs_by_state": count_states(s.timetable), **s.stats}

    def _set_limits(self: _Core, message: SetLimits) -> bool:
        self._s.timetable.limits = message.limits
        self._s.finished_retention_s = message.finished_retention_s
        self._dispatch()
        return True

    def _require(self: _Core, job_id: str) -> Job:
        return resolve(self._s.timetable, job_id)  # an id, or a name only one job has

    def _after_operation(self: _Core, job: Job) -> dict[str, Any]:
        self._changed(job)
        self._dispatch()
        return self._view(job)

    def _jobs_page(self: _Core, message: GetJobsPage) -> dict[str, Any]:
        return jobs_page(self._s.timetable, self._clock(), message.offset, message.limit,
                         due_within_s=message.due_within_s,
                         state=message.state, tag=message.tag, fold_children=message.fold_children)

    def _view(self: _Core, job: Job) -> dict[str, Any]:
        return view(job)


__all__ = ["JobCommands"]
