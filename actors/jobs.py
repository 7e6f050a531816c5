"""Value objects of the scheduler: job definitions, job states, runs and outcomes.

A *job* is a definition (`JobSpec`: a task class, an interval, arguments, limits) that
the scheduler runs many times; each execution is a *run* (`Run`), numbered by a 1-based
``index`` (the scheduled slot) and an ``attempt`` (0 for the first try, 1.. for retries
of the same slot). Retries therefore never consume a ``max_runs`` slot, which the original
DAS got wrong.

A job's id is derived from its definition, so re-reading a config file, or a task
spawning the same child twice, never duplicates a job.

Stdlib plus orjson only: this module is imported by the worker subprocess too.
"""

from __future__ import annotations

import enum
import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import orjson

from actors.bounds import HORIZON_S, MAX_EPOCH, MIN_INTERVAL_S, in_range, short_repr
from actors.bounds import MAX_COUNT as BOUND_COUNT
from actors.errors import InvalidJobError
from actors.jsonsafe import find_unsafe

#: Names the framework passes to every task constructor; user kwargs may not use them.
RESERVED_KWARGS = frozenset(
    {"logger", "name", "index", "interval", "attempt", "job_id", "parent", "due_at", "services"}
)


class JobState(enum.StrEnum):
    """Where a job is in its life. ``abandoned`` and ``finished`` are kept and shown."""

    SCHEDULED = "scheduled"  # has a due time in the future
    WAITING = "waiting"  # due, but every worker is busy
    RUNNING = "running"  # a run is in a worker now
    PAUSED = "paused"  # kept, not dispatched until resumed
    ABANDONED = "abandoned"  # failed with its retry budget spent; last error kept
    FINISHED = "finished"  # resubmit off, max_runs / only_before / only_once reached
    QUARANTINED = "quarantined"  # set aside: applying its rule or outcome raised; kept with the error


ACTIVE_STATES = frozenset({JobState.SCHEDULED, JobState.WAITING, JobState.RUNNING, JobState.PAUSED})


class Outcome(enum.StrEnum):
    """How one run ended."""

    SUCCESS = "success"
    FAILED = "failed"  # the task raised, or returned success: False
    CRASHED = "crashed"  # the worker process died (signal, exit code, EOF on the pipe)
    TIMEOUT = "timeout"  # we killed it after its timeout
    INTERRUPTED = "interrupted"  # the server stopped (or died) while it ran
    CANCELLED = "cancelled"  # an operator cancelled it


class Trigger(enum.StrEnum):
    """Why a run was started."""

    SCHEDULE = "schedule"
    RETRY = "retry"
    MANUAL = "manual"
    RESUME = "resume"  # re-run of a run interrupted by a server stop


class Origin(enum.StrEnum):
    """Where a job definition came from."""

    CONFIG = "config"
    API = "api"
    CHILD = "child"


#: Longest interval or timeout, s (about 31 years): the scheduler waits with `threading`
#: timeouts, which overflow a few centuries out (`actors.bounds.HORIZON_S`).
MAX_SECONDS = HORIZON_S
#: Largest count (max_runs, retries): fits every store's integers.
MAX_COUNT = BOUND_COUNT


def _number(name: str, value: Any, *, allow_none: bool, positive: bool, minimum: float = 0.0,
            maximum: float = float("inf")) -> None:
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


def _int(name: str, value: Any, *, minimum: int) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidJobError(f"{name} must be an integer >= {minimum} or None, got {short_repr(value)}", field=name,
                              value=short_repr(value))
    if value > MAX_COUNT:
        raise InvalidJobError(f"{name} must be an integer within [{minimum}, {MAX_COUNT}], got {short_repr(value)}",
                              field=name, value=short_repr(value))


def canonical_json(value: Any) -> bytes:
    """UTF-8 JSON with sorted keys and no spaces: the stable text that job ids are hashed from."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


@dataclass(frozen=True, slots=True)
class JobSpec:
    """A job definition, validated on construction (every error names field and value).

    ``kwargs`` is kept as a read-only mapping; ``parent`` is the ancestry chain, oldest
    ancestor first, of job ids that spawned this job.
    """

    name: str
    classname: str
    interval_s: float
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    only_once: bool = False
    max_runs: int | None = None
    only_before: float | None = None
    timeout_s: float | None = None
    max_retries: int | None = None
    parent: tuple[str, ...] = ()
    origin: Origin = Origin.CONFIG
    job_id: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise InvalidJobError(f"name must be a non-empty string, got {self.name!r}", field="name")
        if not isinstance(self.classname, str) or not self.classname.strip():
            raise InvalidJobError(
                f"classname must be a non-empty string, got {self.classname!r}", field="classname"
            )
        for name in ("name", "classname"):
            if find_unsafe(getattr(self, name)) is not None:
                raise InvalidJobError(f"{name} must be valid Unicode text (no lone surrogates)", field=name)
        _number("interval", self.interval_s, allow_none=False, positive=True, minimum=MIN_INTERVAL_S,
                maximum=MAX_SECONDS)
        if not isinstance(self.only_once, bool):
            raise InvalidJobError(f"only_once must be true or false, got {self.only_once!r}", field="only_once")
        _int("max_runs", self.max_runs, minimum=1)
        _number("only_before", self.only_before, allow_none=True, positive=False, maximum=MAX_EPOCH)
        _number("timeout", self.timeout_s, allow_none=True, positive=True, maximum=MAX_SECONDS)
        _int("retries", self.max_retries, minimum=0)
        if not isinstance(self.kwargs, Mapping):
            raise InvalidJobError(f"kwargs must be a mapping, got {self.kwargs!r}", field="kwargs")
        for key in self.kwargs:
            if not isinstance(key, str):
                raise InvalidJobError(f"argument names must be strings, got {key!r}", field="kwargs")
            if key in RESERVED_KWARGS:
                raise InvalidJobError(
                    f"argument {key!r} is reserved (the framework passes it to every task)", field=key
                )
        bad = find_unsafe(dict(self.kwargs), "")
        if bad is not None:
            raise InvalidJobError(
                f"argument {bad.lstrip()} of job {self.name!r} is not JSON-safe "
                "(use str, int, float, bool, None, lists and dicts with string keys)",
                field="kwargs",
            )
        if not all(isinstance(p, str) for p in self.parent):
            raise InvalidJobError(f"parent must be a chain of job ids, got {self.parent!r}", field="parent")
        object.__setattr__(self, "parent", tuple(self.parent))
        object.__setattr__(self, "origin", Origin(self.origin))
        object.__setattr__(self, "kwargs", MappingProxyType(orjson.loads(canonical_json(dict(self.kwargs)))))
        object.__setattr__(self, "interval_s", float(self.interval_s))
        object.__setattr__(self, "job_id", make_job_id(self))

    @property
    def run_limit(self) -> int | None:
        """The number of scheduled runs allowed (``only_once`` means one), or None."""
        if self.only_once:
            return 1 if self.max_runs is None else min(1, self.max_runs)
        return self.max_runs

    def definition(self) -> dict[str, Any]:
        """The fields that identify the job (what its id is hashed from)."""
        return {
            "name": self.name,
            "classname": self.classname,
            "interval": self.interval_s,
            "kwargs": dict(self.kwargs),
            "only_once": self.only_once,
            "max_runs": self.max_runs,
            "only_before": self.only_before,
            "timeout": self.timeout_s,
            "retries": self.max_retries,
            "parent": list(self.parent),
        }

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict of the definition, its id and origin (what the store keeps)."""
        return {**self.definition(), "job_id": self.job_id, "origin": str(self.origin)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> JobSpec:
        """Rebuild a spec from `to_dict` output (or an API/child request using the same names)."""
        known = {
            "name", "classname", "interval", "kwargs", "only_once", "max_runs", "only_before",
            "timeout", "retries", "parent", "origin", "job_id",
        }
        unknown = sorted(set(data) - known)
        if unknown:
            raise InvalidJobError(
                f"unknown job field {unknown[0]!r} (known: {', '.join(sorted(known - {'job_id'}))})",
                field=unknown[0],
            )
        for required in ("name", "classname", "interval"):
            if required not in data:
                raise InvalidJobError(f"job field {required!r} is required", field=required)
        kwargs = data.get("kwargs") or {}
        return cls(
            name=data["name"],
            classname=data["classname"],
            interval_s=data["interval"],
            kwargs=kwargs,
            only_once=data.get("only_once", False),
            max_runs=data.get("max_runs"),
            only_before=data.get("only_before"),
            timeout_s=data.get("timeout"),
            max_retries=data.get("retries"),
            parent=tuple(data.get("parent") or ()),
            origin=Origin(data.get("origin", Origin.API)),
        )


def make_job_id(spec: JobSpec) -> str:
    """A 16-hex-digit id hashed from the definition: same definition, same id, always."""
    digest = hashlib.sha256(canonical_json(spec.definition())).hexdigest()
    return digest[:16]


@dataclass(frozen=True, slots=True)
class Run:
    """One execution of a job, as sent to a worker (small and picklable on purpose)."""

    job_id: str
    name: str
    classname: str
    kwargs: Mapping[str, Any]
    index: int
    attempt: int
    due_at: float
    interval_s: float
    parent: tuple[str, ...]
    timeout_s: float | None
    trigger: Trigger = Trigger.SCHEDULE

    @property
    def run_id(self) -> str:
        """``job_id:index:attempt``, unique per execution: the one id of a run everywhere (stored
        documents, logs, the API, the panel, metrics)."""
        return f"{self.job_id}:{self.index}:{self.attempt}"

    def describe(self) -> str:
        """Human identity for messages: ``run 3 (attempt 1) of job 'hotspot' (ab12...)``."""
        attempt = f" (attempt {self.attempt})" if self.attempt else ""
        return f"run {self.index}{attempt} of job {self.name!r} ({self.job_id})"

    def to_wire(self) -> dict[str, Any]:
        """A plain dict for the pipe to the worker subprocess."""
        return {
            "job_id": self.job_id, "name": self.name, "classname": self.classname,
            "kwargs": dict(self.kwargs), "index": self.index, "attempt": self.attempt,
            "due_at": self.due_at, "interval": self.interval_s, "parent": list(self.parent),
            "timeout": self.timeout_s, "trigger": str(self.trigger),
        }


@dataclass(frozen=True, slots=True)
class RunReport:
    """What the scheduler needs from a finished run to decide what comes next.

    ``next_at``, ``resubmit`` and ``children`` come from the task's returned dict;
    ``children`` are already-validated child definitions (dicts for `JobSpec.from_dict`).
    """

    outcome: Outcome
    started_at: float
    finished_at: float
    error: str | None = None
    next_at: float | None = None
    resubmit: bool = True
    children: tuple[Mapping[str, Any], ...] = ()
