"""`Waker`: one Tick at the time asked for, re-armed freely (issue 17 made it skip waking its
thread for a later time or a cancel: the current wait ends, then it waits again or not at all)."""

from __future__ import annotations

import threading
import time

from actors.messages import Tick
from actors.waker import Waker


class Ticks:
    def __init__(self) -> None:
        self.at: list[float] = []
        self.event = threading.Event()

    def tell(self, message: object) -> None:
        assert isinstance(message, Tick)
        self.at.append(time.time())
        self.event.set()


def test_one_tick_at_the_time_asked_not_before():
    ticks = Ticks()
    waker = Waker(ticks.tell)
    try:
        at = time.time() + 0.15
        waker.wake_at(at)
        assert ticks.event.wait(5.0)
        assert ticks.at[0] >= at
        ticks.event.clear()
        assert not ticks.event.wait(0.3) and len(ticks.at) == 1  # one request, one tick
    finally:
        waker.stop()


def test_a_sooner_time_wakes_the_thread_at_once():
    ticks = Ticks()
    waker = Waker(ticks.tell)
    try:
        waker.wake_at(time.time() + 3600.0)
        sooner = time.time() + 0.1
        waker.wake_at(sooner)
        assert ticks.event.wait(5.0) and sooner <= ticks.at[0] < sooner + 3.0
    finally:
        waker.stop()


def test_a_later_time_ticks_at_the_later_time_only():
    ticks = Ticks()
    waker = Waker(ticks.tell)
    try:
        first = time.time() + 0.1
        waker.wake_at(first)
        later = first + 0.4
        waker.wake_at(later)  # the thread is not woken: its wait for `first` ends, then it waits again
        assert ticks.event.wait(5.0)
        assert ticks.at[0] >= later and len(ticks.at) == 1
    finally:
        waker.stop()


def test_a_cancel_means_no_tick_and_a_new_time_after_it_ticks():
    ticks = Ticks()
    waker = Waker(ticks.tell)
    try:
        waker.wake_at(time.time() + 0.1)
        waker.wake_at(None)
        assert not ticks.event.wait(0.5)
        again = time.time() + 0.1
        waker.wake_at(again)
        assert ticks.event.wait(5.0) and ticks.at[0] >= again
    finally:
        waker.stop()
