"""How a worker subprocess talks to its worker actor: log lines and results over the pipe, in batches.

Why a module of its own: `actors.child` runs tasks; everything a task says (its ``logger``,
any stdlib logger, ``print``) and every result leave the process through one sender here,
which batches them (`LOG_BATCH` lines, `RESULT_BATCH` results, or every `LOG_FLUSH_S`) so that
a task logging 400k lines/s costs the pipe a few thousand messages, and applies the run's log
budget (`actors.logbudget`) before anything is sent. Stdlib only: this runs in every worker
subprocess.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
import traceback
from collections.abc import Mapping
from multiprocessing.connection import Connection
from typing import Any

from actors.logbudget import MAX_LINE_CHARS, LogBudget

#: Log records are sent in batches of this many, or every LOG_FLUSH_S seconds.
LOG_BATCH = 256
LOG_FLUSH_S = 0.05
#: Results are sent when this many are pending, or this many bytes of their JSON (or by the flusher,
#: or when the queue waits or is empty). The byte cap keeps one message (and its copies) small.
#: Tried: 1,024 (a herd's results held to the end of its queue of due runs) made the herd's
#: lateness p99 lower (25.5-30.8 -> 22.9-25.5 ms, five runs each) but the panel's herd with 50
#: clients no better while the quiet one got better (x1.13-1.25 against x0.86-1.06): not kept.
RESULT_BATCH = 128
RESULT_BATCH_BYTES = 1 << 20
#: A run with a timeout shorter than this has its result sent at once, never held: the worker
#: actor counts the oldest unreported run's timeout until its result arrives, and a held result
#: may wait for the flusher (`LOG_FLUSH_S`), which must not look like a run that went over.
HOLD_MIN_TIMEOUT_S = 1.0


def may_hold(wire: Mapping[str, Any]) -> bool:
    """Whether the result of run *wire* may wait for the next ones (see `HOLD_MIN_TIMEOUT_S`)."""
    timeout = wire.get("timeout")
    return not (isinstance(timeout, int | float) and 0 < timeout < HOLD_MIN_TIMEOUT_S)


class PipeSender:
    """Thread-safe sender. Log records and results are buffered and sent in order, by size,
    by time (a flusher thread, so nothing waits behind a long task) and at batch end."""

    def __init__(self, conn: Connection, budget: LogBudget | None = None) -> None:
        self._conn = conn
        self.budget = budget or LogBudget(0, 0)
        self._lock = threading.Lock()
        self._logs: list[tuple[str, float, int, str, str]] = []
        self._results: list[tuple[str, dict[str, Any]]] = []
        self._result_bytes = 0
        self.run_id = ""
        self._flusher = threading.Thread(target=self._flush_periodically, name="log-flusher", daemon=True)
        self._flusher.start()

    def send(self, message: tuple[Any, ...]) -> None:
        with self._lock:
            self._send_pending_locked()
            self._conn.send(message)

    def log(self, record: tuple[float, int, str, str]) -> None:
        message = self.budget.admit(self.run_id, record[3])
        if message is None:
            return  # over the run's log budget: counted, not sent
        with self._lock:
            self._logs.append((self.run_id, record[0], record[1], record[2], message))
            if len(self._logs) >= LOG_BATCH:
                self._send_pending_locked()

    def result(self, run_id: str, payload: dict[str, Any], size: int = 0, *, now: bool) -> None:
        """Send *payload* (its result *size* bytes of JSON) now, or with the next ones (`RESULT_BATCH`)."""
        with self._lock:
            self._results.append((run_id, payload))
            self._result_bytes += size
            if now or len(self._results) >= RESULT_BATCH or self._result_bytes >= RESULT_BATCH_BYTES:
                self._send_pending_locked()

    def flush(self) -> None:
        with self._lock:
            self._send_pending_locked()

    def _send_pending_locked(self) -> None:
        if self._logs:
            logs, self._logs = self._logs, []
            self._conn.send(("logs", logs))
        if self._results:
            results, self._results, self._result_bytes = self._results, [], 0
            self._conn.send(("results", results))

    def _flush_periodically(self) -> None:
        while True:
            time.sleep(LOG_FLUSH_S)
            try:
                self.flush()
            except (OSError, ValueError):
                return


class PipeHandler(logging.Handler):
    """Routes every stdlib log record of the child to the pipe, tagged with the current run."""

    def __init__(self, sender: PipeSender) -> None:
        super().__init__(logging.DEBUG)
        self._sender = sender

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
            if record.exc_info:
                message = f"{message}\n{''.join(traceback.format_exception(*record.exc_info)).rstrip()}"
            self._sender.log((record.created, record.levelno, record.name, message))
        except Exception:  # noqa: BLE001 - logging must never break the task
            self.handleError(record)


class PipeLogger:
    """The ``logger`` a task receives: stdlib-Logger-like, but each call is a tuple appended
    to the pipe buffer (about 1 us), not a LogRecord through handlers (about 10 us).

    Supports ``debug/info/warning/error/critical/exception/log``, ``isEnabledFor`` and
    ``%``-style arguments, like `logging.Logger`.
    """

    def __init__(self, sender: PipeSender | None, name: str, level: int) -> None:
        self._sender, self.name, self.level = sender, name, level
        self._fallback = logging.getLogger(name)

    def isEnabledFor(self, level: int) -> bool:
        return level >= self.level

    def log(self, level: int, msg: object, *args: object, exc_info: Any = None, **_: Any) -> None:
        if level < self.level:
            return
        text = str(msg) % args if args else str(msg)
        if exc_info:
            info = sys.exc_info() if exc_info is True else exc_info
            if isinstance(info, BaseException):
                info = (type(info), info, info.__traceback__)
            if info and info[0] is not None:
                text = f"{text}\n{''.join(traceback.format_exception(*info)).rstrip()}"
        if self._sender is None:
            self._fallback.log(level, text)
        else:
            self._sender.log((time.time(), level, self.name, text))

    def debug(self, msg: object, *args: object, **kwargs: Any) -> None:
        self.log(logging.DEBUG, msg, *args, **kwargs)

    def info(self, msg: object, *args: object, **kwargs: Any) -> None:
        self.log(logging.INFO, msg, *args, **kwargs)

    def warning(self, msg: object, *args: object, **kwargs: Any) -> None:
        self.log(logging.WARNING, msg, *args, **kwargs)

    warn = warning

    def error(self, msg: object, *args: object, **kwargs: Any) -> None:
        self.log(logging.ERROR, msg, *args, **kwargs)

    def critical(self, msg: object, *args: object, **kwargs: Any) -> None:
        self.log(logging.CRITICAL, msg, *args, **kwargs)

    def exception(self, msg: object, *args: object, exc_info: Any = True, **kwargs: Any) -> None:
        self.log(logging.ERROR, msg, *args, exc_info=exc_info, **kwargs)


class StreamToLog:
    """A text stream that turns ``print`` output into log lines (stdout INFO, stderr WARNING)."""

    def __init__(self, sender: PipeSender, logger_name: str, level: int) -> None:
        self._sender, self._name, self._level = sender, logger_name, level
        self._partial = ""

    def write(self, text: str) -> int:
        lines = (self._partial + text).split("\n")
        self._partial = lines.pop()[: MAX_LINE_CHARS + 64]  # an endless line is cut, not held whole
        for line in lines:
            self._sender.log((time.time(), self._level, self._name, line))
        return len(text)

    def flush(self) -> None:
        if self._partial:
            self._sender.log((time.time(), self._level, self._name, self._partial))
            self._partial = ""

    def isatty(self) -> bool:
        return False


__all__ = [
    "HOLD_MIN_TIMEOUT_S",
    "LOG_BATCH",
    "LOG_FLUSH_S",
    "RESULT_BATCH",
    "RESULT_BATCH_BYTES",
    "PipeHandler",
    "PipeLogger",
    "PipeSender",
    "StreamToLog",
    "may_hold",
]
