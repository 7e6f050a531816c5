"""Parse TIMEISH text: the few human ways an operator writes "when" on a command line.

Why: options such as a job's ``only_before`` or a "run at" control are typed by people,
who write ``12:30``, ``12:30gmt``, ``+2h`` or an ISO date rather than epoch seconds.
DAS accepted the clock forms and silently returned 0 for anything else, which meant
"the epoch" and made a job expire at once; here anything unrecognised raises
`ValueError` with the accepted formats and the offending input.

Accepted (case-insensitive, surrounding blanks ignored):

* ``HH:MM[:SS]`` -- a clock time today, or tomorrow if it is already past. Local time,
  unless followed by a GMT suffix made of the letters ``u t c g m z`` (``Z``, ``UTC``,
  ``GMT``...), which means UTC. With ``tz_local=False`` a bare clock time is UTC too.
* ``+N[s|m|h|d]`` -- N (integer or decimal) seconds/minutes/hours/days from now; the
  unit defaults to seconds.
* ``N[.N]`` -- epoch seconds.
* an ISO-8601 date or datetime (``2026-11-23T10:00:00``, ``...Z``, ``...+01:00``). A
  datetime without an offset is taken as **UTC**, not local time, so that a value means
  the same thing on every machine (and in the worker processes).

The function is pure: the current time is passed in as ``now``.
"""

from __future__ import annotations

import math
import re
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from actors.bounds import MAX_EPOCH, in_range, short_repr

__all__ = ["HORIZON_S", "describe_formats", "parse_timeish", "parse_when", "parse_when_in_zone"]

_CLOCK = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([utcgmz]*)")
_RELATIVE = re.compile(r"\+\s*(\d+(?:\.\d*)?|\.\d+)\s*([smhd]?)")
_EPOCH = re.compile(r"\d+(?:\.\d+)?")
_UNIT_SECONDS = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}

#: Farthest future a "when" may name, s (about 31 years): the scheduler waits with
#: `threading` timeouts, which overflow a few centuries out.
HORIZON_S = 1e9
#: How far in the past a "now" may be (a clock tick between the caller and us).
PAST_TOLERANCE_S = 1.0


def describe_formats() -> str:
    """A one-paragraph description of the accepted formats, for help pages and errors."""
    return (
        "HH:MM[:SS] (local time, or UTC when followed by Z, UTC or GMT; tomorrow if already "
        "past today), +N[s|m|h|d] (N seconds, minutes, hours or days from now; default "
        "seconds), an epoch number N[.N], or an ISO-8601 datetime such as "
        "2026-11-23T10:00:00Z or 2026-11-23T10:00:00+01:00 (no offset means UTC)"
    )


def _error(text: str, reason: str = "") -> ValueError:
    why = f" ({reason})" if reason else ""
    return ValueError(f"cannot parse time {text!r}{why}; accepted formats: {describe_formats()}")


def _clock(text: str, match: re.Match[str], now: float, tz_local: bool) -> float:
    hour, minute = int(match.group(1)), int(match.group(2))
    second = int(match.group(3) or 0)
    if hour > 23 or minute > 59 or second > 59:
        raise _error(text, "hour must be 0-23, minutes and seconds 0-59")
    if match.group(4) or not tz_local:
        today = datetime.fromtimestamp(now, UTC).replace(
            hour=hour, minute=minute, second=second, microsecond=0
        )
        candidate = today.timestamp()
        return candidate if candidate >= now else (today + timedelta(days=1)).timestamp()
    local = time.localtime(now)

    def at(day_offset: int) -> float:
        # mktime normalises tm_mday overflow and, with tm_isdst=-1, picks the DST side itself,
        # so "tomorrow at 12:30" stays 12:30 wall-clock time across a DST change.
        fields = (local.tm_year, local.tm_mon, local.tm_mday + day_offset, hour, minute, second, 0, 0, -1)
        return time.mktime(fields)

    candidate = at(0)
    return candidate if candidate >= now else at(1)


def _iso(text: str) -> float | None:
    try:
        moment = datetime.fromisoformat(text.upper())
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def parse_timeish(text: str, *, now: float, tz_local: bool = True) -> float:
    """Return the epoch seconds that *text* means at time *now*; raise `ValueError` otherwise."""
    if not isinstance(text, str):
        raise _error(str(text), f"expected a string, got {type(text).__name__}")
    stripped = text.strip()
    lowered = stripped.lower()
    if not lowered:
        raise _error(text, "empty")
    if match := _CLOCK.fullmatch(lowered):
        return _clock(text, match, now, tz_local)
    if match := _RELATIVE.fullmatch(lowered):
        return now + float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if _EPOCH.fullmatch(lowered):
        return float(lowered)
    result = _iso(stripped)
    if result is None or not math.isfinite(result):
        raise _error(text)
    return result


def parse_when(value: object, *, now: float, field: str = "when", allow_past: bool = False,
               horizon_s: float = HORIZON_S) -> float:
    """The one parser of every "when" a person or a client gives: TIMEISH text or epoch seconds.

    Used by the API, the panel's forms, config files and the CLI alike. Raises
    `InvalidValueError` naming *field* and the value: not a time, not finite, in the past
    (unless *allow_past*), or more than *horizon_s* seconds ahead.
    """
    from actors.errors import InvalidValueError

    shown = short_repr(value, 60)
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise InvalidValueError(f"{field}: expected a time (text or epoch seconds), got {shown}", field=field,
                                value=shown)
    if isinstance(value, str):
        try:
            epoch = parse_timeish(value, now=now)
        except ValueError as exc:
            raise InvalidValueError(f"{field}: {exc}", field=field, value=shown) from None
    elif in_range(value, -MAX_EPOCH, MAX_EPOCH):
        epoch = float(value)
    else:
        epoch = math.nan  # NaN, an infinity, or an int no float holds (10**400)
    if not math.isfinite(epoch):
        raise InvalidValueError(f"{field}: expected a finite time within +-{MAX_EPOCH:g} epoch seconds, got {shown}",
                                field=field, value=shown)
    if not allow_past and epoch < now - PAST_TOLERANCE_S:
        raise InvalidValueError(f"{field}: {shown} is in the past; a job cannot be scheduled into the past",
                                field=field, value=shown)
    if epoch > now + horizon_s:
        raise InvalidValueError(f"{field}: {shown} is more than {horizon_s:g} s ahead (the scheduling horizon)",
                                field=field, value=shown)
    return epoch



def parse_when_in_zone(value: object, tz: str | None, *, now: float, field: str) -> float:
    """`parse_when` for a moment in the past or future, where an ISO date-time without an offset
    is read in the IANA zone *tz* (a cron job's zone; None or "UTC": UTC) instead of UTC."""
    from actors.errors import InvalidValueError

    if isinstance(value, str) and tz and tz.upper() != "UTC":
        try:
            moment = datetime.fromisoformat(value.strip().upper())
        except ValueError:
            moment = None
        if moment is not None and moment.tzinfo is None:
            try:
                value = moment.replace(tzinfo=ZoneInfo(tz)).timestamp()
            except (ZoneInfoNotFoundError, ValueError) as exc:
                raise InvalidValueError(f"{field}: time zone {tz!r}: {exc}", field=field, value=tz) from None
    return parse_when(value, now=now, field=field, allow_past=True)
