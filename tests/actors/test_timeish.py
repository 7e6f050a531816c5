"""TIMEISH parsing: every accepted format, day rollover, UTC suffixes, local time, errors."""

from __future__ import annotations

import calendar
import time
from collections.abc import Iterator

import pytest

from actors.timeish import describe_formats, parse_timeish


def utc(*fields: int) -> float:
    """Epoch seconds of a UTC (year, month, day, hour, minute, second)."""
    return float(calendar.timegm((*fields, 0, 0, 0)))


# 2026-11-23 10:00:00 UTC, a Monday
NOW = utc(2026, 11, 23, 10, 0, 0)


@pytest.fixture
def tz(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Lets a test set TZ; the process time zone is restored afterwards."""
    yield monkeypatch
    monkeypatch.undo()
    time.tzset()


def set_tz(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("TZ", value)
    time.tzset()


# --------------------------------------------------------------------------- clock times, UTC


@pytest.mark.parametrize("suffix", ["gmt", "GMT", "Z", "z", "utc", "UTC", " utc", "u", "gmtz"])
def test_clock_with_gmt_suffix_is_utc_today_when_still_ahead(suffix: str) -> None:
    assert parse_timeish(f"12:30{suffix}", now=NOW) == utc(2026, 11, 23, 12, 30, 0)


def test_clock_with_seconds() -> None:
    assert parse_timeish("12:30:15Z", now=NOW) == utc(2026, 11, 23, 12, 30, 15)


def test_single_digit_hour() -> None:
    assert parse_timeish("9:05utc", now=NOW) == utc(2026, 11, 24, 9, 5, 0)


def test_clock_already_past_rolls_over_to_tomorrow() -> None:
    assert parse_timeish("09:59:59gmt", now=NOW) == utc(2026, 11, 24, 9, 59, 59)


def test_clock_rollover_crosses_month_and_year() -> None:
    now = utc(2026, 12, 31, 23, 0, 0)
    assert parse_timeish("01:00Z", now=now) == utc(2027, 1, 1, 1, 0, 0)


def test_clock_equal_to_now_is_today() -> None:
    assert parse_timeish("10:00Z", now=NOW) == NOW


def test_clock_uses_fractional_now() -> None:
    assert parse_timeish("10:00Z", now=NOW + 0.5) == utc(2026, 11, 24, 10, 0, 0)


def test_trimmed_and_case_insensitive() -> None:
    assert parse_timeish("  12:30 GmT \n", now=NOW) == utc(2026, 11, 23, 12, 30, 0)


def test_bare_clock_is_utc_when_not_local(tz: pytest.MonkeyPatch) -> None:
    set_tz(tz, "EST+5")
    assert parse_timeish("12:30", now=NOW, tz_local=False) == utc(2026, 11, 23, 12, 30, 0)


# --------------------------------------------------------------------------- clock times, local


def test_bare_clock_is_local_time(tz: pytest.MonkeyPatch) -> None:
    set_tz(tz, "EST+5")  # UTC-5, no DST: 10:00 UTC is 05:00 local
    assert parse_timeish("12:30", now=NOW) == utc(2026, 11, 23, 17, 30, 0)


def test_local_clock_already_past_is_tomorrow(tz: pytest.MonkeyPatch) -> None:
    set_tz(tz, "EST+5")  # local 05:00 now
    assert parse_timeish("04:00", now=NOW) == utc(2026, 11, 24, 9, 0, 0)


def test_local_day_is_the_local_date_not_the_utc_date(tz: pytest.MonkeyPatch) -> None:
    set_tz(tz, "JST-9")  # UTC+9: 20:00 UTC on the 23rd is 05:00 on the 24th locally
    now = utc(2026, 11, 23, 20, 0, 0)
    assert parse_timeish("06:00", now=now) == utc(2026, 11, 23, 21, 0, 0)
    assert parse_timeish("04:00", now=now) == utc(2026, 11, 24, 19, 0, 0)


def test_gmt_suffix_ignores_local_zone(tz: pytest.MonkeyPatch) -> None:
    set_tz(tz, "EST+5")
    assert parse_timeish("12:30gmt", now=NOW) == utc(2026, 11, 23, 12, 30, 0)


def test_local_rollover_across_dst_change_keeps_wall_clock(tz: pytest.MonkeyPatch) -> None:
    set_tz(tz, "CET-1CEST,M3.5.0,M10.5.0/3")  # Europe/Zurich rules, no tzdata needed
    # Saturday 2026-03-28 12:00 CET (11:00 UTC); tomorrow 11:00 local is CEST (UTC+2).
    now = utc(2026, 3, 28, 11, 0, 0)
    assert parse_timeish("11:00", now=now) == utc(2026, 3, 29, 9, 0, 0)


# --------------------------------------------------------------------------- relative, epoch


@pytest.mark.parametrize(
    ("text", "offset"),
    [
        ("+30", 30), ("+30s", 30), ("+5m", 300), ("+2h", 7200), ("+1d", 86400),
        ("+1.5h", 5400), ("+.5m", 30), ("+ 10 M", 600), ("+0", 0), ("+2H", 7200),
    ],
)
def test_relative(text: str, offset: float) -> None:
    assert parse_timeish(text, now=NOW) == NOW + offset


@pytest.mark.parametrize(("text", "value"), [("1795000000", 1795000000.0), ("1795000000.25", 1795000000.25),
                                             (" 0 ", 0.0)])
def test_plain_epoch(text: str, value: float) -> None:
    assert parse_timeish(text, now=NOW) == value


# --------------------------------------------------------------------------- ISO-8601


def test_iso_with_z() -> None:
    assert parse_timeish("2026-11-23T10:00:00Z", now=0) == NOW


def test_iso_lowercase() -> None:
    assert parse_timeish("2026-11-23t10:00:00z", now=0) == NOW


def test_iso_with_offset() -> None:
    assert parse_timeish("2026-11-23T11:00:00+01:00", now=0) == NOW
    assert parse_timeish("2026-11-23T05:00:00-05:00", now=0) == NOW


def test_iso_naive_means_utc_even_with_a_local_zone(tz: pytest.MonkeyPatch) -> None:
    set_tz(tz, "EST+5")
    assert parse_timeish("2026-11-23T10:00:00", now=0) == NOW
    assert parse_timeish("2026-11-23 10:00", now=0) == NOW


def test_iso_fractional_seconds() -> None:
    assert parse_timeish("2026-11-23T10:00:00.5Z", now=0) == NOW + 0.5


def test_iso_date_only_is_midnight_utc() -> None:
    assert parse_timeish("2026-11-23", now=0) == utc(2026, 11, 23, 0, 0, 0)


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "text",
    ["", "   ", "tomorrow", "12:30pm", "12:30est", "24:00", "12:60", "12:30:60", "1230:00", "+", "+5y",
     "-5", "+-5", "5m", "12:3", "2026-13-01T00:00:00", "nan", "inf", "1e9"],
)
def test_rejects_with_formats_and_input(text: str) -> None:
    with pytest.raises(ValueError, match="accepted formats") as info:
        parse_timeish(text, now=NOW)
    assert repr(text) in str(info.value)
    assert "HH:MM" in str(info.value)


def test_out_of_range_clock_says_why() -> None:
    with pytest.raises(ValueError, match="hour must be 0-23"):
        parse_timeish("25:00Z", now=NOW)


def test_non_string_rejected() -> None:
    with pytest.raises(ValueError, match="expected a string, got int"):
        parse_timeish(12, now=NOW)  # type: ignore[arg-type]


def test_describe_formats_mentions_every_form() -> None:
    text = describe_formats()
    for form in ("HH:MM[:SS]", "+N", "epoch", "ISO-8601", "UTC"):
        assert form in text
