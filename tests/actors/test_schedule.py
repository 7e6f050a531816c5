"""The time rules of a job: interval and cron slots (DST tables), jitter, floors, validation.

Times are injected UTC epochs; expectations are written as local wall-clock times with
their offset, so each table row reads like the rule it checks (actors/cron.py docstring).
"""

from __future__ import annotations

import itertools
import math
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from actors.errors import InvalidJobError
from actors.schedule import (
    MAX_INTERVAL_S,
    CronSchedule,
    IntervalSchedule,
    floor_ok,
    jitter_fraction,
    jitter_offset,
    jittered,
    next_slot_with_floor,
    schedule_from_fields,
    slot_id,
    slot_key,
)

ZURICH, NEW_YORK = "Europe/Zurich", "America/New_York"


def at(tz, text, fold=0):
    """Epoch of local wall time ``YYYY-MM-DD HH:MM`` in *tz* (fold=1: the second of a repeated hour)."""
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(tz), fold=fold).timestamp()


def wall(tz, epoch):
    """``YYYY-MM-DD HH:MM+HH`` of *epoch* in *tz*: the wall time and the offset in force."""
    moment = datetime.fromtimestamp(epoch, ZoneInfo(tz))
    offset = moment.utcoffset()
    assert offset is not None
    hours = int(offset.total_seconds() // 3600)
    return f"{moment:%Y-%m-%d %H:%M}{hours:+03d}"


# ------------------------------------------------------------------ DST tables
DST_TABLE = [
    # zone, expression, fire times strictly after this local time, the next fire times
    pytest.param(ZURICH, "30 2 * * *", "2026-03-28 00:00",
                 ["2026-03-28 02:30+01", "2026-03-29 03:00+02", "2026-03-30 02:30+02"], id="zurich-0230-spring"),
    pytest.param(ZURICH, "30 2 * * *", "2026-10-24 00:00",
                 ["2026-10-24 02:30+02", "2026-10-25 02:30+02", "2026-10-26 02:30+01"], id="zurich-0230-fall"),
    pytest.param(ZURICH, "0,30 2 * * *", "2026-03-29 00:00",
                 ["2026-03-29 03:00+02", "2026-03-30 02:00+02", "2026-03-30 02:30+02"], id="zurich-gap-runs-once"),
    pytest.param(ZURICH, "0,30 2 * * *", "2026-10-25 00:00",
                 ["2026-10-25 02:00+02", "2026-10-25 02:30+02", "2026-10-26 02:00+01"], id="zurich-fold-first-only"),
    pytest.param(ZURICH, "*/30 * * * *", "2026-10-25 01:00",
                 ["2026-10-25 01:30+02", "2026-10-25 02:00+02", "2026-10-25 02:30+02", "2026-10-25 02:00+01",
                  "2026-10-25 02:30+01", "2026-10-25 03:00+01"], id="zurich-every30-fall"),
    pytest.param(ZURICH, "*/30 * * * *", "2026-03-29 01:00",
                 ["2026-03-29 01:30+01", "2026-03-29 03:00+02", "2026-03-29 03:30+02"], id="zurich-every30-spring"),
    pytest.param(ZURICH, "0 * * * *", "2026-03-29 00:00",
                 ["2026-03-29 01:00+01", "2026-03-29 03:00+02", "2026-03-29 04:00+02"], id="zurich-hourly-spring"),
    pytest.param(ZURICH, "0 * * * *", "2026-10-25 01:00",
                 ["2026-10-25 02:00+02", "2026-10-25 02:00+01", "2026-10-25 03:00+01"], id="zurich-hourly-fall"),
    pytest.param(ZURICH, "*/15 * * * 1-5", "2026-03-27 23:30",
                 ["2026-03-27 23:45+01", "2026-03-30 00:00+02", "2026-03-30 00:15+02"], id="zurich-weekdays-spring"),
    pytest.param(NEW_YORK, "30 2 * * *", "2026-03-07 00:00",
                 ["2026-03-07 02:30-05", "2026-03-08 03:00-04", "2026-03-09 02:30-04"], id="newyork-0230-spring"),
    pytest.param(NEW_YORK, "30 1 * * *", "2026-10-31 00:00",
                 ["2026-10-31 01:30-04", "2026-11-01 01:30-04", "2026-11-02 01:30-05"], id="newyork-0130-fall"),
    pytest.param(NEW_YORK, "*/15 * * * 1-5", "2026-10-30 23:30",
                 ["2026-10-30 23:45-04", "2026-11-02 00:00-05", "2026-11-02 00:15-05"], id="newyork-weekdays-fall"),
]


@pytest.mark.parametrize(("tz", "expr", "start", "expected"), DST_TABLE)
def test_cron_fire_times_across_dst_follow_the_documented_rule(tz, expr, start, expected):
    schedule = CronSchedule(expr, tz)
    times = schedule.next_fire_times(len(expected), at(tz, start))
    assert [wall(tz, t) for t in times] == expected
    assert list(times) == sorted(set(times))


@pytest.mark.parametrize(("tz", "day", "instant"), [
    (ZURICH, "2026-03-28", "2026-03-28 02:30+01"), (ZURICH, "2026-03-29", "2026-03-29 03:00+02"),
    (ZURICH, "2026-03-30", "2026-03-30 02:30+02"), (ZURICH, "2026-10-24", "2026-10-24 02:30+02"),
    (ZURICH, "2026-10-25", "2026-10-25 02:30+02"), (ZURICH, "2026-10-26", "2026-10-26 02:30+01"),
    (NEW_YORK, "2026-03-08", "2026-03-08 03:00-04"), (NEW_YORK, "2026-11-01", "2026-11-01 02:30-05"),
])
def test_a_0230_job_runs_exactly_once_on_each_day_around_the_changes(tz, day, instant):
    schedule = CronSchedule("30 2 * * *", tz)
    start = at(tz, f"{day} 00:00")
    end = at(tz, (datetime.fromisoformat(day) + timedelta(days=1)).strftime("%Y-%m-%d 00:00"))
    slots = list(schedule.slots_between(start, end))
    assert [wall(tz, s) for s in slots] == [instant]
    assert schedule.count_between(start, end) == 1


@pytest.mark.parametrize(("day", "hours", "slots"), [("2026-03-29", 23, 46), ("2026-10-25", 25, 50),
                                                     ("2026-10-26", 24, 48)])
def test_every_30_minutes_keeps_absolute_instants_no_gap_no_double(day, hours, slots):
    schedule = CronSchedule("*/30 * * * *", ZURICH)
    start = at(ZURICH, f"{day} 00:00")
    fires = [start, *schedule.slots_between(start, start + hours * 3600)]
    assert len(fires) - 1 == slots
    assert {b - a for a, b in itertools.pairwise(fires)} == {1800.0}


def test_hourly_across_spring_forward_is_every_real_hour():
    schedule = CronSchedule("0 * * * *", ZURICH)
    start = at(ZURICH, "2026-03-28 22:00")
    fires = [start, *schedule.slots_between(start, start + 8 * 3600)]
    assert {b - a for a, b in itertools.pairwise(fires)} == {3600.0}
    assert "2026-03-29 03:00+02" in [wall(ZURICH, f) for f in fires]


def test_weekdays_every_15_minutes_skip_the_weekend():
    schedule = CronSchedule("*/15 * * * 1-5", ZURICH)
    start = at(ZURICH, "2026-06-05 00:00")  # a Friday
    fires = list(schedule.slots_between(start, at(ZURICH, "2026-06-09 00:00")))
    days = sorted({wall(ZURICH, f)[:10] for f in fires})
    assert days == ["2026-06-05", "2026-06-08", "2026-06-09"]
    assert len(fires) == 95 + 96 + 1  # (Friday 00:00, Tuesday 00:00]: the bounds are exclusive, inclusive
    assert schedule.count_between(start, at(ZURICH, "2026-06-09 00:00")) == len(fires)


def test_start_inside_the_repeated_hour_does_not_refire_a_passed_time():
    schedule = CronSchedule("30 2 * * *", ZURICH)
    second_pass = at(ZURICH, "2026-10-25 02:10", fold=1)  # 02:30 CEST fired 40 minutes earlier
    assert wall(ZURICH, schedule.next_after(second_pass)) == "2026-10-26 02:30+01"
    assert wall(ZURICH, schedule.prev_at_or_before(second_pass)) == "2026-10-25 02:30+02"


def test_prev_at_or_before_and_prev_before():
    schedule = CronSchedule("30 2 * * *", ZURICH)
    gap_run = at(ZURICH, "2026-03-29 03:00")
    assert schedule.prev_at_or_before(gap_run) == gap_run
    assert wall(ZURICH, schedule.prev_before(gap_run)) == "2026-03-28 02:30+01"
    assert wall(ZURICH, schedule.prev_at_or_before(gap_run + 0.5)) == "2026-03-29 03:00+02"
    assert schedule.next_after(gap_run) == at(ZURICH, "2026-03-30 02:30")


@pytest.mark.parametrize(("expr", "tz", "expected"), [
    ("* * * * *", ZURICH, 525_600), ("0 * * * *", ZURICH, 8760), ("30 2 * * *", ZURICH, 365),
    ("0,30 2 * * *", ZURICH, 729), ("30 2 * * *", NEW_YORK, 365), ("0 9 * * 1-5", None, 261),
    ("0 0 29 2 *", None, 0), ("@monthly", ZURICH, 12),
])
def test_count_over_2026_without_listing(expr, tz, expected):
    schedule = CronSchedule(expr, tz)
    zone = tz or "UTC"
    assert schedule.count_between(at(zone, "2026-01-01 00:00"), at(zone, "2027-01-01 00:00")) == expected


def test_count_of_a_gap_day_expression_matches_enumeration():
    schedule = CronSchedule("0,30 2 * * *", ZURICH)
    start, end = at(ZURICH, "2026-01-01 00:00"), at(ZURICH, "2027-01-01 00:00")
    assert len(list(schedule.slots_between(start, end))) == schedule.count_between(start, end) == 729


def test_a_schedule_that_runs_out_answers_none():
    schedule = CronSchedule("0 0 29 2 *", None)  # leap days: the next after 2096 is 2104 (2100 is not leap)
    assert schedule.next_after(at("UTC", "2096-03-01 00:00")) == at("UTC", "2104-02-29 00:00")
    assert schedule.prev_at_or_before(at("UTC", "2026-01-01 00:00")) == at("UTC", "2024-02-29 00:00")


EXPRESSIONS = ["*/30 * * * *", "0 * * * *", "30 2 * * *", "0,30 2 * * *", "15 1-3 * * *", "*/15 * * * 1-5",
               "0 0 * * *", "0 12 L * *", "5 */2 * * *", "59 23 * * 0", "0,45 0-2 * * *"]
ZONES = ["UTC", ZURICH, NEW_YORK, "Australia/Lord_Howe", "America/Havana", "America/Santiago"]
ZONE_CHANGES = [(ZURICH, "2026-03-29"), (ZURICH, "2026-10-25"), (NEW_YORK, "2026-03-08"), (NEW_YORK, "2026-11-01"),
                ("Australia/Lord_Howe", "2026-04-05"), ("Australia/Lord_Howe", "2026-10-04"),  # 30-minute shifts
                ("America/Havana", "2026-03-08"), ("America/Havana", "2026-11-01"),  # changes at midnight
                ("America/Santiago", "2026-04-05"), ("America/Santiago", "2026-09-06"), ("UTC", "2026-06-01")]
TRANSITIONS = [at(tz, f"{day} 00:00") for tz, day in ZONE_CHANGES]


@pytest.mark.parametrize(("tz", "day"), ZONE_CHANGES)
def test_counting_by_whole_days_matches_enumeration_around_every_change(tz, day):
    middle = at(tz, f"{day} 12:00")
    for expr in [*EXPRESSIONS, "* * * * *"]:
        schedule = CronSchedule(expr, tz)
        ranges = [(middle - 86400.5, middle + 40_000)]
        if expr != "* * * * *":
            ranges.append((middle - 3 * 86400, middle + 3 * 86400))
        for after, upto in ranges:
            slots = list(schedule.slots_between(after, upto))
            assert schedule.count_between(after, upto) == len(slots), (expr, after, upto)
            assert all(a < b for a, b in itertools.pairwise(slots))


@settings(max_examples=80, deadline=None)
@given(expr=st.sampled_from(EXPRESSIONS), tz=st.sampled_from(ZONES), base=st.sampled_from(TRANSITIONS),
       shift=st.integers(-3 * 86400, 86400),
       length=st.integers(0, 4 * 86400) | st.sampled_from([86400, 2 * 86400, 3 * 86400 + 1800]))
def test_cron_slots_strictly_increase_and_every_query_agrees(expr, tz, base, shift, length):
    schedule = CronSchedule(expr, tz)
    after = base + shift + 0.5
    slots = list(schedule.slots_between(after, after + length))
    assert all(a < b for a, b in itertools.pairwise(slots))
    assert all(after < s <= after + length for s in slots)
    assert schedule.count_between(after, after + length) == len(slots)
    chain: list[float] = []  # the same slots, one next_after at a time
    while len(chain) < len(slots):
        following = schedule.next_after(chain[-1] if chain else after)
        assert following is not None
        chain.append(following)
    assert chain == slots
    for s in slots[:5]:
        assert schedule.prev_at_or_before(s) == s
        assert schedule.prev_at_or_before(s + 59) == s
        assert schedule.next_after(s - 1) == s
    if len(slots) >= 2:
        assert schedule.prev_before(slots[1]) == slots[0]


# ------------------------------------------------------------------ intervals
def test_interval_slots_are_anchor_plus_k_intervals_in_both_directions():
    schedule = IntervalSchedule(60, anchor=1000)
    assert schedule.next_after(1000) == 1060
    assert schedule.next_after(999.5) == 1000
    assert schedule.prev_at_or_before(1000) == 1000
    assert schedule.prev_before(1000) == 940
    assert schedule.prev_at_or_before(0) == -20
    assert list(schedule.slots_between(1000, 1200)) == [1060, 1120, 1180]
    assert schedule.count_between(1000, 1200) == 3
    assert schedule.count_between(1200, 1000) == 0


def test_interval_slot_floats_are_reproducible_from_the_index():
    schedule = IntervalSchedule(0.1, anchor=1_780_000_000.05)
    walked = list(itertools.islice(schedule.slots_between(1_780_000_000, math.inf), 1000))
    assert walked == [schedule.slot(k) for k in range(1000)]
    assert len({slot_key(s) for s in walked}) == 1000
    assert schedule.next_after(walked[500]) == walked[501]
    assert IntervalSchedule(0.1, anchor=1_780_000_000.05).prev_at_or_before(walked[700]) == walked[700]


def test_a_year_of_an_every_second_job_is_counted_not_listed():
    schedule = IntervalSchedule(1, anchor=0)
    assert schedule.count_between(0, 365 * 86400) == 31_536_000


@settings(max_examples=100, deadline=None)
@given(interval=st.floats(0.001, 1e6), anchor=st.floats(-1e9, 2e9), after=st.floats(0, 2e9),
       count=st.integers(1, 50))
def test_interval_slots_strictly_increase_and_count_matches(interval, anchor, after, count):
    schedule = IntervalSchedule(interval, anchor=anchor)
    slots = list(itertools.islice(schedule.slots_between(after, math.inf), count))
    assert all(a < b for a, b in itertools.pairwise(slots))
    assert slots[0] > after
    assert schedule.prev_at_or_before(after) < slots[0]
    assert schedule.count_between(after, slots[-1]) == len(slots)


# ------------------------------------------------------------------ jitter
def test_jitter_is_deterministic_per_job_and_slot_and_within_range():
    offsets = [jitter_offset(float(s), "job-a", 300.0) for s in range(0, 3_600_000, 3600)]
    assert offsets == [jitter_offset(float(s), "job-a", 300.0) for s in range(0, 3_600_000, 3600)]
    assert all(0 <= o < 300 for o in offsets)
    assert min(offsets) < 30 and max(offsets) > 270  # spread over the range, not a constant
    assert offsets != [jitter_offset(float(s), "job-b", 300.0) for s in range(0, 3_600_000, 3600)]
    assert jittered(7200.0, "job-a", 300.0) == 7200.0 + offsets[2]
    assert jitter_offset(7200.0, "job-a", 0.0) == 0.0
    assert 0 <= jitter_fraction("job-a", 7200.0) < 1
    assert slot_id("job-a", 7200.0) == "job-a@7200000"


def test_due_time_is_the_same_after_a_restart_and_the_slot_keeps_its_identity():
    before = schedule_from_fields(cron="0 * * * *", tz=ZURICH, jitter=600)
    after_restart = schedule_from_fields(cron="0  *  * * *", tz=ZURICH, jitter=600)
    slot = at(ZURICH, "2026-05-01 09:00")
    assert before.due_at(slot, "j1") == after_restart.due_at(slot, "j1")
    assert slot <= before.due_at(slot, "j1") < slot + 600
    assert before.next_after(slot - 1) == slot  # the slot is the un-jittered time


def test_jitter_is_capped_by_the_gap_so_due_times_keep_slot_order():
    schedule = CronSchedule("0,1 * * * *", "UTC", jitter_s=3000)  # gaps of 60 s and 3540 s
    slots = list(itertools.islice(schedule.slots_between(0, math.inf), 400))
    dues = [schedule.due_at(s, "herd-7") for s in slots]
    assert all(s <= d < n for s, d, n in zip(slots, dues, slots[1:], strict=False))
    long_gap = [d - s for s, d in zip(slots, dues, strict=True) if s % 3600 == 60]  # the :01 slots
    assert len(long_gap) == 200 and max(long_gap) > 60  # a long gap keeps the wide spread


def test_next_fire_times_for_the_panel_with_and_without_jitter():
    schedule = CronSchedule("30 2 * * *", ZURICH, jitter_s=60)
    start = at(ZURICH, "2026-03-28 00:00")
    slots = schedule.next_fire_times(5, start)
    assert len(slots) == 5
    assert wall(ZURICH, slots[1]) == "2026-03-29 03:00+02"
    dues = schedule.next_fire_times(5, start, job_id="j")
    assert all(0 <= d - s < 60 for s, d in zip(slots, dues, strict=True))
    assert schedule.next_fire_times(0, start) == ()
    with pytest.raises(ValueError, match="n must be an integer"):
        schedule.next_fire_times(1001, start)


# ------------------------------------------------------------------ minimum_interval
def test_floor_ok_tolerates_float_noise_of_the_grid():
    schedule = IntervalSchedule(0.1, anchor=0)
    assert floor_ok(schedule.slot(2), schedule.slot(3), 0.1)
    assert not floor_ok(100.0, 130.0, 60.0)
    assert floor_ok(None, 130.0, 60.0)


def test_next_slot_with_floor_passes_over_slots_inside_the_minimum_interval():
    schedule = CronSchedule("* * * * *", "UTC")
    assert next_slot_with_floor(schedule, 600.0, 300.0) == (900.0, 4)
    assert next_slot_with_floor(schedule, 600.0, 60.0) == (660.0, 0)
    assert next_slot_with_floor(schedule, 600.0, 0.0) == (660.0, 0)
    assert next_slot_with_floor(IntervalSchedule(10, 0), 100.0, 25.0) == (130.0, 2)


# ------------------------------------------------------------------ fields and validation
def test_fields_and_canonical_form_identify_the_schedule():
    cron = schedule_from_fields(cron="  30   2 * * mon ", tz=ZURICH)
    assert cron.fields() == {"cron": "30 2 * * MON", "tz": ZURICH, "jitter": 0.0}
    assert schedule_from_fields(cron="@DAILY").fields() == {"cron": "@daily", "tz": "UTC", "jitter": 0.0}
    assert schedule_from_fields(cron="@daily", tz="").next_after(0) == 86400
    assert schedule_from_fields(cron="* * * * *", tz="utc").fields()["tz"] == "UTC"
    interval = schedule_from_fields(interval=60, jitter=5, anchor=30)
    assert interval.fields() == {"interval": 60.0, "jitter": 5.0}
    assert interval.next_after(30) == 90
    assert "At 02:30" in cron.describe() and ZURICH in cron.describe()
    assert interval.describe() == "every 60 s, jitter 5 s"


INVALID = [
    ({}, "interval", "give interval (seconds) or cron"),
    ({"interval": 60, "cron": "* * * * *"}, "cron", "not both"),
    ({"interval": math.nan}, "interval", "got nan"),
    ({"interval": math.inf}, "interval", "got inf"),
    ({"interval": True}, "interval", "got True"),
    ({"interval": "60"}, "interval", "got '60'"),
    ({"interval": 0}, "interval", "within [0.001, 3.15576e+09], got 0"),
    ({"interval": 0.0005}, "interval", "got 0.0005"),
    ({"interval": MAX_INTERVAL_S * 2}, "interval", "3.15576e+09"),
    ({"interval": -5}, "interval", "got -5"),
    ({"interval": 60, "tz": ZURICH}, "tz", "cron schedules only"),
    ({"interval": 60, "jitter": 61}, "jitter", "must not exceed the interval (60 s), got 61"),
    ({"interval": 60, "jitter": -1}, "jitter", "got -1"),
    ({"interval": 60, "jitter": math.nan}, "jitter", "got nan"),
    ({"interval": 60, "jitter": False}, "jitter", "got False"),
    ({"cron": "* * * * *", "jitter": 86401}, "jitter", "within [0, 86400]"),
    ({"cron": "61 * * * *"}, "cron", "'61 * * * *' is invalid: Bad minute"),
    ({"cron": "0 0 * 13 *"}, "cron", "'0 0 * 13 *' is invalid: Bad month"),
    ({"cron": "0 0 30 2 *"}, "cron", "'0 0 30 2 *' never fires: day-of-month '30' does not occur in month '2'"),
    ({"cron": "0 0 31 4,6,9,11 *"}, "cron", "never fires"),
    ({"cron": "0 0 */29 2 MON#5"}, "cron", "never fires (no fire time in 400 years"),
    ({"cron": "0 0 1 1 * 2030"}, "cron", "has 6 field(s); it needs five"),
    ({"cron": "0 0 1"}, "cron", "has 3 field(s)"),
    ({"cron": "@reboot"}, "cron", "'@reboot' is not a known macro"),
    ({"cron": ""}, "cron", "got ''"),
    ({"cron": 5}, "cron", "got 5"),
    ({"cron": "* " * 150}, "cron", "at most 200 characters"),
    ({"cron": "* * * * *", "tz": "Mars/Olympus"}, "tz", "'Mars/Olympus' is not a known time zone"),
    ({"cron": "* * * * *", "tz": "../../etc/passwd"}, "tz", "is not a known time zone"),
    ({"cron": "* * * * *", "tz": 2}, "tz", "got 2"),
]


@pytest.mark.parametrize(("fields", "field", "message"), INVALID)
def test_invalid_fields_name_the_field_and_the_value(fields, field, message):
    with pytest.raises(InvalidJobError) as caught:
        schedule_from_fields(**fields)
    assert caught.value.field == field
    assert message in str(caught.value)


def test_a_slot_after_a_half_hour_fall_back_is_not_jumped_over():
    """Lord Howe sets its clock back half an hour (02:00+11 -> 01:30+10:30, 2026-04-05): 02:05+10:30
    exists once and matches ``5 */2 * * *``; cronsim's forward walk jumped from 00:05 to 04:05."""
    schedule = CronSchedule(expr="5 */2 * * *", tz="Australia/Lord_Howe", jitter_s=0.0)
    midnight_05, two_05, four_05 = 1775307900.0, 1775316900.0, 1775324100.0  # 00:05+11, 02:05+10:30, 04:05
    assert list(schedule.slots_between(midnight_05 - 1, four_05)) == [midnight_05, two_05, four_05]
    assert schedule.next_after(midnight_05) == two_05
    assert schedule.prev_before(four_05) == two_05
    # a time in the repeated half hour still runs once (Debian's rule): 01:45 each day
    once = CronSchedule(expr="45 1 * * *", tz="Australia/Lord_Howe", jitter_s=0.0)
    day = list(once.slots_between(midnight_05, midnight_05 + 86400))
    assert len(day) == 1
