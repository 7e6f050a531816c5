"""One JSON object per line on stdout, for our events and third-party libraries alike.

Log shippers (Filebeat, Fluent Bit, Vector) want NDJSON: one object per line, no
multi-line tracebacks, nothing else on the stream. structlog renders our events; the
stdlib loggers of pykka, pymongo and cheroot go through the same processors via
`structlog.stdlib.ProcessorFormatter`, so an actor crash logged by pykka is one JSON line
with a structured ``exception`` like any of ours. Every line carries ``timestamp`` (ISO
8601, UTC, ``Z``), ``level``, ``logger``, ``event`` and ``pid``.

*Sinks* (`add_sink`) receive every event that passes the level filter as a JSON-safe
dict; the runtime uses one to keep system logs in its store. They run in the logging
thread, must be thread-safe and quick (hand the dict to a queue or an actor), and can
neither break logging (a failing sink is noted once on stderr and dropped) nor recurse
(what a sink logs is written out but not handed to sinks again).
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import os
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, TextIO

import orjson
import structlog
import structlog.testing
from structlog.tracebacks import ExceptionDictTransformer
from structlog.typing import EventDict, Processor, WrappedLogger

from actors.errors import ConfigError
from actors.jsonsafe import sanitize

__all__ = [
    "FORMATS",
    "LIBRARY_LEVELS",
    "Sink",
    "add_sink",
    "capture_logs",
    "capture_structlog",
    "configure_logging",
    "get_logger",
    "record_to_dict",
    "remove_sink",
    "reset_logging",
]

#: A sink: called with ``{time, level, levelname, logger, msg, fields}`` for every event.
Sink = Callable[[dict[str, Any]], None]

#: Output formats of `configure_logging`.
FORMATS = ("json", "console")

#: structlog's own capture (event dicts of structlog loggers only), for tests.
capture_structlog = structlog.testing.capture_logs

#: Third-party loggers and the most verbose level we let through for each (``level``
#: may still raise it): pykka reports failed asks at INFO; pymongo chatters at DEBUG.
LIBRARY_LEVELS = {"pykka": logging.INFO, "pymongo": logging.WARNING}

#: Structured, single-line tracebacks; no locals (they may hold secrets and bloat lines).
_dict_tracebacks = structlog.processors.ExceptionRenderer(ExceptionDictTransformer(show_locals=False))


def _add_pid(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    event_dict.setdefault("pid", os.getpid())
    return event_dict


def _base_chain() -> list[Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.stdlib.add_logger_name,
        _add_pid,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
    ]


def _exception_chain(fmt: str) -> list[Processor]:
    # ConsoleRenderer formats exc_info itself (readable, multi-line): only JSON needs this.
    return [_dict_tracebacks] if fmt == "json" else []


def _foreign_chain(fmt: str) -> list[Processor]:
    """What stdlib records go through before rendering (``extra=`` fields become keys)."""
    return [*_base_chain(), structlog.stdlib.ExtraAdder(), *_exception_chain(fmt)]


def _configure_structlog(fmt: str) -> None:
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            structlog.stdlib.PositionalArgumentsFormatter(),
            *_base_chain(),
            *_exception_chain(fmt),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        # Not cached: re-configuration and structlog's capture_logs reach module-level loggers.
        cache_logger_on_first_use=False,
    )


_LEADING_KEYS = ("timestamp", "level", "logger", "event")


def _leading_keys_first(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """Put timestamp, level, logger and event first, so a line reads well in a terminal."""
    head = {key: event_dict.pop(key) for key in _LEADING_KEYS if key in event_dict}
    return {**head, **event_dict}


def _formatter(fmt: str, stream: TextIO | None = None) -> logging.Formatter:
    renderers: list[Processor]
    if fmt == "json":
        renderers = [_leading_keys_first, structlog.processors.JSONRenderer()]
    else:
        isatty = getattr(stream, "isatty", None)
        renderers = [structlog.dev.ConsoleRenderer(colors=bool(isatty and isatty()))]
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_foreign_chain(fmt),
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *renderers],
    )


def _parse_level(level: str | int) -> int:
    if isinstance(level, int) and not isinstance(level, bool):
        return level
    if isinstance(level, str):
        names = logging.getLevelNamesMapping()
        if level.upper() in names:
            return names[level.upper()]
        if level.isdigit():
            return int(level)
    raise ConfigError(f"log level must be one of {', '.join(sorted(logging.getLevelNamesMapping()))}, got {level!r}")


class _SinkHandler(logging.Handler):
    """Hands each record, as a JSON-safe dict, to the registered sinks.

    `handle` does not take the handler lock: a sink that waits for another thread which
    logs (an actor ``ask``) must not deadlock, so sinks may run concurrently.
    """

    def __init__(self) -> None:
        super().__init__()
        self._sinks: tuple[Sink, ...] = ()
        self._sinks_lock = threading.Lock()
        self._local = threading.local()

    def add(self, sink: Sink) -> None:
        with self._sinks_lock:
            if sink not in self._sinks:
                self._sinks = (*self._sinks, sink)

    def remove(self, sink: Sink) -> bool:
        with self._sinks_lock:
            before = len(self._sinks)
            self._sinks = tuple(s for s in self._sinks if s != sink)
            return len(self._sinks) < before

    def clear(self) -> None:
        with self._sinks_lock:
            self._sinks = ()

    def handle(self, record: logging.LogRecord) -> bool:
        if not self.filter(record):
            return False
        self.emit(record)
        return True

    def emit(self, record: logging.LogRecord) -> None:
        sinks = self._sinks
        if not sinks or getattr(self._local, "busy", False):
            return
        self._local.busy = True
        try:
            try:
                event = record_to_dict(record)
            except Exception:  # noqa: BLE001 - logging must never raise into the caller
                self.handleError(record)
                return
            for sink in sinks:
                copy = {**event, "fields": dict(event["fields"])} if len(sinks) > 1 else event
                try:
                    sink(copy)
                except Exception as exc:  # noqa: BLE001 - a broken sink must not break logging
                    if self.remove(sink):
                        sys.stderr.write(
                            f"das-actors logging: sink {sink!r} raised {type(exc).__name__}: {exc}; "
                            "it is removed (add_sink() it again to re-enable)\n"
                        )
        finally:
            self._local.busy = False


_SINK_FOREIGN_CHAIN = _foreign_chain("json")
_STRIPPED = ("event", "timestamp", "level", "logger")


def record_to_dict(record: logging.LogRecord) -> dict[str, Any]:
    """The sink form of *record*, whether it came from structlog or a stdlib logger."""
    if isinstance(record.msg, dict) and hasattr(record, "_logger"):  # wrap_for_formatter
        event_dict: EventDict = dict(record.msg)
        if "exc_info" in event_dict:
            event_dict = _dict_tracebacks(None, record.levelname.lower(), event_dict)
    else:
        event_dict = {"event": record.getMessage(), "_record": record}
        if record.exc_info:
            event_dict["exc_info"] = record.exc_info
        if record.stack_info:
            event_dict["stack_info"] = record.stack_info
        for processor in _SINK_FOREIGN_CHAIN:
            event_dict = processor(None, record.levelname.lower(), event_dict)  # type: ignore[assignment]
        event_dict.pop("_record", None)
    msg = event_dict.get("event")
    rest = {key: value for key, value in event_dict.items() if key not in _STRIPPED}
    return {
        "time": record.created,
        "level": record.levelno,
        "levelname": record.levelname,
        "logger": record.name,
        "msg": msg if isinstance(msg, str) else str(msg),
        "fields": sanitize(rest, [], "fields"),
    }


_lock = threading.RLock()
_handlers: list[logging.Handler] = []  # the stream and file handlers we installed
_format = "json"
_sink_handler = _SinkHandler()


def configure_logging(
    *,
    level: str | int = "INFO",
    fmt: str = "json",
    log_file: str | None = None,
    stream: TextIO | None = None,
) -> None:
    """(Re)configure structlog and the stdlib root logger; safe to call again.

    Args:
        level: the root level (``"DEBUG"`` when verbose). pykka stays at INFO and pymongo
            at WARNING at most, so their chatter does not flood a DEBUG log.
        fmt: ``"json"`` (one object per line) or ``"console"`` (human-readable).
        log_file: also append JSON lines to this file (whatever *fmt* is).
        stream: where lines go (default: ``sys.stdout`` at the time of the call).

    Raises:
        ConfigError: bad level or format, or the log file cannot be opened.
    """
    numeric = _parse_level(level)
    if fmt not in FORMATS:
        raise ConfigError(f"log format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    out = stream if stream is not None else sys.stdout
    handlers: list[logging.Handler] = [logging.StreamHandler(out)]
    handlers[0].setFormatter(_formatter(fmt, out))
    if log_file:
        try:
            file_handler = logging.FileHandler(log_file, encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot open log file {log_file!r}: {exc}") from exc
        file_handler.setFormatter(_formatter("json"))
        handlers.append(file_handler)
    global _format  # noqa: PLW0603 - the one module-level format switch, set under the lock
    with _lock:
        _format = fmt
        _configure_structlog(fmt)
        root = logging.getLogger()
        _remove_handlers(root)
        for handler in handlers:
            root.addHandler(handler)
        _handlers.extend(handlers)
        if _sink_handler not in root.handlers:
            root.addHandler(_sink_handler)
        root.setLevel(numeric)
        for name, most_verbose in LIBRARY_LEVELS.items():
            logging.getLogger(name).setLevel(max(most_verbose, numeric))


_LEVEL_NAMES = {logging.DEBUG: "debug", logging.INFO: "info", logging.WARNING: "warning",
                logging.ERROR: "error", logging.CRITICAL: "critical"}
_LEADING = frozenset({"time", "level", "logger", "event"})


def emit_json_lines(events: Sequence[Mapping[str, Any]], *, level: int = logging.INFO) -> None:
    """High-volume fast path (task log echoes): write already-structured events, one JSON
    object per line, in one ``write()`` per output, skipping the logging machinery.

    Each event must carry ``time`` (epoch) and ``level`` (int); it is rendered with the
    same leading keys as every other line (``timestamp`` ISO-8601 UTC with ``Z``,
    ``level``, ``logger``, ``event``, ``pid``). Events below the root level are dropped,
    as logging would. In console format the events go through logging instead.
    """
    root_level = logging.getLogger().getEffectiveLevel()
    kept = [e for e in events if int(e.get("level", level)) >= root_level]
    if not kept:
        return
    if _format != "json":
        for event in kept:
            fields = {k: v for k, v in event.items() if k not in ("time", "level", "logger", "event")}
            logging.getLogger(str(event.get("logger", "das_actors"))).log(
                int(event.get("level", level)), str(event.get("event", "")), extra=fields)
        return
    pid = os.getpid()
    lines = []
    utc = datetime.UTC
    names = _LEVEL_NAMES
    second, prefix = -1, ""
    for event in kept:
        t = float(event["time"])
        whole = int(t)
        if whole != second:  # format the second once, the microseconds per line
            second, prefix = whole, datetime.datetime.fromtimestamp(whole, utc).strftime("%Y-%m-%dT%H:%M:%S")
        line = {"timestamp": f"{prefix}.{int((t - whole) * 1_000_000):06d}Z",
                "level": names.get(event["level"]) or logging.getLevelName(event["level"]).lower(),
                "logger": event.get("logger", "das_actors"), "event": event.get("event", ""), "pid": pid}
        for key, value in event.items():
            if key not in _LEADING:
                line[key] = value
        lines.append(orjson.dumps(line, default=str))
    data = (b"\n".join(lines) + b"\n").decode()
    with _lock:
        for handler in _handlers:
            if isinstance(handler, logging.StreamHandler):
                handler.acquire()
                try:
                    handler.stream.write(data)
                    handler.flush()
                finally:
                    handler.release()


def reset_logging() -> None:
    """Undo `configure_logging` and drop every sink (a test seam)."""
    with _lock:
        root = logging.getLogger()
        _remove_handlers(root)
        root.removeHandler(_sink_handler)
        _sink_handler.clear()
        root.setLevel(logging.WARNING)
        for name in LIBRARY_LEVELS:
            logging.getLogger(name).setLevel(logging.NOTSET)
        structlog.reset_defaults()


def _remove_handlers(root: logging.Logger) -> None:
    for handler in _handlers:
        root.removeHandler(handler)
        handler.close()  # closes a log file; a StreamHandler leaves its stream open
    _handlers.clear()


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    """A structlog logger that goes through the stdlib root logger (and so to the sinks)."""
    with _lock:
        if not structlog.is_configured():
            _configure_structlog("json")
    return structlog.stdlib.get_logger(name)


def add_sink(fn: Sink) -> None:
    """Hand every event that passes the level filter to *fn* (once, even if added twice)."""
    with _lock:
        root = logging.getLogger()
        if _sink_handler not in root.handlers:
            root.addHandler(_sink_handler)
        if not structlog.is_configured():
            _configure_structlog("json")
    _sink_handler.add(fn)


def remove_sink(fn: Sink) -> None:
    """Stop handing events to *fn* (no error if it was not added)."""
    _sink_handler.remove(fn)


@contextlib.contextmanager
def capture_logs(level: str | int | None = None) -> Iterator[list[dict[str, Any]]]:
    """Collect the sink dicts of every event logged inside the block (a test seam).

    Args:
        level: if given, the root level for the duration of the block (the default
            root level without `configure_logging` is WARNING).
    """
    events: list[dict[str, Any]] = []
    sink = events.append
    root = logging.getLogger()
    previous = root.level
    if level is not None:
        root.setLevel(_parse_level(level))
    add_sink(sink)
    try:
        yield events
    finally:
        remove_sink(sink)
        if level is not None:
            root.setLevel(previous)
