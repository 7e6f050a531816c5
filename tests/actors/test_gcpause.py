"""`actors.gcpause`: the collector is off while held, back (and the survivors frozen) when the last holder leaves."""

from __future__ import annotations

import gc
import threading
import weakref

from actors import gcpause
from actors.gcpause import paused_gc


def test_the_collector_is_paused_while_held_and_back_when_the_last_holder_leaves():
    assert gc.isenabled()
    with paused_gc():
        assert not gc.isenabled()
        with paused_gc():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer holder still holds it
    assert gc.isenabled()


def test_a_collector_disabled_before_stays_disabled():
    gc.disable()
    try:
        with paused_gc(settle=True):
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_settle_freezes_what_was_built_and_garbage_cycles_are_still_collected(monkeypatch):
    monkeypatch.setattr(gcpause, "SETTLE_MIN_OBJECTS", 1)
    before = gc.get_freeze_count()

    class Node:
        def __init__(self) -> None:
            self.me = self

    try:
        with paused_gc(settle=True):
            cycle = Node()
            gone = Node()
            witness = threading.Event()
            ref = weakref.ref(gone, lambda _: witness.set())
            del gone
        assert witness.is_set() and ref() is None  # a cycle made garbage while paused is collected on leaving
        assert gc.get_freeze_count() > before and cycle.me is cycle  # the survivors are frozen
    finally:
        gc.unfreeze()


def test_the_pause_is_released_when_the_body_raises():
    try:
        with paused_gc():
            raise ValueError("boom")
    except ValueError:
        pass
    assert gc.isenabled()


def test_settle_collects_old_garbage_cycles_before_freezing(monkeypatch):
    monkeypatch.setattr(gcpause, "SETTLE_MIN_OBJECTS", 1)
    class Node:
        def __init__(self) -> None:
            self.me = self

    witness = threading.Event()
    old = Node()
    ref = weakref.ref(old, lambda _: witness.set())
    gc.collect()  # the cycle survives (still referenced): it is in the oldest generation now
    del old  # garbage, in the oldest generation, which a young collection does not look at
    try:
        with paused_gc(settle=True):
            pass
        assert witness.is_set() and ref() is None  # collected, not frozen forever
    finally:
        gc.unfreeze()


def test_a_small_settling_pause_freezes_nothing():
    before = gc.get_freeze_count()
    with paused_gc(settle=True):
        built = [[i] for i in range(1000)]
    assert gc.get_freeze_count() == before and len(built) == 1000


def test_a_settling_pause_that_freezes_gives_the_freed_heap_back_and_a_plain_one_does_not(monkeypatch):
    trims: list[int] = []

    def trim() -> bool:
        trims.append(1)
        return True

    monkeypatch.setattr(gcpause, "trim_heap", trim)
    with paused_gc():
        pass
    assert trims == []
    monkeypatch.setattr(gcpause, "SETTLE_MIN_OBJECTS", 1)
    try:
        with paused_gc(settle=True):
            _built = [object() for _ in range(10)]
    finally:
        gc.unfreeze()
    assert trims == [1]


def test_trimming_the_heap_is_safe_to_call_anywhere():
    assert gcpause.trim_heap() in (True, False)  # glibc: whether pages went back; elsewhere False
