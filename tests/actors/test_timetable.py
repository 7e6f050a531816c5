"""Every scheduling rule of the pure timetable, with an injected clock and randomness."""

from __future__ import annotations

import pytest

from actors.errors import InvalidJobError
from actors.jobs import JobSpec, JobState, Origin, Outcome, RunReport, Trigger
from actors.policy import RetryPolicy
from actors.timetable import Limits, Timetable


def make(minimum=0.0, retries=2, retry_delay=10.0, start_offset=True, rng_value=0.5, cap=100):
    limits = Limits(minimum_interval_s=minimum,
                    retry=RetryPolicy(max_retries=retries, base_delay_s=retry_delay, max_delay_s=1000.0,
                                      jitter=0.0),
                    start_offset=start_offset, max_children_per_run=cap)
    return Timetable(limits, rng=lambda: rng_value)


def spec(name="j", interval=100.0, origin=Origin.CONFIG, **kw):
    return JobSpec(name=name, classname="Test", interval_s=interval, origin=origin, **kw)


def ok(start, finish, **kw):
    return RunReport(outcome=Outcome.SUCCESS, started_at=start, finished_at=finish, **kw)


def fail(start, finish, outcome=Outcome.FAILED, **kw):
    return RunReport(outcome=outcome, started_at=start, finished_at=finish, error="boom", **kw)


def run_once(tt, job_id, now, report):
    run = tt.start(job_id, now)
    assert run is not None
    return run, tt.finish(job_id, report, report.finished_at)


# ------------------------------------------------------------------ first run
def test_config_job_first_run_is_offset_by_random_fraction_of_interval():
    tt = make(rng_value=0.25)
    job = tt.add(spec(interval=100), now=1000)
    assert job.due_at == 1025
    assert tt.next_wake() == 1025


def test_no_start_offset_runs_config_job_now_not_after_minimum_interval():
    tt = make(minimum=60, start_offset=False)
    job = tt.add(spec(interval=100), now=1000)
    assert job.due_at == 1000  # DAS delayed this by minimum_interval (offset 0 was falsy)


def test_child_first_run_is_one_interval_away_floored_by_minimum_interval():
    tt = make(minimum=60)
    assert tt.add(spec("c1", interval=10, origin=Origin.CHILD), now=1000).due_at == 1060
    assert tt.add(spec("c2", interval=90, origin=Origin.CHILD), now=1000).due_at == 1090


def test_same_definition_is_not_duplicated():
    tt = make()
    a = tt.add(spec(), now=0)
    b = tt.add(spec(), now=50)
    assert a is b and len(tt) == 1


def test_due_pops_in_due_order_and_only_due_jobs():
    tt = make(start_offset=False)
    tt.add(spec("late"), now=30)
    tt.add(spec("early"), now=10)
    tt.add(spec("future"), now=500)
    assert [j.spec.name for j in tt.due(100)] == ["early", "late"]
    assert tt.due(100) == []
    assert tt.next_wake() == 500


# ------------------------------------------------------------------ success path
def test_after_success_next_due_is_previous_due_plus_interval_no_drift():
    tt = make(start_offset=False)
    job = tt.add(spec(interval=100), now=1000)
    tt.due(1003)
    run, decision = run_once(tt, job.job_id, 1003, ok(1003, 1040))  # started late, took 37 s
    assert run.index == 1 and run.attempt == 0 and run.due_at == 1000
    assert decision.due_at == 1100  # anchored on the due time, not on start or finish


def test_slots_elapsed_during_a_long_run_coalesce_the_newest_runs_now_the_rest_are_missed():
    tt = make(start_offset=False)
    job = tt.add(spec(interval=100), now=1000)
    tt.due(1000)
    _, decision = run_once(tt, job.job_id, 1000, ok(1000, 1350))
    assert (decision.due_at, job.slot, job.next_trigger) == (1350, 1300, Trigger.CATCHUP)
    assert decision.missed == (1100, 1200) and decision.coalesced == 2
    assert "2 missed slot(s) recorded" in decision.note
    missed, _ = tt.take_records()
    assert [(owner.job_id, listed) for owner, listed, _ in missed] == [(job.job_id, (1100, 1200))]
    _, after = run_once(tt, job.job_id, 1350, ok(1350, 1351))
    assert after.due_at == 1400 and after.missed == ()  # back on the grid, nothing missed twice


def test_slots_elapsed_during_a_long_run_with_skip_policy_are_all_missed():
    tt = make(start_offset=False)
    job = tt.add(spec(interval=100, misfire="skip"), now=1000)
    _, decision = run_once(tt, job.job_id, 1000, ok(1000, 1350))
    assert decision.due_at == 1400 and decision.missed == (1100, 1200, 1300)


def test_interval_below_minimum_interval_is_floored():
    tt = make(minimum=60, start_offset=False)
    job = tt.add(spec(interval=15), now=1000)
    _, decision = run_once(tt, job.job_id, 1000, ok(1000, 1001))
    assert decision.due_at == 1060


def test_task_next_is_honoured_exactly():
    tt = make(minimum=10, start_offset=False)
    job = tt.add(spec(interval=100), now=1000)
    _, decision = run_once(tt, job.job_id, 1000, ok(1000, 1030, next_at=1234.5))
    assert decision.due_at == 1234.5  # DAS ran it 30 s early (the job's duration)


def test_task_next_is_floored_by_minimum_interval_from_the_run_start():
    tt = make(minimum=60, start_offset=False)
    job = tt.add(spec(interval=100), now=1000)
    _, decision = run_once(tt, job.job_id, 1000, ok(1000, 1005, next_at=1010))
    assert decision.due_at == 1060


def test_resubmit_false_finishes_the_job():
    tt = make(start_offset=False)
    job = tt.add(spec(), now=0)
    _, decision = run_once(tt, job.job_id, 0, ok(0, 1, resubmit=False))
    assert decision.state is JobState.FINISHED and job.due_at is None
    assert tt.next_wake() is None
    assert "resubmit" in decision.note


# ------------------------------------------------------------------ limits
def test_max_runs_counts_slots_and_is_checked_before_each_run():
    tt = make(start_offset=False)
    job = tt.add(spec(interval=10, max_runs=2), now=0)
    run_once(tt, job.job_id, 0, ok(0, 1))
    run, decision = run_once(tt, job.job_id, 10, ok(10, 11))
    assert run.index == 2
    assert decision.state is JobState.FINISHED
    assert "max_runs reached (2 runs)" in decision.note


def test_retries_do_not_consume_max_runs_slots():
    tt = make(start_offset=False, retries=3, retry_delay=1)
    job = tt.add(spec(interval=10, max_runs=1), now=0)
    run_once(tt, job.job_id, 0, fail(0, 1))
    retry, decision = run_once(tt, job.job_id, 2, ok(2, 3))
    assert (retry.index, retry.attempt, retry.trigger) == (1, 1, Trigger.RETRY)
    assert decision.state is JobState.FINISHED


def test_only_once_runs_exactly_once():
    tt = make(start_offset=False)
    job = tt.add(spec(only_once=True), now=0)
    _, decision = run_once(tt, job.job_id, 0, ok(0, 1))
    assert decision.state is JobState.FINISHED and "only_once" in decision.note


def test_only_before_is_checked_before_a_run_and_when_rescheduling():
    tt = make(start_offset=False)
    late = tt.add(spec("late", only_before=50.0), now=100)
    assert tt.start(late.job_id, 100) is None
    assert late.state is JobState.FINISHED and "only_before" in late.note


def test_only_before_allows_slots_before_the_cutoff():
    tt = make(start_offset=False)
    job = tt.add(spec(interval=100, only_before=250.0), now=0)
    _, d1 = run_once(tt, job.job_id, 0, ok(0, 1))
    assert d1.state is JobState.SCHEDULED and d1.due_at == 100
    _, d2 = run_once(tt, job.job_id, 100, ok(100, 101))
    assert d2.due_at == 200
    _, d3 = run_once(tt, job.job_id, 200, ok(200, 201))
    assert d3.state is JobState.FINISHED


def test_retry_is_refused_after_only_before():
    tt = make(start_offset=False, retries=3, retry_delay=100)
    job = tt.add(spec(interval=1000, only_before=50.0), now=0)
    _, decision = run_once(tt, job.job_id, 0, fail(0, 1))
    assert decision.state is JobState.FINISHED and "only_before" in decision.note


# ------------------------------------------------------------------ failures
@pytest.mark.parametrize("outcome", [Outcome.FAILED, Outcome.CRASHED, Outcome.TIMEOUT])
def test_exactly_max_retries_then_abandoned_with_last_error(outcome):
    tt = make(start_offset=False, retries=2, retry_delay=10)
    job = tt.add(spec(interval=1000), now=0)
    runs = []
    now = 0.0
    for _ in range(3):
        run = tt.start(job.job_id, now)
        runs.append(run)
        decision = tt.finish(job.job_id, fail(now, now, outcome=outcome), now)
        now = decision.due_at if decision.due_at is not None else now
    assert [(r.index, r.attempt) for r in runs] == [(1, 0), (1, 1), (1, 2)]
    assert decision.state is JobState.ABANDONED
    assert job.last_error == "boom" and "abandoned after 2 retries" in decision.note
    assert job.job_id in tt and tt.next_wake() is None  # kept, visible, not scheduled


def test_max_retries_zero_abandons_on_first_failure():
    tt = make(start_offset=False, retries=0)
    job = tt.add(spec(), now=0)
    _, decision = run_once(tt, job.job_id, 0, fail(0, 1))
    assert decision.state is JobState.ABANDONED


def test_per_job_retries_override_the_global_budget():
    tt = make(start_offset=False, retries=0, retry_delay=1)
    job = tt.add(spec(max_retries=1), now=0)
    _, decision = run_once(tt, job.job_id, 0, fail(0, 1))
    assert decision.state is JobState.SCHEDULED and decision.due_at == 2


def test_retry_delay_backs_off_exponentially():
    tt = make(start_offset=False, retries=3, retry_delay=10)
    job = tt.add(spec(interval=10_000), now=0)
    dues = []
    now = 0.0
    for _ in range(3):
        tt.start(job.job_id, now)
        decision = tt.finish(job.job_id, fail(now, now), now)
        dues.append(decision.due_at - now)
        now = decision.due_at
    assert dues == [10, 20, 40]


def test_retries_are_floored_by_minimum_interval():
    tt = make(minimum=60, start_offset=False, retries=1, retry_delay=5)
    job = tt.add(spec(interval=1000), now=0)
    _, decision = run_once(tt, job.job_id, 0, fail(0, 1))
    assert decision.due_at == 61  # the failure came at 1; the first retry waits the floor


def test_retry_backoff_grows_from_the_floor_not_up_to_it():
    """issue 16: under a floor of 5 s a backoff of 2 s, 4 s became 5 s, 5 s; now 5 s, 10 s."""
    tt = make(minimum=5, start_offset=False, retries=2, retry_delay=2)
    job = tt.add(spec(interval=1000), now=0)
    dues, now = [], 0.0
    for _ in range(2):
        tt.start(job.job_id, now)
        decision = tt.finish(job.job_id, fail(now, now), now)
        dues.append(decision.due_at - now)
        now = decision.due_at
    assert dues == [5, 10]


def test_success_resets_the_retry_budget():
    tt = make(start_offset=False, retries=1, retry_delay=1)
    job = tt.add(spec(interval=10), now=0)
    run_once(tt, job.job_id, 0, fail(0, 0))  # retry 1 used
    run_once(tt, job.job_id, 1, ok(1, 1))  # success: budget back
    _, decision = run_once(tt, job.job_id, 10, fail(10, 10))
    assert decision.state is JobState.SCHEDULED and "retry 1/1" in decision.note


def test_retry_after_success_slot_keeps_no_drift_anchor():
    tt = make(start_offset=False, retries=1, retry_delay=5)
    job = tt.add(spec(interval=100), now=0)
    run_once(tt, job.job_id, 0, fail(0, 1))
    _, decision = run_once(tt, job.job_id, 5, ok(5, 6))
    assert decision.due_at == 100  # anchored on the slot's due time, not the retry's


def test_resubmit_false_on_failure_finishes_without_retry():
    tt = make(start_offset=False, retries=5)
    job = tt.add(spec(), now=0)
    _, decision = run_once(tt, job.job_id, 0, fail(0, 1, resubmit=False))
    assert decision.state is JobState.FINISHED


def test_interrupted_run_resumes_at_once_without_spending_budget():
    tt = make(start_offset=False, retries=0)
    job = tt.add(spec(), now=0)
    _, decision = run_once(tt, job.job_id, 0, RunReport(Outcome.INTERRUPTED, 0, 1, error="stop"))
    assert decision.state is JobState.SCHEDULED and decision.due_at == 1
    run = tt.start(job.job_id, 1)
    assert (run.index, run.attempt, run.trigger) == (1, 1, Trigger.RESUME)


# ------------------------------------------------------------------ concurrency / waiting
def test_a_running_job_cannot_start_twice():
    tt = make(start_offset=False)
    job = tt.add(spec(), now=0)
    assert tt.start(job.job_id, 0) is not None
    assert tt.start(job.job_id, 0) is None
    assert job.state is JobState.RUNNING


def test_waiting_job_can_start_later():
    tt = make(start_offset=False)
    job = tt.add(spec(), now=0)
    tt.due(0)
    tt.mark_waiting(job.job_id)
    assert job.state is JobState.WAITING
    run = tt.start(job.job_id, 5)
    assert run is not None and run.due_at == 0


# ------------------------------------------------------------------ children
def test_children_get_the_ancestry_chain():
    tt = make(start_offset=False)
    parent = tt.add(spec("p", parent=("grandpa",)), now=0)
    child = {"name": "c", "classname": "Test", "interval": 30, "max_runs": 2}
    _, decision = run_once(tt, parent.job_id, 0, ok(0, 1, children=(child,)))
    assert len(decision.children) == 1
    cspec = decision.children[0]
    assert cspec.parent == ("grandpa", parent.job_id)
    assert cspec.origin is Origin.CHILD and cspec.max_runs == 2


def test_malformed_children_are_reported_and_capped():
    tt = make(start_offset=False, cap=2)
    parent = tt.add(spec("p"), now=0)
    children = (
        {"name": "ok", "classname": "Test", "interval": 30},
        {"name": "bad", "classname": "Test", "interval": -1},
        {"name": "over", "classname": "Test", "interval": 30},
    )
    _, decision = run_once(tt, parent.job_id, 0, ok(0, 1, children=children))
    assert [c.name for c in decision.children] == ["ok"]
    assert any("new_tasks[1]" in e and "interval" in e for e in decision.child_errors)
    assert any("cap of 2" in e for e in decision.child_errors)


def test_children_are_built_even_when_the_parent_failed():
    tt = make(start_offset=False)
    parent = tt.add(spec("p"), now=0)
    child = {"name": "c", "classname": "Test", "interval": 30}
    _, decision = run_once(tt, parent.job_id, 0, fail(0, 1, children=(child,)))
    assert len(decision.children) == 1


def test_a_parent_that_spawns_a_child_it_has_extends_it_instead_of_adding_another():
    tt = make(start_offset=False)
    parent = tt.add(spec("p"), now=0)
    first = {"name": "c", "classname": "Test", "interval": 30, "kwargs": {"key": "a"}}
    _, decision = run_once(tt, parent.job_id, 0, ok(0, 1, children=(first,)))
    child = tt.add(decision.children[0], now=1)
    run_once(tt, child.job_id, child.due_at, ok(child.due_at, child.due_at + 1))
    assert child.run_count == 1
    again = {**first, "kwargs": {"key": "b"}, "max_runs": 5}
    _, decision = run_once(tt, parent.job_id, 100, ok(100, 101, children=(again,)))
    extended = tt.add(decision.children[0], now=101)
    assert extended is child and extended.job_id == child.job_id  # the same job, not one more
    assert dict(extended.spec.kwargs) == {"key": "b"} and extended.spec.max_runs == 5
    assert extended.run_count == 1 and "extended" in extended.note  # history kept
    assert len([j for j in tt.jobs() if j.spec.origin is Origin.CHILD]) == 1
    other = {**first, "name": "d"}  # another name is another child
    _, decision = run_once(tt, parent.job_id, 200, ok(200, 201, children=(other,)))
    assert tt.add(decision.children[0], now=201).job_id != child.job_id


def test_an_extended_finished_child_runs_again_counting_its_limit_from_the_extension():
    tt = make(start_offset=False)
    parent = tt.add(spec("p"), now=0)
    once = {"name": "c", "classname": "Test", "interval": 30, "only_once": True}
    _, decision = run_once(tt, parent.job_id, 0, ok(0, 1, children=(once,)))
    child = tt.add(decision.children[0], now=1)
    run, _ = run_once(tt, child.job_id, child.due_at, ok(child.due_at, child.due_at + 1))
    assert child.state is JobState.FINISHED and run.index == 1
    _, decision = run_once(tt, parent.job_id, 100, ok(100, 101, children=(once,)))
    assert tt.add(decision.children[0], now=101) is child
    assert child.state is JobState.SCHEDULED and child.due_at == 131
    run, _ = run_once(tt, child.job_id, 131, ok(131, 132))
    assert run.index == 2  # run numbers go on: its earlier results stay addressable
    assert child.state is JobState.FINISHED and child.to_record()["runs_before"] == 1


# ------------------------------------------------------------------ operator actions
def test_reschedule_is_floored_by_minimum_interval():
    tt = make(minimum=60, start_offset=False)
    job = tt.add(spec(interval=1000), now=0)
    run_once(tt, job.job_id, 0, ok(0, 1))
    assert tt.reschedule(job.job_id, 10, now=5) == 60
    assert tt.reschedule(job.job_id, 500, now=5) == 500
    assert tt.next_wake() == 500


def test_reschedule_of_running_job_is_refused():
    tt = make(start_offset=False)
    job = tt.add(spec(), now=0)
    tt.start(job.job_id, 0)
    with pytest.raises(InvalidJobError, match="running"):
        tt.reschedule(job.job_id, 100, now=0)


def test_reschedule_revives_an_abandoned_job():
    tt = make(start_offset=False, retries=0)
    job = tt.add(spec(), now=0)
    run_once(tt, job.job_id, 0, fail(0, 1))
    assert job.state is JobState.ABANDONED
    tt.reschedule(job.job_id, 50, now=10)
    assert job.state is JobState.SCHEDULED and tt.next_wake() == 50


def test_pause_and_resume():
    tt = make(start_offset=False)
    job = tt.add(spec(interval=100), now=0)
    tt.pause(job.job_id)
    assert job.state is JobState.PAUSED and tt.due(1000) == []
    tt.resume(job.job_id, now=1000)
    assert job.state is JobState.SCHEDULED and job.due_at == 1000


def test_pausing_a_running_job_keeps_it_paused_after_the_run():
    tt = make(start_offset=False)
    job = tt.add(spec(interval=100), now=0)
    tt.start(job.job_id, 0)
    tt.pause(job.job_id)
    decision = tt.finish(job.job_id, ok(0, 1), 1)
    assert decision.state is JobState.PAUSED and job.due_at == 100
    assert tt.due(10_000) == []
    tt.resume(job.job_id, now=50)
    assert job.state is JobState.SCHEDULED and job.due_at == 100


def test_removed_job_is_never_dispatched_again():
    tt = make(start_offset=False)
    job = tt.add(spec(), now=0)
    tt.remove(job.job_id)
    assert tt.due(1000) == [] and job.job_id not in tt


def test_prune_drops_old_finished_jobs_but_keeps_abandoned():
    tt = make(start_offset=False, retries=0)
    done = tt.add(spec("done", only_once=True), now=0)
    lost = tt.add(spec("lost"), now=0)
    run_once(tt, done.job_id, 0, ok(0, 1))
    run_once(tt, lost.job_id, 0, fail(0, 1))
    assert tt.prune(now=50, retention_s=100) == []
    assert tt.prune(now=500, retention_s=100) == [done.job_id]
    assert lost.job_id in tt


# ------------------------------------------------------------------ persistence
def test_record_round_trip_resumes_the_schedule():
    tt = make(start_offset=False, retries=2, retry_delay=10)
    job = tt.add(spec(interval=100, max_runs=5), now=0)
    run_once(tt, job.job_id, 0, fail(0, 1))
    record = job.to_record()
    tt2 = make()
    restored = tt2.restore(record, now=3)
    assert restored.job_id == job.job_id
    assert (restored.due_at, restored.retries_used, restored.next_trigger) == (11, 1, Trigger.RETRY)
    run = tt2.start(restored.job_id, 10)
    assert (run.index, run.attempt) == (1, 1)


def test_restore_of_a_run_in_flight_resumes_it_now():
    tt = make(start_offset=False)
    job = tt.add(spec(interval=100), now=0)
    tt.start(job.job_id, 0)
    record = job.to_record()
    tt2 = make()
    restored = tt2.restore(record, now=42)
    assert restored.state is JobState.SCHEDULED and restored.due_at == 42
    run = tt2.start(restored.job_id, 42)
    assert (run.index, run.attempt, run.trigger) == (1, 1, Trigger.RESUME)


# ------------------------------------------------------------------ run now
def test_run_now_runs_at_once_without_shifting_the_schedule():
    tt = make(start_offset=False)
    job = tt.add(spec(interval=100), now=0)
    run_once(tt, job.job_id, 0, ok(0, 1))
    assert job.due_at == 100
    tt.run_now(job.job_id)
    assert job.state is JobState.WAITING and tt.due(1000) == []  # not popped as a scheduled run
    manual = tt.start(job.job_id, 30)
    assert (manual.trigger, manual.index, manual.due_at) == (Trigger.MANUAL, 2, 30)
    decision = tt.finish(job.job_id, ok(30, 31), 31)
    assert decision.state is JobState.SCHEDULED and decision.due_at == 100 and "schedule unchanged" in decision.note
    assert tt.next_wake() == 100
    scheduled = tt.start(job.job_id, 100)
    assert (scheduled.trigger, scheduled.index, scheduled.due_at) == (Trigger.SCHEDULE, 3, 100)
    assert tt.finish(job.job_id, ok(100, 101), 101).due_at == 200  # anchored as before


@pytest.mark.parametrize("outcome", [Outcome.FAILED, Outcome.CRASHED, Outcome.TIMEOUT])
def test_a_failed_run_now_is_not_retried_and_says_so_while_the_schedule_keeps_its_retries(outcome):
    tt = make(start_offset=False, retries=2)
    job = tt.add(spec(interval=100), now=0)
    run_once(tt, job.job_id, 0, ok(0, 1))
    tt.run_now(job.job_id)
    tt.start(job.job_id, 30)
    decision = tt.finish(job.job_id, fail(30, 31, outcome=outcome), 31)
    assert "not retried" in decision.note and job.retries_used == 0
    assert decision.state is JobState.SCHEDULED and decision.due_at == 100 and tt.due(99) == []
    tt.start(job.job_id, 100)  # the scheduled slot fails: it is retried
    retry = tt.finish(job.job_id, fail(100, 101, outcome=outcome), 101)
    assert job.retries_used == 1 and retry.due_at is not None and retry.due_at < 200


def test_run_now_of_an_abandoned_job_leaves_it_abandoned_and_a_running_job_is_refused():
    tt = make(start_offset=False, retries=0)
    job = tt.add(spec(), now=0)
    run_once(tt, job.job_id, 0, fail(0, 1))
    assert job.state is JobState.ABANDONED
    tt.run_now(job.job_id)
    tt.start(job.job_id, 5)
    with pytest.raises(InvalidJobError, match="running"):
        tt.run_now(job.job_id)
    decision = tt.finish(job.job_id, ok(5, 6), 6)
    assert decision.state is JobState.ABANDONED and job.last_error is None


def test_run_now_counts_toward_max_runs_and_respects_limits():
    tt = make(start_offset=False)
    job = tt.add(spec(interval=100, max_runs=1), now=0)
    tt.run_now(job.job_id)
    assert tt.start(job.job_id, 1).trigger is Trigger.MANUAL
    tt.finish(job.job_id, ok(1, 2), 2)
    tt.run_now(job.job_id)
    assert tt.start(job.job_id, 3) is None and "max_runs" in job.note


# ------------------------------------------------------------------ the grid is kept (issue 16)
def test_resume_after_a_long_pause_keeps_the_time_of_day():
    """Resuming used to re-anchor the schedule at the resume time, so a job's time of day drifted."""
    tt = make(start_offset=False)
    job = tt.add(spec(interval=100), now=0)
    run_once(tt, job.job_id, 0, ok(0, 1))  # slot 0 ran; next slot 100
    tt.pause(job.job_id)
    tt.resume(job.job_id, now=370)  # slots 100, 200, 300 fell due while paused
    run = tt.start(job.job_id, 370)
    assert run is not None and run.slot == 300  # coalesce: the newest missed slot runs at once...
    decision = tt.finish(job.job_id, ok(370, 371), 371)
    assert decision.due_at == 400  # ...and the grid goes on at 400, not at 470


def test_the_catch_up_run_after_downtime_keeps_the_grid():
    tt = make(start_offset=False)
    job = tt.add(spec(interval=100), now=0)
    run = tt.start(job.job_id, 0)
    assert run is not None
    decision = tt.finish(job.job_id, ok(0, 250), 250)  # a run that overran two slots
    assert decision.due_at == 250  # the newest elapsed slot (200) runs at once
    run = tt.start(job.job_id, 250)
    assert run is not None and run.slot == 200
    assert tt.finish(job.job_id, ok(250, 251), 251).due_at == 300  # back on the grid
