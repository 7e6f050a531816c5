"""`actors.recovery`: a restored record takes the configured spec when it defines the job exactly so."""

from __future__ import annotations

from actors.jobs import JobSpec, JobState, Origin
from actors.timetable import Limits, Timetable


def make() -> Timetable:
    return Timetable(Limits(minimum_interval_s=0.0, start_offset=False), rng=lambda: 0.5)


def configured(**kw) -> JobSpec:
    return JobSpec(name="j", classname="Test", interval_s=100.0, origin=Origin.CONFIG, kwargs={"value": 1},
                   tags=("a", "b"), **kw)


def test_a_record_defining_the_job_as_configured_takes_the_configured_spec_itself():
    spec = configured()
    record = make().add(spec, now=0).to_record()
    again = configured()  # the config file read again at the next start: equal, not the same object
    job = make().restore(record, now=10, configured=again)
    assert job.spec is again and job.job_id == spec.job_id
    assert job.state is JobState.SCHEDULED and job.due_at == 10 and job.slot == 0  # the missed slot runs late
    plain = make().restore(record, now=10)  # what the restore built before: the same job
    assert plain.spec == job.spec and plain.spec is not again and plain.to_record() == job.to_record()


def test_a_record_that_differs_from_the_configured_spec_is_rebuilt_from_the_record():
    spec = configured(only_before=2e9)
    record = make().add(spec, now=0).to_record()
    differs = {**record, "kwargs": {"value": 1.0}}  # equal to 1 in Python, another job in JSON (its id differs)
    job = make().restore(differs, now=10, configured=spec)
    assert job.spec is not spec and job.spec.kwargs == {"value": 1.0}
    assert job.job_id == JobSpec.from_dict({k: v for k, v in differs.items() if k in (
        "name", "classname", "interval", "kwargs", "only_before", "origin", "tags")}).job_id != spec.job_id
    moved = {**record, "only_before": 2.5e9}  # a config only_before re-resolved: the record's epoch stands
    job = make().restore(moved, now=10, configured=spec)
    assert job.spec is not spec and job.spec.only_before == 2.5e9
