"""Checking and sharing the field values of a job definition (`actors.jobs.JobSpec`).

Why a module of its own: a config file may define a million jobs, most of them with the same
schedule, misfire fields and no resources. The checks of single fields live here, with what
the specs share instead of each keeping a copy: one schedule object per distinct schedule
fields (validated once), one misfire policy per distinct misfire fields, one empty resources
mapping. Each remembered value is keyed by the values given *and their types* (``True == 1``,
but a bool is refused where a count is wanted), and a value that fails is never remembered,
so every error still names its field. Pure: no threads, no I/O.
"""

from __future__ import annotations

import math
from collections.abc import ItemsView, Iterator, Mapping, ValuesView
from types import MappingProxyType
from typing import Any

from actors.bounds import HORIZON_S, MIN_INTERVAL_S, in_range, json_int, short_repr
from actors.bounds import MAX_COUNT as BOUND_COUNT
from actors.errors import InvalidJobError
from actors.jsonsafe import utf8_ok
from actors.misfire import MisfirePolicy
from actors.schedule import Schedule, schedule_from_fields

#: Longest interval or timeout, s (about 31 years): the scheduler waits with `threading`
#: timeouts, which overflow a few centuries out (`actors.bounds.HORIZON_S`).
MAX_SECONDS = HORIZON_S
#: Largest count (max_runs, retries): fits every store's integers.
MAX_COUNT = BOUND_COUNT


def check_number(name: str, value: Any, *, allow_none: bool, positive: bool, minimum: float = 0.0,
                 maximum: float = float("inf")) -> None:
    """A number of seconds (or an epoch) of field *name*, else `InvalidJobError` naming it and the value."""
    if value is None and allow_none:
        return
    shown = short_repr(value)
    if isinstance(value, bool) or not isinstance(value, int | float) or (isinstance(value, float)
                                                                      and not math.isfinite(value)):
        raise InvalidJobError(f"{name} must be a finite number, got {shown}", field=name, value=shown)
    if (positive and value <= 0) or not in_range(value, minimum, maximum):
        low = f"> {minimum:g}" if positive and minimum <= 0 else f">= {minimum:g}"
        raise InvalidJobError(f"{name} must be {low} and <= {maximum:g} seconds, got {shown}", field=name,
                              value=shown)


def check_int(name: str, value: Any, *, minimum: int) -> None:
    """A count of field *name* (None passes), else `InvalidJobError` naming it and the value."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidJobError(f"{name} must be an integer >= {minimum} or None, got {short_repr(value)}", field=name,
                              value=short_repr(value))
    if value > MAX_COUNT:
        raise InvalidJobError(f"{name} must be an integer within [{minimum}, {MAX_COUNT}], got {short_repr(value)}",
                              field=name, value=short_repr(value))


def check_resources(value: Any) -> None:
    """Placement: a mapping of resource names to positive amounts (``{"GPU": 1}``)."""
    if not isinstance(value, Mapping):
        raise InvalidJobError(f"resources must be a mapping of names to amounts, got {value!r}", field="resources",
                              value=value)
    for name, amount in value.items():
        if not isinstance(name, str) or not name.strip():
            raise InvalidJobError(f"resources: a resource name must be a non-empty string, got {name!r}",
                                  field="resources", value=name)
        if isinstance(amount, bool) or not isinstance(amount, int | float) or not math.isfinite(amount) or amount <= 0:
            raise InvalidJobError(f"resources: the amount of {name!r} must be a number > 0, got {amount!r}",
                                  field="resources", value=amount)


class Arguments(Mapping[str, Any]):
    """A job's arguments (``JobSpec.kwargs``): a read-only mapping that keeps its values in a tuple
    (one value: the value itself) and its names in a tuple shared by every job with the same names,
    with their positions. A dict behind a `MappingProxyType` takes ~230 B for one argument, this
    ~50 B (1M jobs: ~180 MB). Compares equal to any mapping with the same items; pickles as a dict's
    items."""

    __slots__ = ("_shared", "_values")  # _shared: (names, {name: position}), one per distinct names

    def __init__(self, items: Mapping[str, Any]) -> None:
        self._set(tuple(items), tuple(items.values()))

    @classmethod
    def of(cls, names: tuple[str, ...], values: tuple[Any, ...]) -> Arguments:
        """Arguments of *names* and their *values* (in that order), without a mapping in between."""
        made = cls.__new__(cls)
        made._set(names, values)
        return made

    def _set(self, names: tuple[str, ...], values: tuple[Any, ...]) -> None:
        shared = _names.get(names)
        if shared is None:
            if len(_names) >= MEMO_MAX:
                _names.clear()
            shared = _names[names] = (names, {name: i for i, name in enumerate(names)})
        self._shared = shared
        self._values = values[0] if len(names) == 1 else values  # one value: no 1-tuple (~48 B a job)

    def names(self) -> tuple[str, ...]:
        """The names, in order (the tuple every `Arguments` with these names shares)."""
        return self._shared[0]

    def values_tuple(self) -> tuple[Any, ...]:
        """The values, in the order of the names."""
        return (self._values,) if len(self._shared[0]) == 1 else self._values

    def as_dict(self) -> dict[str, Any]:
        """A new plain dict of the arguments (cheaper than ``dict(arguments)``)."""
        names = self._shared[0]
        return {names[0]: self._values} if len(names) == 1 else dict(zip(names, self._values, strict=True))

    def __getitem__(self, name: str) -> Any:
        names, positions = self._shared
        position = positions.get(name)
        if position is None:
            raise KeyError(name)
        return self._values if len(names) == 1 else self._values[position]

    def __contains__(self, name: object) -> bool:
        return name in self._shared[1]

    def __iter__(self) -> Iterator[str]:
        return iter(self._shared[0])

    def __len__(self) -> int:
        return len(self._shared[0])

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Arguments):
            return self.as_dict() == other.as_dict()
        if isinstance(other, Mapping):
            return self.as_dict() == (other if isinstance(other, dict) else dict(other.items()))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # a mapping: unhashable, as Mapping's own __eq__ makes it

    def items(self) -> ItemsView[str, Any]:
        return self.as_dict().items()

    def values(self) -> ValuesView[Any]:
        return self.as_dict().values()

    def __repr__(self) -> str:
        return f"Arguments({self.as_dict()!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (Arguments, (self.as_dict(),))


_names: dict[tuple[str, ...], tuple[tuple[str, ...], dict[str, int]]] = {}


def plain_dict(mapping: Mapping[str, Any]) -> dict[str, Any]:
    """A new plain dict of *mapping* (`Arguments.as_dict` for arguments: cheaper than ``dict()``)."""
    return mapping.as_dict() if type(mapping) is Arguments else dict(mapping)

#: The types of argument values that `plain_arguments` takes as they are (exact types, no subclasses).
_SCALARS = frozenset({str, int, float, bool, type(None)})


def plain_arguments(kwargs: Any) -> Arguments | None:
    """*kwargs* as canonical `Arguments` (sorted by name) when it is a dict (or `Arguments`) of
    names to JSON scalars (str, int within `json_int`, finite float, bool, None: exact types) that
    JSON text would give back as they are; else None (the caller checks and round-trips through
    JSON text, which names what is wrong). A config file's ``Task(..., value=i)`` takes this path:
    no JSON text is written and read back (~3 us a job)."""
    kind = type(kwargs)
    if kind is dict:
        names, values = tuple(kwargs), tuple(kwargs.values())
    elif kind is Arguments:
        names, values = kwargs.names(), kwargs.values_tuple()
    else:
        return None
    for name in names:
        if type(name) is not str or not (name.isascii() or utf8_ok(name)):
            return None
    for value in values:
        kind = type(value)
        if kind not in _SCALARS or (kind is str and not (value.isascii() or utf8_ok(value))) \
                or (kind is int and not json_int(value)) or (kind is float and not math.isfinite(value)):
            return None
    if len(names) > 1 and list(names) != sorted(names):
        order = sorted(range(len(names)), key=names.__getitem__)
        names, values = tuple(names[i] for i in order), tuple(values[i] for i in order)
    return Arguments.of(names, values)


#: The resources of a job that asks for none: one shared read-only mapping (a million jobs
#: do not each keep an empty dict behind a proxy, ~100 B each).
NO_RESOURCES: Mapping[str, float] = MappingProxyType({})
#: Most distinct schedules and misfire fields remembered (`schedule_of`, `misfire_of`); past it the memo starts over.
MEMO_MAX = 4096
_schedules: dict[tuple[Any, ...], tuple[Schedule, tuple[float | None, str | None, str | None, float]]] = {}
_misfires: dict[tuple[Any, ...], tuple[MisfirePolicy, dict[str, Any]]] = {}
#: The arguments and result of the last `schedule_of` that built or looked up its key.
_last_schedule: list[tuple[Any, ...]] = [(object(), object(), object(), object(), None)]
#: `misfire_of_values` of no misfire field given (once known).
_NO_MISFIRE: list[tuple[MisfirePolicy, dict[str, Any]]] = []


def _typed_key(a: Any, b: Any, c: Any, d: Any = None) -> tuple[Any, ...] | None:
    """A memo key for field values given by a caller: each value with its type (``1``, ``1.0`` and
    ``True`` are equal keys otherwise, and only some pass validation); None when one is unhashable."""
    key = (type(a), a, type(b), b, type(c), c, type(d), d)
    try:
        hash(key)
    except TypeError:
        return None
    return key


def schedule_of(interval: Any, cron: Any, tz: Any, jitter: Any) -> tuple[
        Schedule, tuple[float | None, str | None, str | None, float]]:
    """The interval checked, then `schedule_from_fields` and its canonical (interval, cron, tz,
    jitter), remembered by the values given: a million jobs of one schedule share one (immutable)
    schedule object and validate it once (~2.5 us and ~70 B a job)."""
    last = _last_schedule[0]
    if last[0] is interval and last[1] is cron and last[2] is tz and last[3] is jitter:
        return last[4]  # type: ignore[no-any-return]  # the very objects of the last call (a config loop)
    key = _typed_key(interval, cron, tz, jitter)
    found = None if key is None else _schedules.get(key)
    if found is None:
        check_number("interval", interval, allow_none=True, positive=True, minimum=MIN_INTERVAL_S, maximum=MAX_SECONDS)
        schedule = schedule_from_fields(interval=interval, cron=cron, tz=tz, jitter=jitter)  # raises if invalid
        fields = schedule.fields()
        found = (schedule, (fields.get("interval"), fields.get("cron"), fields.get("tz"), float(fields["jitter"])))
        if key is not None:
            if len(_schedules) >= MEMO_MAX:
                _schedules.clear()
            _schedules[key] = found
    if key is not None:
        _last_schedule[0] = (interval, cron, tz, jitter, found)  # held: their ids stay theirs meanwhile
    return found


def misfire_of(fields: Mapping[str, Any]) -> tuple[MisfirePolicy, dict[str, Any]]:
    """`MisfirePolicy.from_fields` (raises if invalid) and its canonical fields, remembered by the
    fields given (read-only: the same dict is handed to every job with these fields)."""
    return misfire_of_values(fields["misfire"], fields["misfire_grace"], fields["max_catchup"])


def misfire_of_values(misfire: Any, grace: Any, catchup: Any) -> tuple[MisfirePolicy, dict[str, Any]]:
    """`misfire_of` of the three field values (no dict built when they are remembered)."""
    if misfire is None and grace is None and catchup is None and _NO_MISFIRE:
        return _NO_MISFIRE[0]  # what most jobs give: nothing (the server's default)
    key = _typed_key(misfire, grace, catchup)
    found = None if key is None else _misfires.get(key)
    if found is None:
        policy = MisfirePolicy.from_fields({"misfire": misfire, "misfire_grace": grace, "max_catchup": catchup})
        found = (policy, policy.fields())
        if key is not None:
            if len(_misfires) >= MEMO_MAX:
                _misfires.clear()
            _misfires[key] = found
        if misfire is None and grace is None and catchup is None:
            _NO_MISFIRE.append(found)
    return found


__all__ = [
    "MAX_COUNT",
    "MAX_SECONDS",
    "MEMO_MAX",
    "NO_RESOURCES",
    "Arguments",
    "check_int",
    "check_number",
    "check_resources",
    "misfire_of",
    "misfire_of_values",
    "plain_arguments",
    "plain_dict",
    "schedule_of",
]
