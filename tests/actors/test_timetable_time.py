"""The time rules inside the timetable, with an injected clock: cron slots and their DST rule,
jitter, the minimum_interval floor, the misfire policies after downtime and stalls, restores
checked against the run ledger, backfill. Pure: no thread, no store, microseconds each."""

from __future__ import annotations

from datetime import datetime
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest

from actors.errors import InvalidJobError
from actors.jobs import JobSpec, JobState, Origin, Outcome, Run, RunReport, Trigger
from actors.jobstate import Decision, Job
from actors.ledger import LedgerEntry, LedgerHead, SlotState
from actors.misfire import Misfire, MisfirePolicy, SlotSpan
from actors.policy import RetryPolicy
from actors.timetable import Limits, Timetable

ZURICH = "Europe/Zurich"


def at(text: str, tz: str = ZURICH) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(tz)).timestamp()


def local(epoch: float | None, tz: str = ZURICH) -> str:
    assert epoch is not None
    return datetime.fromtimestamp(epoch, ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M %Z")


def make(minimum: float = 0.0, retries: int = 0, start_offset: bool = False) -> Timetable:
    limits = Limits(minimum_interval_s=minimum, retry=RetryPolicy(max_retries=retries, base_delay_s=1.0,
                                                                  max_delay_s=10.0, jitter=0.0),
                    start_offset=start_offset)
    return Timetable(limits, rng=lambda: 0.5)


def cron(expr: str, tz: str | None = ZURICH, name: str = "c", **kw) -> JobSpec:
    return JobSpec(name=name, classname="Test", cron=expr, tz=tz, **kw)


def every(seconds: float, name: str = "i", **kw) -> JobSpec:
    return JobSpec(name=name, classname="Test", interval_s=seconds, **kw)


def ok(start: float, finish: float | None = None) -> RunReport:
    return RunReport(Outcome.SUCCESS, start, start if finish is None else finish)


def started(run: Run | None) -> Run:
    assert run is not None
    return run


def slot_of(run: Run) -> float:
    assert run.slot is not None
    return run.slot


def run_due(tt: Timetable, job_id: str, finish_after: float = 1.0) -> tuple[Run, Decision]:
    """Start the job at its due time, finish it *finish_after* seconds later; return (run, decision)."""
    job = tt.get(job_id)
    assert job is not None and job.due_at is not None
    now = job.due_at
    run = tt.start(job_id, now)
    assert run is not None, job.note
    return run, tt.finish(job_id, ok(now, now + finish_after), now + finish_after)


def head(job_id: str, entry: LedgerEntry | None, last: float | None = None) -> LedgerHead:
    last_slot = last if last is not None else (entry.slot if entry else 0.0)
    return LedgerHead(job_id, last_slot, entry.index if entry else None, entry)


# ------------------------------------------------------------------ cron and DST
def test_a_cron_job_first_runs_at_its_next_fire_time_in_its_zone():
    tt = make()
    job = tt.add(cron("30 2 * * *"), now=at("2026-06-01T12:00"))
    assert local(job.slot) == "2026-06-02 02:30 CEST" and job.due_at == job.slot


@pytest.mark.parametrize(("start", "expected"), [
    ("2026-03-27T12:00", ["2026-03-28 02:30 CET", "2026-03-29 03:00 CEST", "2026-03-30 02:30 CEST"]),
    ("2026-10-23T12:00", ["2026-10-24 02:30 CEST", "2026-10-25 02:30 CEST", "2026-10-26 02:30 CET"]),
])
def test_a_0230_job_runs_once_on_each_day_around_a_dst_change(start, expected):
    tt = make()
    job = tt.add(cron("30 2 * * *"), now=at(start))
    slots = []
    for _ in expected:
        run, _ = run_due(tt, job.job_id)
        slots.append(run.slot)
    assert [local(s) for s in slots] == expected


def test_every_30_minutes_keeps_its_instants_across_fall_back():
    tt = make()
    job = tt.add(cron("*/30 * * * *"), now=at("2026-10-25T01:10"))
    slots = [slot_of(run_due(tt, job.job_id)[0]) for _ in range(6)]
    assert [b - a for a, b in pairwise(slots)] == [1800.0] * 5  # 02:00-02:30 CEST and CET


def test_a_cron_run_tells_the_task_the_period_to_the_next_slot():
    tt = make()
    job = tt.add(cron("0 9,17 * * *", tz="UTC"), now=at("2026-06-01T00:00", "UTC"))
    run, _ = run_due(tt, job.job_id)
    assert run.interval_s == 8 * 3600  # 09:00 -> 17:00


# ------------------------------------------------------------------ jitter
def test_jitter_moves_the_due_time_not_the_slot_and_is_the_same_after_a_restore():
    tt = make()
    job = tt.add(every(3600, jitter_s=600, origin=Origin.API), now=1_000_000.0)
    _, decision = run_due(tt, job.job_id)
    slot = job.slot
    assert slot == 1_003_600.0 and decision.due_at is not None and slot <= decision.due_at < slot + 600
    again = make().restore(job.to_record(), now=1_000_100.0)
    assert (again.slot, again.due_at) == (slot, decision.due_at)


def test_jitter_spreads_a_herd_of_hourly_cron_jobs():
    tt = make()
    jobs = [tt.add(cron("0 * * * *", tz="UTC", name=f"h{n}", jitter_s=300), now=7200.5) for n in range(50)]
    assert {job.slot for job in jobs} == {10800.0}
    offsets = [(job.due_at or 0.0) - (job.slot or 0.0) for job in jobs]
    assert all(0 <= o < 300 for o in offsets) and len(set(offsets)) > 40


def test_jitter_larger_than_the_interval_is_refused_naming_the_field():
    with pytest.raises(InvalidJobError) as info:
        every(60, jitter_s=61)
    assert info.value.field == "jitter"


# ------------------------------------------------------------------ minimum_interval
def test_minimum_interval_floors_a_cron_schedule():
    tt = make(minimum=300)
    job = tt.add(cron("* * * * *", tz="UTC"), now=60.5)
    slots = [slot_of(run_due(tt, job.job_id, finish_after=1)[0]) for _ in range(4)]
    assert [b - a for a, b in pairwise(slots)] == [300.0] * 3


def test_minimum_interval_floors_a_cron_due_time_after_a_late_start():
    tt = make(minimum=120)
    job = tt.add(cron("*/5 * * * *", tz="UTC"), now=0.5)
    assert job.slot == 300.0
    tt.start(job.job_id, 550.0)  # its run started late (every worker was busy)
    tt.finish(job.job_id, ok(550.0, 551.0), 551.0)
    assert job.slot == 600.0 and job.due_at == 550.0 + 120  # the slot stays, its due time is floored


def test_minimum_interval_floors_the_interval_grid():
    tt = make(minimum=60)
    job = tt.add(every(15, origin=Origin.API), now=1000)
    _, decision = run_due(tt, job.job_id)
    assert decision.due_at == 1060


# ------------------------------------------------------------------ misfire after downtime
def stopped_for(policy: str, intervals: int = 10, **kw) -> tuple[Timetable, Job]:
    """An interval-60 job that ran slot 0 and was then down for *intervals* intervals."""
    spec = every(60, misfire=policy, origin=Origin.API, **kw)
    tt = make()
    job = tt.add(spec, now=0.0)
    run_due(tt, job.job_id)
    record = job.to_record()
    entry = LedgerEntry(job.job_id, 0.0, SlotState.DONE, index=1, outcome="success", at=0.0)
    again = make()
    restored = again.restore(record, now=intervals * 60 + 5.0, head=head(job.job_id, entry))
    return again, restored


def test_restart_after_ten_intervals_coalesce_runs_the_newest_and_records_the_rest_missed():
    tt, job = stopped_for("coalesce")
    missed, _ = tt.take_records()
    assert [listed for _, listed, _ in missed] == [tuple(60.0 * k for k in range(1, 10))]
    assert (job.slot, job.next_trigger, job.due_at) == (600.0, Trigger.CATCHUP, 605.0)


def test_restart_after_ten_intervals_all_runs_each_slot_oldest_first_within_the_grace():
    tt, job = stopped_for("all", misfire_grace="unlimited")
    assert tt.take_records()[0] == []
    ran = [run_due(tt, job.job_id, finish_after=0.0)[0] for _ in range(10)]
    assert [r.slot for r in ran] == [60.0 * k for k in range(1, 11)]
    assert ran[0].trigger is Trigger.SCHEDULE  # the slot the job had pending
    assert all(r.trigger is Trigger.CATCHUP for r in ran[1:])
    assert job.slot == 660.0 and job.next_trigger is Trigger.SCHEDULE


def test_all_runs_at_most_max_catchup_and_records_the_newer_ones_missed_after_those_runs():
    tt, job = stopped_for("all", misfire_grace="unlimited", max_catchup=3)
    assert tt.take_records()[0] == []  # the newer missed slots wait for the catch-up runs
    ran = [run_due(tt, job.job_id, finish_after=0.0)[0].slot for _ in range(3)]
    assert ran == [60.0, 120.0, 180.0]
    missed, _ = tt.take_records()
    assert [listed for _, listed, _ in missed] == [tuple(60.0 * k for k in range(4, 11))]


def test_restart_after_ten_intervals_skip_runs_none_and_records_all_missed():
    tt, job = stopped_for("skip")
    missed, _ = tt.take_records()
    assert [listed for _, listed, _ in missed] == [tuple(60.0 * k for k in range(1, 11))]
    assert (job.slot, job.next_trigger) == (660.0, Trigger.SCHEDULE)


def test_a_slot_past_its_grace_is_missed_even_with_coalesce():
    tt, job = stopped_for("coalesce", misfire_grace=1)
    missed, _ = tt.take_records()
    assert [listed for _, listed, _ in missed] == [tuple(60.0 * k for k in range(1, 11))]
    assert job.slot == 660.0


def test_the_server_default_policy_applies_to_jobs_without_their_own():
    spec = every(60, origin=Origin.API)
    tt = make()
    tt.limits.misfire = MisfirePolicy(Misfire.SKIP)
    job = tt.add(spec, now=0.0)
    run = tt.start(job.job_id, 0.0)
    decision = tt.finish(job.job_id, RunReport(Outcome.SUCCESS, 0.0, 200.0), 200.0)
    assert run is not None and decision.missed == (60.0, 120.0, 180.0) and job.slot == 240.0


def test_a_year_of_downtime_of_an_every_second_job_is_counted_in_spans():
    spec = every(1, misfire="skip", origin=Origin.API)
    tt = make()
    job = tt.add(spec, now=0.0)
    run_due(tt, job.job_id, finish_after=0.0)
    year = 365 * 86400.0
    tt2 = make()
    tt2.restore(job.to_record(), now=year, head=head(job.job_id, LedgerEntry(job.job_id, 0.0, SlotState.DONE,
                                                                               index=1, outcome="success")))
    [(_, listed, spans)] = tt2.take_records()[0]
    assert len(listed) + sum(s.count for s in spans) == int(year) and isinstance(spans[0], SlotSpan)


def test_resume_after_a_long_pause_follows_the_misfire_policy():
    tt = make()
    job = tt.add(every(60, origin=Origin.API), now=0.0)
    run_due(tt, job.job_id)
    tt.pause(job.job_id)
    tt.resume(job.job_id, now=605.0)
    missed, _ = tt.take_records()
    assert [listed for _, listed, _ in missed] == [tuple(60.0 * k for k in range(1, 10))]
    assert (job.slot, job.next_trigger, job.due_at) == (600.0, Trigger.CATCHUP, 605.0)


# ------------------------------------------------------------------ restores checked against the ledger
def in_flight_record(tt: Timetable, spec: JobSpec, now: float = 0.0) -> tuple[dict, Run]:
    job = tt.add(spec, now=now)
    return job.to_record(), started(tt.start(job.job_id, now))


def test_a_run_the_ledger_shows_finished_is_not_resumed_nor_recorded_interrupted():
    tt = make()
    record, run = in_flight_record(tt, every(3600, origin=Origin.API))
    entry = LedgerEntry(run.job_id, slot_of(run), SlotState.DONE, index=1, outcome="success", at=0.0)
    again = make()
    job = again.restore(record, now=10.0, head=head(run.job_id, entry))
    assert again.take_records() == ([], [])
    assert (job.slot, job.next_trigger, job.due_at, job.run_count) == (3600.0, Trigger.SCHEDULE, 3600.0, 1)
    assert "already ended (success)" in job.note


def test_an_only_once_job_the_ledger_shows_run_finishes_even_when_its_record_lags():
    tt = make()
    spec = every(3600, only_once=True, origin=Origin.API)
    job = tt.add(spec, now=0.0)
    stale = job.to_record()  # saved before the run started
    entry = LedgerEntry(job.job_id, 0.0, SlotState.DONE, index=1, outcome="success", at=0.0)
    again = make()
    restored = again.restore(stale, now=5.0, head=head(job.job_id, entry))
    assert restored.state is JobState.FINISHED and again.start(restored.job_id, 5.0) is None


def test_a_lost_record_of_an_only_once_config_job_cannot_run_it_again():
    spec = every(3600, only_once=True)
    entry = LedgerEntry(spec.job_id, 0.0, SlotState.DONE, index=1, outcome="success", at=0.0)
    tt = make()
    job = tt.add(spec, now=100.0, head=head(spec.job_id, entry))
    assert tt.start(job.job_id, 100.0) is None and job.state is JobState.FINISHED


def test_a_claimed_run_without_an_outcome_is_resumed_as_the_next_attempt_of_the_same_slot():
    tt = make()
    record, run = in_flight_record(tt, every(3600, origin=Origin.API), now=50.0)
    entry = LedgerEntry(run.job_id, slot_of(run), SlotState.CLAIMED, index=1, attempt=0, at=50.0)
    again = make()
    job = again.restore(record, now=70.0, head=head(run.job_id, entry))
    _, interrupted = again.take_records()
    assert [(r.index, r.attempt, r.slot) for _, r in interrupted] == [(1, 0, 50.0)]
    resumed = started(again.start(job.job_id, 70.0))
    assert (resumed.index, resumed.attempt, resumed.slot, resumed.trigger) == (1, 1, 50.0, Trigger.RESUME)


def test_a_ledger_behind_the_record_is_ignored():
    tt = make()
    job = tt.add(every(60, origin=Origin.API), now=0.0)
    run_due(tt, job.job_id)
    run_due(tt, job.job_id)
    older = LedgerEntry(job.job_id, 0.0, SlotState.DONE, index=1, outcome="success")
    again = make()
    restored = again.restore(job.to_record(), now=100.0, head=head(job.job_id, older, last=60.0))
    assert (restored.slot, restored.due_at, restored.run_count) == (120.0, 120.0, 2)


# ------------------------------------------------------------------ refused claims
def test_a_refused_claim_of_a_missed_slot_moves_on_to_the_next_slot():
    tt = make()
    job = tt.add(every(60, origin=Origin.API), now=0.0)
    run = started(tt.start(job.job_id, 0.0))
    tt.claim_refused(job.job_id, run, LedgerEntry(job.job_id, 0.0, SlotState.MISSED), now=1.0)
    assert (job.running, job.run_count, job.slot) == (None, 0, 60.0)


def test_a_refused_claim_of_a_slot_run_elsewhere_takes_its_outcome():
    tt = make()
    job = tt.add(every(60, origin=Origin.API, only_once=True), now=0.0)
    run = started(tt.start(job.job_id, 0.0))
    entry = LedgerEntry(job.job_id, 0.0, SlotState.DONE, index=1, outcome="success", owner="other")
    tt.claim_refused(job.job_id, run, entry, now=1.0)
    assert job.state is JobState.FINISHED and job.run_count == 1


# ------------------------------------------------------------------ backfill
def test_backfill_runs_past_slots_oldest_first_one_at_a_time_and_leaves_the_schedule_alone():
    tt = make()
    job = tt.add(cron("0 * * * *", tz="UTC"), now=10 * 3600 + 5.0)
    due = job.due_at
    tt.backfill(job.job_id, [7200.0, 3600.0])
    assert job.state is JobState.WAITING
    first = started(tt.start(job.job_id, 36010.0))
    assert (first.trigger, first.slot, first.due_at, first.index) == (Trigger.BACKFILL, 3600.0, 3600.0, 1)
    decision = tt.finish(job.job_id, ok(36010.0), 36011.0)
    assert decision.state is JobState.WAITING  # back on the line for the next slot
    second = started(tt.start(job.job_id, 36012.0))
    assert (second.slot, second.index) == (7200.0, 2)
    tt.finish(job.job_id, ok(36012.0), 36013.0)
    assert (job.state, job.due_at, job.slot) == (JobState.SCHEDULED, due, 11 * 3600.0)


def test_backfill_stops_at_the_run_limit():
    tt = make()
    job = tt.add(every(60, origin=Origin.API, max_runs=1), now=1000.0)
    tt.backfill(job.job_id, [100.0, 160.0])
    assert started(tt.start(job.job_id, 1000.0)).slot == 100.0
    tt.finish(job.job_id, ok(1000.0), 1001.0)
    assert tt.start(job.job_id, 1001.0) is None and "backfill stopped" in job.note


# ------------------------------------------------------------------ next_at and reschedule
def test_a_task_next_at_is_a_slot_of_its_own_and_the_cron_grid_resumes_after_it():
    tt = make()
    job = tt.add(cron("0 * * * *", tz="UTC"), now=5.0)
    started(tt.start(job.job_id, 3600.0))
    tt.finish(job.job_id, RunReport(Outcome.SUCCESS, 3600.0, 3601.0, next_at=4000.0), 3601.0)
    assert (job.slot, job.due_at) == (4000.0, 4000.0)
    run = started(tt.start(job.job_id, 4000.0))
    assert run.slot == 4000.0
    tt.finish(job.job_id, ok(4000.0, 4001.0), 4001.0)
    assert job.slot == 7200.0


def test_a_backfill_under_way_goes_on_after_a_restore():
    tt = make()
    job = tt.add(every(60, origin=Origin.API), now=1000.0)
    tt.backfill(job.job_id, [100.0, 160.0])
    started(tt.start(job.job_id, 1000.0))
    tt.finish(job.job_id, ok(1000.0), 1001.0)
    record = job.to_record()
    again = make()
    restored = again.restore(record, now=1002.0)
    assert restored.state is JobState.WAITING and restored.backfill == [160.0]
    assert started(again.start(restored.job_id, 1002.0)).slot == 160.0
