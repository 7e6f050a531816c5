"""The live tail: new log (and result) documents as Server-Sent Events.

``GET api/v1/logs/tail?type=log,reslog&after=<seq>&logger=&level=&job_id=`` answers
``text/event-stream``: one ``data:`` line of JSON per document with ``id: <seq>`` (so a
browser's EventSource resumes with ``Last-Event-ID`` after a reconnect), and a comment
line every ``heartbeat_s`` seconds. ``limit`` (documents) and ``timeout`` (seconds) end the
stream early, for scripts and tests.

A tail holds a server thread while it streams, so tails have their own cap (``web_max_tails``,
below ``web_threads``): beyond it the answer is 503 with ``Retry-After``, and pages keep the
other threads. A client that hangs up frees its slot at once: the server's event loop sees
the connection close (``environ["waitress.client_disconnected"]``, polled every
`DISCONNECT_POLL_S`), and a failed write (a heartbeat at the latest) ends the stream too.

A pump thread reads `Facade.tail` (which blocks until documents arrive) into a bounded
queue; the response generator waits on the queue in short slices, checking the client.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import bottle
import structlog

from actors.errors import BadRequestError, RefusedError
from web import params
from web.state import WebState

log = structlog.get_logger("das_actors.web")

TAIL_TYPES = ("log", "reslog", "result")
#: Seconds between two checks that the client of a tail is still connected.
DISCONNECT_POLL_S = 0.25
#: Retry-After (seconds) of a tail refused because every slot is taken.
FULL_RETRY_AFTER_S = 5
_QUEUE_SIZE = 1000
_END = object()


class _Failure:
    def __init__(self, message: str) -> None:
        self.message = message


def _types(query: Mapping[str, str]) -> tuple[str, ...]:
    raw = query.get("type") or "log,reslog"
    types = tuple(dict.fromkeys(t.strip() for t in raw.split(",") if t.strip()))
    bad = [t for t in types if t not in TAIL_TYPES]
    if bad or not types:
        raise BadRequestError(f"type: each of {', '.join(TAIL_TYPES)} (comma-separated), got {raw[:40]!r}",
                         field="type", value=raw[:40])
    return types


def _after(query: Mapping[str, str], last_event_id: str | None, state: WebState) -> int:
    after = params.integer(query, "after", minimum=0, maximum=2**62)
    if after is None and last_event_id and last_event_id.strip().isdigit() and len(last_event_id.strip()) <= 18:
        after = int(last_event_id.strip())  # at most 18 digits: below 2**62, as "after" is
    return state.facade.last_seq() if after is None else after


def document_filter(query: Mapping[str, str]) -> Callable[[Mapping[str, Any]], bool]:
    """The logger-prefix / minimum-level / job filter of a tail request."""
    prefix = params.text(query, "logger")
    min_level = params.level(query)
    job_id = params.text(query, "job_id")

    def keep(doc: Mapping[str, Any]) -> bool:
        if prefix is not None:
            logger = str(doc.get("logger") or "")
            if logger != prefix and not logger.startswith(prefix + "."):
                return False
        if min_level is not None and int(doc.get("level") or 0) < min_level:
            return False
        return job_id is None or doc.get("job_id") == job_id

    return keep


def tail_response(state: WebState, query: Mapping[str, str], last_event_id: str | None) -> Iterator[str]:
    """Validate the request, then answer with the event stream."""
    types = _types(query)
    keep = document_filter(query)
    after = _after(query, last_event_id, state)
    return _stream(state, after, lambda halt: state.facade.tail(after, types, halt), keep=keep,
                   **_open_stream(state, query))


def stream_tail_response(state: WebState, name: str, query: Mapping[str, str],
                         last_event_id: str | None) -> Iterator[str]:
    """The live tail of a data stream's messages: the same event stream, one event per stored message
    (``id`` is its ``seq``); ``after``, ``limit`` and ``timeout`` as for the log tail."""
    after = params.integer(query, "after", minimum=0, maximum=2**62)
    if after is None and last_event_id and last_event_id.strip().isdigit():
        after = int(last_event_id.strip())
    if after is None:
        after = state.facade.stream_last_seq(name)
    state.facade.stream(name, last=0)  # 404 for an unknown stream, before the stream starts
    start = after
    return _stream(state, start, lambda halt: state.facade.stream_tail(name, start, halt), keep=_always,
                   **_open_stream(state, query))


def _open_stream(state: WebState, query: Mapping[str, str]) -> dict[str, Any]:
    """What every event stream needs: ``limit`` and ``timeout`` read, a tail slot taken (503 with
    Retry-After when none is free), the event-stream headers set, the client's hang-up seen."""
    limit = params.integer(query, "limit", minimum=1, maximum=100000)
    timeout = params.number(query, "timeout", minimum=0.0, maximum=86400.0)
    try:
        stop = state.tails.open()
    except RefusedError:
        bottle.response.set_header("Retry-After", str(FULL_RETRY_AFTER_S))
        raise
    gone = bottle.request.environ.get("waitress.client_disconnected")
    response = bottle.response
    response.content_type = "text/event-stream; charset=utf-8"
    response.set_header("Cache-Control", "no-cache, no-store")
    response.set_header("X-Accel-Buffering", "no")
    return {"stop": stop, "limit": limit, "deadline": None if timeout is None else time.monotonic() + timeout,
            "client_gone": gone if callable(gone) else _never}


def _always(_doc: Mapping[str, Any]) -> bool:
    return True


def _never() -> bool:
    return False


def _offer(q: queue.Queue[Any], item: Any) -> None:
    try:
        q.put_nowait(item)
    except queue.Full:
        pass


def _pump(stop: threading.Event, source: Callable[[threading.Event], Iterator[dict[str, Any]]], *,
          keep: Callable[[Mapping[str, Any]], bool], q: queue.Queue[Any]) -> None:
    """Thread: documents from *source* (the facade's tail) into *q* until *stop*."""
    try:
        for doc in source(stop):
            if not keep(doc):
                continue
            while not stop.is_set():
                try:
                    q.put(doc, timeout=0.5)
                    break
                except queue.Full:
                    continue
            if stop.is_set():
                break
    except Exception as exc:  # noqa: BLE001 - reported to the client as an error event
        log.warning("web.tail_failed", error=f"{type(exc).__name__}: {exc}")
        _offer(q, _Failure(f"{type(exc).__name__}: {exc}"))
    finally:
        _offer(q, _END)


def _stream(state: WebState, after: int, source: Callable[[threading.Event], Iterator[dict[str, Any]]], *,
            stop: threading.Event, keep: Callable[[Mapping[str, Any]], bool], limit: int | None,
            deadline: float | None, client_gone: Callable[[], bool]) -> Iterator[str]:
    q: queue.Queue[Any] = queue.Queue(maxsize=_QUEUE_SIZE)
    sent = 0
    try:
        threading.Thread(target=_pump, args=(stop, source), kwargs={"keep": keep, "q": q},
                         name="web-tail", daemon=True).start()
        yield f": das-actors live tail after seq {after}\nretry: 3000\n\n"
        beat_at = time.monotonic() + state.heartbeat_s
        while not stop.is_set() and not client_gone():
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                break
            if now >= beat_at:
                yield ": keep-alive\n\n"
                beat_at = now + state.heartbeat_s
                continue
            wait = min(DISCONNECT_POLL_S, beat_at - now)
            if deadline is not None:
                wait = min(wait, deadline - now)
            try:
                item = q.get(timeout=max(wait, 0.0))
            except queue.Empty:
                continue
            if item is _END:
                break
            if isinstance(item, _Failure):
                yield f"event: error\ndata: {json.dumps({'error': item.message})}\n\n"
                break
            yield f"id: {item.get('seq', '')}\ndata: {json.dumps(item, default=str)}\n\n"
            sent += 1
            if limit is not None and sent >= limit:
                break
    finally:
        state.tails.close(stop)
