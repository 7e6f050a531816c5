"""`WorkerLoad`: who may be given appended runs, how many, and when a worker is empty again."""

from __future__ import annotations

import math

from actors.workerload import APPEND_BUDGET_S, APPEND_MAX, WorkerLoad, cap


def test_only_a_worker_holding_fast_runs_takes_more_and_the_least_loaded_first() -> None:
    load = WorkerLoad()
    assert load.open_slot(APPEND_MAX) is None  # nobody holds anything: idle workers are the scheduler's first choice
    load.sent(0, 5, fast=True)
    load.sent(1, 2, fast=True)
    load.sent(2, 1, fast=False)  # a slow run: nothing may wait behind it
    assert load.open_slot(APPEND_MAX) == 1
    load.sent(1, 10, fast=True)
    assert load.open_slot(APPEND_MAX) == 0
    assert load.room(0, APPEND_MAX) == APPEND_MAX - 5
    assert load.open_slot(5) is None and load.room(0, 5) == 0  # a smaller cap: both hold enough
    assert load.done(2, 1) == 0 and 2 not in load.held  # empty again: it is idle, not "open"
    load.sent(2, 1, fast=True)
    assert load.open_slot(APPEND_MAX) == 2  # the slow mark went with the slow run


def test_a_full_worker_takes_nothing_until_one_of_its_runs_finishes() -> None:
    load = WorkerLoad()
    load.sent(0, 3, fast=True)
    load.sent(0, 2, fast=True)
    load.refused(0, 2)  # what it has not read of its pipe was too much
    assert load.held[0] == 3 and load.open_slot(APPEND_MAX) is None
    assert load.done(0, 1) == 2
    assert load.open_slot(APPEND_MAX) == 0


def test_a_down_worker_is_forgotten_and_counts_never_go_negative() -> None:
    load = WorkerLoad()
    load.sent(0, APPEND_MAX, fast=True)
    assert load.open_slot(APPEND_MAX) is None
    load.forget(0)
    assert load.held == {} and load.open_slot(APPEND_MAX) is None
    assert load.done(7, 3) == 0  # a report for a slot it never counted does not go negative
    assert 7 not in load.held


def test_the_cap_is_about_a_budget_of_work_at_the_class_mean() -> None:
    assert cap(None) == APPEND_MAX and cap(math.nan) == APPEND_MAX and cap(0.0) == APPEND_MAX
    assert cap(1e-6) == APPEND_MAX  # a trivial class: the count cap
    assert cap(0.001) == int(APPEND_BUDGET_S / 0.001)
    assert cap(10.0) == 1  # never less than one
