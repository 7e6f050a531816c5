"""Result documents of runs that never reached a worker: slots ``missed``, runs found ``interrupted``.

Why a module of its own: a worker writes the result of every run it ran; these two come
from the schedule instead (the misfire plan, a restart that finds a run in flight), and the
panel, the API and ``/metrics`` must show them like any other result. They carry the
run's ``slot``, so the Journal also keeps the run ledger in step (`actors.ledger`).

A missed document has ``index`` None (the slot never got a run number) and ``count`` 1; a
span of missed slots counted rather than listed is one document with ``count``,
``first`` and ``last``. Pure: time is passed in.
"""

from __future__ import annotations

from typing import Any

from actors.jobs import Outcome, Run, Trigger
from actors.jobstate import Job, Limits
from actors.misfire import SlotSpan
from actors.timerules import effective_schedule, misfire_policy


def _base(job: Job, now: float) -> dict[str, Any]:
    spec = job.spec
    base = {"type": "result", "time": now, "job_id": job.job_id, "name": spec.name, "classname": spec.classname,
            "parent": list(spec.parent), "started_at": None, "finished_at": None, "duration": None, "error": None,
            "traceback": None, "worker": None, "pid": None, "result": {}}
    if spec.tags:
        base["tags"] = list(spec.tags)
    return base


def missed_docs(job: Job, limits: Limits, missed: tuple[float, ...], spans: tuple[SlotSpan, ...],
                now: float) -> list[dict[str, Any]]:
    """One ``missed`` result per listed slot, one per counted span."""
    schedule = effective_schedule(job, limits)
    policy = misfire_policy(job, limits)
    why = f"missed (misfire policy {policy.policy}); the slot fell due while the job could not run"
    docs = []
    for slot in missed:
        docs.append({**_base(job, now), "index": None, "attempt": 0, "trigger": str(Trigger.SCHEDULE),
                     "due_at": schedule.due_at(slot, job.job_id), "slot": slot, "outcome": str(Outcome.MISSED),
                     "count": 1, "notes": [why]})
    for span in spans:
        docs.append({**_base(job, now), "index": None, "attempt": 0, "trigger": str(Trigger.SCHEDULE),
                     "due_at": span.first, "slot": span.last, "first": span.first, "last": span.last,
                     "outcome": str(Outcome.MISSED), "count": span.count,
                     "notes": [f"{why} ({span.count} slots from {span.first:.3f} to {span.last:.3f}, counted)"]})
    return docs


def interrupted_doc(job: Job, run: Run, now: float) -> dict[str, Any]:
    """The result of a run found in flight at a restart (the server stopped or died during it)."""
    resumed = run.trigger not in (Trigger.MANUAL, Trigger.BACKFILL)
    return {**_base(job, now), "run_id": run.run_id, "index": run.index, "attempt": run.attempt,
            "trigger": str(run.trigger),
            "due_at": run.due_at, "slot": run.slot, "started_at": job.last_started_at, "finished_at": now,
            "outcome": str(Outcome.INTERRUPTED), "notes": [],
            "error": "the server stopped or died while this run was in flight"
                     + ("; the run is resumed" if resumed else "; it is not repeated")}
