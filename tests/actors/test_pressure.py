"""`actors.pressure`: the web waits while due runs are worked through, never for a line that stands still."""

from __future__ import annotations

import threading

from actors.pressure import DispatchPressure
from tests.polling import wait_for


def test_calm_when_nothing_is_pending():
    pressure = DispatchPressure()
    assert not pressure.busy and pressure.wait(5.0) == 0.0
    pressure.note(0, 10)
    assert not pressure.busy


def test_a_moving_line_holds_a_waiter_until_nothing_is_pending():
    pressure = DispatchPressure()
    pressure.note(2000, 1)  # a herd fell due and the first runs were handed out
    assert pressure.busy
    waited: list[float] = []
    thread = threading.Thread(target=lambda: waited.append(pressure.wait(30.0)))
    thread.start()
    for moves in range(2, 22):  # the line keeps moving while the waiter waits
        pressure.note(1000, moves)
        thread.join(0.01)
    assert thread.is_alive()  # still waiting: runs pending, the line moving
    pressure.note(0, 22)  # the last run finished
    thread.join(10)
    assert not thread.is_alive() and waited and waited[0] < 30.0


def test_a_line_that_stands_still_is_not_a_burst():
    pressure = DispatchPressure()
    pressure.note(5, 1)  # runs wait behind long ones: nothing moves after this
    wait_for(lambda: not pressure.busy, 10)
    assert pressure.wait(30.0) < 30.0



def test_after_a_herd_the_web_stands_back_before_the_next_wake_until_it_is_taken_up():
    pressure = DispatchPressure()
    pressure.note(2000, 1, wake_in_s=1.0)  # a herd fell due at once
    pressure.note(0, 2, wake_in_s=1.0)  # handed out; the next wake is a second away
    assert pressure.herd and not pressure.busy  # far from the next wake: nobody waits
    pressure.note(0, 2, wake_in_s=0.0)  # the next wake is now: the herd is expected
    assert pressure.busy
    waited: list[float] = []
    thread = threading.Thread(target=lambda: waited.append(pressure.wait(30.0)))
    thread.start()
    thread.join(0.02)
    pressure.note(2000, 3, wake_in_s=0.0)  # the scheduler took it up ...
    pressure.note(0, 4, wake_in_s=1.0)  # ... and handed it out: the next wake is a second away
    thread.join(10)
    assert not thread.is_alive() and waited[0] < 30.0


def test_a_few_runs_falling_due_are_no_herd():
    pressure = DispatchPressure()
    pressure.note(2000, 1, wake_in_s=0.0)
    pressure.note(0, 2, wake_in_s=0.0)
    pressure.note(3, 3, wake_in_s=0.0)  # the last wake brought 3 runs
    pressure.note(0, 4, wake_in_s=0.0)
    assert not pressure.herd
    wait_for(lambda: not pressure.busy, 10)
