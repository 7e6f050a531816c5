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
