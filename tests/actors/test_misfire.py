"""The misfire policy and its plan, with injected times: which missed slots run, which are `missed`."""

from __future__ import annotations

import math
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from actors.errors import InvalidJobError
from actors.misfire import (
    DEFAULT_MAX_CATCHUP,
    LISTED_MISSED_MAX,
    Misfire,
    MisfirePolicy,
    SlotSpan,
    plan,
)
from actors.schedule import CronSchedule, IntervalSchedule, Schedule

COALESCE, ALL, SKIP = Misfire.COALESCE, Misfire.ALL, Misfire.SKIP


def at(tz, text):
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(tz)).timestamp()


def expand(schedule, span):
    """Every slot a span counts, listed (test-side only)."""
    return list(schedule.slots_between(math.nextafter(span.first, -math.inf), span.last))


def all_missed(schedule, result):
    return [*result.missed, *(s for span in result.unlisted for s in expand(schedule, span))]


class Counting(Schedule):
    """A schedule that counts the slots the planner walks (to prove the work is bounded)."""

    def __init__(self, inner):
        self.inner = inner
        self.jitter_s = inner.jitter_s
        self.walked = 0
        self.counted = 0

    @property
    def kind(self):
        return self.inner.kind

    def next_after(self, t):
        self.walked += 1
        return self.inner.next_after(t)

    def prev_at_or_before(self, t):
        self.walked += 1
        return self.inner.prev_at_or_before(t)

    def slots_between(self, after, upto):
        for slot in self.inner.slots_between(after, upto):
            self.walked += 1
            yield slot

    def count_between(self, after, upto):
        self.counted += 1
        return self.inner.count_between(after, upto)

    def fields(self):
        return self.inner.fields()

    def describe(self):
        return self.inner.describe()


# ------------------------------------------------------------------ the policy value object
@pytest.mark.parametrize(("kwargs", "field", "message"), [
    ({"policy": "sometimes"}, "misfire", "misfire must be one of 'coalesce', 'all', 'skip', got 'sometimes'"),
    ({"grace_s": -1}, "misfire_grace", "got -1"),
    ({"grace_s": math.nan}, "misfire_grace", "got nan"),
    ({"grace_s": True}, "misfire_grace", "got True"),
    ({"grace_s": "60"}, "misfire_grace", "got '60'"),
    ({"max_catchup": 0}, "max_catchup", "within [1, 10000], got 0"),
    ({"max_catchup": 10_001}, "max_catchup", "got 10001"),
    ({"max_catchup": 2.5}, "max_catchup", "got 2.5"),
    ({"max_catchup": True}, "max_catchup", "got True"),
])
def test_invalid_policy_names_the_option_and_the_value(kwargs, field, message):
    with pytest.raises(InvalidJobError) as caught:
        MisfirePolicy(**kwargs)
    assert caught.value.field == field
    assert message in str(caught.value)


def test_default_grace_is_the_period_capped_at_one_hour():
    policy = MisfirePolicy()
    assert (policy.policy, policy.grace_s, policy.max_catchup) == (COALESCE, None, DEFAULT_MAX_CATCHUP)
    assert policy.grace_for(10.0) == 10.0
    assert policy.grace_for(86400.0) == 3600.0
    assert policy.grace_for(None) == 3600.0
    assert MisfirePolicy(grace_s=0).grace_for(10.0) == 0.0
    assert MisfirePolicy(grace_s=math.inf).grace_for(10.0) == math.inf


def test_policy_from_job_fields_and_back():
    policy = MisfirePolicy.from_fields({"misfire": "all", "misfire_grace": "unlimited", "max_catchup": 5})
    assert policy == MisfirePolicy(ALL, math.inf, 5)
    assert policy.fields() == {"misfire": "all", "misfire_grace": "unlimited", "max_catchup": 5}
    assert MisfirePolicy.from_fields(policy.fields()) == policy
    server_default = MisfirePolicy(SKIP, 120.0, 3)
    assert MisfirePolicy.from_fields({}, server_default) == server_default
    assert MisfirePolicy.from_fields({"misfire": "", "max_catchup": None}, server_default) == server_default
    assert MisfirePolicy.from_fields({"misfire_grace": 30}, server_default) == MisfirePolicy(SKIP, 30.0, 3)
    with pytest.raises(InvalidJobError, match="max_catchup"):
        MisfirePolicy.from_fields({"max_catchup": 0})


# ------------------------------------------------------------------ plans, every 10 s, anchor 0
EVERY_10 = IntervalSchedule(10, anchor=0)
ELAPSED = [110.0, 120.0, 130.0, 140.0, 150.0, 160.0, 170.0, 180.0, 190.0, 200.0]


@pytest.mark.parametrize(("policy", "now", "run", "missed"), [
    pytest.param(MisfirePolicy(COALESCE), 205, [200], ELAPSED[:-1], id="coalesce-default-grace-runs-newest"),
    pytest.param(MisfirePolicy(COALESCE, 0), 205, [], ELAPSED, id="coalesce-zero-grace-runs-none"),
    pytest.param(MisfirePolicy(COALESCE, 100), 205, [200], ELAPSED[:-1], id="coalesce-wide-grace-still-once"),
    pytest.param(MisfirePolicy(ALL, 45, 3), 205, [160, 170, 180], [110, 120, 130, 140, 150, 190, 200],
                 id="all-oldest-within-grace-up-to-max-catchup"),
    pytest.param(MisfirePolicy(ALL, math.inf, 100), 205, ELAPSED, [], id="all-unlimited-grace-runs-every-slot"),
    pytest.param(MisfirePolicy(ALL), 205, [200], ELAPSED[:-1], id="all-default-grace-is-one-period"),
    pytest.param(MisfirePolicy(SKIP), 205, [], ELAPSED, id="skip-runs-none"),
    pytest.param(MisfirePolicy(SKIP, math.inf), 205, [], ELAPSED, id="skip-even-with-unlimited-grace"),
    pytest.param(MisfirePolicy(ALL, 40, 10), 200, [160, 170, 180, 190, 200], ELAPSED[:5],
                 id="grace-edge-exactly-the-grace-late-still-runs"),
    pytest.param(MisfirePolicy(ALL, 40, 10), 200.001, [170, 180, 190, 200], ELAPSED[:6],
                 id="grace-edge-a-millisecond-past-is-missed"),
    pytest.param(MisfirePolicy(COALESCE), 210, [210], [*ELAPSED], id="now-on-a-slot-counts-that-slot"),
])
def test_plan_after_downtime(policy, now, run, missed):
    result = plan(EVERY_10, policy, last_slot=100, now=now)
    assert list(result.run) == run
    assert list(result.missed) == missed
    assert result.unlisted == ()
    assert result.missed_count == len(missed)
    assert result.next_slot == EVERY_10.next_after(now)


def test_nothing_elapsed_plans_nothing():
    result = plan(EVERY_10, MisfirePolicy(ALL, math.inf), last_slot=200, now=205)
    assert (result.run, result.missed, result.unlisted, result.next_slot) == ((), (), (), 210)


def test_a_job_without_ledger_entries_missed_nothing():
    result = plan(EVERY_10, MisfirePolicy(ALL, math.inf), last_slot=None, now=205)
    assert (result.run, result.missed, result.next_slot) == ((), (), 210)


def test_clock_stepped_back_behind_the_ledger_never_reruns_a_recorded_slot():
    result = plan(EVERY_10, MisfirePolicy(ALL, math.inf), last_slot=300, now=205)
    assert (result.run, result.missed, result.next_slot) == ((), (), 310)


def test_last_slot_off_the_grid_after_a_schedule_change():
    result = plan(EVERY_10, MisfirePolicy(SKIP), last_slot=183.5, now=205)
    assert result.missed == (190, 200)


def test_ten_intervals_of_downtime_for_each_policy():
    """The shape of the system test: a 60 s job, the server stopped for 10 intervals."""
    schedule = IntervalSchedule(60, anchor=1000)
    now = 1000 + 10 * 60 + 5
    slots = [1000.0 + 60 * k for k in range(1, 11)]
    coalesce = plan(schedule, MisfirePolicy(COALESCE), last_slot=1000, now=now)
    assert (coalesce.run, coalesce.missed) == ((1600,), tuple(slots[:-1]))
    catchup = plan(schedule, MisfirePolicy(ALL, 600, 3), last_slot=1000, now=now)
    assert (catchup.run, catchup.missed) == ((1060, 1120, 1180), tuple(slots[3:]))
    skip = plan(schedule, MisfirePolicy(SKIP), last_slot=1000, now=now)
    assert (skip.run, skip.missed) == ((), tuple(slots))
    assert {coalesce.next_slot, catchup.next_slot, skip.next_slot} == {1660}


# ------------------------------------------------------------------ jitter
def jittered_case():
    """An interval-100 job with jitter 90 and a slot whose offset is at least 10 s."""
    schedule = IntervalSchedule(100, anchor=0, jitter_s=90)
    slot = next(s for s in schedule.slots_between(1000, 10**6) if schedule.due_at(s, "j") - s >= 10)
    return schedule, slot, schedule.due_at(slot, "j")


def test_a_slot_whose_jittered_due_time_has_not_come_is_next_not_missed():
    schedule, slot, due = jittered_case()
    for policy in Misfire:
        result = plan(schedule, MisfirePolicy(policy), last_slot=slot - 300, now=due - 1, job_id="j")
        assert result.next_slot == slot
        assert slot not in result.run and slot not in result.missed
        assert result.missed_count + len(result.run) == 2


def test_grace_counts_from_the_jittered_due_time():
    schedule, slot, due = jittered_case()
    within = plan(schedule, MisfirePolicy(ALL, 5), last_slot=slot - 100, now=due + 5, job_id="j")
    assert within.run == (slot,)  # 5 s after its due time, though more than 5 s after the slot
    past = plan(schedule, MisfirePolicy(ALL, 5), last_slot=slot - 100, now=due + 5.01, job_id="j")
    assert (past.run, past.missed) == ((), (slot,))


# ------------------------------------------------------------------ cron
def test_daily_cron_down_across_spring_forward():
    schedule = CronSchedule("30 2 * * *", "Europe/Zurich")
    last = at("Europe/Zurich", "2026-03-28 02:30")
    gap_run = at("Europe/Zurich", "2026-03-29 03:00")  # 02:30 does not exist that day
    soon = plan(schedule, MisfirePolicy(), last_slot=last, now=at("Europe/Zurich", "2026-03-29 03:30"))
    assert (soon.run, soon.missed, soon.grace_s) == ((gap_run,), (), 3600.0)
    late = plan(schedule, MisfirePolicy(), last_slot=last, now=at("Europe/Zurich", "2026-03-29 04:30"))
    assert (late.run, late.missed) == ((), (gap_run,))
    assert late.next_slot == at("Europe/Zurich", "2026-03-30 02:30")


# ------------------------------------------------------------------ bounded work
YEAR = 365 * 86400


@pytest.mark.parametrize("policy", [MisfirePolicy(COALESCE), MisfirePolicy(ALL, math.inf, 50),
                                    MisfirePolicy(ALL, 1800, 50), MisfirePolicy(SKIP)])
def test_a_year_down_for_an_every_second_job_is_planned_without_listing_it(policy):
    schedule = Counting(IntervalSchedule(1, anchor=0))
    result = plan(schedule, policy, last_slot=0, now=YEAR)
    assert len(result.run) + result.missed_count == YEAR
    assert len(result.missed) == LISTED_MISSED_MAX
    assert schedule.walked <= LISTED_MISSED_MAX + policy.max_catchup + 20
    assert schedule.counted <= 2
    if policy.policy is ALL and policy.grace_s == math.inf:  # runs the oldest 50, misses the rest
        assert result.run == tuple(float(s) for s in range(1, 51))
        assert result.missed[0] == 51
        assert result.unlisted == (SlotSpan(1051, YEAR, YEAR - 1050),)
    else:
        assert result.missed[:3] == (1, 2, 3)
        assert result.unlisted[0].first == LISTED_MISSED_MAX + 1


def test_a_year_down_for_an_every_minute_cron_counts_every_minute():
    schedule = Counting(CronSchedule("* * * * *", "Europe/Zurich"))
    start = at("Europe/Zurich", "2026-01-01 00:00")
    result = plan(schedule, MisfirePolicy(COALESCE), last_slot=start, now=start + YEAR)
    assert result.run == (start + YEAR,)
    assert result.missed_count == 525_600 - 1
    assert schedule.walked <= LISTED_MISSED_MAX + 20


def test_list_limit_moves_missed_slots_into_counted_spans():
    result = plan(EVERY_10, MisfirePolicy(ALL, 45, 3), last_slot=100, now=205, list_limit=2)
    assert result.run == (160, 170, 180)
    assert result.missed == (110, 120)
    assert result.unlisted == (SlotSpan(130, 150, 3), SlotSpan(190, 200, 2))
    assert result.missed_count == 7
    none_listed = plan(EVERY_10, MisfirePolicy(SKIP), last_slot=100, now=205, list_limit=0)
    assert (none_listed.missed, none_listed.unlisted) == ((), (SlotSpan(110, 200, 10),))


# ------------------------------------------------------------------ properties
@settings(max_examples=150, deadline=None)
@given(interval=st.floats(1, 100), anchor=st.floats(0, 1000), jitter=st.floats(0, 1),
       last_k=st.integers(0, 50), off_grid=st.floats(0, 0.99), downtime=st.floats(0, 300),
       policy=st.sampled_from(list(Misfire)), grace=st.none() | st.floats(0, 5000) | st.just(math.inf),
       max_catchup=st.integers(1, 20), list_limit=st.integers(0, 30), job=st.sampled_from(["a", "b", "c"]))
@example(interval=1.0, anchor=0.0, jitter=0.0, last_k=0, off_grid=0.5138987444416866, downtime=1.0,
         policy=COALESCE, grace=0.5138987444416866, max_catchup=1, list_limit=0, job="a")  # late by exactly
def test_plan_partitions_the_elapsed_slots_exactly_once(interval, anchor, jitter, last_k, off_grid, downtime,
                                                          policy, grace, max_catchup, list_limit, job):
    schedule = IntervalSchedule(interval, anchor=anchor, jitter_s=jitter * interval)
    last_slot = schedule.slot(last_k) + off_grid * interval
    now = last_slot + downtime * interval
    policy_ = MisfirePolicy(policy, grace, max_catchup)
    result = plan(schedule, policy_, last_slot=last_slot, now=now, job_id=job, list_limit=list_limit)
    check_partition(schedule, policy_, result, last_slot, now, job, list_limit)


@settings(max_examples=60, deadline=None)
@given(expr=st.sampled_from(["*/30 * * * *", "0 * * * *", "30 2 * * *", "0,30 2 * * *", "*/15 * * * 1-5"]),
       tz=st.sampled_from(["UTC", "Europe/Zurich", "America/New_York"]),
       base=st.sampled_from(["2026-03-29 01:00", "2026-10-25 01:00", "2026-03-08 00:00", "2026-11-01 00:00"]),
       downtime=st.integers(0, 5 * 86400), policy=st.sampled_from(list(Misfire)),
       grace=st.none() | st.floats(0, 20000) | st.just(math.inf), jitter=st.sampled_from([0, 60, 900]),
       max_catchup=st.integers(1, 20), list_limit=st.integers(0, 30))
def test_cron_plan_partitions_the_elapsed_slots_exactly_once(expr, tz, base, downtime, policy, grace, jitter,
                                                               max_catchup, list_limit):
    schedule = CronSchedule(expr, tz, jitter_s=jitter)
    last_slot = schedule.prev_at_or_before(at("Europe/Zurich", base))
    assume(last_slot is not None)
    now = last_slot + downtime + 0.25
    policy_ = MisfirePolicy(policy, grace, max_catchup)
    result = plan(schedule, policy_, last_slot=last_slot, now=now, job_id="cron-job", list_limit=list_limit)
    check_partition(schedule, policy_, result, last_slot, now, "cron-job", list_limit)


def check_partition(schedule, policy, result, last_slot, now, job, list_limit):
    every = list(schedule.slots_between(last_slot, now))
    elapsed = [s for s in every if schedule.due_at(s, job) <= now]
    assert elapsed == every[:len(elapsed)]  # only slots at the very end can still wait for their jitter
    missed = all_missed(schedule, result)
    assert sorted([*result.run, *missed]) == elapsed  # every elapsed slot exactly once
    assert len(missed) == result.missed_count
    assert len(result.missed) <= list_limit
    assert list(result.run) == sorted(result.run)
    late = {s for s in elapsed if now - schedule.due_at(s, job) > result.grace_s}
    within = [s for s in elapsed if s not in late]
    assert late <= set(missed)
    expected_run = {COALESCE: within[-1:], ALL: within[:policy.max_catchup], SKIP: []}[policy.policy]
    assert list(result.run) == expected_run
    following = [s for s in every if s not in elapsed] or [schedule.next_after(now)]
    assert result.next_slot == following[0]
