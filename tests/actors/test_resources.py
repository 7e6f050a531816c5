"""Resources a task can exhaust (issue 11).

The probes: a 50 MB result was stored whole (52 MB of HTML, the whole history evicted by a
second one); a task printing 1 GB took the server to 1.45 GB RSS; a grandchild that ignores
SIGTERM survived a timeout once the group leader had exited; a live option changed through
the API did not reach the workers. Each is done for real here, at a bounded volume (the
1 GB measurement is `benchmarks/task_floods.py`).
"""

from __future__ import annotations

import json
import os
import time

import pytest

from actors.logbudget import MAX_LINE_CHARS, LogBudget
from actors.payload import PREVIEW_BYTES, bounded_result, bounded_result_sized
from tests.actors.test_system import wait_results
from tests.web.conftest import API, client, make_facade, start_system, unique, wait_for

A = "tests.attack_tasks:"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is dead for our purpose (its parent has not reaped it yet)
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


# ----------------------------------------------------------------------------- pure parts
def test_a_result_over_the_cap_is_kept_as_a_bounded_preview():
    notes: list[str] = []
    big = {"blob": "x" * 100_000, **{f"k{i}": i for i in range(100)}}
    kept = bounded_result(big, 10_000, notes)
    assert kept["truncated"] is True and kept["size_bytes"] > 100_000
    assert len(kept["preview"]) == PREVIEW_BYTES and len(kept["keys"]) == 50
    assert notes and "over result_max_bytes (10000)" in notes[0]
    assert bounded_result({"a": 1}, 10_000, []) == {"a": 1}
    assert bounded_result(big, 0, []) == big  # 0: no cap


def test_a_bounded_result_says_how_big_what_it_kept_is():
    big = {"blob": "x" * 100_000}
    assert bounded_result_sized({"a": 1}, 10_000, []) == ({"a": 1}, len('{"a":1}'))
    assert bounded_result_sized(big, 0, [])[1] == len(json.dumps(big, separators=(",", ":")))
    kept, size = bounded_result_sized(big, 10_000, [])
    assert kept["truncated"] is True and PREVIEW_BYTES < size < 10_000  # the stand-in's size, not the result's


def test_the_log_budget_counts_what_it_drops_and_cuts_long_lines():
    budget = LogBudget(max_lines=3, max_chars=0)
    kept = [budget.admit("r", f"line {i}") for i in range(10)]
    assert kept[:3] == ["line 0", "line 1", "line 2"] and kept[3:] == [None] * 7
    lines, chars = budget.end_run("r")
    assert (lines, chars) == (7, 42)
    assert "7 lines (42 characters) dropped" in (budget.note(lines, chars) or "")
    assert budget.note(0, 0) is None
    long = budget.admit("s", "z" * (MAX_LINE_CHARS + 10))
    assert long is not None and long.endswith("[10 characters cut]")
    budget.retain(())
    assert budget.running() == 0



def test_the_log_budget_admits_records_in_bulk_like_one_by_one():
    """`LogBudget.admit_records` (the worker's path) keeps, cuts and counts exactly as `admit`."""
    budget = LogBudget(max_lines=0, max_chars=40)
    records = [("a", 1.0, 20, "t", "a" * 15), ("b", 2.0, 20, "t", 12345), ("a", 3.0, 20, "t", "a" * 15),
               ("a", 4.0, 20, "t", "a" * 15), ("b", 5.0, 20, "t", "z" * (MAX_LINE_CHARS + 3))]
    kept = budget.admit_records(records)
    assert kept[:3] == [records[0], ("b", 2.0, 20, "t", "12345"), records[2]]
    assert len(kept) == 3, "a's third line and b's long line are over the 40 characters"
    assert budget.end_run("a") == (1, 15) and budget.end_run("b") == (1, MAX_LINE_CHARS + 3)
    budget.set_limits(0, 0)
    long = budget.admit_records([("c", 1.0, 20, "t", "z" * (MAX_LINE_CHARS + 3))])
    assert long[0][4].endswith("[3 characters cut]") and budget.running() == 1

# ----------------------------------------------------------------------------- the running server
@pytest.mark.system
def test_a_big_result_is_capped_and_the_pages_stay_small(tmp_path):
    system = start_system(tmp_path, result_max_bytes=64 * 1024, db_size=8 * 1024 * 1024)
    try:
        facade = make_facade(system)
        app = client(facade)
        older = facade.add_job({"name": unique("older"), "classname": "Echo", "interval": 3600,
                                "kwargs": {"value": {"kept": True}}})
        wait_results(system, job_id=older["job_id"])
        job = facade.add_job({"name": unique("big"), "classname": A + "BigResult", "interval": 3600,
                              "kwargs": {"mb": 5}})
        doc = wait_results(system, job_id=job["job_id"])[0]
        assert doc["outcome"] == "success"
        assert doc["result"]["truncated"] is True and doc["result"]["size_bytes"] > 5 * 1024 * 1024
        assert any("over result_max_bytes (65536)" in note for note in doc["notes"])
        assert wait_results(system, job_id=older["job_id"])  # the history was not evicted by it
        page = app.get(f"/runs/{job['job_id']}/1")
        assert len(page.body) < 200_000, len(page.body)
        assert len(app.get(f"{API}/runs/{job['job_id']}/1").body) < 100_000
    finally:
        system.shutdown(grace_s=0.2)


@pytest.mark.system
def test_a_log_flood_is_cut_to_the_budget_with_one_line_saying_so(tmp_path):
    system = start_system(tmp_path, log_max_lines=200, log_max_bytes=1024 * 1024)
    try:
        facade = make_facade(system)
        job = facade.add_job({"name": unique("flood"), "classname": A + "Flood", "interval": 3600,
                              "kwargs": {"lines": 3000, "printed": 3000, "one_long_line_mb": 2}})
        doc = wait_results(system, job_id=job["job_id"])[0]
        assert doc["outcome"] == "success"
        notes = [n for n in doc["notes"] if n.startswith("logs: ")]
        assert len(notes) == 1 and "dropped" in notes[0], doc["notes"]
        system.flush()
        lines = facade.run(job["job_id"], 1)["logs"]
        dropped = [line for line in lines if "dropped" in line["msg"]]
        assert len(lines) == 201 and len(dropped) == 1, (len(lines), dropped)
        assert all(len(line["msg"]) <= MAX_LINE_CHARS + 100 for line in lines)
    finally:
        system.shutdown(grace_s=0.2)


@pytest.mark.system
@pytest.mark.parametrize("then", ["hang", "return"])
def test_a_grandchild_that_ignores_sigterm_does_not_outlive_its_run(tmp_path, then):
    system = start_system(tmp_path, workers=1, shutdown_grace=0.2)
    marker = tmp_path / "grandchild"
    try:
        facade = make_facade(system)
        fields = {"timeout": 1.0} if then == "hang" else {}
        job = facade.add_job({"name": unique(then), "classname": A + "LeaveGrandchild", "interval": 3600,
                              "kwargs": {"marker": str(marker), "then": then}, "retries": 0, **fields})
        wait_for(marker.exists, 30)
        grandchild = int(marker.read_text())
        doc = wait_results(system, job_id=job["job_id"], timeout=30)[0]
        assert doc["outcome"] == ("timeout" if then == "hang" else "success")
        if then == "return":
            assert any("killed 1 process(es)" in note and str(grandchild) in note for note in doc["notes"])
        deadline = time.monotonic() + 10
        while _alive(grandchild) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(grandchild), f"grandchild {grandchild} survived its run ({then})"
    finally:
        system.shutdown(grace_s=0.2)


@pytest.mark.system
def test_keep_task_processes_keeps_them(tmp_path):
    system = start_system(tmp_path, workers=1, keep_task_processes=True)
    marker = tmp_path / "kept"
    grandchild = 0
    try:
        facade = make_facade(system)
        job = facade.add_job({"name": unique("keep"), "classname": A + "LeaveGrandchild", "interval": 3600,
                              "kwargs": {"marker": str(marker)}})
        wait_results(system, job_id=job["job_id"])
        grandchild = int(marker.read_text())
        assert _alive(grandchild)
    finally:
        if grandchild:
            os.kill(grandchild, 9)
        system.shutdown(grace_s=0.2)


@pytest.mark.system
def test_live_options_reach_the_workers(tmp_path):
    system = start_system(tmp_path, workers=1, max_children_per_run=2, log_max_lines=5)
    try:
        facade = make_facade(system)
        app = client(facade)
        before = facade.add_job({"name": unique("kids"), "classname": A + "ManyChildren", "interval": 3600,
                                 "kwargs": {"prefix": unique("a"), "count": 6}})
        doc = wait_results(system, job_id=before["job_id"])[0]
        assert len(doc.get("child_errors") or []) == 1 and "cap of 2" in doc["child_errors"][0]
        for name, value in (("max_children_per_run", 5), ("log_max_lines", 50), ("result_max_bytes", 2048)):
            app.put_json(f"{API}/options/{name}", {"value": value})
        after = facade.add_job({"name": unique("kids"), "classname": A + "ManyChildren", "interval": 3600,
                                "kwargs": {"prefix": unique("b"), "count": 6}})
        doc = wait_results(system, job_id=after["job_id"])[0]
        assert "cap of 5" in doc["child_errors"][0], doc.get("child_errors")
        children = [j for j in facade.jobs() if j.get("parent") == [after["job_id"]]]
        assert len(children) == 5
        flood = facade.add_job({"name": unique("flood"), "classname": A + "Flood", "interval": 3600,
                                "kwargs": {"lines": 100}})
        wait_results(system, job_id=flood["job_id"])
        system.flush()
        assert len(facade.run(flood["job_id"], 1)["logs"]) == 51  # 50 kept + the one that says the rest
        big = facade.add_job({"name": unique("big"), "classname": A + "BigResult", "interval": 3600,
                              "kwargs": {"mb": 0.01}})
        assert wait_results(system, job_id=big["job_id"])[0]["result"]["truncated"] is True
        app.put_json(f"{API}/options/task_timeout", {"value": 0.5})
        slow = facade.add_job({"name": unique("slow"), "classname": "Sleep", "interval": 3600, "retries": 0,
                               "kwargs": {"seconds": 30}})
        doc = wait_results(system, job_id=slow["job_id"], timeout=30)[0]
        assert doc["outcome"] == "timeout" and "timed out after 0.5s" in doc["error"]
    finally:
        system.shutdown(grace_s=0.2)


@pytest.mark.system
def test_many_live_changes_during_a_long_run_never_block_the_worker(tmp_path):
    """The fuzzer found it: each change was sent down the pipe of a subprocess busy in a task;
    the pipe filled up, the worker actor blocked in send, and the run's timeout never fired."""
    system = start_system(tmp_path, workers=1)
    marker = tmp_path / "long"
    try:
        facade = make_facade(system)
        job = facade.add_job({"name": unique("long"), "classname": "tests.web.tasks:Block", "interval": 3600,
                              "timeout": 2.0, "retries": 0, "kwargs": {"marker": str(marker), "seconds": 60}})
        wait_for(marker.exists, 30)
        for i in range(300):  # ~1 KiB each: far more than a pipe holds
            facade.set_option("log_max_lines", 100 + i)
        assert system.workers()[0]["status"] in ("busy", "killing")  # the worker actor still answers
        doc = wait_results(system, job_id=job["job_id"], timeout=20)[0]
        assert doc["outcome"] == "timeout"
        flood = facade.add_job({"name": unique("after"), "classname": A + "Flood", "interval": 3600,
                                "kwargs": {"lines": 2000}})
        wait_results(system, job_id=flood["job_id"])
        system.flush()
        assert len(facade.run(flood["job_id"], 1)["logs"]) == 399 + 1  # the last value reached the subprocess
    finally:
        system.shutdown(grace_s=0.2)
