"""minimum_interval says what it changes (issue 16): a job added with an interval below the floor
is answered with a warning (API, form flash, log) and its page says how often it really runs."""

from __future__ import annotations

import pytest

from tests.web.conftest import API, client, make_facade, start_system, unique

pytestmark = pytest.mark.system


@pytest.fixture(scope="module")
def floored(tmp_path_factory):
    system = start_system(tmp_path_factory.mktemp("floor"), minimum_interval=5.0)
    yield make_facade(system)
    system.shutdown(grace_s=0.5)


def test_the_api_answer_warns_and_the_job_page_explains(floored):
    app = client(floored)
    answer = app.post_json(API + "/jobs", {"name": unique("fast"), "classname": "Echo", "interval": 1,
                                            "when": "+1h"}, status=201).json["job"]
    assert answer["warnings"] == ["interval 1 s is below minimum_interval 5 s: the job runs every 5 s"]
    page = app.get(f"/jobs/{answer['job_id']}").html
    assert "runs every 5 s" in page.find(attrs={"data-testid": "job-floor"}).text
    slow = app.post_json(API + "/jobs", {"name": unique("slow"), "classname": "Echo", "interval": 60,
                                          "when": "+1h"}, status=201).json["job"]
    assert "warnings" not in slow  # nothing changed, nothing said


def test_the_add_job_form_flashes_the_warning(floored):
    app = client(floored)
    page = app.get("/control", {"classname": "Echo"})
    form = page.forms["add-job-form"]
    form["name"], form["interval"] = unique("form"), "2"
    landed = form.submit(status=303).follow()
    assert "runs every 5 s" in " ".join(p.text for p in landed.html.find_all(attrs={"data-testid": "flash"}))
