"""Cron expressions in a time zone (`CronSchedule`), evaluated by cronsim, answered in UTC epochs.

Operators think in calendars ("every day at 02:30 Europe/Zurich", "weekdays every 15
minutes"). cronsim (no dependencies, zoneinfo) is chosen because it matches Debian cron on
DST, the behaviour most operators already know; the rule, tested table by table in
tests/actors/test_schedule.py:

* An expression whose minute *and* hour fields are fixed (``30 2 * * *``, ``0 9-17 * * *``)
  names wall-clock times. A time that does not exist (spring-forward gap) runs at the first
  valid instant after the gap (02:30 -> 03:00 CEST on 2026-03-29 in Europe/Zurich), once
  even if several gap times map there; a time that exists twice (fall-back) runs once, at
  its first occurrence (02:30 CEST, not 02:30 CET, on 2026-10-25).
* An expression whose minute or hour field starts with ``*`` (``*/30 * * * *``,
  ``0 * * * *``, ``0 */2 * * *``) follows the real clock: it fires at every real instant
  whose local time matches, so ``*/30`` keeps its 30-minute instants across both changes
  (no gap, no double) and ``0 * * * *`` fires every real hour (01:00 CET, then 03:00 CEST).

Accepted: five fields (minute hour day-of-month month day-of-week, with cronsim's ``L``,
``LW`` and ``#``) or a macro (``@hourly`` ... ``@yearly``). Six-field (seconds) expressions
are refused: they are not Debian cron and cronsim gives them no DST handling. An expression
that can never fire (``0 0 30 2 *``) is refused when the schedule is built; one with no slot
within cronsim's 50-year search from some moment answers None there ("no further slot").
The zone is an IANA name through zoneinfo (None or "" means UTC).

Known limit (cronsim 2.8): in a zone whose clock changes by 30 minutes
(Australia/Lord_Howe), a real-clock expression such as ``5 */2 * * *`` can pass over the
first matching time after the change when walked from before the change, yet find it from
just before it: there, which slots exist depends on where a walk starts. Counts and walks
here are always forward walks; the ledger keys whatever slot ran, so nothing doubles.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

from actors.errors import InvalidJobError
from actors.slots import MAX_JITTER_S, Schedule, finite_number

#: Longest cron expression accepted (bounds parsing work on untrusted input).
MAX_CRON_CHARS = 200
#: Gregorian calendars (weekdays included) repeat every 400 years: an expression that fires
#: at all fires within 400 years of any moment. Searched from this fixed reference.
_NEVER_REFERENCE = datetime(2000, 1, 1, tzinfo=UTC)
_NEVER_YEARS, _CRONSIM_WINDOW_YEARS = 400, 50

MACROS = {
    "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
}


def canonical_cron(expr: str) -> str:
    """Whitespace collapsed, fields upper-cased, macros lower-cased: the form kept and hashed."""
    text = " ".join(expr.split())
    return text.lower() if text.startswith("@") else text.upper()


def _resolve_zone(tz: Any) -> tuple[str, tzinfo]:
    if tz is None or tz == "":
        return "UTC", UTC
    if not isinstance(tz, str):
        raise InvalidJobError(f"tz must be an IANA zone name such as 'Europe/Zurich', got {tz!r}", field="tz")
    if tz.upper() in {"UTC", "Z"}:
        return "UTC", UTC
    try:
        return tz, ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidJobError(f"tz {tz!r} is not a known time zone (an IANA name such as 'Europe/Zurich' "
                              f"or 'UTC'): {exc}", field="tz") from exc


def _parse_cron(expr: str, zone: tzinfo) -> CronSim:
    """Build (and so validate) the expression; messages name it and cronsim's reason."""
    text = MACROS.get(expr, expr)
    if expr.startswith("@") and expr not in MACROS:
        raise InvalidJobError(f"cron expression {expr!r} is not a known macro ({', '.join(MACROS)})", field="cron")
    fields = text.split()
    if len(fields) != 5:
        raise InvalidJobError(f"cron expression {expr!r} has {len(fields)} field(s); it needs five: minute hour "
                              "day-of-month month day-of-week (seconds are not supported)", field="cron")
    try:
        return CronSim(text, _NEVER_REFERENCE.astimezone(zone))
    except CronSimError as exc:
        reason = str(exc)
    minute, hour, dom, month, dow = fields
    try:  # each field valid on its own? then those days of the month never occur in those months
        CronSim(f"{minute} {hour} 1 {month} {dow}", _NEVER_REFERENCE)
        CronSim(f"{minute} {hour} {dom} * {dow}", _NEVER_REFERENCE)
    except CronSimError:
        raise InvalidJobError(f"cron expression {expr!r} is invalid: {reason}", field="cron") from None
    raise InvalidJobError(f"cron expression {expr!r} never fires: day-of-month {dom!r} does not occur "
                          f"in month {month!r}", field="cron")


def _fires_ever(sim_text: str, zone: tzinfo) -> bool:
    start = _NEVER_REFERENCE
    for _ in range(_NEVER_YEARS // _CRONSIM_WINDOW_YEARS):
        try:
            next(CronSim(sim_text, start.astimezone(zone)))
        except StopIteration:
            start = start.replace(year=start.year + _CRONSIM_WINDOW_YEARS)
            continue
        return True
    return False


@dataclass(frozen=True, slots=True)
class CronSchedule(Schedule):
    """Slots of a cron expression in the IANA zone *tz* (None or "" means UTC), as UTC epochs."""

    expr: str
    tz: str | None = None
    jitter_s: float = 0.0
    _text: str = field(init=False, repr=False, compare=False, default="")
    _zone: tzinfo = field(init=False, repr=False, compare=False, default=UTC)
    _per_day: int = field(init=False, repr=False, compare=False, default=0)

    def __post_init__(self) -> None:
        if not isinstance(self.expr, str) or not self.expr.strip() or len(self.expr) > MAX_CRON_CHARS:
            raise InvalidJobError(f"cron must be a cron expression of at most {MAX_CRON_CHARS} characters "
                                  f"such as '30 2 * * *', got {self.expr!r}", field="cron")
        expr = canonical_cron(self.expr)
        name, zone = _resolve_zone(self.tz)
        sim = _parse_cron(expr, zone)
        text = MACROS.get(expr, expr)
        if not _fires_ever(text, zone):
            raise InvalidJobError(f"cron expression {self.expr!r} never fires (no fire time in {_NEVER_YEARS} "
                                  "years, a whole Gregorian cycle)", field="cron")
        object.__setattr__(self, "expr", expr)
        object.__setattr__(self, "tz", name)
        object.__setattr__(self, "jitter_s", finite_number("jitter", self.jitter_s, low=0.0, high=MAX_JITTER_S))
        object.__setattr__(self, "_text", text)
        object.__setattr__(self, "_zone", zone)
        object.__setattr__(self, "_per_day", len(sim.hours) * len(sim.minutes))

    @property
    def kind(self) -> str:
        """``"cron"``."""
        return "cron"

    @property
    def zone(self) -> tzinfo:
        """The zone the expression is evaluated in."""
        return self._zone

    def local(self, t: float) -> datetime:
        """Epoch *t* as an aware datetime in the schedule's zone (for the panel)."""
        return datetime.fromtimestamp(t, self._zone)

    def _iter_after(self, t: float) -> Iterator[float]:
        """Slots strictly after *t*, strictly increasing (cronsim walks wall time in the
        fixed-time mode, so a start inside a repeated hour can yield an instant already passed)."""
        last = t
        try:
            start = datetime.fromtimestamp(math.floor(t), self._zone)
            offset = start.utcoffset()
            for moment in CronSim(self._text, start):
                epoch = moment.timestamp()
                if moment.utcoffset() != offset:  # a DST change crossed: a slot the walk jumped over?
                    fell_back = offset is not None and moment.utcoffset() is not None and \
                        moment.utcoffset() < offset  # type: ignore[operator]
                    offset = moment.utcoffset()
                    for missed in self._jumped_over(last, epoch) if fell_back else ():
                        last = missed
                        yield missed
                if epoch > last:
                    last = epoch
                    yield epoch
        except (OverflowError, ValueError):  # past datetime's year 9999: no further slot
            return

    def _jumped_over(self, after: float, before: float) -> list[float]:
        """Slots strictly between *after* and *before* that the forward walk skipped across a
        clock set back, oldest first. Measured: cronsim walking forward over Lord Howe's
        half-hour fall-back (02:00+11 -> 01:30+10:30) jumps from 00:05 to 04:05 for
        ``5 */2 * * *``, while 02:05+10:30 matches and its reverse walk finds it. Only wall times
        that exist once are taken: a time in the repeated interval runs once by Debian's rule,
        and the forward walk has already placed it."""
        found: list[float] = []
        for moment in CronSim(self._text, datetime.fromtimestamp(before, self._zone), reverse=True):
            epoch = moment.timestamp()
            if epoch <= after:
                break
            wall = moment.replace(tzinfo=None)
            once = wall.replace(fold=0, tzinfo=self._zone).utcoffset() == wall.replace(fold=1,
                                                                                      tzinfo=self._zone).utcoffset()
            if epoch < before and once and datetime.fromtimestamp(epoch, self._zone).replace(tzinfo=None) == wall:
                found.append(epoch)
            if len(found) > 48:  # a DST change moves the clock by at most a few hours
                break
        return sorted(found)

    def next_after(self, t: float) -> float | None:
        """The first slot strictly after *t*."""
        return next(self._iter_after(t), None)

    def slots_between(self, after: float, upto: float) -> Iterator[float]:
        """Slots in (after, upto], oldest first, from one cronsim walk."""
        for slot in self._iter_after(after):
            if slot > upto:
                return
            yield slot

    def prev_at_or_before(self, t: float) -> float | None:
        """The newest slot at or before *t*: cronsim's reverse walk, checked (and corrected)
        by the forward walk, which is the definition of the slots."""
        candidate: float | None = None
        try:
            start = datetime.fromtimestamp(math.floor(t) + 1, self._zone)
            candidate = next(CronSim(self._text, start, reverse=True)).timestamp()
        except (StopIteration, OverflowError, ValueError):
            candidate = None
        if candidate is not None and candidate <= t and self.next_after(candidate - 1) == candidate:
            return self._walk_to(candidate, t)
        window = 86400.0
        while window <= _NEVER_YEARS * 366 * 86400.0:
            first = self.next_after(t - window)
            if first is not None and first <= t:
                return self._walk_to(first, t)
            window *= 4
        return None

    def _walk_to(self, slot: float, t: float) -> float:
        for following in self._iter_after(slot):
            if following > t:
                break
            slot = following
        return slot

    def count_between(self, after: float, upto: float) -> int:
        """Slots in (after, upto]. A whole local day without a DST change holds exactly
        ``len(hours) * len(minutes)`` slots if it matches at all, so such days are counted
        in one step and only the others are walked slot by slot."""
        count, position = 0, after
        while position < upto:
            for slot in self._iter_after(position):
                if slot > upto:
                    return count
                day = self.local(slot).date()
                start, end = self._midnight(day), self._midnight(day + timedelta(days=1))
                if self._per_day > 1 and position < start and end - 1 <= upto and end - start == 86400:
                    count += self._per_day
                    position = end - 1  # slots have whole seconds of 0: none in (end - 1, end)
                    break  # restart the walk after the day
                count += 1
                position = slot
            else:
                return count  # no further slot at all
        return count

    def _midnight(self, day: date) -> float:
        return datetime(day.year, day.month, day.day, tzinfo=self._zone).timestamp()

    def fields(self) -> dict[str, Any]:
        """``{"cron": expr, "tz": zone, "jitter": s}``."""
        return {"cron": self.expr, "tz": self.tz, "jitter": self.jitter_s}

    def describe(self) -> str:
        """cronsim's English for the expression, with the zone: ``At 02:30 every day (Europe/Zurich)``."""
        try:
            text = CronSim(self._text, _NEVER_REFERENCE).explain()
        except (CronSimError, ValueError, KeyError, IndexError):  # explain() is best effort in cronsim
            text = f"cron {self.expr}"
        jitter = f", jitter {self.jitter_s:g} s" if self.jitter_s else ""
        return f"{text} ({self.tz}{jitter})"
