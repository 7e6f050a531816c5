"""The ranges every number entering the server is checked against, and the checks themselves.

Why a module of its own: a number reaches the scheduler through many doors (a JSON body, a
form, a config file, a flag, a task's return value over the worker pipe, a record read back
from the store). Each door checks it once, against the *same* range, so that nothing past the
door has to wonder whether a float is NaN, an int has 400 digits or a due time lies beyond what
`threading` timeouts and SQLite integers can hold. The pure core then only asserts.

The ranges (all seconds or epoch seconds, UTC):

    HORIZON_S        1e9    longest interval, timeout or delay (about 31 years); the farthest
                            future a due time may be from now
    MIN_INTERVAL_S   0.001  shortest interval (below it ``(now - anchor) / interval`` overflows)
    MAX_EPOCH        1e11   latest instant stored (year 5138): a due time read back is past it
                            only if it is garbage
    MAX_COUNT        2**31 - 1   largest count (runs, retries, indexes, limits)
    MAX_SIZE         2**53  largest size in bytes (exact in a float and in every store)
    JSON_INT_MIN/MAX        the integers a stored document may hold (64-bit, as SQLite and
                            BSON hold them)

No I/O, no clock: ``now`` is an argument. Stdlib only (the worker subprocess imports it).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Final

from actors.errors import InvalidValueError

HORIZON_S: Final = 1e9
MIN_INTERVAL_S: Final = 0.001
MAX_EPOCH: Final = 1e11
MAX_COUNT: Final = 2**31 - 1
MAX_SIZE: Final = 2**53
#: Longest a run may be handed to a worker before its due time (``stage_ahead``); the worker
#: process never waits longer than this for a run's due time, whatever the run says.
MAX_STAGE_AHEAD_S: Final = 1.0
JSON_INT_MIN: Final = -(2**63)
JSON_INT_MAX: Final = 2**64 - 1


def is_number(value: Any) -> bool:
    """An int or a float, not a bool."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def in_range(value: Any, low: float, high: float) -> bool:
    """*value* is a finite number within ``[low, high]`` (never raises, whatever *value* is)."""
    if type(value) is float:  # the common case first (a restore checks a dozen per job record)
        return math.isfinite(value) and low <= value <= high
    if not is_number(value):
        return False
    try:
        return math.isfinite(value) and low <= value <= high
    except OverflowError:  # an int too large for a float comparison
        return False


def short_repr(value: Any, limit: int = 40) -> str:
    """``repr(value)`` cut to *limit* characters (a 5000-digit int has no repr: its size is said)."""
    try:
        text = repr(value)
    except ValueError:  # int too large to convert to text
        return f"<integer of {value.bit_length()} bits>" if isinstance(value, int) else "<unprintable>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def finite_in(name: str, value: Any, low: float, high: float, *, unit: str = "seconds") -> float:
    """*value* as a float when it is a finite number within ``[low, high]``.

    Raises:
        InvalidValueError: naming field *name*, the range and the value (shortened).
    """
    if not in_range(value, low, high):
        shown = short_repr(value)
        units = f" {unit}" if unit else ""
        raise InvalidValueError(f"{name} must be a finite number within [{low:g}, {high:g}]{units}, got {shown}",
                                field=name, value=shown)
    return float(value)


def task_next_at(value: Any, now: float, *, key: str = "next_at") -> tuple[float | None, str | None]:
    """A task's ``next_at`` (or DAS's ``next``) as ``(epoch, None)``, or ``(None, note)`` when refused.

    Accepted: a finite epoch in ``[0, now + HORIZON_S]`` (a past time means "as soon as
    allowed"). Refused, with a note for the run's ``notes``: NaN, infinities, huge ints,
    negative numbers, anything beyond the horizon, anything not a number. The scheduler
    then goes on as if the task had not asked (the next slot of its interval).
    """
    if value is None:
        return None, None
    if in_range(value, 0.0, now + HORIZON_S):
        return float(value), None
    shown = short_repr(value)
    if not is_number(value):
        return None, f"{key}: {shown} is not an epoch number; ignored"
    return None, (f"{key}: {shown} is not a finite epoch within [0, now + {HORIZON_S:g} s]; ignored, the job "
                  "keeps its interval")


def stored_epoch(record: Mapping[str, Any], name: str) -> float | None:
    """A time field of a record read back from the store: None, or a finite epoch within
    ``+-MAX_EPOCH`` (else `InvalidValueError` naming the field)."""
    value = record.get(name)
    if value is None:
        return None
    if type(value) is float and math.isfinite(value) and -MAX_EPOCH <= value <= MAX_EPOCH:  # the common case
        return value
    return finite_in(name, value, -MAX_EPOCH, MAX_EPOCH, unit="epoch seconds (stored)")


def stored_count(record: Mapping[str, Any], name: str) -> int:
    """A counter of a record read back from the store: 0 when absent, else an int in
    ``[0, MAX_COUNT]`` (else `InvalidValueError` naming the field)."""
    value = record.get(name) or 0
    if type(value) is int and 0 <= value <= MAX_COUNT:  # the common case first (not a bool: type is int)
        return value
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_COUNT:
        raise InvalidValueError(f"{name} must be a count within [0, {MAX_COUNT}], got {short_repr(value)} (stored)",
                                field=name, value=short_repr(value))
    return value


def json_int(value: int) -> bool:
    """*value* fits the integers a stored document may hold (`JSON_INT_MIN`..`JSON_INT_MAX`)."""
    return JSON_INT_MIN <= value <= JSON_INT_MAX


__all__ = ["HORIZON_S", "JSON_INT_MAX", "JSON_INT_MIN", "MAX_COUNT", "MAX_EPOCH", "MAX_SIZE", "MIN_INTERVAL_S",
           "finite_in", "in_range", "is_number", "json_int", "short_repr", "stored_count", "stored_epoch",
           "task_next_at"]
