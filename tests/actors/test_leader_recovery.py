"""The timetable's rules for a new leader (issue 15), with an injected clock: a run in flight on a
live instance is left to it (at a restore and at a refused claim), an interrupted catch-up run
keeps the catch-up slots planned after it, a follower's mirror shows records as they are, and
the run ledger's term rule. Pure: no thread, no store."""

from __future__ import annotations

from actors.jobs import JobSpec, JobState, Origin, Outcome, RunReport, Trigger
from actors.ledger import Claim, LedgerEntry, LedgerHead, SlotState, claim_allowed
from actors.policy import RetryPolicy
from actors.timetable import Limits, Timetable


def make() -> Timetable:
    limits = Limits(minimum_interval_s=0.0, retry=RetryPolicy(max_retries=0, base_delay_s=1.0, max_delay_s=10.0,
                                                              jitter=0.0), start_offset=False)
    return Timetable(limits, rng=lambda: 0.5)


def every(seconds: float, **kw) -> JobSpec:
    return JobSpec(name="j", classname="Test", interval_s=seconds, origin=Origin.API, **kw)


def head(job_id: str, entry: LedgerEntry, last: float | None = None) -> LedgerHead:
    return LedgerHead(job_id, entry.slot if last is None else last, entry.index, entry)


def run_through(tt: Timetable, job_id: str, now: float, until_slot: float) -> list[tuple[float, int, str]]:
    """Start and finish the job's runs one after the other from *now*: (slot, attempt, trigger) of each."""
    ran = []
    for _ in range(50):
        job = tt.get(job_id)
        assert job is not None and job.due_at is not None
        now = max(now, job.due_at)
        run = tt.start(job_id, now)
        assert run is not None, job.note
        assert run.slot is not None
        ran.append((run.slot, run.attempt, str(run.trigger)))
        tt.finish(job_id, RunReport(Outcome.SUCCESS, now, now + 1.0), now + 1.0)
        now += 1.0
        if run.slot >= until_slot:
            return ran
    raise AssertionError(f"never reached slot {until_slot}: {ran}")


def test_an_interrupted_catch_up_run_is_resumed_and_the_slots_planned_after_it_still_run():
    spec = every(60, misfire="all", misfire_grace="unlimited")
    first = make()
    job = first.add(spec, now=0.0)
    run_through(first, job.job_id, 0.0, until_slot=0.0)
    done = LedgerEntry(job.job_id, 0.0, SlotState.DONE, index=1, outcome="success")
    second = make()  # down from 1 to 250: slots 60..240 fell due
    job2 = second.restore(job.to_record(), now=250.0, head=head(job.job_id, done))
    run = second.start(job.job_id, 250.0)
    assert run is not None and run.slot == 60.0 and job2.catchup == [120.0, 180.0, 240.0]
    in_flight = LedgerEntry(job.job_id, 60.0, SlotState.CLAIMED, index=2, trigger=str(run.trigger), at=250.0)
    third = make()  # the leader died during the catch-up run of slot 60
    third.restore(job2.to_record(), now=260.0, head=head(job.job_id, in_flight))
    _, interrupted = third.take_records()
    assert [(r.slot, r.attempt) for _, r in interrupted] == [(60.0, 0)]
    ran = run_through(third, job.job_id, 260.0, until_slot=300.0)
    assert ran == [(60.0, 1, "resume"), (120.0, 0, "catchup"), (180.0, 0, "catchup"), (240.0, 0, "catchup"),
                   (300.0, 0, "schedule")]


def test_a_restore_leaves_a_run_in_flight_on_a_live_instance_to_it():
    first = make()
    job = first.add(every(60), now=0.0)
    run = first.start(job.job_id, 0.0)
    assert run is not None
    entry = LedgerEntry(job.job_id, 0.0, SlotState.CLAIMED, index=1, owner="other-instance", at=0.0, term=1)
    again = make()
    restored = again.restore(job.to_record(), now=5.0, head=head(job.job_id, entry), elsewhere={entry.slot_id})
    assert again.take_records() == ([], [])  # not recorded interrupted
    assert (restored.running, restored.state, restored.slot, restored.due_at) == (None, JobState.SCHEDULED, 60.0,
                                                                                  60.0)
    assert "running on instance other-instance" in restored.note


def test_without_a_live_owner_the_same_restore_resumes_the_run():
    first = make()
    job = first.add(every(60), now=0.0)
    assert first.start(job.job_id, 0.0) is not None
    entry = LedgerEntry(job.job_id, 0.0, SlotState.CLAIMED, index=1, owner="dead-instance", at=0.0, term=1)
    again = make()
    again.restore(job.to_record(), now=5.0, head=head(job.job_id, entry))
    resumed = again.start(job.job_id, 5.0)
    assert resumed is not None and (resumed.slot, resumed.attempt, resumed.trigger) == (0.0, 1, Trigger.RESUME)


def test_a_claim_refused_by_a_run_in_flight_elsewhere_moves_on_without_resuming_it():
    tt = make()
    job = tt.add(every(60), now=0.0)
    run = tt.start(job.job_id, 0.0)
    assert run is not None
    entry = LedgerEntry(job.job_id, 0.0, SlotState.CLAIMED, index=1, owner="other", at=0.0, term=2)
    tt.claim_refused(job.job_id, run, entry, now=1.0, elsewhere=True)
    assert tt.take_records() == ([], [])
    nxt = tt.start(job.job_id, 60.0)
    assert nxt is not None and (nxt.slot, nxt.attempt, nxt.index) == (60.0, 0, 2)


def test_a_mirror_shows_the_record_as_it_is_and_is_never_due():
    tt = make()
    job = tt.add(every(60), now=0.0)
    assert tt.start(job.job_id, 0.0) is not None
    mirror = make()
    copy = mirror.mirror(job.to_record(), now=500.0)
    assert copy.running is not None and copy.running.run_id == f"{job.job_id}:1:0"
    assert copy.state is JobState.RUNNING and mirror.due(10_000.0) == [] and mirror.next_wake() is None
    assert mirror.take_records() == ([], [])
    mirror.reset()
    assert len(mirror) == 0


def test_runs_carry_the_timetable_term():
    tt = make()
    tt.term = 7
    job = tt.add(every(60), now=0.0)
    run = tt.start(job.job_id, 0.0)
    assert run is not None and run.term == 7


def test_a_claim_never_takes_over_an_entry_of_a_newer_term():
    newer = LedgerEntry("j", 0.0, SlotState.CLAIMED, attempt=0, index=1, owner="new", term=3)
    older = LedgerEntry("j", 0.0, SlotState.CLAIMED, attempt=0, index=1, owner="old", term=2)

    def resume(owner: str, term: int) -> Claim:
        return Claim("j", 0.0, 1, 1, str(Trigger.RESUME), owner, 1.0, term)

    assert not claim_allowed(newer, resume("old", 2))  # the old leader cannot resume what the new one claimed
    assert claim_allowed(older, resume("new", 3))  # the new leader resumes a dead leader's run
    assert claim_allowed(older, resume("old", 2))  # within one term, the usual rule
