"""`EchoThread`: task log lines echoed to stdout as JSON lines, off the Journal's thread.

Why a module of its own: log shippers read the server's stdout, so every task log line the
Journal stores is also written there (logger ``das_actors.task``). Rendering 200,000 lines a
second is the journal's largest cost; a thread of its own overlaps it with the Journal's inserts
(SQLite releases the GIL while it writes), and a line batch is rendered line by line without
building each line's stored document.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Mapping
from typing import Any

import structlog

from actors.logs import emit_json_lines
from actors.store.runlines import expand, is_batch

log = structlog.get_logger("das_actors.journal")


class EchoThread:
    """Renders task log lines to stdout off the Journal's thread.

    SQLite releases the GIL while it writes, so rendering JSON here overlaps with the
    Journal's inserts instead of adding to them. Lines keep their task timestamps.
    """

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[list[Mapping[str, Any]] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._loop, name="journal-echo", daemon=True)
        self._thread.start()

    def put(self, docs: list[Mapping[str, Any]]) -> None:
        self._queue.put(docs)

    def close(self, timeout_s: float = 5.0) -> None:
        self._queue.put(None)
        self._thread.join(timeout_s)

    def _loop(self) -> None:
        while (docs := self._queue.get()) is not None:
            try:
                emit_json_lines(echo_events(docs))
            except Exception as exc:  # noqa: BLE001 - stdout trouble must not stop the journal
                log.warning("journal.echo_failed", error=f"{type(exc).__name__}: {exc}")


def _event(doc: Mapping[str, Any]) -> dict[str, Any]:
    return {"time": doc.get("time") or time.time(), "level": doc.get("level", logging.INFO),
            "logger": "das_actors.task", "event": doc.get("msg", ""), "job": doc.get("name"),
            "job_id": doc.get("job_id"), "index": doc.get("index"), "attempt": doc.get("attempt"),
            "task_logger": doc.get("logger")}


def echo_events(docs: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The stdout events of task log lines, a line batch read line by line without building each
    line's stored document (the echo of 200,000 lines a second is the journal's largest cost)."""
    events: list[dict[str, Any]] = []
    for doc in docs:
        if not is_batch(doc):
            events.append(_event(doc))
            continue
        name, job_id, index, attempt = doc.get("name"), doc.get("job_id"), doc.get("index"), doc.get("attempt")
        for line in doc["lines"]:
            if type(line) is not list or len(line) != 4:
                events.extend(_event(one) for one in expand({**doc, "lines": [line]}))
                continue
            t, level, logger, msg = line
            events.append({"time": t or time.time(), "level": level if type(level) is int else logging.INFO,
                           "logger": "das_actors.task", "event": msg, "job": name, "job_id": job_id,
                           "index": index, "attempt": attempt, "task_logger": logger})
    return events
