"""Fuzzing the API with hypothesis, driven by its own OpenAPI document: no input gives a 5xx.

Job bodies mix plausible and hostile values for every field (and unknown fields); queries
send every documented parameter of every GET route (plus unknown ones) with arbitrary text;
option values are arbitrary JSON. The system under test floors intervals at 60 s, so the
jobs that do get created run at most once during the test.
"""

from __future__ import annotations

import json
import os
import string
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.web.conftest import API, client, make_facade, start_system

pytestmark = pytest.mark.system

FUZZ = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
                max_examples=max(150, int(os.environ.get("DAS_FUZZ_EXAMPLES", "0"))),
                derandomize=not os.environ.get("DAS_FUZZ_RANDOM"), database=None)

scalars = (st.none() | st.booleans() | st.integers(min_value=-(10**20), max_value=10**20)
           | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=30))
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=8)
times = st.sampled_from(["+1m", "+2h", "+0.5d", "12:30", "23:59:59z", "25:99", "+5x", "now", "", "2035-01-01T00:00:00Z",
                         "1999-01-01", "+99999999999999999999d", "1e9", "-1"]) | st.floats() | json_values
FIELDS = {
    "name": st.text(max_size=40) | json_values,
    "classname": st.sampled_from(["Echo", "Test", "tests.web.tasks:Say", "tests.web.tasks:Typed", "NoSuchTask",
                                  "x:y", ":", "tests.web:nothing", ""]) | st.text(max_size=20) | json_values,
    "interval": st.floats(min_value=-1e13, max_value=1e13) | st.integers(-10, 10**15) | json_values,
    "kwargs": st.dictionaries(st.sampled_from(["message", "text", "count", "logger", "seed", "x"]), json_values,
                              max_size=4) | json_values,
    "only_once": st.booleans() | json_values,
    "max_runs": st.integers(-5, 10**12) | json_values,
    "retries": st.integers(-5, 10**12) | json_values,
    "timeout": st.floats(min_value=-10, max_value=1e12) | json_values,
    "only_before": times,
    "when": times,
    "parent": json_values,
    "unexpected": json_values,
    "cron": st.sampled_from(["30 2 * * *", "*/5 * * * *", "@daily", "61 * * * *", "0 0 30 2 *", "* * *", "",
                             "0 0 * * * *", "@never"]) | st.text(max_size=30) | json_values,
    "tz": st.sampled_from(["Europe/Zurich", "UTC", "Mars/Olympus", "", "../etc/passwd"]) | json_values,
    "jitter": st.floats(min_value=-10, max_value=1e6) | json_values,
    "misfire": st.sampled_from(["coalesce", "all", "skip", "later"]) | json_values,
    "misfire_grace": st.sampled_from(["unlimited", "forever"]) | st.floats(min_value=-5, max_value=1e9) | json_values,
    "max_catchup": st.integers(-5, 10**6) | json_values,
}


#: Valid job bodies, so that the fuzzing also reaches the scheduler, not only the validation.
VALID = st.fixed_dictionaries(
    {"name": st.text(min_size=1, max_size=20).filter(str.strip),
     "classname": st.sampled_from(["Echo", "tests.web.tasks:Say"]),
     "interval": st.floats(min_value=0.001, max_value=1e6)},
    optional={"when": st.sampled_from(["+1h", "+1m", "23:00", None]), "only_once": st.booleans(),
              "max_runs": st.integers(1, 100), "timeout": st.floats(min_value=0.1, max_value=1e5),
              "kwargs": st.dictionaries(st.sampled_from(["message", "value", "extra"]), scalars, max_size=2)})
#: ... one field of which is then replaced by anything.
MUTATED = st.sampled_from(sorted(FIELDS)).flatmap(
    lambda field: st.tuples(VALID, FIELDS[field]).map(lambda pair: {**pair[0], field: pair[1]}))
BODIES = VALID | MUTATED | st.fixed_dictionaries({}, optional=FIELDS)


@pytest.fixture(scope="module")
def fuzz(tmp_path_factory):
    system = start_system(tmp_path_factory.mktemp("fuzz"), minimum_interval=60.0, no_start_offset=False,
                          max_retries=1, retry_delay=60.0, retry_max_delay=120.0)
    facade = make_facade(system)
    yield client(facade), facade
    system.shutdown(grace_s=0.2)


def no_5xx(resp) -> None:
    assert resp.status_int < 500, f"{resp.status} for {resp.request.method} {resp.request.url}: {resp.text[:500]}"
    if resp.content_type == "application/json" and resp.status_int >= 400:
        assert resp.json["error"]["status"] == resp.status_int


@FUZZ
@given(body=BODIES)
def test_job_creation_never_5xx(fuzz, body):
    app, _ = fuzz
    resp = app.post(API + "/jobs", json.dumps(body), content_type="application/json", expect_errors=True)
    no_5xx(resp)
    event(f"status {resp.status_int}")
    assert resp.status_int in (201, 400, 413), resp.text
    if resp.status_int == 400:
        assert resp.json["error"].get("field"), resp.json  # a 400 names its field


@FUZZ
@given(raw=st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_raw_bodies_never_5xx(fuzz, raw):
    app, _ = fuzz
    for path in ("/jobs", "/jobs/0123456789abcdef/reschedule"):
        no_5xx(app.post(API + path, raw, content_type="application/json", expect_errors=True))
    no_5xx(app.put(API + "/options/max_retries", raw, content_type="application/json", expect_errors=True))


def _get_routes(app) -> list[tuple[str, list[str]]]:
    doc = app.get(API + "/openapi.json").json
    return [(path, [p["name"] for p in item["get"]["parameters"] if p["in"] == "query"])
            for path, item in doc["paths"].items() if "get" in item]


query_text = st.text(alphabet=string.printable + "éλ\u2028", max_size=12) | st.integers(-10**6, 10**15).map(str) | \
    st.sampled_from(["0", "-1", "1e309", "nan", "inf", "debug", "log,reslog", "result", "success", "1.5"])
path_text = st.text(alphabet=string.ascii_letters + string.digits + "-_:.%~", min_size=1, max_size=20)


@FUZZ
@given(data=st.data())
def test_queries_never_5xx(fuzz, data):
    app, _ = fuzz
    for path, names in _get_routes(app):
        chosen = data.draw(st.lists(st.sampled_from([*names, "unknown"]), unique=True, max_size=len(names) + 1))
        query = {name: data.draw(query_text) for name in chosen}
        if path == "/logs/tail":
            query.update(timeout="0.01", limit="3")  # the stream must end
        concrete = path
        for param in ("job_id", "index", "run_id", "name"):
            concrete = concrete.replace("{" + param + "}", quote(data.draw(path_text), safe=""))
        no_5xx(app.get(API + concrete, query, expect_errors=True))


@FUZZ
@given(job_id=path_text, when=times, verb=st.sampled_from(["pause", "resume", "run-now", "reschedule", "delete"]))
def test_job_actions_on_any_id_never_5xx(fuzz, job_id, when, verb):
    app, facade = fuzz
    real = facade.jobs()
    target = real[hash(job_id) % len(real)]["job_id"] if real and job_id[0] in "abc" else quote(job_id, safe="")
    if verb == "delete":
        resp = app.delete(f"{API}/jobs/{target}", expect_errors=True)
    elif verb == "reschedule":
        resp = app.post(f"{API}/jobs/{target}/reschedule", json.dumps({"when": when}),
                        content_type="application/json", expect_errors=True)
    else:
        resp = app.post(f"{API}/jobs/{target}/{verb}", expect_errors=True)
    no_5xx(resp)


LIVE = ["max_retries", "retry_delay", "retry_max_delay", "retry_jitter", "minimum_interval", "max_children_per_run",
        "finished_retention", "task_timeout", "shutdown_grace", "verbose", "web_read_only", "workers", "nope"]


@FUZZ
@given(name=st.sampled_from(LIVE), value=json_values | st.text(max_size=10))
def test_option_changes_never_5xx(fuzz, name, value):
    app, facade = fuzz
    before = {o["name"]: o["value"] for o in facade.options()}
    try:
        no_5xx(app.put(f"{API}/options/{name}", json.dumps({"value": value}), content_type="application/json",
                       expect_errors=True))
    finally:
        for option in LIVE[:-2]:
            if facade.system.settings.get(option) != before[option]:
                facade.set_option(option, before[option])


PAGE_PARAMS = ["due_within", "job_id", "name", "classname", "parent", "outcome", "last", "limit", "offset", "type",
               "logger", "level", "attempt", "next", "unknown"]


@FUZZ
@given(path=st.sampled_from(["/", "/schedule", "/running", "/results", "/logs", "/control", "/reports", "/help",
                             "/login", "/jobs/{id}", "/runs/{id}/{id}"]),
       ids=path_text, query=st.dictionaries(st.sampled_from(PAGE_PARAMS), query_text, max_size=4))
def test_pages_never_5xx(fuzz, path, ids, query):
    app, _ = fuzz
    no_5xx(app.get(path.replace("{id}", quote(ids, safe="")), query, expect_errors=True))


FORM_FIELDS = ["name", "classname", "interval", "kwargs", "only_once", "max_runs", "only_before", "timeout",
               "retries", "when", "arg_message", "arg_lines", "arg_text", "arg_count", "arg_flag", "arg_items"]


@FUZZ
@given(form=st.dictionaries(st.sampled_from(FORM_FIELDS), query_text | st.text(max_size=30), max_size=8),
       action=st.sampled_from(["/control/jobs", "/control/options", "/jobs/{id}/reschedule", "/jobs/{id}/pause",
                               "/running/{id}/cancel", "/login"]), ids=path_text)
def test_page_forms_never_5xx(fuzz, form, action, ids):
    app, facade = fuzz
    if "das_sid" not in app.cookies:
        app.get("/help")  # a page view starts the session
    token = app.app.state.security.csrf_token(app.cookies["das_sid"])
    fields = {**form, "csrf_token": token}
    if action == "/control/options":
        fields["name"] = "max_retries" if len(ids) % 2 else ids
    before = facade.system.settings.max_retries
    try:
        no_5xx(app.post(action.replace("{id}", quote(ids, safe="")), fields, expect_errors=True))
    finally:
        if facade.system.settings.max_retries != before:
            facade.set_option("max_retries", before)
