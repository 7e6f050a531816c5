"""`actors.rundocs.line_batches`: the worker's task log lines become line batches, one per stretch of a run."""

from __future__ import annotations

from actors.jobs import Run
from actors.rundocs import line_batches
from actors.store.runlines import expand, weight


def _run(job_id: str, index: int) -> Run:
    return Run(job_id=job_id, name=f"name-{job_id}", classname="tests.tasks:Echo", kwargs={}, index=index, attempt=0,
               due_at=0.0, interval_s=60.0, parent=("root",), timeout_s=None)


def test_consecutive_lines_of_a_run_share_one_batch_in_order():
    a, b = _run("a", 3), _run("b", 1)
    records = [(a.run_id, 1.0, 20, "task.a", "a0"), (a.run_id, 2.0, 40, "task.a.x", "a1"),
               (b.run_id, 3.0, 20, "task.b", "b0"), (a.run_id, 4.0, 20, "task.a", "a2")]
    docs = line_batches(records, {a.run_id: a, b.run_id: b})
    assert [weight(doc) for doc in docs] == [2, 1, 1], "a new batch each time the run changes"
    assert docs[0] == {"type": "reslog", "run_id": "a:3:0", "job_id": "a", "name": "name-a",
                       "classname": "tests.tasks:Echo", "index": 3, "attempt": 0,
                       "lines": [[1.0, 20, "task.a", "a0"], [2.0, 40, "task.a.x", "a1"]]}
    lines = [line for doc in docs for line in expand(doc)]
    assert [(line["job_id"], line["time"], line["level"], line["logger"], line["msg"]) for line in lines] == [
        ("a", 1.0, 20, "task.a", "a0"), ("a", 2.0, 40, "task.a.x", "a1"), ("b", 3.0, 20, "task.b", "b0"),
        ("a", 4.0, 20, "task.a", "a2")]


def test_a_finished_run_is_rebuilt_from_its_id_and_foreign_ids_are_dropped():
    records = [("gone:7:2", 1.0, 20, "task.g", "late"), ("not-a-run-id", 2.0, 20, "x", "dropped"),
               ("gone:7:2", 3.0, 20, "task.g", "later")]
    docs = line_batches(records, {})
    assert [doc["lines"] for doc in docs] == [[[1.0, 20, "task.g", "late"]], [[3.0, 20, "task.g", "later"]]]
    assert {(doc["job_id"], doc["index"], doc["attempt"]) for doc in docs} == {("gone", 7, 2)}
    assert line_batches([], {}) == []
