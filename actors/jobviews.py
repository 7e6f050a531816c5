"""What the outside sees of jobs: a job's view, a page of jobs by due time, counts by state,
and which job a reference (an id, or a name that only one job has) means.

Why a module of its own: the panel, the API and the CLI read jobs through these views,
never the scheduler's `Job` objects; building them is pure (a timetable and a time in, JSON-safe
dicts out) and runs in the Scheduler's thread for the page asked only, so a 100k-job
schedule costs one heap selection per page, not 100k views.
"""

from __future__ import annotations

import heapq
from datetime import UTC, datetime, tzinfo
from typing import Any

from actors.errors import ConflictError, NotFoundError
from actors.jobs import ENDED_STATES, JobState, in_state
from actors.jobstate import Job, Limits
from actors.schedule import CronSchedule
from actors.timerules import effective_schedule, floor_notes, misfire_policy
from actors.timetable import Timetable

#: Fire times a job's detail view lists.
NEXT_FIRE_TIMES = 5


def view(job: Job) -> dict[str, Any]:
    """The JSON-safe record of *job*, plus ``run_id``: the run in progress, or None."""
    record = job.to_record()
    record["run_id"] = None if job.running is None else job.running.run_id
    return record


def resolve(timetable: Timetable, ref: str) -> Job:
    """The job *ref* names: its id, else its name when exactly one job has it.

    Raises `NotFoundError` (no such job) or `ConflictError` naming the ids (a name several jobs
    share: use an id)."""
    found = timetable.get(ref)
    if found is not None:
        return found
    named = [job for job in timetable.jobs() if job.spec.name == ref]
    if len(named) == 1:
        return named[0]
    if not named:
        raise NotFoundError(f"no job with id or name {ref[:120]!r}")
    ids = ", ".join(sorted(job.job_id for job in named)[:10])
    raise ConflictError(f"{len(named)} jobs are named {ref[:120]!r} ({ids}); name one by its id")


def family(timetable: Timetable, job: Job) -> dict[str, Any]:
    """``ancestors`` (oldest first, ``{job_id, name}``; a gone ancestor has name None) and
    ``children`` (the views of the jobs it spawned)."""
    ancestors = []
    for job_id in job.spec.parent:
        parent = timetable.get(job_id)
        ancestors.append({"job_id": job_id, "name": None if parent is None else parent.spec.name})
    children = [view(other) for other in timetable.jobs()
                if other.spec.parent and other.spec.parent[-1] == job.job_id]
    return {"ancestors": ancestors, "children": children}


def detail_view(job: Job, limits: Limits, now: float) -> dict[str, Any]:
    """`view` plus the schedule as the job page shows it: its description, the next fire times
    (due times, jitter included) as epochs and as local times in the job's zone, the effective
    misfire policy."""
    record = view(job)
    schedule = effective_schedule(job, limits)
    zone: tzinfo = schedule.zone if isinstance(schedule, CronSchedule) else UTC
    upcoming = schedule.next_fire_times(NEXT_FIRE_TIMES, now, job.job_id)
    record["schedule"] = {
        "kind": schedule.kind, "description": schedule.describe(), "tz": getattr(schedule, "tz", None) or "UTC",
        "jitter": schedule.jitter_s, "misfire": misfire_policy(job, limits).fields(),
        "next": [{"at": at, "local": datetime.fromtimestamp(at, zone).strftime("%Y-%m-%d %H:%M:%S %Z")}
                 for at in upcoming],
        "floor": floor_notes(job.spec, limits),  # what minimum_interval changes, in words
    }
    return record


def jobs_page(timetable: Timetable, now: float, offset: int, limit: int, *, due_within_s: float | None = None,
              state: str | None = None, tag: str | None = None, fold_children: bool = False) -> dict[str, Any]:
    """``{"jobs", "total", "more"}``: one page of jobs sorted by due time (no due time last), by name;
    only jobs due within *due_within_s*, in *state* (a state or a group: ``active``, ``ended``),
    carrying *tag* when given.

    With *fold_children*, a child that ended (finished, abandoned, quarantined) whose parent is
    still in the timetable is not listed; its parent's view counts it (``ended_children``), so
    a pipeline that spawns children at every run keeps one line per parent.
    """
    horizon = None if due_within_s is None else now + due_within_s
    folded = _ended_children(timetable) if fold_children else {}
    hidden = {job_id for ids in folded.values() for job_id in ids}
    if horizon is None and state is None and tag is None and not hidden:
        first, total = _first_of_all(timetable, offset + limit)
    else:
        keys = [((job.due_at if job.due_at is not None else _FAR), job.spec.name, job.job_id)
                for job in timetable.jobs()
                if job.job_id not in hidden
                and (horizon is None or (job.due_at is not None and job.due_at <= horizon))
                and (state is None or in_state(job.state, state))
                and (tag is None or tag in job.spec.tags)]
        first, total = heapq.nsmallest(offset + limit, keys), len(keys)
    items = [view(job) for _, _, job_id in first[offset:] if (job := timetable.get(job_id)) is not None]
    for item in items:
        if folded.get(item["job_id"]):
            item["ended_children"] = len(folded[item["job_id"]])
    return {"jobs": items, "total": total, "more": offset + len(items) < total}


_FAR = float("inf")  # the sort key of a job with no due time: last


def _first_of_all(timetable: Timetable, count: int) -> tuple[list[tuple[float, str, str]], int]:
    """The *count* first sort keys of every job, and how many jobs there are, without building a
    key per job: the due-time heap gives a cut (the count-th earliest due time of the scheduled
    jobs, `Timetable.nth_due`: no job of the page is due later, whatever its state), and only the
    jobs due by the cut get a key (ties at the cut included, so names still order equal due
    times). At 1M jobs the one-pass list of key tuples took ~700 ms of the schedule's first page."""
    cut = _FAR if count >= len(timetable) else timetable.nth_due(count) if count else -_FAR
    if cut is None or cut == _FAR:  # fewer jobs are scheduled than the page shows: every job
        keys = [((job.due_at if job.due_at is not None else _FAR), job.spec.name, job.job_id)
                for job in timetable.jobs()]
    else:
        keys = [(due, job.spec.name, job.job_id) for job in timetable.jobs()
                if (due := job.due_at) is not None and due <= cut]
    return heapq.nsmallest(count, keys), len(timetable)


def _ended_children(timetable: Timetable) -> dict[str, list[str]]:
    """Parent id -> ids of its children that ended, for parents still in *timetable*."""
    found: dict[str, list[str]] = {}
    for job in timetable.jobs():
        if job.spec.parent and job.state in ENDED_STATES and timetable.get(job.spec.parent[-1]) is not None:
            found.setdefault(job.spec.parent[-1], []).append(job.job_id)
    return found


def count_states(timetable: Timetable) -> dict[str, int]:
    """How many jobs are in each state (every state listed, zeros included)."""
    counts = dict.fromkeys((str(state) for state in JobState), 0)
    for job in timetable.jobs():
        counts[str(job.state)] += 1
    return counts
