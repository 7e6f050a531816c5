"""The outcomes of stored results reach the run ledger from the Scheduler's thread (issue 17):
`SlotKeeper.outcomes_stored` writes them at once unless a run is due within the clearance (then
after that dispatch, or once the oldest waited `OUTCOMES_MAX_WAIT_S`), and keeps them while the
ledger refuses them. On a real SQLite ledger; the timetable is the pure one."""

from __future__ import annotations

import time

import pytest

from actors.jobs import JobSpec, Origin
from actors.jobstate import Limits
from actors.ledger import Claim, Finished, SlotState
from actors.routing import Directory
from actors.schedstate import new_state
from actors.slotkeeper import OUTCOMES_CLEARANCE_S, SlotKeeper
from actors.slots import slot_id
from actors.store.sqlite import SQLiteStore
from actors.timetable import Timetable


@pytest.fixture
def store(tmp_path):
    made = SQLiteStore(tmp_path / "s.db", size_bytes=1 << 20)
    made.open()
    yield made
    made.close()


def keeper(store: SQLiteStore, due_in_s: float | None, now: float):
    timetable = Timetable(Limits(minimum_interval_s=0.0, start_offset=False), rng=lambda: 0.5)
    if due_in_s is not None:
        timetable.add(JobSpec(name="next", classname="Ok", interval_s=60.0, origin=Origin.API), now,
                      first_due_at=now + due_in_s)
    state = new_state(timetable, workers=1, finished_retention_s=60.0)
    state.ledger = store
    return state, SlotKeeper(state, Directory(), requeue=lambda run, why: None, changed=lambda job: None,
                             retry_in=lambda delay: None)


def claimed(store: SQLiteStore, job_id: str, slots: list[float]) -> list[Finished]:
    assert store.claim_slots([Claim(job_id, slot, i, 0, "schedule", "life", 0.0) for i, slot in enumerate(slots)]) == {}
    return [Finished(slot_id(job_id, slot), 0, "success", slot + 1) for slot in slots]


def states(store: SQLiteStore, job_id: str) -> set[tuple[str, str | None]]:
    return {(str(e.state), e.outcome) for e in store.slot_entries(job_id, 0.0, 1e9).values()}


def test_outcomes_are_written_at_once_when_nothing_is_due_soon(store):
    now = time.time()
    state, slots = keeper(store, due_in_s=10.0, now=now)
    slots.outcomes_stored(claimed(store, "j", [1.0, 2.0]), now)
    assert states(store, "j") == {(str(SlotState.DONE), "success")} and state.outcomes == []


def test_outcomes_wait_for_a_run_due_within_the_clearance_then_follow_its_dispatch(store):
    now = time.time()
    state, slots = keeper(store, due_in_s=OUTCOMES_CLEARANCE_S / 2, now=now)
    slots.outcomes_stored(claimed(store, "j", [1.0, 2.0]), now)
    assert states(store, "j") == {(str(SlotState.CLAIMED), None)} and len(state.outcomes) == 2
    slots.write_outcomes(now, force=True)  # what the Scheduler's end of dispatch and its stop do
    assert states(store, "j") == {(str(SlotState.DONE), "success")} and state.outcomes == []


def test_outcomes_waiting_too_long_are_written_even_with_a_run_due(store):
    now = time.time()
    state, slots = keeper(store, due_in_s=OUTCOMES_CLEARANCE_S / 2, now=now)
    slots.outcomes_stored(claimed(store, "j", [1.0]), now)
    state.outcomes_since -= 3600.0  # the oldest arrived an hour ago
    slots.write_outcomes(now)
    assert states(store, "j") == {(str(SlotState.DONE), "success")}


def test_outcomes_are_kept_while_the_ledger_refuses_them_and_written_when_it_is_back(store):
    now = time.time()
    state, slots = keeper(store, due_in_s=None, now=now)
    finished = claimed(store, "j", [1.0, 2.0])
    store.close()  # every write fails (StoreError) until it is open again
    slots.outcomes_stored(finished, now)
    assert len(state.outcomes) == 2 and state.outcomes_failing is not None
    store.open()
    slots.write_outcomes(now)
    assert state.outcomes == [] and state.outcomes_failing is None
    assert states(store, "j") == {(str(SlotState.DONE), "success")}
