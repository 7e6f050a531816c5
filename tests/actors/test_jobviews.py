"""The job list's views: the fold of ended children under their parent (the Schedule page)."""

from __future__ import annotations

from actors.jobs import JobState, Origin
from actors.jobviews import jobs_page
from tests.actors.test_timetable import make, ok, run_once, spec


def test_ended_children_fold_under_a_parent_still_in_the_timetable():
    tt = make(start_offset=False)
    parent = tt.add(spec("parent", interval=60), now=0)
    done = tt.add(spec("done", interval=10, origin=Origin.CHILD, parent=(parent.job_id,), only_once=True), now=0)
    tt.add(spec("live", interval=10, origin=Origin.CHILD, parent=(parent.job_id,)), now=0)
    orphan = tt.add(spec("orphan", interval=10, origin=Origin.CHILD, parent=("gone",), only_once=True), now=0)
    for job in (done, orphan):
        run_once(tt, job.job_id, job.due_at, ok(job.due_at, job.due_at + 1))
        assert tt.get(job.job_id).state == JobState.FINISHED

    flat = jobs_page(tt, 100.0, 0, 100)
    assert {j["name"] for j in flat["jobs"]} == {"parent", "done", "live", "orphan"} and flat["total"] == 4
    assert all("ended_children" not in j for j in flat["jobs"])

    folded = jobs_page(tt, 100.0, 0, 100, fold_children=True)
    by_name = {j["name"]: j for j in folded["jobs"]}
    assert set(by_name) == {"parent", "live", "orphan"}  # an ended child of a gone parent stays listed
    assert folded["total"] == 3 and not folded["more"]
    assert by_name["parent"]["ended_children"] == 1
    assert "ended_children" not in by_name["live"]
    # the ended tab lists them all (no fold there): the filter still sees the folded child
    ended = jobs_page(tt, 100.0, 0, 100, state="ended")
    assert {j["name"] for j in ended["jobs"]} == {"done", "orphan"}


def test_every_page_of_all_jobs_is_the_sorted_list_sliced_ties_by_name_no_due_time_last():
    tt = make(start_offset=False)
    dues = [30.0, 10.0, 10.0, 20.0, 10.0, 40.0, 20.0]  # ties: ordered by name
    for i, due in enumerate(dues):
        tt.add(spec(name=f"j{6 - i}", interval=100), now=0, first_due_at=due)
    ended = tt.add(spec(name="a-ended", interval=100, max_runs=1), now=0, first_due_at=5.0)
    run_once(tt, ended.job_id, 5.0, ok(5.0, 6.0))
    assert ended.due_at is None  # finished: listed last
    expected = [job.spec.name for job in sorted(
        tt.jobs(), key=lambda job: (job.due_at if job.due_at is not None else float("inf"), job.spec.name))]
    assert expected[:3] == ["j2", "j4", "j5"] and expected[-1] == "a-ended"
    for offset in range(len(expected) + 1):
        for limit in range(len(expected) + 2):
            page = jobs_page(tt, 0.0, offset, limit)
            assert [item["name"] for item in page["jobs"]] == expected[offset:offset + limit]
            assert page["total"] == len(expected) and page["more"] == (offset + limit < len(expected))


def test_pages_cut_by_the_heap_still_list_running_paused_and_rescheduled_jobs_in_due_order():
    tt = make(start_offset=False)
    jobs = [tt.add(spec(name=f"k{i:02d}", interval=100), now=0, first_due_at=float(10 + i % 7)) for i in range(30)]
    running = tt.due(10.0)[0]
    tt.start(running.job_id, 10.0)  # running: keeps its due time, its heap entry is spent
    tt.pause(jobs[3].job_id)  # paused: a stale heap entry
    tt.reschedule(jobs[4].job_id, 5.0, 0.0)  # moved earlier: a stale entry and a fresh one
    tt.reschedule(jobs[5].job_id, 90.0, 0.0)  # moved later
    assert tt.nth_due(1) == 5.0 and tt.nth_due(1000) is None
    expected = [job.spec.name for job in sorted(
        tt.jobs(), key=lambda job: (job.due_at if job.due_at is not None else float("inf"), job.spec.name))]
    for offset in (0, 1, 7, 29):
        for limit in (1, 3, 10, 50):
            page = jobs_page(tt, 0.0, offset, limit)
            assert [item["name"] for item in page["jobs"]] == expected[offset:offset + limit]
            assert page["total"] == 30
