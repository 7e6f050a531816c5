"""Reading what a worker subprocess says about a finished run: the door of a task's numbers.

Why a module of its own: the worker subprocess runs task code, so what comes back over its
pipe is input like any request body. A task may return ``next_at: NaN``, ``10**400``, a
50 MB result or a thousand notes; the process itself may be half broken. Everything the
scheduler and the store rely on is checked here, once, in the worker actor (the child checks
too, to say so in the run's notes, but the actor does not trust it):

* the outcome is ``success`` or ``failed`` (anything else: ``failed``, said in the error);
* ``started_at`` / ``finished_at`` are epochs in range (else the worker's own clock);
* ``next_at`` is a finite epoch within the horizon (`actors.bounds.task_next_at`), else it is
  dropped with a note and the job keeps its interval;
* texts (error, traceback, notes) and the stored result are bounded: a result over
  ``result_max_bytes`` is kept as a bounded preview, and the note says what was cut.

Pure: no I/O, no clock (``now`` is an argument).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from actors.bounds import MAX_EPOCH, in_range, short_repr, task_next_at
from actors.jobs import Outcome, RunReport
from actors.jsonsafe import sanitize

#: Longest error message kept, characters.
MAX_ERROR_CHARS = 8_000
#: Longest traceback kept, characters (the end is kept: that is where the error is).
MAX_TRACEBACK_CHARS = 64_000
#: Most notes kept per run, and the longest note.
MAX_NOTES = 50
MAX_NOTE_CHARS = 1_000
#: Most child definitions read from one run (the scheduler caps them further).
MAX_CHILDREN_READ = 10_000
#: Bytes of JSON text kept as the preview of a result that is over the cap.
PREVIEW_BYTES = 4096
#: Top-level keys listed in the bounded form of a result that is over the cap.
PREVIEW_KEYS = 50


@dataclass(slots=True)
class ReadPayload:
    """A run's payload, checked: what the scheduler gets and what the result document stores."""

    report: RunReport
    result: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    traceback: str | None = None
    rss_kb: int | None = None
    child_errors: list[str] = field(default_factory=list)
    exit_after: bool = False
    #: ``(lines, characters)`` of log the subprocess dropped (over the run's log budget).
    logs_dropped: tuple[int, int] = (0, 0)


def cut(text: Any, limit: int, *, keep_end: bool = False) -> str | None:
    """*text* as a string of at most *limit* characters (None stays None), saying how much was cut."""
    if text is None:
        return None
    value = text if isinstance(text, str) else short_repr(text, 200)
    if len(value) <= limit:
        return value
    dropped = len(value) - limit
    if keep_end:
        return f"[{dropped} characters cut] ...{value[-limit:]}"
    return f"{value[:limit]}... [{dropped} characters cut]"


def bounded_result(result: Any, max_bytes: int, notes: list[str]) -> dict[str, Any]:
    """*result* when its JSON is at most *max_bytes* (0 = no cap), else a bounded stand-in.

    The stand-in keeps what an operator needs to see what happened: the size, the first
    top-level keys and the first `PREVIEW_BYTES` of the JSON text; a note says what was cut.
    """
    return bounded_result_sized(result, max_bytes, notes)[0]


def bounded_result_sized(result: Any, max_bytes: int, notes: list[str]) -> tuple[dict[str, Any], int]:
    """`bounded_result` and the size of what it kept, bytes of JSON (the worker process batches
    results by count and by size: `actors.childpipe`)."""
    kept: dict[str, Any]
    if type(result) is dict:
        kept = result
    elif isinstance(result, Mapping):
        kept = dict(result)
    else:
        kept = {} if result is None else {"result": result}
    try:
        raw = orjson.dumps(kept)
    except (TypeError, ValueError, RecursionError):
        kept = sanitize(kept, notes)
        raw = orjson.dumps(kept)
    if max_bytes <= 0 or len(raw) <= max_bytes:
        return kept, len(raw)
    keys = [str(k)[:100] for k in list(kept)[:PREVIEW_KEYS]]
    preview = raw[:PREVIEW_BYTES].decode("utf-8", "replace")
    notes.append(f"result: {len(raw)} bytes of JSON is over result_max_bytes ({max_bytes}); stored as a preview "
                 f"(the first {PREVIEW_BYTES} bytes and the first {len(keys)} keys)")
    stand_in = {"truncated": True, "size_bytes": len(raw), "keys": keys, "preview": preview}
    return stand_in, len(preview) + sum(len(k) for k in keys) + 100


def _epoch(value: Any, default: float) -> float:
    if type(value) is float and 0.0 <= value <= MAX_EPOCH:  # the common case, fast (NaN fails it)
        return value
    return float(value) if in_range(value, 0.0, MAX_EPOCH) else default


def _texts(values: Any, limit: int) -> list[str]:
    """Up to `MAX_NOTES` texts of at most *limit* characters each, from whatever *values* is."""
    if not values:
        return []
    if not isinstance(values, list | tuple):
        return [f"the worker process sent {type(values).__name__} instead of a list of notes; dropped"]
    return [cut(value, limit) or "" for value in values[:MAX_NOTES]]


_OUTCOMES = {str(Outcome.SUCCESS): Outcome.SUCCESS, str(Outcome.FAILED): Outcome.FAILED}


def read_payload(payload: Any, *, started_default: float, now: float, max_result_bytes: int) -> ReadPayload:
    """Check a run's payload from the worker pipe; see the module docstring.

    Never raises: whatever *payload* is, a `ReadPayload` comes out (a malformed one is a
    ``failed`` run whose error says why). Cheap for the common payload (a few microseconds):
    it runs once per run in the worker actor's thread.
    """
    if type(payload) is not dict:
        if not isinstance(payload, Mapping):
            report = RunReport(Outcome.FAILED, started_at=started_default, finished_at=now,
                               error=f"the worker process sent a malformed result ({type(payload).__name__})")
            return ReadPayload(report=report, result={})
        payload = dict(payload)
    get = payload.get
    notes = _texts(get("notes"), MAX_NOTE_CHARS)
    error = get("error")
    if error is not None:
        error = cut(error, MAX_ERROR_CHARS)
    raw_outcome = get("outcome", "failed")
    outcome = _OUTCOMES.get(raw_outcome) if isinstance(raw_outcome, str) else None
    if outcome is None:
        error = f"the worker process sent outcome {short_repr(raw_outcome)}; recorded as failed" + (
            f": {error}" if error else "")
        outcome = Outcome.FAILED
    started = _epoch(get("started_at"), started_default)
    finished = max(started, _epoch(get("finished_at"), now))
    next_at = get("next_at")
    if next_at is not None:
        next_at, refused = task_next_at(next_at, now)
        if refused:
            notes.append(refused)
    resubmit = get("resubmit", True)
    if resubmit is not True and resubmit is not False:
        notes.append(f"resubmit: {short_repr(resubmit)} is not true or false; taken as true")
        resubmit = True
    children: tuple[Mapping[str, Any], ...] = ()
    children_raw = get("children")
    if children_raw:
        children = tuple(c for c in list(children_raw)[:MAX_CHILDREN_READ] if isinstance(c, Mapping)) \
            if isinstance(children_raw, list | tuple) else ()
    result = bounded_result(get("result"), max_result_bytes, notes)
    rss = get("rss_kb")
    dropped = get("logs_dropped")
    logs_dropped = (0, 0)
    if dropped and dropped not in ((0, 0), [0, 0]):
        logs_dropped = (int(dropped[0]), int(dropped[1])) if (
            isinstance(dropped, list | tuple) and len(dropped) == 2
            and all(in_range(n, 0, 2**62) for n in dropped)) else (0, 0)
    report = RunReport(outcome=outcome, started_at=started, finished_at=finished, error=error,
                       next_at=next_at, resubmit=resubmit, children=children)
    traceback = get("traceback")
    return ReadPayload(report=report, result=result, notes=notes,
                       traceback=None if traceback is None else cut(traceback, MAX_TRACEBACK_CHARS, keep_end=True),
                       rss_kb=rss if type(rss) is int else None,
                       child_errors=_texts(get("child_errors"), MAX_NOTE_CHARS),
                       exit_after=bool(get("exit_after")), logs_dropped=logs_dropped)


__all__ = ["MAX_ERROR_CHARS", "MAX_TRACEBACK_CHARS", "ReadPayload", "bounded_result", "bounded_result_sized", "cut",
           "read_payload"]
