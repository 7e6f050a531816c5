"""Request parsing that never crashes: every bad value becomes a 400 naming field and value.

Why: DAS answered everything with HTTP 200 and let a bad query parameter raise deep in a
handler. Here query strings, form fields and JSON bodies are parsed by these helpers,
which raise `BadRequestError` (status 400, ``field``, ``value``); `actors.errors.http_status`
maps every other exception to its status (404, 409, 503 ...), so the API and the pages
answer the same way.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Mapping
from typing import Any

from actors.bounds import MAX_COUNT
from actors.errors import BadRequestError, InvalidValueError
from actors.jobs import STATE_GROUPS, JobState, Outcome
from actors.params import integral_text
from actors.store import Query
from actors.tags import check_tag

#: Largest JSON body accepted, bytes.
MAX_BODY_BYTES = 256 * 1024
#: Most documents one page or API call returns.
MAX_LIMIT = 1000
#: Longest text accepted in a query parameter (ids, names, prefixes).
MAX_TEXT = 500
#: Outcomes a result can have (the ``outcome`` filter).
OUTCOMES = tuple(str(o) for o in Outcome)
#: Log levels by name (the ``level`` filter also takes a number).
LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "warn": logging.WARNING,
          "error": logging.ERROR, "critical": logging.CRITICAL}


def error_body(status: int, message: str, field: str | None = None) -> dict[str, Any]:
    """The JSON error document: ``{"error": {"status", "message", "field"?}}``."""
    error: dict[str, Any] = {"status": status, "message": message}
    if field is not None:
        error["field"] = field
    return {"error": error}


# ----------------------------------------------------------------------------- scalars
def text(params: Mapping[str, str], name: str, *, default: str | None = None) -> str | None:
    """A short text parameter; empty means absent."""
    value = params.get(name)
    if value is None or value == "":
        return default
    if len(value) > MAX_TEXT or "\x00" in value:
        raise BadRequestError(f"{name}: at most {MAX_TEXT} characters and no NUL, got {value[:40]!r}...",
                         field=name, value=value[:40])
    return value


def integer(params: Mapping[str, str], name: str, *, default: int | None = None, minimum: int = 0,
            maximum: int = MAX_COUNT) -> int | None:
    """An integer parameter in ``[minimum, maximum]`` (by default a count, `actors.bounds.MAX_COUNT`);
    empty means *default*."""
    raw = params.get(name)
    if raw is None or raw.strip() == "":
        return default
    return bounded_int(raw, name, minimum=minimum, maximum=maximum)


def bounded_int(raw: str, name: str, *, minimum: int = 0, maximum: int = MAX_COUNT) -> int:
    """Text *raw* as an integer in ``[minimum, maximum]`` (400 naming *name* otherwise)."""
    value = integral_text(raw) if len(raw) <= 40 else None
    if value is None:
        raise BadRequestError(f"{name}: expected an integer, got {raw[:40]!r}", field=name, value=raw[:40])
    if not minimum <= value <= maximum:
        raise BadRequestError(f"{name}: must be >= {minimum} and <= {maximum}, got {raw[:40]}", field=name,
                              value=raw[:40])
    return value


def run_index(raw: str) -> int:
    """The ``<index>`` of a run's URL: 0 .. `actors.bounds.MAX_COUNT` (400 naming ``index``)."""
    return bounded_int(raw, "index")


def number(params: Mapping[str, str], name: str, *, default: float | None = None, minimum: float = 0.0,
           maximum: float = 1e12) -> float | None:
    """A finite number parameter in ``[minimum, maximum]``; empty means *default*."""
    raw = params.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw.strip())
    except ValueError:
        raise BadRequestError(f"{name}: expected a number, got {raw[:40]!r}", field=name, value=raw[:40]) from None
    if not math.isfinite(value) or value < minimum or value > maximum:
        raise BadRequestError(f"{name}: must be a finite number between {minimum:g} and {maximum:g}, got {raw[:40]!r}",
                         field=name, value=raw[:40])
    return value


def level(params: Mapping[str, str], name: str = "level") -> int | None:
    """A minimum log level: a number or a name (debug, info, warning, error, critical)."""
    raw = params.get(name)
    if raw is None or raw.strip() == "":
        return None
    key = raw.strip().lower()
    if key in LEVELS:
        return LEVELS[key]
    return integer(params, name, minimum=0, maximum=100)


def choice(params: Mapping[str, str], name: str, allowed: tuple[str, ...], *, default: str | None = None) -> str | None:
    """One of *allowed*; empty means *default*."""
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    if raw not in allowed:
        raise BadRequestError(f"{name}: must be one of {', '.join(allowed)}, got {raw[:40]!r}", field=name,
                         value=raw[:40])
    return raw


def tag(params: Mapping[str, str], name: str = "tag") -> str | None:
    """A tag filter (`actors.tags.check_tag`); empty means none."""
    value = text(params, name)
    if value is None:
        return None
    try:
        return check_tag(value, field=name)
    except InvalidValueError as exc:
        raise BadRequestError(str(exc), field=name, value=value[:40]) from None


# ----------------------------------------------------------------------------- queries
def page_bounds(params: Mapping[str, str], *, default_limit: int = 100) -> tuple[int, int]:
    """``(limit, offset)``: limit 1..MAX_LIMIT, offset >= 0."""
    limit = integer(params, "limit", default=default_limit, minimum=1, maximum=MAX_LIMIT)
    offset = integer(params, "offset", default=0, minimum=0, maximum=10**9)
    assert limit is not None
    assert offset is not None
    return limit, offset


def since(params: Mapping[str, str]) -> float | None:
    """``last=<seconds>`` as the epoch it starts at."""
    last = number(params, "last")
    return None if last is None else time.time() - last


def runs_query(params: Mapping[str, str], *, default_limit: int = 100) -> Query:
    """The results filter shared by ``GET api/v1/runs`` and the Results page."""
    limit, offset = page_bounds(params, default_limit=default_limit)
    return Query(type="result", job_id=text(params, "job_id"), name=text(params, "name"),
                 classname=text(params, "classname"), parent=text(params, "parent"),
                 outcome=choice(params, "outcome", OUTCOMES), index=integer(params, "index", minimum=0),
                 since=since(params), tag=tag(params), limit=limit, offset=offset)


#: Job states (the ``state`` filter).
STATES = tuple(str(s) for s in JobState)
#: What ``state=`` of a job list takes: one state, or a group of them (`actors.jobs.STATE_GROUPS`).
STATE_FILTERS = STATES + tuple(STATE_GROUPS)


def jobs_filter(params: Mapping[str, str], *, default_limit: int = MAX_LIMIT) -> dict[str, Any]:
    """The job-list filter shared by ``GET api/v1/jobs`` and the Schedule page."""
    limit, offset = page_bounds(params, default_limit=default_limit)
    return {"due_within_s": number(params, "due_within"), "state": choice(params, "state", STATE_FILTERS),
            "tag": tag(params), "limit": limit, "offset": offset}


def logs_query(params: Mapping[str, str], *, default_limit: int = 100) -> Query:
    """The log filter shared by ``GET api/v1/logs`` and the Logs page."""
    limit, offset = page_bounds(params, default_limit=default_limit)
    return Query(type=choice(params, "type", ("log", "reslog"), default="log"), job_id=text(params, "job_id"),
                 logger_prefix=text(params, "logger"), min_level=level(params), since=since(params),
                 limit=limit, offset=offset)


# ----------------------------------------------------------------------------- JSON bodies
def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


#: Integral JSON numbers written with a fraction or an exponent (``5.0``, ``5e3``) up to this are
#: read as integers: JSON has one number type, and the schemas' ``integer`` includes them.
_EXACT_INT = 2**53


def _finite_float(text_value: str) -> float | int:
    value = float(text_value)
    if not math.isfinite(value):
        raise ValueError(f"number {text_value} is out of range")
    if value.is_integer() and abs(value) <= _EXACT_INT:
        return int(value)
    return value


def loads(data: str | bytes, *, field: str = "body") -> Any:
    """Strict JSON: no NaN/Infinity, no numbers that overflow to infinity."""
    try:
        return json.loads(data, parse_constant=_reject_constant, parse_float=_finite_float)
    except (ValueError, RecursionError) as exc:
        snippet = data[:60] if isinstance(data, str) else data[:60].decode("utf-8", "replace")
        raise BadRequestError(f"{field}: not valid JSON ({exc}): {snippet!r}", field=field, value=snippet) from None


def json_object(raw: bytes, *, required: bool = True) -> dict[str, Any]:
    """A request body that must be one JSON object."""
    if len(raw) > MAX_BODY_BYTES:
        raise BadRequestError(f"body: larger than {MAX_BODY_BYTES} bytes", status=413, field="body")
    if not raw.strip():
        if required:
            raise BadRequestError("body: a JSON object is required", field="body")
        return {}
    value = loads(raw)
    check_depth(value, "body")
    if not isinstance(value, dict):
        raise BadRequestError(f"body: expected a JSON object, got {type(value).__name__}", field="body")
    return value


def json_text(value: str, field: str) -> Any:
    """A form field holding JSON."""
    if len(value) > MAX_BODY_BYTES:
        raise BadRequestError(f"{field}: larger than {MAX_BODY_BYTES} bytes", field=field)
    parsed = loads(value, field=field)
    check_depth(parsed, field)
    return parsed


#: Deepest nesting of JSON accepted in a request (arguments deeper than this are a mistake).
MAX_DEPTH = 32


def check_depth(value: Any, field: str) -> None:
    """Refuse JSON nested deeper than `MAX_DEPTH` (checked without recursion)."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise BadRequestError(f"{field}: JSON nested deeper than {MAX_DEPTH} levels", field=field)
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)


# ----------------------------------------------------------------------------- job bodies
#: Fields a client may send to create a job (origin, parent and id are the server's).
JOB_FIELDS = ("name", "classname", "interval", "cron", "tz", "jitter", "misfire", "misfire_grace", "max_catchup",
              "kwargs", "only_once", "max_runs", "only_before", "timeout", "retries", "when", "tags", "on_stream",
              "stream_batch", "resources")
def job_body(body: Mapping[str, Any]) -> dict[str, Any]:
    """A job-creation body checked at the door: known fields only (values are checked once, by
    `actors.jobs.JobSpec` and `actors.timeish.parse_when`, wherever a job comes from)."""
    unknown = sorted(set(body) - set(JOB_FIELDS))
    if unknown:
        raise BadRequestError(f"unknown job field {unknown[0]!r} (known: {', '.join(JOB_FIELDS)})",
                              field=unknown[0], value=unknown[0])
    return dict(body)
