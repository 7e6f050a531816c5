"""The worker process's queue (`actors.childqueue.serve`) over a real pipe: staged runs start at
their due time, runs appended while the head waits join the queue in order, ``config`` and
``stop`` are read while a run waits, and no run makes the process wait past the cap."""

from __future__ import annotations

import math
import multiprocessing
import threading
import time
from typing import Any

import pytest

from actors import childqueue


class Served:
    """`serve` on one end of a real pipe, in a thread; what it ran and was told is recorded."""

    def __init__(self) -> None:
        self.parent, child = multiprocessing.Pipe(duplex=True)
        self.started: list[tuple[str, float, bool]] = []
        self.told: list[tuple[Any, ...]] = []
        self.done = threading.Event()

        def take(message: tuple[Any, ...]) -> bool:
            self.told.append(message)
            return message[0] != "stop"

        def run(wire: dict[str, Any], result_now: Any) -> None:
            self.started.append((wire["name"], time.time(), result_now()))

        def main() -> None:
            try:
                childqueue.serve(child, take, run)
            finally:
                self.done.set()

        threading.Thread(target=main, daemon=True).start()

    def send(self, *wires: dict[str, Any]) -> None:
        self.parent.send(("runs", list(wires)))

    def wait_runs(self, count: int, timeout: float = 5.0) -> list[tuple[str, float, bool]]:
        deadline = time.monotonic() + timeout
        while len(self.started) < count and time.monotonic() < deadline:
            self.done.wait(0.005)
        assert len(self.started) >= count, self.started
        return self.started


def wire(name: str, due_at: Any) -> dict[str, Any]:
    return {"name": name, "due_at": due_at}


def test_staged_runs_start_at_their_due_time_in_order_and_appended_runs_join_the_queue() -> None:
    served = Served()
    due = time.time() + 0.3
    served.send(wire("a", due), wire("b", due + 0.05))
    served.send(wire("c", due + 0.1))  # a second message: appended behind what the process holds
    served.parent.send(("config", {"x": 1}))
    started = served.wait_runs(3)
    assert [name for name, _, _ in started] == ["a", "b", "c"]
    for (_, at, _), expected in zip(started, (due, due + 0.05, due + 0.1), strict=True):
        assert expected <= at < expected + 0.05, (at - expected)
    assert [now for _, _, now in started] == [True, True, True]  # each result goes out before a wait
    assert served.told == [("config", {"x": 1})]  # read while the runs waited
    served.parent.send(("stop",))
    assert served.done.wait(2.0)


def test_runs_already_due_run_at_once_and_batch_their_results() -> None:
    served = Served()
    now = time.time()
    served.send(wire("a", now - 5), wire("b", None), wire("c", math.nan), wire("d", "soon"))
    started = served.wait_runs(4)
    assert [name for name, _, _ in started] == ["a", "b", "c", "d"]
    assert started[-1][1] - now < 0.5
    assert [flag for _, _, flag in started] == [False, False, False, True]  # sent together, at the end
    served.parent.close()  # EOF ends the loop
    assert served.done.wait(2.0)


def test_a_stop_ends_the_process_while_a_run_waits_and_no_run_waits_past_the_cap(monkeypatch) -> None:
    monkeypatch.setattr(childqueue, "MAX_STAGE_AHEAD_S", 0.2)
    served = Served()
    t0 = time.time()
    served.send(wire("far", t0 + 1e9))  # a due time that is garbage: the cap applies
    started = served.wait_runs(1)
    assert started[0][1] - t0 < 0.5
    served.send(wire("later", time.time() + 0.15))
    served.parent.send(("stop",))
    assert served.done.wait(2.0)
    assert [name for name, _, _ in served.started] == ["far"]  # the queued one is the worker actor's to give back


@pytest.mark.parametrize(("due_at", "expected"),
                         [(None, 0.0), ("x", 0.0), (math.nan, 0.0), (-1.0, 0.0), (math.inf, 1.0)])
def test_due_in_reads_anything_and_caps_it(due_at: Any, expected: float) -> None:
    assert childqueue.due_in(due_at, time.time()) == expected


def test_a_start_time_read_from_due_in_is_never_before_the_due_time() -> None:
    for _ in range(2000):
        now = time.time()
        due_at = now + 0.000_003
        assert now + childqueue.due_in(due_at, now) >= due_at
