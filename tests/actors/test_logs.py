"""JSON-lines logging, stdlib integration and sinks (actors.logs)."""

from __future__ import annotations

import io
import json
import logging
import os
import threading
from pathlib import Path
from typing import Any

import pytest
import structlog

from actors.errors import ConfigError
from actors.logs import (
    add_sink,
    capture_logs,
    capture_structlog,
    configure_logging,
    get_logger,
    remove_sink,
    reset_logging,
)


@pytest.fixture(autouse=True)
def _reset() -> Any:
    reset_logging()
    yield
    reset_logging()


@pytest.fixture
def stream() -> io.StringIO:
    out = io.StringIO()
    configure_logging(stream=out)
    return out


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    text = stream.getvalue()
    assert text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


def boom() -> None:
    raise ZeroDivisionError("division by zero")


# -- the JSON lines --------------------------------------------------------------------


def test_structlog_event_is_one_json_line(stream: io.StringIO) -> None:
    get_logger("das_actors.test").info("job.started", job_id="ab12", attempt=1)
    [line] = lines(stream)
    assert list(line)[:4] == ["timestamp", "level", "logger", "event"]
    assert line["timestamp"].endswith("Z")
    assert (line["level"], line["logger"], line["event"]) == ("info", "das_actors.test", "job.started")
    assert line["pid"] == os.getpid()
    assert (line["job_id"], line["attempt"]) == ("ab12", 1)


def test_stdlib_logger_lines_are_json_too(stream: io.StringIO) -> None:
    logging.getLogger("pykka").info("ask to %s failed", "urn:x", extra={"urn": "urn:x"})
    [line] = lines(stream)
    assert line["timestamp"].endswith("Z")
    assert (line["level"], line["logger"], line["event"]) == ("info", "pykka", "ask to urn:x failed")
    assert line["pid"] == os.getpid()
    assert line["urn"] == "urn:x"


def test_positional_arguments_and_context_variables(stream: io.StringIO) -> None:
    with structlog.contextvars.bound_contextvars(job_id="j1"):
        get_logger("das_actors.test").info("run %d of %s", 3, "hotspot")
        logging.getLogger("cheroot").warning("plain")
    first, second = lines(stream)
    assert (first["event"], first["job_id"]) == ("run 3 of hotspot", "j1")
    assert (second["event"], second["job_id"], second["level"]) == ("plain", "j1", "warning")


@pytest.mark.parametrize("source", ["structlog", "stdlib"])
def test_exception_is_a_structured_single_line(stream: io.StringIO, source: str) -> None:
    try:
        boom()
    except ZeroDivisionError:
        if source == "structlog":
            get_logger("das_actors.test").exception("run.crashed", job_id="j")
        else:
            logging.getLogger("pykka").exception("Unhandled exception in Worker")
    text = stream.getvalue()
    assert text.count("\n") == 1
    [line] = lines(stream)
    assert line["level"] == "error"
    [exc] = line["exception"]
    assert exc["exc_type"] == "ZeroDivisionError"
    assert exc["exc_value"] == "division by zero"
    assert [frame["name"] for frame in exc["frames"]][-1] == "boom"
    assert "locals" not in exc["frames"][-1]
    assert "Traceback" not in text


def test_levels_and_library_loggers() -> None:
    out = io.StringIO()
    configure_logging(stream=out, level="DEBUG")
    get_logger("das_actors.test").debug("mine.debug")
    logging.getLogger("pykka").debug("pykka.debug")
    logging.getLogger("pykka").info("pykka.info")
    logging.getLogger("pymongo.topology").info("pymongo.info")
    logging.getLogger("pymongo.topology").warning("pymongo.warning")
    assert [line["event"] for line in lines(out)] == ["mine.debug", "pykka.info", "pymongo.warning"]

    out = io.StringIO()
    configure_logging(stream=out)  # INFO by default
    get_logger("das_actors.test").debug("mine.debug")
    get_logger("das_actors.test").info("mine.info")
    logging.getLogger("other").debug("other.debug")
    assert [line["event"] for line in lines(out)] == ["mine.info"]


def test_reconfiguration_replaces_the_handlers(tmp_path: Path) -> None:
    first, second = io.StringIO(), io.StringIO()
    configure_logging(stream=first)
    configure_logging(stream=second, level=logging.INFO)
    get_logger("das_actors.test").info("once")
    assert first.getvalue() == ""
    assert [line["event"] for line in lines(second)] == ["once"]
    ours = [h for h in logging.getLogger().handlers if isinstance(h, logging.StreamHandler)
            and getattr(h, "stream", None) in (first, second)]
    assert len(ours) == 1


def test_log_file_gets_json_whatever_the_format(tmp_path: Path) -> None:
    path = tmp_path / "das.log"
    out = io.StringIO()
    configure_logging(stream=out, fmt="console", log_file=str(path))
    get_logger("das_actors.test").info("to.both", n=1)
    logging.getLogger("pykka").warning("also.both")
    reset_logging()  # closes the file
    events = [json.loads(line) for line in path.read_text().splitlines()]
    assert [(e["event"], e["logger"]) for e in events] == [("to.both", "das_actors.test"), ("also.both", "pykka")]
    assert "to.both" in out.getvalue()


def test_console_format_is_not_json() -> None:
    out = io.StringIO()
    configure_logging(stream=out, fmt="console")
    get_logger("das_actors.test").info("human.readable", key="value")
    text = out.getvalue()
    assert "human.readable" in text
    assert "key=value" in text
    with pytest.raises(json.JSONDecodeError):
        json.loads(text.splitlines()[0])


@pytest.mark.parametrize(("kwargs", "expected"), [
    ({"level": "LOUD"}, "log level"),
    ({"level": True}, "log level"),
    ({"fmt": "xml"}, "log format"),
    ({"log_file": "/nonexistent-dir-5b1e/x.log"}, "cannot open log file"),
])
def test_bad_settings_are_config_errors(kwargs: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigError, match=expected):
        configure_logging(stream=io.StringIO(), **kwargs)


def test_default_stream_is_stdout_with_nothing_but_json(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging()
    get_logger("das_actors.test").info("server.started", port=8212)
    logging.getLogger("cheroot.wsgi").info("serving")
    out = capsys.readouterr().out
    assert [json.loads(line)["event"] for line in out.splitlines()] == ["server.started", "serving"]


def test_each_line_is_a_single_write() -> None:
    class Recorder(io.StringIO):
        def __init__(self) -> None:
            super().__init__()
            self.writes: list[str] = []

        def write(self, text: str) -> int:
            self.writes.append(text)
            return super().write(text)

    out = Recorder()
    configure_logging(stream=out)
    get_logger("a").info("one")
    logging.getLogger("b").error("two")
    try:
        boom()
    except ZeroDivisionError:
        get_logger("a").exception("three")
    assert len(out.writes) == 3
    assert all(w.endswith("\n") and w.count("\n") == 1 for w in out.writes)


# -- sinks -----------------------------------------------------------------------------


def test_sinks_receive_structlog_and_stdlib_events(stream: io.StringIO) -> None:
    got: list[dict[str, Any]] = []
    add_sink(got.append)
    add_sink(got.append)  # added once
    get_logger("das_actors.journal").info("batch.written", count=3, odd=object(), nested={"a.b": 1})
    logging.getLogger("pykka").warning("actor %s stopped", "urn:1", extra={"urn": "urn:1"})
    get_logger("das_actors.journal").debug("filtered.out")
    first, second = got
    assert set(first) == {"time", "level", "levelname", "logger", "msg", "fields"}
    assert (first["level"], first["levelname"], first["logger"], first["msg"]) == (
        logging.INFO, "INFO", "das_actors.journal", "batch.written",
    )
    assert first["fields"]["count"] == 3
    assert first["fields"]["odd"].startswith("<object object")
    assert first["fields"]["nested"] == {"a_b": 1}
    assert first["fields"]["pid"] == os.getpid()
    assert (second["level"], second["logger"], second["msg"]) == (logging.WARNING, "pykka", "actor urn:1 stopped")
    assert second["fields"]["urn"] == "urn:1"
    assert isinstance(second["time"], float)
    json.dumps(got)
    remove_sink(got.append)
    get_logger("das_actors.journal").info("not.seen")
    assert len(got) == 2
    remove_sink(got.append)  # no error


def test_sinks_get_structured_exceptions(stream: io.StringIO) -> None:
    with capture_logs() as events:
        try:
            boom()
        except ZeroDivisionError:
            logging.getLogger("pykka").exception("crash")
            get_logger("das_actors.x").exception("crash")
    for event in events:
        assert event["fields"]["exception"][0]["exc_type"] == "ZeroDivisionError"
    assert len(events) == 2


def test_console_mode_sinks_still_get_structured_exceptions() -> None:
    configure_logging(stream=io.StringIO(), fmt="console")
    with capture_logs() as events:
        try:
            boom()
        except ZeroDivisionError:
            get_logger("das_actors.x").exception("crash")
    [event] = events
    assert event["fields"]["exception"][0]["exc_type"] == "ZeroDivisionError"
    assert "exc_info" not in event["fields"]


def test_failing_sink_is_dropped_once_and_logging_goes_on(
    stream: io.StringIO, capsys: pytest.CaptureFixture[str],
) -> None:
    calls: list[str] = []

    def broken(event: dict[str, Any]) -> None:
        calls.append(event["msg"])
        raise RuntimeError("store is down")

    good: list[dict[str, Any]] = []
    add_sink(broken)
    add_sink(good.append)
    get_logger("das_actors.test").info("first")
    logging.getLogger("pykka").info("second")
    assert [line["event"] for line in lines(stream)] == ["first", "second"]
    assert [e["msg"] for e in good] == ["first", "second"]
    assert calls == ["first"]
    err = capsys.readouterr().err
    assert err.count("store is down") == 1
    assert "removed" in err


def test_a_sink_that_logs_does_not_recurse(stream: io.StringIO) -> None:
    calls: list[str] = []

    def chatty(event: dict[str, Any]) -> None:
        calls.append(event["msg"])
        logging.getLogger("sink.inner").warning("inside the sink")
        get_logger("sink.inner").warning("inside the sink, structlog")

    add_sink(chatty)
    get_logger("das_actors.test").info("outer")
    assert calls == ["outer"]
    assert sorted(line["event"] for line in lines(stream)) == [
        "inside the sink", "inside the sink, structlog", "outer",
    ]  # what the sink logs is still written out
    logging.getLogger("x").warning("later")
    assert calls == ["outer", "later"]


def test_sinks_under_concurrent_logging(stream: io.StringIO) -> None:
    got: list[dict[str, Any]] = []
    add_sink(got.append)
    start = threading.Barrier(8)

    def work(n: int) -> None:
        start.wait()
        log = get_logger(f"thread.{n}")
        for i in range(50):
            log.info("tick", n=n, i=i)
            logging.getLogger(f"std.{n}").info("tock %d", i)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(got) == 800
    assert len(lines(stream)) == 800


def test_capture_logs_without_configuration() -> None:
    with capture_logs(level="INFO") as events:
        get_logger("das_actors.test").info("captured", k=1)
        logging.getLogger("pykka").info("also captured")
        logging.getLogger("pykka").debug("below the level")
    assert [(e["logger"], e["msg"]) for e in events] == [("das_actors.test", "captured"), ("pykka", "also captured")]
    assert events[0]["fields"]["k"] == 1
    assert logging.getLogger().level == logging.WARNING  # restored
    logging.getLogger("pykka").warning("after")
    assert len(events) == 2


def test_capture_structlog_is_structlogs_own(stream: io.StringIO) -> None:
    with capture_structlog() as entries:
        get_logger("das_actors.test").info("raw", k=2)
    assert entries == [{"event": "raw", "k": 2, "log_level": "info"}]
    assert stream.getvalue() == ""
