"""Manual runs with parameters (the trigger API's path through the pure timetable): the parameters
reach that run only, the schedule stays, a waiting one survives a restart, a second one is refused."""

from __future__ import annotations

import pytest

from actors.errors import InvalidJobError
from actors.jobs import JobSpec, Origin, Outcome, RunReport, Trigger
from actors.jobstate import Limits
from actors.timetable import Timetable


def timetable() -> Timetable:
    return Timetable(Limits(minimum_interval_s=0.0, start_offset=False), rng=lambda: 0.5)


def spec() -> JobSpec:
    return JobSpec(name="say", classname="Say", interval_s=60.0, kwargs={"message": "scheduled", "n": 1},
                   origin=Origin.API)


def test_params_go_to_the_triggered_run_only_and_the_schedule_stays():
    tt = timetable()
    job = tt.add(spec(), now=1000.0, first_due_at=1500.0)
    tt.run_now(job.job_id, {"message": "triggered"})
    run = tt.start(job.job_id, now=1001.0)
    assert run is not None and run.trigger is Trigger.MANUAL and run.index == 1
    assert dict(run.kwargs) == {"message": "triggered", "n": 1} and run.params == {"message": "triggered"}
    tt.finish(job.job_id, RunReport(Outcome.SUCCESS, 1001.0, 1002.0), now=1002.0)
    assert job.due_at == 1500.0 and job.manual_params is None
    assert tt.due(1500.0) == [job]
    later = tt.start(job.job_id, now=1500.0)
    assert later is not None and dict(later.kwargs) == {"message": "scheduled", "n": 1} and later.params is None


def test_a_second_run_now_with_other_params_is_refused_while_one_waits():
    tt = timetable()
    job = tt.add(spec(), now=0.0, first_due_at=500.0)
    tt.run_now(job.job_id, {"message": "a"})
    tt.run_now(job.job_id, {"message": "a"})  # the same request again: nothing new
    with pytest.raises(InvalidJobError, match="run now waiting"):
        tt.run_now(job.job_id, {"message": "b"})


def test_a_waiting_triggered_run_survives_a_restart_with_its_params():
    tt = timetable()
    job = tt.add(spec(), now=0.0, first_due_at=500.0)
    tt.run_now(job.job_id, {"message": "after the restart"})
    record = job.to_record()
    assert record["manual"] == {"params": {"message": "after the restart"}}
    again = timetable()
    restored = again.restore(record, now=10.0)
    assert restored.manual and restored.due_at == 500.0
    run = again.start(job.job_id, now=11.0)
    assert run is not None and run.trigger is Trigger.MANUAL and run.kwargs["message"] == "after the restart"
    assert timetable().restore({**record, "manual": None}, now=10.0).manual is False
