"""The pure rule of ``on_stream`` jobs: which jobs new messages start early (`actors.streamtrigger`)."""

from __future__ import annotations

from actors.jobs import JobSpec, JobState
from actors.policy import RetryPolicy
from actors.streamtrigger import jobs_to_start
from actors.timetable import Limits, Timetable


def timetable(*specs: JobSpec) -> Timetable:
    table = Timetable(Limits(minimum_interval_s=0.0, retry=RetryPolicy(max_retries=0), start_offset=False),
                      rng=lambda: 0.0)
    for spec in specs:
        table.add(spec, 1000.0, first_due_at=5000.0)
    return table


def test_a_job_starts_when_its_batch_is_reached_then_counts_again():
    job = JobSpec(name="j", classname="Test", interval_s=3600, on_stream="s", stream_batch=3)
    table, counts = timetable(job), dict[str, int]()
    assert jobs_to_start(table, counts, "s", 2) == []
    assert [j.job_id for j in jobs_to_start(table, counts, "s", 1)] == [job.job_id]
    assert counts[job.job_id] == 0
    assert jobs_to_start(table, counts, "s", 2) == []


def test_other_streams_and_plain_jobs_are_left_alone():
    on_s = JobSpec(name="a", classname="Test", interval_s=3600, on_stream="s")
    on_t = JobSpec(name="b", classname="Test", interval_s=3600, on_stream="t")
    plain = JobSpec(name="c", classname="Test", interval_s=3600)
    table, counts = timetable(on_s, on_t, plain), dict[str, int]()
    assert [j.job_id for j in jobs_to_start(table, counts, "s", 1)] == [on_s.job_id]  # default batch: 1
    assert on_t.job_id not in counts and plain.job_id not in counts


def test_a_job_that_is_not_scheduled_keeps_counting():
    job = JobSpec(name="j", classname="Test", interval_s=3600, on_stream="s", stream_batch=2)
    table, counts = timetable(job), dict[str, int]()
    table.pause(job.job_id)
    paused = table.get(job.job_id)
    assert paused is not None and paused.state is JobState.PAUSED
    assert jobs_to_start(table, counts, "s", 5) == []
    table.resume(job.job_id, 1000.0)
    assert [j.job_id for j in jobs_to_start(table, counts, "s", 1)] == [job.job_id]  # 6 counted, now scheduled
