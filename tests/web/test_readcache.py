"""`web.readcache`: identical reads share one answer for a bounded time, never across roles or
sessions' CSRF tokens, and a write through the web is seen by the writer's next page."""

from __future__ import annotations

import re
import threading

import pytest
import webtest  # type: ignore[import-untyped]

from tests.web.conftest import API, BASE, unique, wait_for
from web.app import app_state, make_app
from web.readcache import STALE_FACTOR, ReadCache

ADMIN_TOKEN = "admin-token-for-the-cache-tests"
READ_TOKEN = "read-token-for-the-cache-tests"
NEW_JOB = {"classname": "Echo", "interval": 3600}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def counting(values: list[str]):
    calls: list[int] = []

    def draw() -> str:
        calls.append(1)
        return values[min(len(calls), len(values)) - 1]

    return draw, calls


# ----------------------------------------------------------------------------- the cache alone
def test_an_answer_is_shared_while_fresh_then_drawn_again():
    clock = Clock()
    cache = ReadCache(0.5, clock=clock)
    draw, calls = counting(["one", "two"])
    assert cache.get("k", draw) == "one" and cache.get("k", draw) == "one" and len(calls) == 1
    assert cache.get("other", draw) == "two" and len(calls) == 2  # another key: its own answer
    clock.now += 0.6  # past its freshness, nobody drawing: drawn again
    draw2, calls2 = counting(["three"])
    assert cache.get("k", draw2) == "three" and len(calls2) == 1


def test_a_write_starts_a_new_generation_and_nothing_drawn_before_it_is_served():
    cache = ReadCache(60.0, clock=Clock())
    draw, calls = counting(["before", "after"])
    assert cache.get("k", draw) == "before"
    cache.invalidate()
    assert cache.get("k", draw) == "after" and len(calls) == 2


def test_an_answer_drawn_across_a_write_is_not_kept():
    cache = ReadCache(60.0, clock=Clock())

    def draw_with_a_write() -> str:
        cache.invalidate()  # a write lands while this answer is drawn
        return "old"

    assert cache.get("k", draw_with_a_write) == "old"  # the request that drew it gets it ...
    assert cache.get("k", lambda: "new") == "new"  # ... nobody after the write does


def test_zero_seconds_turns_the_cache_off():
    cache = ReadCache(0.0)
    draw, _calls = counting(["a", "b"])
    assert (cache.get("k", draw), cache.get("k", draw)) == ("a", "b") and not cache.enabled


def test_a_failed_draw_keeps_nothing_and_the_next_request_draws():
    cache = ReadCache(60.0, clock=Clock())

    def fail() -> str:
        raise RuntimeError("the scheduler did not answer")

    with pytest.raises(RuntimeError):
        cache.get("k", fail)
    assert cache.get("k", lambda: "drawn") == "drawn"


def test_identical_requests_arriving_together_share_one_draw():
    cache = ReadCache(60.0)
    started, release = threading.Event(), threading.Event()
    calls: list[int] = []

    def slow() -> str:
        calls.append(1)
        started.set()
        release.wait(10)
        return "shared"

    results: list[str] = []
    first = threading.Thread(target=lambda: results.append(cache.get("k", slow)))
    first.start()
    assert started.wait(10)
    others = [threading.Thread(target=lambda: results.append(cache.get("k", slow))) for _ in range(4)]
    for t in others:
        t.start()
    release.set()
    for t in [first, *others]:
        t.join(10)
    assert results == ["shared"] * 5 and len(calls) == 1


def test_the_last_answer_is_served_while_the_next_is_drawn_within_the_staleness_bound():
    clock = Clock()
    cache = ReadCache(1.0, clock=clock)
    cache.get("k", lambda: "old")
    clock.now += 1.5  # stale, within STALE_FACTOR x ttl
    started, release = threading.Event(), threading.Event()

    def slow() -> str:
        started.set()
        release.wait(10)
        return "new"

    drawer = threading.Thread(target=lambda: cache.get("k", slow))
    drawer.start()
    assert started.wait(10)
    assert cache.get("k", lambda: "unexpected") == "old"  # someone draws: the last answer meanwhile
    clock.now += STALE_FACTOR  # too old now: never served again (this request waits for the draw)
    waiter: list[str] = []
    thread = threading.Thread(target=lambda: waiter.append(cache.get("k", lambda: "its own")))
    thread.start()
    release.set()
    drawer.join(10)
    thread.join(10)
    assert waiter in (["new"], ["its own"])  # "its own" if the draw landed before it looked


def test_the_cache_keeps_at_most_max_entries():
    cache = ReadCache(60.0, max_entries=2, clock=Clock())
    for key in ("a", "b", "c"):
        cache.get(key, counting([key])[0])
    draw, calls = counting(["a again"])
    assert cache.get("a", draw) == "a again" and len(calls) == 1  # the oldest went first


# ----------------------------------------------------------------------------- through the web
def _tokens(html: str) -> set[str]:
    return set(re.findall(r'name="csrf_token" value="([^"]+)"', html))


def test_each_session_gets_its_own_csrf_token_on_a_shared_page_and_its_forms_work(fake):
    job = fake.add_job({"name": unique("cache"), **NEW_JOB})
    root = make_app(fake, cache_s=60.0)  # one app, one cache: the page is drawn once for both
    one, two = (webtest.TestApp(root, extra_environ={"SCRIPT_NAME": BASE}) for _ in range(2))
    page_one, page_two = one.get("/schedule"), two.get("/schedule")
    tokens_one, tokens_two = _tokens(page_one.text), _tokens(page_two.text)
    assert len(tokens_one) == 1 and len(tokens_two) == 1 and tokens_one != tokens_two
    assert "csrf-stand-in" not in page_one.text + page_two.text
    assert app_state(root).reads.stats["fresh"] >= 1  # the second page was the first one's
    form = next(f for f in page_two.forms.values() if f.action.endswith(f"/jobs/{job['job_id']}/pause"))
    form.submit(status=303)  # the token put in for session two is session two's
    assert f'id="resume-{job["job_id"]}"' in two.get("/schedule").text  # the writer's next page shows it
    assert f'id="resume-{job["job_id"]}"' in one.get("/schedule").text  # and everyone's: a new generation
    refused = one.post(form.action, {"csrf_token": tokens_two.pop()}, expect_errors=True)
    assert refused.status_int == 403  # another session's token is still refused


def test_a_reader_never_gets_the_admins_page_nor_the_admin_the_readers(fake):
    job = fake.add_job({"name": unique("cache-roles"), **NEW_JOB})
    root = make_app(fake, token=ADMIN_TOKEN, read_token=READ_TOKEN, cache_s=60.0)
    reader, admin = (webtest.TestApp(root, extra_environ={"SCRIPT_NAME": BASE}) for _ in range(2))
    for app, token in ((reader, READ_TOKEN), (admin, ADMIN_TOKEN)):
        form = app.get("/login").forms["login-form"]
        form["token"] = token
        form.submit(status=303)
    for _ in range(2):  # either order, twice: each role its own page
        assert f'id="pause-{job["job_id"]}"' in admin.get("/schedule").text
        assert f'id="pause-{job["job_id"]}"' not in reader.get("/schedule").text
    assert webtest.TestApp(root, extra_environ={"SCRIPT_NAME": BASE}).get("/schedule", expect_errors=True
                                                                          ).status_int == 401


def test_the_api_sees_its_own_writes_at_once_and_other_changes_within_the_bound(fake):
    app = webtest.TestApp(make_app(fake, cache_s=0.2), extra_environ={"SCRIPT_NAME": BASE})
    listed = app.get(API + "/jobs", {"limit": 1000}).json
    name = unique("cache-api")
    app.post_json(API + "/jobs", {"name": name, **NEW_JOB}, status=201)
    assert name in {j["name"] for j in app.get(API + "/jobs", {"limit": 1000}).json["jobs"]}
    assert listed["total"] + 1 == app.get(API + "/jobs", {"limit": 1000}).json["total"]
    behind = unique("cache-behind")
    fake.add_job({"name": behind, **NEW_JOB})  # not through the web: seen once the answer is old enough
    wait_for(lambda: behind in {j["name"] for j in app.get(API + "/jobs", {"limit": 1000}).json["jobs"]}, 10)
