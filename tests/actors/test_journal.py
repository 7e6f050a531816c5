"""The Journal actor against a real SQLite store: batching, poison documents, echo."""

from __future__ import annotations

import io
import json
import time

import pytest

from actors import logs
from actors.journal import Journal, JournalConfig
from actors.messages import Flush, Records
from actors.routing import Directory
from actors.store import Query
from actors.store.sqlite import SQLiteStore


@pytest.fixture
def store(tmp_path):
    s = SQLiteStore(str(tmp_path / "j.db"), size_bytes=1 << 26)
    s.open()
    yield s
    s.close()


@pytest.fixture
def journal(store):
    ref = Journal.start(store, JournalConfig(flush_interval_s=0.01), Directory())
    yield ref
    ref.stop()


def test_a_document_the_store_refuses_is_stored_stringified_and_does_not_block_the_queue(store, journal):
    good = {"type": "log", "time": time.time(), "level": 20, "logger": "t", "msg": "before"}
    bad = {"type": "log", "time": time.time(), "level": 20, "logger": "t", "msg": "poison", "fields": {"x": object()}}
    after = {"type": "log", "time": time.time(), "level": 20, "logger": "t", "msg": "after"}
    journal.tell(Records((good, bad, after)))
    stats = journal.ask(Flush(), timeout=10)
    assert stats["written"] == 3 and stats["dropped"] == 0 and stats["buffered"] == 0
    docs = {d["msg"]: d for d in store.find(Query(type="log", limit=10)).items}
    assert set(docs) == {"before", "poison", "after"}
    assert isinstance(docs["poison"]["fields"]["x"], str)
    assert any("stored stringified" in note for note in docs["poison"]["notes"])


def test_documents_are_written_in_batches_and_counted(store, journal):
    docs = [{"type": "reslog", "time": time.time(), "job_id": "j", "index": 1, "attempt": 0, "level": 20,
             "logger": "task.x", "msg": f"line {i}"} for i in range(12_000)]
    for start in range(0, len(docs), 1000):
        journal.tell(Records(docs[start:start + 1000]))
    stats = journal.ask(Flush(), timeout=30)
    assert stats["written"] == 12_000
    assert store.find(Query(type="reslog", job_id="j", limit=1)).total == 12_000


def test_task_lines_are_echoed_to_stdout_as_json_lines(store, journal):
    out = io.StringIO()
    logs.configure_logging(level="INFO", stream=out)
    journal.tell(Records(({"type": "reslog", "time": 1795400000.25, "job_id": "j", "name": "job", "index": 3,
                           "attempt": 1, "level": 20, "logger": "task.job", "msg": "hello <b>"},
                          {"type": "reslog", "time": 1795400000.5, "job_id": "j", "index": 3, "attempt": 1,
                           "level": 10, "logger": "task.job", "msg": "debug is filtered"})))
    journal.ask(Flush(), timeout=10)
    deadline = time.monotonic() + 5
    while "hello" not in out.getvalue() and time.monotonic() < deadline:
        time.sleep(0.01)
    lines = [json.loads(line) for line in out.getvalue().splitlines() if "das_actors.task" in line]
    assert len(lines) == 1
    line = lines[0]
    assert line["event"] == "hello <b>" and line["logger"] == "das_actors.task" and line["level"] == "info"
    assert line["timestamp"] == "2026-11-23T02:13:20.250000Z"
    assert (line["job"], line["index"], line["attempt"], line["task_logger"]) == ("job", 3, 1, "task.job")


def test_line_batches_are_counted_in_lines_and_echoed_line_by_line(store, journal):
    out = io.StringIO()
    logs.configure_logging(level="INFO", stream=out)
    lines = [[1795400000.0 + i, 20, "task.job", f"batched {i}"] for i in range(3000)]
    for start in range(0, 3000, 1000):
        journal.tell(Records(({"type": "reslog", "run_id": "j:4:0", "job_id": "j", "name": "job", "index": 4,
                               "attempt": 0, "lines": lines[start:start + 1000]},)))
    stats = journal.ask(Flush(), timeout=30)
    assert stats["written"] == 3000 and stats["buffered"] == 0
    page = store.find(Query(type="reslog", job_id="j", index=4, limit=2))
    assert page.total == 3000 and [item["msg"] for item in page.items] == ["batched 2999", "batched 2998"]
    deadline = time.monotonic() + 10
    while "batched 2999" not in out.getvalue() and time.monotonic() < deadline:
        time.sleep(0.01)
    echoed = [json.loads(line) for line in out.getvalue().splitlines() if "batched" in line]
    assert [line["event"] for line in echoed] == [f"batched {i}" for i in range(3000)]
    assert {(line["job"], line["index"], line["task_logger"]) for line in echoed} == {("job", 4, "task.job")}


def _log_doc(msg: str) -> dict:
    return {"type": "log", "time": time.time(), "level": 20, "logger": "t", "msg": msg}


def test_the_timers_writes_give_way_to_a_burst_of_due_runs_and_follow_it(store):
    from actors.pressure import HERD_MIN, DispatchPressure

    pressure = DispatchPressure()
    pressure.note(HERD_MIN * 10, 1)  # the scheduler hands out a herd: the line moves
    journal = Journal.start(store, JournalConfig(flush_interval_s=0.01), Directory(), pressure)
    try:
        journal.tell(Records((_log_doc("during the burst"),)))
        deadline = time.monotonic() + 0.15  # 15 flush intervals: held all along
        moves = 1
        while time.monotonic() < deadline:
            moves += 1
            pressure.note(HERD_MIN * 10, moves)
            assert store.find(Query(type="log", limit=10)).total == 0
        pressure.note(0, moves + 1)  # the burst is handed out
        deadline = time.monotonic() + 5.0
        while store.find(Query(type="log", limit=10)).total == 0:
            assert time.monotonic() < deadline, "the held writes never came"
    finally:
        journal.stop()


def test_a_burst_that_never_ends_holds_the_writes_half_a_second_at_most_and_a_flush_never(store):
    from actors.journal import HOLD_MAX_S
    from actors.pressure import HERD_MIN, DispatchPressure

    pressure = DispatchPressure()
    journal = Journal.start(store, JournalConfig(flush_interval_s=0.01), Directory(), pressure)
    try:
        pressure.note(HERD_MIN * 10, 1)
        journal.tell(Records((_log_doc("flushed"),)))
        stats: dict = journal.ask(Flush(), timeout=10)  # type: ignore[assignment]
        assert stats["written"] == 1  # an explicit flush writes at once
        started = time.monotonic()
        journal.tell(Records((_log_doc("held, then written"),)))
        moves = 1
        while store.find(Query(type="log", limit=10)).total < 2:
            moves += 1
            pressure.note(HERD_MIN * 10, moves)  # still moving, still a backlog
            assert time.monotonic() - started < HOLD_MAX_S + 5.0, "held past HOLD_MAX_S"
        assert time.monotonic() - started >= HOLD_MAX_S * 0.9
    finally:
        journal.stop()


def test_a_bulk_save_of_job_records_hands_the_freed_memory_back(store, journal, monkeypatch):
    """A chunk of a bulk save (a fresh start, a restore) asks glibc to return what its records
    held (`trim_heap`); an ordinary save of a few records does not pay for that."""
    from actors import journal as journal_module
    from actors.jobs import JobSpec, Origin
    from actors.messages import SaveJobs
    from actors.timetable import Limits, Timetable

    trims: list[int] = []

    def trim() -> bool:
        trims.append(1)
        return True

    monkeypatch.setattr(journal_module, "trim_heap", trim)
    timetable = Timetable(Limits(minimum_interval_s=0.0), rng=lambda: 0.5)
    now = time.time()
    records = [timetable.add(JobSpec(name=f"bulk-{i}", classname="Echo", interval_s=3600.0, origin=Origin.API),
                             now).to_record() for i in range(journal_module.TRIM_AFTER_RECORDS)]
    journal.tell(SaveJobs(records[:10], ()))
    journal.ask(Flush(), timeout=30)
    assert trims == [] and sum(1 for _ in store.iter_jobs()) == 10
    journal.tell(SaveJobs(records, ()))
    journal.ask(Flush(), timeout=30)
    assert trims == [1] and sum(1 for _ in store.iter_jobs()) == journal_module.TRIM_AFTER_RECORDS
