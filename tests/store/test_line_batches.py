"""Line batches of task log lines (`actors.store.runlines`) on every store backend.

A batch goes in as one document and every reader sees one ``reslog`` document per line with
its own consecutive seq: SQLite keeps the batch packed (`actors.store.sqlite_runlines`),
MongoDB expands it on insert. The same tests run on a SQLite file and on the real FerretDB
(the contract tests' `Backend`).
"""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest

from actors.journal import Journal, JournalConfig
from actors.messages import GetStatus, Records
from actors.routing import Directory
from actors.store.base import Query, Store, poll_tail, tail_documents
from actors.store.runlines import expand
from tests.store.test_contract import DEADLINE_S, Backend, log, result, wait_for

HEAD = {"type": "reslog", "run_id": "j1:1:0", "job_id": "j1", "name": "sum", "classname": "Sum", "index": 1,
        "attempt": 0}  # fmt: skip


def batch(tag: str, count: int, *, t0: float = 1000.0, level: int = 20, logger: str = "task.sum",
          job_id: str = "j1", index: int = 1) -> dict[str, Any]:  # fmt: skip
    """A line batch of *count* lines ``{tag}-0 ..``, one second apart from *t0*."""
    return {**HEAD, "job_id": job_id, "index": index, "run_id": f"{job_id}:{index}:0",
            "lines": [[t0 + i, level, logger, f"{tag}-{i}"] for i in range(count)]}


def msgs(docs: list[dict[str, Any]]) -> list[str]:
    return [str(doc.get("tag") or doc.get("msg")) for doc in docs]


@pytest.fixture(params=["sqlite", "mongo"])
def backend(request, tmp_path):
    made = Backend(request.param, request, tmp_path)
    yield made
    made.cleanup()


@pytest.fixture
def store(backend):
    return backend.make()


def test_a_batch_reads_back_as_one_document_per_line_with_consecutive_seqs(store):
    given = [log("s1"), batch("b", 5), result("r1")]
    assert store.insert(given) == 7
    every = store.read_after(0, limit=100)
    assert [doc["seq"] for doc in every] == list(range(1, 8))
    assert msgs(every) == ["s1", "b-0", "b-1", "b-2", "b-3", "b-4", "r1"]
    line = every[3]
    assert line == {**HEAD, "time": 1002.0, "level": 20, "logger": "task.sum", "msg": "b-2", "seq": 4}
    assert [doc for doc in every[1:6]] == expand(given[1], 2)
    assert msgs(store.read_after(3, limit=2)) == ["b-2", "b-3"], "read_after starts inside a batch"
    assert msgs(store.read_after(0, ["reslog"], limit=100)) == [f"b-{i}" for i in range(5)]
    assert msgs(store.read_after(0, ["log", "result"])) == ["s1", "r1"]
    page = store.find(Query())
    assert [doc["seq"] for doc in page.items] == list(range(7, 0, -1)) and page.total == 7
    assert store.last_seq() == 7
    rows = sorted(store.iter_rows(Query(type="reslog"), ["msg", "level", "job_id"]))
    assert rows == [(2 + i, 1000.0 + i, "reslog", f"b-{i}", 20, "j1") for i in range(5)]
    assert wait_for("stats counting lines", lambda: store.stats()["docs"] == 7)


def test_the_caller_s_batch_is_not_modified(store):
    given = batch("b", 3)
    before = repr(given)
    store.insert([given])
    assert repr(given) == before


@pytest.mark.parametrize("how", ["tail_documents", "poll_tail"])
def test_the_live_tail_yields_each_line_of_a_batch(store, how):
    store.insert([log("old")])
    after = store.last_seq()
    stop = threading.Event()
    watchdog = threading.Timer(DEADLINE_S, stop.set)
    watchdog.start()
    received: list[dict[str, Any]] = []
    store.insert([batch("a", 3), log("sys"), batch("b", 2)])
    tail = tail_documents if how == "tail_documents" else poll_tail
    try:
        for doc in tail(store, after, ["reslog"], stop, 0.05):
            received.append(doc)
            if len(received) == 5:
                stop.set()
    finally:
        watchdog.cancel()
    assert msgs(received) == ["a-0", "a-1", "a-2", "b-0", "b-1"]
    assert [doc["seq"] for doc in received] == [after + 1, after + 2, after + 3, after + 5, after + 6]


def test_filters_cut_batches_by_time_level_logger_and_job(store):
    mixed = {**HEAD, "lines": [[100.0, 10, "task.sum", "d0"], [101.0, 10, "task.sum", "d1"],
                               [102.0, 40, "task.sum", "e0"], [103.0, 20, "task.sum.inner", "i0"],
                               [104.0, 20, "task.sum.inner", "i1"], [105.0, 10, "task.sum", "d2"]]}  # fmt: skip
    store.insert([mixed, batch("other", 4, t0=100.0, job_id="j2"), result("r", time=102.5), log("s", time=103.5)])

    def found(query: Query) -> tuple[list[str], int]:
        page = store.find(query)
        return msgs(page.items), page.total

    assert found(Query(type="reslog", job_id="j1")) == (["d2", "i1", "i0", "e0", "d1", "d0"], 6)
    assert found(Query(type="reslog", since=101.5, until=104.0)) == (["other-3", "other-2", "i1", "i0", "e0"], 5)
    assert found(Query(job_id="j1", since=102.0, until=103.0)) == (["r", "i0", "e0"], 3)
    assert found(Query(min_level=20, job_id="j1")) == (["i1", "i0", "e0"], 3)
    assert found(Query(logger_prefix="task.sum.inner")) == (["i1", "i0"], 2)
    assert found(Query(logger_prefix="task.sum", min_level=30)) == (["e0"], 1)
    assert found(Query(job_id="j2", index=1, limit=2, offset=1)) == (["other-2", "other-1"], 4)
    assert found(Query(type="reslog", job_id="j1", index=2)) == ([], 0)
    assert found(Query(type="result")) == (["r"], 1), "run filters never match task log lines"
    assert found(Query(since=103.0, until=103.9)) == (["s", "other-3", "i0"], 3)
    rows = store.iter_rows(Query(type="reslog", since=102.0, until=103.0), ["msg"])
    assert sorted(row[3] for row in rows) == ["e0", "i0", "other-2", "other-3"]


def test_a_mixed_stream_merges_by_seq_in_every_reader(store):
    expected: list[str] = []
    for round_ in range(6):
        docs: list[dict[str, Any]] = [result(f"r{round_}"), batch(f"b{round_}", 3 + round_), log(f"s{round_}"),
                                      batch(f"c{round_}", 2)]  # fmt: skip
        store.insert(docs)
        expected += [f"r{round_}", *(f"b{round_}-{i}" for i in range(3 + round_)), f"s{round_}",
                     f"c{round_}-0", f"c{round_}-1"]  # fmt: skip
    total = len(expected)
    every = store.read_after(0, limit=10_000)
    assert msgs(every) == expected and [doc["seq"] for doc in every] == list(range(1, total + 1))
    paged: list[str] = []
    for offset in range(0, total, 7):
        page = store.find(Query(limit=7, offset=offset))
        assert page.total == total and page.more == (offset + 7 < total)
        paged += msgs(page.items)
    assert paged == expected[::-1]
    chunks: list[str] = []
    seq = 0
    while docs_ := store.read_after(seq, limit=4):
        chunks += msgs(docs_)
        seq = docs_[-1]["seq"]
    assert chunks == expected
    rows = list(store.iter_rows(Query(), ["msg", "tag"], batch=3))
    assert sorted(row[0] for row in rows) == list(range(1, total + 1))


def test_a_batch_with_ancestry_is_found_by_parent(store):
    store.insert([{**batch("p", 3), "parent": ["root"]}, batch("q", 2)])
    page = store.find(Query(parent="root"))
    assert msgs(page.items) == ["p-2", "p-1", "p-0"] and page.total == 3


def test_seqs_go_on_after_a_batch_across_a_restart(backend):
    store = backend.make()
    store.insert([log("first"), batch("b", 4)])
    store.close()
    again = backend.make()
    assert again.last_seq() == 5 and again.stats()["docs"] == 5
    again.insert([log("after"), batch("c", 2)])
    assert [(msg, doc["seq"]) for msg, doc in zip(msgs(again.read_after(0)), again.read_after(0), strict=True)] == [
        ("first", 1), ("b-0", 2), ("b-1", 3), ("b-2", 4), ("b-3", 5), ("after", 6), ("c-0", 7), ("c-1", 8)]


def test_an_odd_line_is_kept_whole_as_its_message(store):
    odd = {**HEAD, "lines": [[1.0, 20, "task.sum", "fine"], "not a line", [2.0, "WARN", None, {"k": 1}]]}
    assert store.insert([odd]) == 3
    docs = store.read_after(0)
    assert [(d["time"], d["level"], d["logger"], d["msg"]) for d in docs] == [
        (1.0, 20, "task.sum", "fine"), (None, None, None, "not a line"), (2.0, "WARN", None, {"k": 1})]
    assert store.find(Query(job_id="j1", limit=0)).total == 3

def _kept(store: Store) -> list[dict[str, Any]]:
    return store.read_after(0, limit=100_000)


def test_pruning_by_max_docs_keeps_the_newest_lines(backend):
    store = backend.make(max_docs=25)
    for round_ in range(4):
        store.insert([batch(f"b{round_}", 10)])
    wait_for("eviction down to max_docs", lambda: store.stats()["docs"] <= 25)
    kept = _kept(store)
    seqs = [doc["seq"] for doc in kept]
    assert seqs == list(range(seqs[0], 41)), "the newest lines are kept, oldest evicted first"
    assert 16 <= len(kept) <= 25, "a batch goes whole or in part, never more than one batch beyond the cap"
    assert store.stats()["docs"] == len(kept) == store.find(Query(limit=0)).total
    assert msgs(kept)[-1] == "b3-9"


def test_pruning_by_size_keeps_the_newest_lines(backend):
    capacity = 64 * 1024
    store = backend.make(size_bytes=capacity)
    for round_ in range(8):
        store.insert([{**batch(f"b{round_}", 50), "lines": [[1000.0 + i, 20, "task.sum", f"b{round_}-{i}" + "x" * 300]
                                                             for i in range(50)]}, log(f"s{round_}", pad=300)])
    settled = wait_for("the store to fit its capacity",
                       lambda: (s := store.stats())["bytes"] <= capacity and s["docs"] < 408 and s)  # fmt: skip
    kept = _kept(store)
    seqs = [doc["seq"] for doc in kept]
    assert seqs == list(range(seqs[0], 409)) and len(kept) == settled["docs"]
    assert msgs(kept)[-1] == "s7" and kept[-2]["msg"].startswith("b7-49")
    assert store.find(Query(limit=0)).total == len(kept)


def test_the_journal_counts_lines_and_replays_batches_exactly_once_after_an_outage(backend, monkeypatch):
    """A real Journal gets 1,000 task log lines in batches of 10 while the store goes away."""
    store = backend.make()
    job_id = f"outage-{uuid.uuid4().hex[:8]}"
    with backend.outage(monkeypatch) as (down, up):
        journal = Journal.start(store, JournalConfig(flush_interval_s=0.02, echo_task_logs=False), Directory())
        try:

            def stats() -> dict[str, Any]:
                answer = journal.ask(GetStatus(), timeout=30)
                assert isinstance(answer, dict)
                return answer

            def send(first: int, last: int) -> None:
                for start in range(first, last, 10):
                    lines = [[1000.0 + i, 20, "task.x", f"line {i}"] for i in range(start, start + 10)]
                    journal.tell(Records([{**batch("x", 0, job_id=job_id), "lines": lines}]))

            send(0, 300)
            wait_for("the first 300 written", lambda: stats()["written"] >= 300)
            down()
            send(300, 1000)
            wait_for("a failed write", lambda: stats()["failed_writes"] >= 2)
            assert stats()["buffered"] == 700, "the buffer counts lines, not batches"
            up()
            final = wait_for("all 1,000 written",
                             lambda: (s := stats())["written"] == 1000 and s["buffered"] == 0 and s)  # fmt: skip
        finally:
            journal.stop(timeout=30)
    assert final["dropped"] == 0
    page = store.find(Query(type="reslog", job_id=job_id, limit=5000))
    assert page.total == 1000
    assert [item["msg"] for item in page.items] == [f"line {i}" for i in range(999, -1, -1)]
    seqs = [item["seq"] for item in page.items]
    assert seqs == list(range(seqs[0], seqs[0] - 1000, -1)), "consecutive seqs, nothing stored twice"


def test_the_journal_bound_drops_the_oldest_lines_of_a_batch(backend, monkeypatch):
    store = backend.make()
    with backend.outage(monkeypatch) as (down, up):
        down()
        config = JournalConfig(buffer_limit=25, flush_interval_s=0.02, echo_task_logs=False)
        journal = Journal.start(store, config, Directory())

        def stats() -> dict[str, Any]:
            answer = journal.ask(GetStatus(), timeout=30)
            assert isinstance(answer, dict)
            return answer

        try:
            for round_ in range(4):
                journal.tell(Records([batch(f"b{round_}", 10)]))
            bounded = wait_for("the bound applied", lambda: (s := stats())["dropped"] == 15 and s)
            assert bounded["buffered"] == 25
            up()
            wait_for("the rest written", lambda: stats()["written"] == 25)
        finally:
            journal.stop(timeout=30)
    assert msgs(_kept(store)) == [*(f"b1-{i}" for i in range(5, 10)), *(f"b2-{i}" for i in range(10)),
                                  *(f"b3-{i}" for i in range(10))]  # fmt: skip
