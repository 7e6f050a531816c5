"""Which jobs a stream's new messages start early: the pure rule of ``on_stream`` jobs.

A job declared with ``on_stream="name"`` (and ``stream_batch=N``, default 1) runs on its
schedule as any job does, and also as soon as N new messages of that stream have been stored
since it last started, whichever comes first. The rule, kept pure so it is a fast unit test:

* arrivals are counted per job (``counts``, kept in the scheduler's state);
* when a job's count reaches its batch and the job is ``scheduled``, it is due now (the
  scheduler reschedules it, which also applies the ``minimum_interval`` floor: that is the
  rate limit) and its count starts again from zero;
* a job that is running, waiting, paused or finished keeps counting and is considered again
  at the next arrival.
"""

from __future__ import annotations

from collections.abc import MutableMapping

from actors.jobs import JobState
from actors.jobstate import Job
from actors.timetable import Timetable


def jobs_to_start(timetable: Timetable, counts: MutableMapping[str, int], stream: str, arrived: int) -> list[Job]:
    """The ``on_stream`` jobs of *stream* whose batch is reached by *arrived* more messages (counts updated)."""
    due: list[Job] = []
    for job in timetable.jobs():
        spec = job.spec
        if spec.on_stream != stream:
            continue
        count = counts.get(job.job_id, 0) + arrived
        if count >= (spec.stream_batch or 1) and job.state is JobState.SCHEDULED:
            counts[job.job_id] = 0
            due.append(job)
        else:
            counts[job.job_id] = count
    return due
