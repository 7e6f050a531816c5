"""The run ledger's contract, the same tests on SQLite and on MongoDB (FerretDB): claims are
unique, outcomes and missed slots are recorded, heads and pruning keep what a restart needs."""

from __future__ import annotations

import threading
import time

import pytest

from actors.config import Settings
from actors.jobs import JobSpec, Origin, Outcome, Trigger
from actors.ledger import Claim, LedgerEntry, LedgerStore, SlotState, outcome_updates
from actors.messages import GetJob
from actors.slots import slot_id
from actors.store.base import Query
from actors.system import System
from tests.store.test_contract import Backend


@pytest.fixture(params=["sqlite", "mongo"])
def ledger(request, tmp_path):
    made = Backend(request.param, request, tmp_path)
    store = made.make()
    assert isinstance(store, LedgerStore)
    yield store
    made.cleanup()


def claim(job_id: str, slot: float, *, index: int = 1, attempt: int = 0, trigger: Trigger = Trigger.SCHEDULE,
          owner: str = "life-1", at: float = 0.0) -> Claim:
    return Claim(job_id=job_id, slot=slot, index=index, attempt=attempt, trigger=str(trigger), owner=owner, at=at)


def missed_doc(job_id: str, slot: float, count: int = 1) -> dict:
    return {"type": "result", "job_id": job_id, "slot": slot, "outcome": "missed", "attempt": 0, "count": count,
            "time": slot + 1}


def result_doc(job_id: str, slot: float, outcome: Outcome, attempt: int = 0) -> dict:
    return {"type": "result", "job_id": job_id, "slot": slot, "outcome": str(outcome), "attempt": attempt,
            "time": slot + 1}


def record(ledger, docs) -> set[str]:
    finished, missed = outcome_updates(docs)
    return ledger.record_slots(finished, missed)


def test_a_slot_is_claimed_once_and_a_second_claim_is_refused_with_the_entry(ledger):
    assert ledger.claim_slots([claim("j", 100.0), claim("k", 100.0)]) == {}
    refused = ledger.claim_slots([claim("j", 100.0, owner="life-2"), claim("j", 200.0, index=2)])
    assert list(refused) == [slot_id("j", 100.0)]
    entry = refused[slot_id("j", 100.0)]
    assert (entry.state, entry.owner, entry.index, entry.attempt) == (SlotState.CLAIMED, "life-1", 1, 0)


def test_the_same_claim_again_is_not_refused(ledger):
    assert ledger.claim_slots([claim("j", 100.0)]) == {}
    assert ledger.claim_slots([claim("j", 100.0)]) == {}  # a write retried after a lost reply


def test_claims_race_from_threads_exactly_one_wins(ledger):
    wins: list[str] = []
    barrier = threading.Barrier(4)

    def contend(owner: str) -> None:
        barrier.wait()
        if not ledger.claim_slots([claim("race", 5.0, owner=owner)]):
            wins.append(owner)

    threads = [threading.Thread(target=contend, args=(f"life-{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(wins) == 1


def test_a_batch_with_one_slot_taken_claims_the_others_and_refuses_that_one(ledger):
    assert ledger.claim_slots([claim("j", 20.0, owner="other", index=7)]) == {}
    batch = [claim("j", 10.0, index=1), claim("j", 20.0, index=2), claim("j", 30.0, index=3)]
    refused = ledger.claim_slots(batch)
    assert list(refused) == [slot_id("j", 20.0)] and refused[slot_id("j", 20.0)].owner == "other"
    entries = ledger.slot_entries("j", 0.0, 40.0)
    assert {e.slot: (e.owner, e.index) for e in entries.values()} == {
        10.0: ("life-1", 1), 20.0: ("other", 7), 30.0: ("life-1", 3)}


def test_batches_larger_than_one_statement_claim_and_record_every_slot(ledger):
    # SQLite writes 500 claims and 1,000 outcomes per statement (FerretDB, slower, takes a smaller batch)
    count = 1_300 if ledger.kind == "sqlite" else 64
    slots = [float(i) for i in range(1, count + 1)]
    assert ledger.claim_slots([claim("big", slot, index=i) for i, slot in enumerate(slots)]) == {}
    assert ledger.claim_slots([claim("big", slot, index=i, owner="late") for i, slot in enumerate(slots)]).keys() \
        == {slot_id("big", slot) for slot in slots}
    record(ledger, [result_doc("big", slot, Outcome.SUCCESS) for slot in slots])
    entries = ledger.slot_entries("big", 0.0, 2_000.0)
    assert len(entries) == count and {(e.state, e.outcome) for e in entries.values()} == {(SlotState.DONE, "success")}


def test_a_retry_takes_the_next_attempt_unless_the_slot_succeeded(ledger):
    ledger.claim_slots([claim("j", 100.0)])
    record(ledger, [result_doc("j", 100.0, Outcome.FAILED)])
    assert ledger.claim_slots([claim("j", 100.0, attempt=1, trigger=Trigger.RETRY)]) == {}
    assert ledger.claim_slots([claim("j", 100.0, attempt=1, trigger=Trigger.RETRY, owner="life-2")]) != {}
    record(ledger, [result_doc("j", 100.0, Outcome.SUCCESS, attempt=1)])
    refused = ledger.claim_slots([claim("j", 100.0, attempt=2, trigger=Trigger.RESUME)])
    assert refused[slot_id("j", 100.0)].outcome == "success"


def test_an_outcome_of_an_older_attempt_does_not_overwrite_a_newer_claim(ledger):
    ledger.claim_slots([claim("j", 100.0)])
    ledger.claim_slots([claim("j", 100.0, attempt=1, trigger=Trigger.RESUME)])  # resumed before attempt 0's result
    record(ledger, [result_doc("j", 100.0, Outcome.INTERRUPTED, attempt=0)])
    newest = ledger.ledger_heads(["j"])["j"].newest
    assert newest is not None and (newest.attempt, newest.state, newest.outcome) == (1, SlotState.CLAIMED, None)


def test_missed_slots_are_recorded_once_and_block_a_scheduled_claim_but_not_a_backfill(ledger):
    assert record(ledger, [missed_doc("j", 10.0), missed_doc("j", 20.0, count=5)]) == {
        slot_id("j", 10.0), slot_id("j", 20.0)}
    assert record(ledger, [missed_doc("j", 10.0)]) == set()  # already there: not added twice
    refused = ledger.claim_slots([claim("j", 10.0)])
    assert refused[slot_id("j", 10.0)].state == SlotState.MISSED
    assert ledger.claim_slots([claim("j", 10.0, index=7, trigger=Trigger.BACKFILL)]) == {}
    assert ledger.claim_slots([claim("j", 10.0, index=8, trigger=Trigger.BACKFILL, owner="x")]) != {}
    entries = ledger.slot_entries("j", 0.0, 20.0)
    assert entries[slot_id("j", 10.0)].state == SlotState.CLAIMED
    assert entries[slot_id("j", 20.0)].count == 5


def test_outcomes_of_runs_without_a_slot_are_ignored(ledger):
    finished, missed = outcome_updates([{"type": "result", "job_id": "j", "outcome": "success", "slot": None},
                                        {"type": "log", "slot": 3.0}])
    assert finished == [] and missed == []


def test_heads_give_the_newest_slot_the_highest_index_and_the_newest_scheduled_run(ledger):
    ledger.claim_slots([claim("j", 100.0, index=1), claim("k", 50.0, index=4)])
    record(ledger, [result_doc("j", 100.0, Outcome.SUCCESS)])
    ledger.claim_slots([claim("j", 200.0, index=2)])
    ledger.claim_slots([claim("j", 10.0, index=3, trigger=Trigger.BACKFILL)])
    record(ledger, [missed_doc("j", 300.0, count=2)])
    heads = ledger.ledger_heads()
    assert set(heads) == {"j", "k"}
    j = heads["j"]
    assert (j.last_slot, j.max_index) == (300.0, 3)
    assert j.newest is not None and (j.newest.slot, j.newest.index, j.newest.state) == (200.0, 2, SlotState.CLAIMED)
    assert set(ledger.ledger_heads(["k", "nobody"])) == {"k"}


def test_slot_entries_cover_the_half_open_range(ledger):
    ledger.claim_slots([claim("j", float(t), index=t) for t in (1, 2, 3)])
    assert sorted(e.slot for e in ledger.slot_entries("j", 1.0, 3.0).values()) == [2.0, 3.0]


def test_prune_keeps_each_jobs_newest_entry_and_newest_run(ledger):
    ledger.claim_slots([claim("j", float(t), index=t) for t in range(1, 6)])
    record(ledger, [missed_doc("j", 6.0), missed_doc("m", 1.0)])
    removed = ledger.prune_ledger(before=1000.0)
    assert removed == 4
    assert sorted(e.slot for e in ledger.slot_entries("j", 0.0, 100.0).values()) == [5.0, 6.0]
    assert [e.slot for e in ledger.slot_entries("m", 0.0, 100.0).values()] == [1.0]
    head = ledger.ledger_heads()["j"]
    assert head.last_slot == 6.0 and head.newest is not None and head.newest.slot == 5.0


def test_the_ledger_survives_a_reopen(backend):
    store = backend.make()
    store.claim_slots([claim("j", 100.0)])
    store.close()
    again = backend.make()
    assert again.claim_slots([claim("j", 100.0, owner="life-2")]) != {}
    assert isinstance(again.ledger_heads()["j"].newest, LedgerEntry)


@pytest.fixture(params=["sqlite", "mongo"])
def backend(request, tmp_path):
    made = Backend(request.param, request, tmp_path)
    yield made
    made.cleanup()


@pytest.mark.system
def test_a_system_on_each_store_claims_its_slots_and_plans_a_restart_from_the_ledger(backend, tmp_path):
    """End to end on both stores: runs claim their slots, results reach the ledger, and after a stop
    of several intervals the restart records the slots it missed (policy skip) exactly once."""
    options = {"workers": 1, "minimum_interval": 0.0, "no_start_offset": True, "journal_flush_interval": 0.01,
               "task_packages": "tests", "web": False, "shutdown_grace": 1.0}
    if backend.name == "sqlite":
        options["db_uri"] = f"sqlite:///{tmp_path}/system.db"
    else:
        options.update(db_uri=backend.service.uri, db_name=backend.db_name, db_timeout=2.0)
    spec = JobSpec(name="tick", classname="tests.fixtures:Ok", interval_s=0.2, misfire="skip", origin=Origin.CONFIG)

    def successes(system: System) -> list[dict]:
        system.flush()
        return system.store.find(Query(type="result", job_id=spec.job_id, outcome="success", limit=1000)).items

    first = System(Settings(options), [spec]).start()
    try:
        assert first.wait_until(lambda: len(successes(first)) >= 2, 30)
    finally:
        first.shutdown(grace_s=1.0)
    stopped = time.time()
    assert first.wait_until(lambda: time.time() >= stopped + 1.0, 5)  # five intervals down
    second = System(Settings(options), [spec]).start()
    try:
        assert second.wait_until(lambda: any(d["started_at"] > stopped for d in successes(second)), 30)
        second.flush()
        missed = second.store.find(Query(type="result", job_id=spec.job_id, outcome="missed", limit=1000)).items
        ran = successes(second)
        heads = second.store.ledger_heads([spec.job_id])  # type: ignore[attr-defined]
        view = second.ask(GetJob(spec.job_id))
    finally:
        second.shutdown(grace_s=1.0)
    missed_keys = [round(d["slot"] * 1000) for d in missed]
    ran_keys = [round(d["slot"] * 1000) for d in ran]
    assert len(missed_keys) >= 4 and len(set(missed_keys)) == len(missed_keys)
    assert not set(missed_keys) & set(ran_keys) and len(set(ran_keys)) == len(ran_keys)
    # compared as ledger keys (whole milliseconds): a float slot and its rounded key differ by < 1 ms
    assert round(heads[spec.job_id].last_slot * 1000) >= max(missed_keys)
    assert round(view["slot"] * 1000) > max(missed_keys)
