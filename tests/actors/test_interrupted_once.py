"""A run found in flight at a restart is recorded ``interrupted`` once, however many restarts
follow before the run ledger hears of that record (found by the SIGKILL burst test once the
ledger's outcomes were written by the scheduler, a little after the result is stored): the
next restart takes the stored ``interrupted`` result as the run's outcome and resumes it."""

from __future__ import annotations

import time

from actors.jobs import JobSpec, Origin
from actors.jobstate import Limits
from actors.ledger import Claim
from actors.resultdocs import interrupted_doc
from actors.store import Query
from actors.store.sqlite import SQLiteStore
from actors.system import System
from actors.timetable import Timetable
from tests.actors.test_system import settings
from tests.polling import eventually


def test_an_interrupted_run_already_recorded_is_resumed_without_a_second_record(tmp_path):
    spec = JobSpec(name="once", classname="tests.fixtures:Ok", interval_s=3600.0, only_once=True, origin=Origin.API)
    now = time.time()
    timetable = Timetable(Limits(minimum_interval_s=0.0, start_offset=False), rng=lambda: 0.5)
    job = timetable.add(spec, now - 10.0, first_due_at=now - 5.0)
    timetable.due(now)
    run = timetable.start(job.job_id, now - 5.0)
    assert run is not None and run.slot is not None
    # What a server that died twice leaves: the record shows the run in flight, the ledger its claim
    # without an outcome, the store the interrupted result the first restart wrote for it.
    store = SQLiteStore(tmp_path / "store.db", size_bytes=1 << 24)
    store.open()
    try:
        store.save_jobs([job.to_record()])
        assert store.claim_slots([Claim(job.job_id, run.slot, run.index, run.attempt, str(run.trigger), "dead-life",
                                        now - 5.0)]) == {}
        store.insert([interrupted_doc(job, run, now - 2.0)])
    finally:
        store.close()

    system = System(settings(tmp_path)).start()
    try:
        def results() -> list[dict]:
            system.flush()
            return system.store.find(Query(type="result", job_id=job.job_id, limit=100)).items

        assert eventually(lambda: any(d["outcome"] == "success" for d in results()), 20.0)
        found = sorted((d["attempt"], d["outcome"]) for d in results())
        assert found == [(0, "interrupted"), (1, "success")], found
    finally:
        system.shutdown(grace_s=1.0)
