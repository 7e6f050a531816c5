"""Value objects of the scheduler: job definitions (the kinds of states, outcomes, triggers and
origins are `actors.jobkinds`', a run and its report `actors.runs`', both re-exported here).

A *job* is a definition (`JobSpec`: a task class, a schedule (an interval or a cron
expression in a time zone, see `actors.schedule`), arguments, limits) that
the scheduler runs many times; each execution is a *run* (`Run`), numbered by a 1-based
``index`` (the scheduled slot) and an ``attempt`` (0 for the first try, 1.. for retries
of the same slot). Retries therefore never consume a ``max_runs`` slot, which the original
DAS got wrong.

A job's id is derived from its definition, so re-reading a config file, or a task
spawning the same child twice, never duplicates a job.

Imported by the worker subprocess too: keep it free of runtime (actor) imports.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import orjson

from actors.bounds import MAX_EPOCH
from actors.errors import InvalidJobError, InvalidValueError
from actors.jobfields import (
    MAX_COUNT,
    MAX_SECONDS,
    NO_RESOURCES,
    Arguments,
    check_int,
    check_number,
    check_resources,
    misfire_of_values,
    plain_arguments,
    plain_dict,
    schedule_of,
)
from actors.jobkinds import (
    ACTIVE_STATES,
    ENDED_STATES,
    NEW_SLOT_TRIGGERS,
    STATE_GROUPS,
    JobState,
    Origin,
    Outcome,
    Trigger,
    in_state,
)
from actors.jsonsafe import find_unsafe, utf8_ok
from actors.runs import Run, RunReport
from actors.schedule import Schedule
from actors.tags import check_name, check_tags

#: Names the framework passes to every task constructor; user kwargs may not use them.
RESERVED_KWARGS = frozenset(
    {"logger", "name", "index", "interval", "attempt", "job_id", "parent", "due_at", "services"}
)


def canonical_json(value: Any) -> bytes:
    """UTF-8 JSON with sorted keys and no spaces: the stable text that job ids are hashed from."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


@dataclass(frozen=True, slots=True)
class JobSpec:
    """A job definition, validated on construction (every error names field and value).

    The schedule is exactly one of ``interval_s`` (seconds) and ``cron`` (an expression,
    evaluated in zone ``tz``); ``jitter_s`` moves each due time by a fixed pseudo-random
    0..jitter seconds. ``misfire``, ``misfire_grace`` and ``max_catchup`` say what happens
    to slots that fell due while the job could not run (None: the server's default,
    `actors.misfire`). ``kwargs`` is kept as a read-only mapping; ``parent`` is the
    ancestry chain, oldest ancestor first, of job ids that spawned this job.
    """

    name: str
    classname: str
    interval_s: float | None = None
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    only_once: bool = False
    max_runs: int | None = None
    only_before: float | None = None
    timeout_s: float | None = None
    max_retries: int | None = None
    parent: tuple[str, ...] = ()
    origin: Origin = Origin.CONFIG
    cron: str | None = None
    tz: str | None = None
    jitter_s: float = 0.0
    misfire: str | None = None
    misfire_grace: float | str | None = None
    max_catchup: int | None = None
    #: Labels to find the job by (every list filters by tag); part of the id only when set.
    tags: tuple[str, ...] = ()
    #: Also run when ``stream_batch`` new messages arrived on this stream (`actors.streamtrigger`).
    on_stream: str | None = None
    #: How many new messages of ``on_stream`` start a run early (None: 1).
    stream_batch: int | None = None
    #: Placement on a compute cluster (``{"GPU": 1}``), passed to Dask; local workers ignore it.
    resources: Mapping[str, float] = field(default_factory=dict)
    #: ``only_before`` as a config file wrote it (``"+2h"``, ``"18:00"``): the job's identity, so
    #: that a relative time means the same job at every start (its epoch is resolved once, when
    #: the job is first added, and kept in the job's record).
    only_before_text: str | None = None
    job_id: str = field(default="", compare=False)
    #: The schedule built from interval/cron/tz/jitter (an interval's anchor is job state: 0 here).
    schedule: Schedule = field(init=False, compare=False, repr=False, hash=False, default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        name, classname = self.name, self.classname
        if not isinstance(name, str) or not name.strip():
            raise InvalidJobError(f"name must be a non-empty string, got {name!r}", field="name")
        if not isinstance(classname, str) or not classname.strip():
            raise InvalidJobError(f"classname must be a non-empty string, got {classname!r}", field="classname")
        for label, text in (("name", name), ("classname", classname)):
            if not text.isascii() and not utf8_ok(text):
                raise InvalidJobError(f"{label} must be valid Unicode text (no lone surrogates)", field=label)
        schedule, (interval, cron, tz, jitter) = schedule_of(self.interval_s, self.cron, self.tz, self.jitter_s)
        if not isinstance(self.only_once, bool):
            raise InvalidJobError(f"only_once must be true or false, got {self.only_once!r}", field="only_once")
        if self.max_runs is not None:
            check_int("max_runs", self.max_runs, minimum=1)
        if self.only_before is not None:
            check_number("only_before", self.only_before, allow_none=True, positive=False, maximum=MAX_EPOCH)
        if self.timeout_s is not None:
            check_number("timeout", self.timeout_s, allow_none=True, positive=True, maximum=MAX_SECONDS)
        if self.max_retries is not None:
            check_int("retries", self.max_retries, minimum=0)
        # validates; the default is the server's
        given = misfire_of_values(self.misfire, self.misfire_grace, self.max_catchup)[1]
        arguments = self._check_arguments()
        if self.tags != () or self.on_stream is not None or self.stream_batch is not None \
                or self.only_before_text is not None:  # else nothing to check
            self._check_labels()
        if self.parent != ():
            if not all(isinstance(p, str) for p in self.parent):
                raise InvalidJobError(f"parent must be a chain of job ids, got {self.parent!r}", field="parent")
            object.__setattr__(self, "parent", tuple(self.parent))
        resources = self.resources
        if resources is NO_RESOURCES or (type(resources) is dict and not resources):
            object.__setattr__(self, "resources", NO_RESOURCES)
        else:
            check_resources(resources)
            object.__setattr__(self, "resources", MappingProxyType(dict(sorted(resources.items())))
                               if resources else NO_RESOURCES)
        if type(self.origin) is not Origin:
            object.__setattr__(self, "origin", Origin(self.origin))
        if arguments is None:
            arguments = Arguments(orjson.loads(canonical_json(plain_dict(self.kwargs))))
        object.__setattr__(self, "kwargs", arguments)
        for field_name, value in (("interval_s", interval), ("cron", cron), ("tz", tz), ("jitter_s", jitter)):
            if getattr(self, field_name) is not value:
                object.__setattr__(self, field_name, value)
        if self.misfire is not None or self.misfire_grace is not None or self.max_catchup is not None:
            for field_name in ("misfire", "misfire_grace", "max_catchup"):  # canonical forms of what was given
                if getattr(self, field_name) not in (None, ""):
                    object.__setattr__(self, field_name, given[field_name])
                else:
                    object.__setattr__(self, field_name, None)
        object.__setattr__(self, "schedule", schedule)
        object.__setattr__(self, "job_id", make_job_id(self))

    def _check_arguments(self) -> Arguments | None:
        """Check ``kwargs`` (during ``__post_init__``); its canonical `Arguments` when it holds JSON
        scalars only (`actors.jobfields.plain_arguments`), else None: the JSON text round trip makes them."""
        kwargs = self.kwargs
        if type(kwargs) is not dict and not isinstance(kwargs, Mapping):
            raise InvalidJobError(f"kwargs must be a mapping, got {kwargs!r}", field="kwargs")
        for key in kwargs:
            if not isinstance(key, str):
                raise InvalidJobError(f"argument names must be strings, got {key!r}", field="kwargs")
            if key in RESERVED_KWARGS:
                raise InvalidJobError(
                    f"argument {key!r} is reserved (the framework passes it to every task)", field=key
                )
        arguments = plain_arguments(kwargs)  # JSON scalars: canonical as they are (no JSON text round trip)
        if arguments is None:
            bad = find_unsafe(kwargs, "")  # a Mapping (checked above): no copy
            if bad is not None:
                raise InvalidJobError(
                    f"argument {bad.lstrip()} of job {self.name!r} is not JSON-safe "
                    "(use str, int, float, bool, None, lists and dicts with string keys)",
                    field="kwargs",
                )
        return arguments

    def _check_labels(self) -> None:
        """Tags, the stream trigger and the text of ``only_before`` (during ``__post_init__``)."""
        try:
            if self.tags != ():  # () is the default: already what check_tags makes of it
                object.__setattr__(self, "tags", check_tags(self.tags))
            if self.on_stream is not None:
                check_name(self.on_stream, field="on_stream", what="stream")
        except InvalidValueError as exc:
            raise InvalidJobError(str(exc), field=exc.field, value=exc.value) from None
        check_int("stream_batch", self.stream_batch, minimum=1)
        if self.stream_batch is not None and self.on_stream is None:
            raise InvalidJobError("stream_batch needs on_stream (the stream whose messages are counted)",
                                  field="stream_batch", value=self.stream_batch)
        if self.only_before_text is not None and (not isinstance(self.only_before_text, str)
                                                   or self.only_before is None):
            raise InvalidJobError(f"only_before_text must be the text of a given only_before, got "
                                  f"{self.only_before_text!r}", field="only_before", value=self.only_before_text)

    @property
    def run_limit(self) -> int | None:
        """The number of scheduled runs allowed (``only_once`` means one), or None."""
        if self.only_once:
            return 1 if self.max_runs is None else min(1, self.max_runs)
        return self.max_runs

    def misfire_fields(self) -> dict[str, Any]:
        """The misfire fields as given (None: the server's default), for `MisfirePolicy.from_fields`."""
        return {"misfire": self.misfire, "misfire_grace": self.misfire_grace, "max_catchup": self.max_catchup}

    def definition(self) -> dict[str, Any]:
        """The fields that identify the job (what its id is hashed from).

        A time-rule field (cron, tz, jitter, misfire...), ``tags``, ``on_stream``,
        ``stream_batch`` and ``resources`` are added only when set, so a job defined before
        they existed keeps its id.
        """
        base: dict[str, Any] = {
            "name": self.name,
            "classname": self.classname,
            "interval": self.interval_s,
            "kwargs": plain_dict(self.kwargs),
            "only_once": self.only_once,
            "max_runs": self.max_runs,
            "only_before": self.only_before,
            "timeout": self.timeout_s,
            "retries": self.max_retries,
            "parent": list(self.parent),
        }
        if self.cron is not None:
            base["cron"], base["tz"] = self.cron, self.tz
        if self.jitter_s:
            base["jitter"] = self.jitter_s
        if self.misfire is not None:
            base["misfire"] = self.misfire
        if self.misfire_grace is not None:
            base["misfire_grace"] = self.misfire_grace
        if self.max_catchup is not None:
            base["max_catchup"] = self.max_catchup
        if self.tags:
            base["tags"] = list(self.tags)
        if self.on_stream is not None:
            base["on_stream"] = self.on_stream
        if self.stream_batch is not None:
            base["stream_batch"] = self.stream_batch
        if self.resources:
            base["resources"] = dict(self.resources)
        if self.only_before_text is not None:
            base["only_before"] = self.only_before_text  # the text, not this start's epoch
        return base

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict of the definition, its id and origin (what the store keeps)."""
        out = {**self.definition(), "tags": list(self.tags), "job_id": self.job_id, "origin": str(self.origin)}
        if self.only_before_text is not None:
            out["only_before"], out["only_before_text"] = self.only_before, self.only_before_text
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> JobSpec:
        """Rebuild a spec from `to_dict` output (or an API/child request using the same names)."""
        known = {
            "name", "classname", "interval", "kwargs", "only_once", "max_runs", "only_before",
            "timeout", "retries", "parent", "origin", "job_id", *TIME_FIELDS, "tags", "on_stream", "stream_batch",
            "resources", "only_before_text",
        }
        unknown = sorted(set(data) - known)
        if unknown:
            raise InvalidJobError(
                f"unknown job field {unknown[0]!r} (known: {', '.join(sorted(known - {'job_id'}))})",
                field=unknown[0],
            )
        for required in ("name", "classname"):
            if required not in data:
                raise InvalidJobError(f"job field {required!r} is required", field=required)
        kwargs = data.get("kwargs") or {}
        jitter = data.get("jitter")
        return cls(
            name=data["name"],
            classname=data["classname"],
            interval_s=data.get("interval"),
            kwargs=kwargs,
            only_once=data.get("only_once", False),
            max_runs=data.get("max_runs"),
            only_before=data.get("only_before"),
            timeout_s=data.get("timeout"),
            max_retries=data.get("retries"),
            parent=tuple(data.get("parent") or ()),
            origin=Origin(data.get("origin", Origin.API)),
            cron=data.get("cron"),
            tz=data.get("tz"),
            jitter_s=0.0 if jitter is None else jitter,
            misfire=data.get("misfire"),
            misfire_grace=data.get("misfire_grace"),
            max_catchup=data.get("max_catchup"),
            tags=data.get("tags") or (),
            on_stream=data.get("on_stream"),
            stream_batch=data.get("stream_batch"),
            resources=data.get("resources") or {},
            only_before_text=data.get("only_before_text"),
        )


class _Factory:
    """The default of a field made by a factory (shown as ``<factory>``, as `dataclasses` shows it)."""

    def __repr__(self) -> str:
        return "<factory>"


def _set_slots_directly(cls: type) -> None:
    """Give the frozen, slotted dataclass *cls* an ``__init__`` with the same signature, defaults and
    ``__post_init__`` call as the one `dataclasses` writes, that sets each field through its slot's
    descriptor instead of ``object.__setattr__``: a config file builds a million specs of 23
    fields, and this halves the ~2.9 us the generated one takes (written the way `dataclasses`
    writes its own: source text made from the fields, compiled once)."""
    names: dict[str, Any] = {"_FACTORY": _Factory()}
    params: list[str] = []
    lines: list[str] = []
    for item in dataclasses.fields(cls):
        setter = f"_set_{item.name}"
        names[setter] = cls.__dict__[item.name].__set__
        if not item.init:
            names[f"_default_{item.name}"] = item.default
            lines.append(f"{setter}(self, _default_{item.name})")
            continue
        if item.default is not dataclasses.MISSING:
            names[f"_default_{item.name}"] = item.default
            params.append(f"{item.name}=_default_{item.name}")
        elif item.default_factory is not dataclasses.MISSING:
            names[f"_make_{item.name}"] = item.default_factory
            params.append(f"{item.name}=_FACTORY")
            lines.append(f"if {item.name} is _FACTORY: {item.name} = _make_{item.name}()")
        else:
            params.append(item.name)
        lines.append(f"{setter}(self, {item.name})")
    lines.append("self.__post_init__()")
    source = f"def __init__(self, {', '.join(params)}):\n" + "".join(f"    {line}\n" for line in lines)
    exec(source, names)  # noqa: S102 - source made above from the class's own field names
    init = names["__init__"]
    init.__qualname__, init.__module__ = f"{cls.__qualname__}.__init__", cls.__module__
    cls.__init__ = init  # type: ignore[misc]


_set_slots_directly(JobSpec)


#: The time-rule fields of a job definition beside ``interval`` (same names everywhere:
#: config files, the API, the add-job form, the CLI, stored records).
TIME_FIELDS = ("cron", "tz", "jitter", "misfire", "misfire_grace", "max_catchup")


def make_job_id(spec: JobSpec) -> str:
    """A 16-hex-digit id hashed from the definition: same definition, same id, always.

    A child job is its parent's child of that name and class: its id is hashed from those
    (ancestry, name, class) only, so a parent that spawns it again *extends* it (arguments and
    limits updated, history kept: `actors.timetable.Timetable.add`) instead of leaving one more
    job behind at every run.
    """
    identity = spec.definition() if spec.origin is not Origin.CHILD else {
        "child_of": list(spec.parent), "name": spec.name, "classname": spec.classname}
    digest = hashlib.sha256(canonical_json(identity)).hexdigest()
    return digest[:16]


__all__ = [
    "ACTIVE_STATES",
    "ENDED_STATES",
    "MAX_COUNT",
    "MAX_SECONDS",
    "NEW_SLOT_TRIGGERS",
    "RESERVED_KWARGS",
    "STATE_GROUPS",
    "TIME_FIELDS",
    "JobSpec",
    "JobState",
    "Origin",
    "Outcome",
    "Run",
    "RunReport",
    "Trigger",
    "canonical_json",
    "in_state",
    "make_job_id",
]
