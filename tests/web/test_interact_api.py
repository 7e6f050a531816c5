"""Scripts, triggers and actions through the real server (`actors.server.Server`, 2 worker processes,
a temporary SQLite store) and its app under WebTest: the trigger API with parameters and an
Idempotency-Key, scripts saved with versions, run now followed over the SSE tail, outputs served as
images that cannot run script, limits (timeout, memory cap, crash), read-only, scripts off, the
generated token and its login URL, targets and the Actions log."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import webtest  # type: ignore[import-untyped]

from actors.server import Server
from tests.web.conftest import API, T, client, unique, wait_for, web_settings

pytestmark = pytest.mark.system

PLOT = """
import matplotlib.pyplot as plt
import pandas as pd
task_options = [{"name": "n", "type": "int", "default": 3, "help": "points"}]
print("drawing", args["n"], "points")
plt.plot(range(args["n"]), [i * i for i in range(args["n"])])
plt.title("squares")
plt.show()
display(pd.DataFrame({"name": ["<b>bold</b>", "plain"], "value": [1, 2]}))
result = {"n": args["n"]}
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = Server(web_settings(tmp_path_factory.mktemp("interact"), task_timeout=4.0,
                                  worker_memory_mb=1024)).start()
    wait_for(lambda: all(w["status"] == "idle" for w in running.workers()), 30)
    yield running
    running.shutdown(grace_s=0.5)


@pytest.fixture
def app(server: Server) -> webtest.TestApp:
    return client(server.facade)


def put_script(app: webtest.TestApp, name: str, source: str, **fields: Any) -> dict[str, Any]:
    resp = app.put_json(f"{API}/scripts/{name}", {"source": source, **fields}, expect_errors=True)
    assert resp.status_int in (200, 201), resp.text
    return dict(resp.json["script"])


def status_of(app: webtest.TestApp, url: str, timeout: float = 60.0) -> dict[str, Any]:
    path = url.removeprefix("/analytics")

    def done() -> dict[str, Any] | None:
        resp = app.get(path, expect_errors=True)
        if resp.status_int == 200 and resp.json["status"]["finished"]:
            return dict(resp.json["status"])
        return None

    return dict(wait_for(done, timeout))


# ---------------------------------------------------------------------- the trigger API
def test_a_trigger_runs_now_with_params_once_per_idempotency_key_without_moving_the_schedule(app, server):
    job = app.post_json(API + "/jobs", {"name": unique("say"), "classname": T + "Say", "interval": 3600,
                                        "when": "+1h"}, status=201).json["job"]
    path = f"{API}/jobs/{job['job_id']}/runs"
    first = app.post_json(path, {"params": {"message": "from CI"}}, headers={"Idempotency-Key": "deploy-41"},
                          status=202)
    again = app.post_json(path, {"params": {"message": "from CI"}}, headers={"Idempotency-Key": "deploy-41"},
                          status=200)
    assert again.json["run_id"] == first.json["run_id"] and again.json["replayed"] is True
    assert again.headers["Idempotent-Replayed"] == "true" and first.headers["Location"] == first.json["status_url"]
    assert first.json["run_id"] == f"{job['job_id']}:1:0"
    status = status_of(app, first.json["status_url"])
    assert status["state"] == "success" and status["result"]["said"] == "from CI"
    assert status["params"] == {"message": "from CI"}
    other = app.post_json(path, {"params": {"message": "other"}}, headers={"Idempotency-Key": "deploy-41"},
                          status=422)
    assert other.json["error"]["field"] == "Idempotency-Key"
    after = app.get(f"{API}/jobs/{job['job_id']}").json["job"]
    assert after["due_at"] == job["due_at"] and after["state"] == "scheduled"  # the schedule untouched
    server.system.flush()
    runs = app.get(API + "/runs", {"job_id": job["job_id"]}).json["runs"]
    assert [(r["index"], r["trigger"]) for r in runs] == [(1, "manual")]  # the key gave one run


def test_trigger_params_are_checked_against_the_declared_options(app):
    job = app.post_json(API + "/jobs", {"name": unique("typed"), "classname": T + "Typed", "interval": 3600,
                                        "when": "+1h", "kwargs": {"text": "x"}}, status=201).json["job"]
    path = f"{API}/jobs/{job['job_id']}/runs"
    for params, field in (({"count": "many"}, "params.count"), ({"nope": 1}, "params.nope"),
                          ({"logger": 1}, "params.logger")):
        resp = app.post_json(path, {"params": params}, status=400)
        assert resp.json["error"]["field"] == field, resp.json
    assert app.post_json(path, {"parameters": {}}, status=400).json["error"]["field"] == "parameters"
    by_name = app.post_json(f"{API}/jobs/{job['name']}/runs", {"params": {"count": 7}}, status=202).json
    assert status_of(app, by_name["status_url"])["result"]["count"] == 7
    assert app.post_json(f"{API}/jobs/no-such-job/runs", {}, status=404).json["error"]["status"] == 404


def test_a_script_is_triggered_with_params_as_its_args(app):
    name = unique("trig")
    put_script(app, name, PLOT)
    started = app.post_json(f"{API}/scripts/{name}/runs", {"params": {"n": 5}}, status=202).json
    status = status_of(app, started["status_url"])
    assert status["state"] == "success" and status["result"]["n"] == 5
    assert app.post_json(f"{API}/scripts/{name}/runs", {"params": {"n": "five"}}, status=400).json["error"][
        "field"] == "params.n"


# ---------------------------------------------------------------------- scripts
def test_scripts_are_saved_as_versions_and_a_stale_save_is_refused(app):
    name = unique("ver")
    assert app.put_json(f"{API}/scripts/{name}", {"source": "x = 1\n", "tags": "a,b"}, status=201).json["script"][
        "version"] == 1
    assert put_script(app, name, "x = 2\n", base_version=1)["version"] == 2
    stale = app.put_json(f"{API}/scripts/{name}", {"source": "x = 3\n", "base_version": 1}, status=409)
    assert "saved as version 2 after you opened version 1" in stale.json["error"]["message"]
    lines = app.get(f"{API}/scripts/{name}/diff", {"from": 1, "to": 2}).json["diff"]["lines"]
    assert {"kind": "del", "line": "-x = 1"} in lines and {"kind": "add", "line": "+x = 2"} in lines
    assert [v["version"] for v in app.get(f"{API}/scripts/{name}/versions").json["versions"]] == [2, 1]
    page = app.get(f"/scripts/{name}/diff", {"from": 1, "to": 2})
    assert page.html.find(id="script-diff").find(class_="diff-add").text == "+x = 2"
    assert app.get(API + "/scripts", {"tag": "a"}).json["total"] >= 1
    assert app.delete(f"{API}/scripts/{name}").json["deleted"]["versions_deleted"] == 2
    assert app.get(f"{API}/scripts/{name}", status=404)


def test_run_now_of_the_editor_text_is_followed_live_and_its_output_is_shown_safely(app, server):
    name = unique("live")
    page = app.get(f"/scripts/{name}")
    assert page.html.find(id="script-version").text == "new, not saved yet"
    form = page.forms["script-form"]
    form["source"] = PLOT
    form["args"] = '{"n": 4}'
    resp = app.post(f"/scripts/{name}/run", {"csrf_token": form["csrf_token"].value, "source": PLOT,
                                             "args": '{"n": 4}'}, headers={"Accept": "application/json"})
    run = resp.json
    assert run["tail_url"].startswith("/analytics/api/v1/logs/tail?") and run["run_id"].endswith(":1:0")
    tail = app.get(run["tail_url"].removeprefix("/analytics") + "&timeout=30")
    docs = [json.loads(line[5:]) for line in tail.text.splitlines() if line.startswith("data:")]
    assert any(d["type"] == "reslog" and d["msg"] == "drawing 4 points" for d in docs)
    assert docs[-1]["type"] == "result" and docs[-1]["outcome"] == "success"
    assert {d["job_id"] for d in docs} == {run["job_id"]}  # the tail holds this run only
    fragment = app.get(run["output_url"].removeprefix("/analytics"))
    img = fragment.html.find("img")
    assert img["src"] == f"/analytics/runs/{run['job_id']}/1/outputs/0"
    cells = [td.text for td in fragment.html.find(class_="output-table").find_all("td")]
    assert "<b>bold</b>" in cells and "<b>bold</b>" not in fragment.text.replace("&lt;b&gt;", "")
    image = app.get(img["src"].removeprefix("/analytics"))
    assert image.content_type == "image/svg+xml" and image.body.lstrip().startswith(b"<?xml")
    assert "sandbox" in image.headers["Content-Security-Policy"] and image.headers["X-Content-Type-Options"] == \
        "nosniff"
    runs = app.get(API + "/runs", {"name": name}).json["runs"]
    assert [r["trigger"] for r in runs] == ["one-off"]  # listed in Results under the script's name
    assert app.get(f"{API}/scripts/{name}", status=404)  # run now does not save


def test_a_forged_svg_output_is_only_ever_an_image(app):
    name = unique("forge")
    forged = '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    put_script(app, name, f"result = {{'outputs': [{{'kind': 'image', 'format': 'svg', 'data': {forged!r}}}]}}\n")
    started = app.post_json(f"{API}/scripts/{name}/runs", {}, status=202).json
    status_of(app, started["status_url"])
    run_page = app.get(started["run_url"].removeprefix("/analytics"))
    assert "<script>alert(1)" not in run_page.text and run_page.html.find(class_="output-image").find("img")
    image = app.get(f"/runs/{started['job_id']}/1/outputs/0")
    assert image.content_type == "image/svg+xml" and image.headers["Content-Security-Policy"].endswith("sandbox")


def test_scripts_have_the_limits_of_every_task(app):
    cases = {"while True:\n    pass\n": ("timeout", "timed out after 4s"),
             "block = bytearray(3 * 1024 ** 3)\n": ("failed", "MemoryError"),
             "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n": ("crashed", "signal 9 (SIGKILL)")}
    started = {}
    for source, expected in cases.items():
        name = unique("limit")
        put_script(app, name, source)
        started[name] = (app.post_json(f"{API}/scripts/{name}/runs", {}, status=202).json, expected)
    for answer, (outcome, error) in started.values():
        status = status_of(app, answer["status_url"], timeout=90)
        assert status["state"] == outcome and error in status["error"], status
    assert app.get(API + "/health").json["status"] == "ok"


def test_schedule_makes_the_newest_version_a_job_and_replaces_an_older_one(app, server):
    name = unique("sched")
    page = app.get(f"/scripts/{name}")
    form = page.forms["script-form"]
    fields = {"csrf_token": form["csrf_token"].value, "source": "result = {'v': 1}\n", "interval": "1h",
              "base_version": ""}
    resp = app.post(f"/scripts/{name}/schedule", fields, status=303)
    first = app.get(f"{API}/scripts/{name}").json
    assert first["job"]["interval"] == 3600 and first["script"]["schedule"]["version"] == 1
    assert "runs every 3600s" in resp.follow().text
    put_script(app, name, "result = {'v': 2}\n", base_version=1)
    job = app.post_json(f"{API}/scripts/{name}/schedule", {"interval": 0.5}, status=201).json["job"]
    assert app.get(f"{API}/jobs/{first['job']['job_id']}", status=404)  # the older schedule is gone
    runs = wait_for(lambda: (server.system.flush(), app.get(API + "/runs", {"job_id": job["job_id"]}).json["runs"])[1])
    assert runs[0]["result"] == {"v": 2} and runs[0]["classname"] == "Script"
    app.post_json(f"{API}/jobs/{job['job_id']}/pause")


def test_read_only_shows_scripts_and_refuses_every_change(app, server):
    name = unique("ro")
    put_script(app, name, "x = 1\n")
    server.facade.set_option("web_read_only", True)
    try:
        page = app.get(f"/scripts/{name}")
        assert page.html.find(id="script-source").has_attr("readonly") and page.html.find(id="run-script") is None
        assert app.put_json(f"{API}/scripts/{name}", {"source": "x = 2\n"}, status=403)
        assert app.post_json(f"{API}/scripts/{name}/runs", {}, status=403)
        assert app.post(f"/scripts/{name}/save", {"csrf_token": page.forms["script-form"]["csrf_token"].value,
                                                  "source": "x = 3\n"}, status=403)
    finally:
        server.facade.set_option("web_read_only", False)
    assert app.get(f"{API}/scripts/{name}").json["version"]["source"] == "x = 1\n"


# ---------------------------------------------------------------------- actions and targets
def test_targets_and_the_actions_log(app, server, httpserver):
    httpserver.expect_request("/hook", method="POST").respond_with_data("fine", status=200)
    target = app.post_json(API + "/targets", {"name": unique("hook"), "url": httpserver.url_for("/hook"),
                                              "secret": "generate"}, status=201).json["target"]
    assert target["generated_secret"].startswith("whsec_") and target["signed"]
    assert app.get(f"{API}/targets/{target['name']}").json["target"]["secret"].startswith("whsec_\u2026")
    name = unique("acting")
    put_script(app, name, f"act.webhook({target['name']!r}, {{'hello': 'receiver'}})\n")
    started = app.post_json(f"{API}/scripts/{name}/runs", {}, status=202).json
    status_of(app, started["status_url"])
    action = wait_for(lambda: [a for a in app.get(API + "/actions", {"run_id": started["run_id"]}).json["actions"]
                               if a["state"] == "delivered"])[0]
    assert action["target"] == target["name"] and action["attempts"][0]["status"] == 200
    page = app.get(f"/actions/{action['action_id']}")
    assert page.html.find(id="action-state").text == "delivered"
    assert app.post_json(f"{API}/actions/{action['action_id']}/retry", status=409)
    overview = app.get("/")
    assert int(overview.html.find(id="tile-delivered").text) >= 1 and overview.html.find(id="tile-scripts").text != "-"
    assert overview.html.find(id="tile-objects") is not None and overview.html.find(id="tile-rate") is not None
    app.delete(f"{API}/targets/{target['name']}")


# ---------------------------------------------------------------------- scripts off, the generated token
def test_with_scripts_off_nothing_can_run_a_script(tmp_path: Path):
    running = Server(web_settings(tmp_path, scripts=False)).start()
    try:
        app = client(running.facade)
        assert app.get("/scripts").html.find(id="scripts-off") is not None
        assert app.get(API + "/scripts", status=404)
        refused = app.post_json(API + "/jobs", {"name": "sneaky", "classname": "Script", "interval": 60,
                                                "kwargs": {"source": "print(1)"}}, status=400)
        assert refused.json["error"]["field"] == "classname"
    finally:
        running.shutdown(grace_s=0.2)


def _get(url: str, cookie: str = "") -> tuple[int, Any, bytes]:
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=10) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


def test_a_token_is_generated_when_scripts_are_on_and_none_was_given(tmp_path: Path):
    running = Server(web_settings(tmp_path, web=True, web_port=0), token_if_missing=True).start()
    try:
        assert running.login_url and "login?token=" in running.login_url
        base = str(running.web_url)
        assert _get(base + "api/v1/health")[0] == 401
        status, headers, _ = _get(running.login_url)
        assert status == 303 and headers["Location"].endswith("/analytics/")
        cookies = "; ".join(value.split(";", 1)[0] for value in headers.get_all("Set-Cookie"))
        assert _get(base + "scripts", cookies)[0] == 200
        assert _get(running.login_url[:-4] + "xxxx")[0] == 401
    finally:
        running.shutdown(grace_s=0.2)
    given = Server(web_settings(tmp_path / "given", web=True, web_port=0, web_token="mine"),
                   token_if_missing=True).start()
    try:
        assert given.login_url is None
    finally:
        given.shutdown(grace_s=0.2)


def test_a_big_script_posts_whole_from_the_editor_form_and_an_oversized_one_is_refused(app):
    name = unique("big")
    page = app.get(f"/scripts/{name}")
    form = page.forms["script-form"]
    assert form.enctype == "multipart/form-data"  # web.multipart: no 100 KiB cap (bottle#1470)
    big = "x = 1  # a long line of a long script\n" * 5000  # ~195 KB, over Bottle's 100 KiB
    form["source"] = big
    saved = form.submit(status=303)
    assert "saved as version 1" in saved.follow().text
    assert app.get(f"{API}/scripts/{name}").json["version"]["source"] == big
    page = app.get(f"/scripts/{name}")
    form = page.forms["script-form"]
    form["source"] = big * 2  # over script_max_bytes (256 KiB)
    refused = form.submit(status=413)
    assert refused.html.find(id="script-error") is not None
    assert refused.html.find(id="script-source").text == big * 2  # the text is kept on the page
