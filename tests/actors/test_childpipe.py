"""`actors.childpipe.PipeSender` on a real pipe: results wait for the next ones up to a count and a
size, go at once when asked, and the flusher sends what waits."""

from __future__ import annotations

import multiprocessing

import pytest

from actors import childpipe
from actors.childpipe import PipeSender
from tests.polling import wait_for


@pytest.fixture
def pipe():
    reader, writer = multiprocessing.Pipe(duplex=False)
    yield reader, writer
    reader.close()
    writer.close()


def messages(reader) -> list[tuple]:
    out = []
    while reader.poll(0):
        out.append(reader.recv())
    return out


def test_results_wait_for_the_next_ones_up_to_the_batch_count(pipe, monkeypatch):
    monkeypatch.setattr(childpipe, "LOG_FLUSH_S", 3600.0)  # no flusher in the way
    monkeypatch.setattr(childpipe, "RESULT_BATCH", 3)
    reader, writer = pipe
    sender = PipeSender(writer)
    sender.result("a", {"result": 1}, 10, now=False)
    sender.result("b", {"result": 2}, 10, now=False)
    assert messages(reader) == []  # held: the next runs are due now
    sender.result("c", {"result": 3}, 10, now=False)
    assert messages(reader) == [("results", [("a", {"result": 1}), ("b", {"result": 2}), ("c", {"result": 3})])]


def test_results_go_when_their_bytes_reach_the_cap_or_when_asked(pipe, monkeypatch):
    monkeypatch.setattr(childpipe, "LOG_FLUSH_S", 3600.0)
    reader, writer = pipe
    sender = PipeSender(writer)
    big = childpipe.RESULT_BATCH_BYTES // 2 + 1
    sender.result("a", {"result": "x"}, big, now=False)
    assert messages(reader) == []
    sender.result("b", {"result": "y"}, big, now=False)  # two of them pass the byte cap: one message, sent
    assert [[run for run, _ in m[1]] for m in messages(reader)] == [["a", "b"]]
    sender.result("c", {"result": "z"}, big, now=False)  # the count of bytes started again
    assert messages(reader) == []
    sender.result("d", {}, 0, now=True)
    assert [[run for run, _ in m[1]] for m in messages(reader)] == [["c", "d"]]


def test_the_flusher_sends_held_results(pipe, monkeypatch):
    monkeypatch.setattr(childpipe, "LOG_FLUSH_S", 0.01)
    reader, writer = pipe
    sender = PipeSender(writer)
    sender.result("a", {"result": 1}, 10, now=False)  # nothing else comes: the flusher sends it
    got = wait_for(lambda: messages(reader), 5.0, 0.005, "the flusher's message")
    assert got == [("results", [("a", {"result": 1})])]


@pytest.mark.parametrize(("timeout", "held"), [(None, True), (0, True), (3600.0, True), (1.0, True), (0.5, False),
                                              (0.001, False), ("x", True)])
def test_a_run_with_a_short_timeout_never_has_its_result_held(timeout, held):
    # the worker actor counts the oldest unreported run's timeout until its result arrives
    assert childpipe.may_hold({"timeout": timeout}) is held
