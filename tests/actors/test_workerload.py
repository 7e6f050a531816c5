"""`WorkerLoad`: who may be given appended runs, and when a worker is empty again."""

from __future__ import annotations

from actors.workerload import APPEND_MAX, WorkerLoad


def test_only_a_worker_holding_fast_runs_takes_more_and_the_least_loaded_first() -> None:
    load = WorkerLoad()
    assert load.open_slot() is None  # nobody holds anything: idle workers are the scheduler's first choice
    load.sent(0, 5, fast=True)
    load.sent(1, 2, fast=True)
    load.sent(2, 1, fast=False)  # a slow run: nothing may wait behind it
    assert load.open_slot() == 1
    load.sent(1, 10, fast=True)
    assert load.open_slot() == 0
    assert load.room(0) == APPEND_MAX - 5
    assert load.done(2, 1) == 0 and 2 not in load.held  # empty again: it is idle, not "open"
    load.sent(2, 1, fast=True)
    assert load.open_slot() == 2  # the slow mark went with the slow run


def test_a_full_worker_takes_nothing_until_one_of_its_runs_finishes() -> None:
    load = WorkerLoad()
    load.sent(0, 3, fast=True)
    load.sent(0, 2, fast=True)
    load.refused(0, 2)  # its queue's bytes were full
    assert load.held[0] == 3 and load.open_slot() is None
    assert load.done(0, 1) == 2
    assert load.open_slot() == 0


def test_a_worker_at_the_cap_takes_nothing_and_a_down_worker_is_forgotten() -> None:
    load = WorkerLoad()
    load.sent(0, APPEND_MAX, fast=True)
    assert load.open_slot() is None and load.room(0) == 0
    load.forget(0)
    assert load.held == {} and load.open_slot() is None
    assert load.done(7, 3) == 0  # a report for a slot it never counted does not go negative
    assert 7 not in load.held
