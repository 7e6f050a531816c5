"""``das-actors ctl`` as an operator runs it: a subprocess against a real server."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.web.conftest import T, start_system, unique, wait_for

pytestmark = pytest.mark.system

ROOT = Path(__file__).resolve().parents[2]


def ctl(url: str, *args: str, env: dict[str, str] | None = None, timeout: float = 60):
    command = [sys.executable, "-m", "actors.cli", "ctl", "--url", url, *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=ROOT, check=False,
                          env={**os.environ, **(env or {})})


def ok(url: str, *args: str, **kw) -> str:
    done = ctl(url, *args, **kw)
    assert done.returncode == 0, (done.stdout, done.stderr)
    return done.stdout


def as_json(url: str, *args: str) -> dict:
    return json.loads(ok(url, "--json", *args))


@pytest.fixture(scope="module")
def url(served):
    return served.web_url.rstrip("/")


def test_add_jobs_job_run_now_runs(url):
    name = unique("ctl")
    out = ok(url, "add", name, T + "Say", "3600", "--arg", "message=from the shell", "--arg", "lines=2",
             "--args", '{"extra": {"a": 1}}', "--when", "+1h", "--max-runs", "5", "--retries", "1")
    assert out.startswith(f"added job '{name}' (")
    job_id = out.split("(")[1].split(")")[0]
    listed = as_json(url, "jobs")["jobs"]
    job = next(j for j in listed if j["job_id"] == job_id)
    assert job["kwargs"] == {"message": "from the shell", "lines": 2, "extra": {"a": 1}}
    assert job["max_runs"] == 5 and job["retries"] == 1
    assert name in ok(url, "schedule") and name in ok(url, "jobs")
    assert "message" in ok(url, "job", job_id)
    ok(url, "run-now", job_id)
    runs = wait_for(lambda: as_json(url, "runs", "--job-id", job_id)["runs"])
    assert runs[0]["outcome"] == "success"
    table = ok(url, "runs", "--job-id", job_id)
    assert "success" in table and "1 of 1 run(s)" in table
    detail = ok(url, "run", job_id, "1")
    assert "from the shell" in detail and "line 1" in detail and '"said": "from the shell"' in detail
    assert ok(url, "pause", job_id).startswith("paused job")
    assert ok(url, "resume", job_id).startswith("resumed job")
    assert ok(url, "reschedule", job_id, "+2h").startswith("rescheduled job")
    assert ok(url, "remove", job_id).startswith("removed job")


def test_arg_values_are_json_when_they_parse(url):
    name = unique("args")
    out = as_json(url, "add", name, "Echo", "3600", "--when", "+1h", "--arg", "n=5", "--arg", "s=hello",
                  "--arg", 'j={"a": [1, 2]}', "--arg", "t=true", "--arg", "q=\"5\"", "--arg", "e=")
    assert out["job"]["kwargs"] == {"value": None, "n": 5, "s": "hello", "j": {"a": [1, 2]}, "t": True, "q": "5",
                                    "e": ""}


def test_cancel_a_long_run(url, tmp_path):
    marker = tmp_path / "m"
    job = as_json(url, "add", unique("long"), T + "Block", "3600", "--arg", f"marker={marker}",
                  "--arg", "seconds=60")["job"]
    wait_for(marker.exists)
    key = wait_for(lambda: next((w["run"]["run_id"] for w in as_json(url, "workers")["workers"]
                                 if w.get("run") and w["run"]["job_id"] == job["job_id"]), None))
    assert key in ok(url, "workers")
    assert ok(url, "cancel", key).strip() == f"cancelling run {key}"
    runs = wait_for(lambda: as_json(url, "runs", "--job-id", job["job_id"])["runs"])
    assert runs[0]["outcome"] == "cancelled"


def test_options_set_option_and_health(url, served):
    assert "max_retries" in ok(url, "options")
    before = served.settings.max_retries
    assert ok(url, "set-option", "max_retries", "3").strip() == "max_retries = 3 (applies now)"
    assert served.settings.max_retries == 3
    ok(url, "set-option", "max_retries", str(before))
    assert ok(url, "health").startswith("ok (up ")
    assert as_json(url, "health")["status"] == "ok"


def test_logs_and_follow(url, served):
    message = unique("followed")
    job = as_json(url, "add", unique("log"), T + "Say", "3600", "--when", "+1h", "--arg", f"message={message}")["job"]
    tails = served.web.app.state.tails
    before = len(tails)
    command = [sys.executable, "-m", "actors.cli", "ctl", "--url", url, "logs", "--type", "reslog", "--job-id",
               job["job_id"], "--follow", "--count", "1", "--follow-timeout", "30"]
    follower = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        wait_for(lambda: len(tails) > before or follower.poll() is not None)  # its live tail is open
        ok(url, "run-now", job["job_id"])
        out, err = follower.communicate(timeout=40)
    finally:
        follower.kill()
    assert follower.returncode == 0, err
    assert message in out and "task." in out
    assert message in ok(url, "logs", "--type", "reslog", "--job-id", job["job_id"])
    assert "das_actors" in ok(url, "logs", "--logger", "das_actors", "--level", "info", "--limit", "5")


def test_follow_starts_at_the_end_and_since_shows_history_first(url, served):
    """issue 16: ``logs --follow`` printed the last 50 lines before following; now it starts at the end."""
    old = unique("old-line")
    job = as_json(url, "add", unique("hist"), T + "Say", "3600", "--arg", f"message={old}")["job"]
    wait_for(lambda: old in ok(url, "logs", "--type", "reslog", "--job-id", job["job_id"]))
    tails = served.web.app.state.tails

    def follow(*extra: str) -> str:
        before = len(tails)
        command = [sys.executable, "-m", "actors.cli", "ctl", "--url", url, "logs", "--type", "reslog", "--job-id",
                   job["job_id"], "--follow", "--count", "1", "--follow-timeout", "30", *extra]
        follower = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
        try:
            wait_for(lambda: len(tails) > before or follower.poll() is not None)
            ok(url, "run-now", job["job_id"])  # a new line for the tail
            out, err = follower.communicate(timeout=40)
        finally:
            follower.kill()
        assert follower.returncode == 0, err
        return out

    fresh = follow()
    assert old in fresh and fresh.count(old) == 1  # only the new run's line (the Say message repeats)
    assert follow("--since", "600").count(old) >= 2  # history first, then the new line


def test_das_names_and_running(url):
    job = as_json(url, "add", unique("alias"), T + "Say", "3600")["job"]
    wait_for(lambda: as_json(url, "results", "--job-id", job["job_id"])["runs"])
    assert as_json(url, "result", job["job_id"], "1")["run"]["index"] == 1
    assert as_json(url, "task", job["job_id"])["job"]["job_id"] == job["job_id"]
    assert "running" in as_json(url, "running")
    assert "RUN ID" in ok(url, "running")


def test_exit_1_when_the_server_says_no(url):
    done = ctl(url, "job", "0123456789abcdef")
    assert done.returncode == 1 and "404" in done.stderr and "no job" in done.stderr
    done = ctl(url, "add", "x", "NoSuchTask", "60")
    assert done.returncode == 1 and "NoSuchTask" in done.stderr
    done = ctl(url, "set-option", "workers", "3")
    assert done.returncode == 1 and "409" in done.stderr
    done = ctl(url, "--json", "run", "0123456789abcdef", "1")
    assert done.returncode == 1 and json.loads(done.stdout)["error"]["status"] == 404


def test_exit_2_on_usage_errors(url):
    for args in (("add", "only-a-name"), ("frobnicate",), ("runs", "--limit", "many"), ("add", "x", "Echo", "1",
                                                                                         "--arg", "novalue"),
                 ("add", "x", "Echo", "1", "--args", "[1]"), ()):
        done = ctl(url, *args)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert "error" in done.stderr or "usage" in done.stderr


def test_exit_3_when_nothing_listens():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    done = ctl(f"http://127.0.0.1:{port}/analytics", "jobs")
    assert done.returncode == 3 and "cannot reach" in done.stderr


def test_token_from_flag_or_environment(tmp_path):
    system = start_system(tmp_path, web=True, web_port=0, web_token="ctl-token")
    try:
        url = str(system.web_url).rstrip("/")
        done = ctl(url, "jobs")
        assert done.returncode == 1 and "401" in done.stderr
        assert ctl(url, "jobs", "--token", "ctl-token").returncode == 0  # common options after the command too
        assert ctl(url, "jobs", env={"DAS_ACTORS_TOKEN": "ctl-token"}).returncode == 0
        assert ctl(url, "--token", "nope", "jobs", env={"DAS_ACTORS_TOKEN": "ctl-token"}).returncode == 1
    finally:
        system.shutdown(grace_s=0.2)


def test_url_from_the_environment(url):
    command = [sys.executable, "-m", "actors.cli", "ctl", "health"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=ROOT, check=False,
                          env={**os.environ, "DAS_ACTORS_URL": url + "/"})
    assert done.returncode == 0 and done.stdout.startswith("ok")


def test_add_a_cron_job_and_backfill_it(url):
    name = unique("ctl-cron")
    out = ok(url, "add", name, T + "Say", "--cron", "0 3 * * *", "--tz", "Europe/Zurich", "--jitter", "5",
             "--misfire", "skip")
    job_id = out.split("(")[1].split(")")[0]
    job = as_json(url, "job", job_id)["job"]
    assert (job["cron"], job["tz"], job["jitter"], job["misfire"], job["interval"]) == (
        "0 3 * * *", "Europe/Zurich", 5.0, "skip", None)
    shown = ok(url, "job", job_id)
    assert "At 03:00" in shown and ("CET" in shown or "CEST" in shown)
    assert ctl(url, "add", unique("ctl-bad"), T + "Say", "--cron", "0 0 30 2 *").returncode == 1
    every = ok(url, "add", unique("ctl-backfill"), T + "Say", "1", "--when", "+1h")
    every_id = every.split("(")[1].split(")")[0]
    now = time.time()
    done = ok(url, "backfill", every_id, "--from", f"{now - 4.5:.3f}", "--to", f"{now - 1.5:.3f}")
    assert "3 slot(s) queued, 0 of 3 already run" in done
    runs = wait_for(lambda: (found := as_json(url, "runs", "--job-id", every_id)["runs"]) and len(found) >= 3
                    and found)
    assert sorted(r["trigger"] for r in runs) == ["backfill"] * 3
    again = ok(url, "backfill", every_id, "--from", f"{now - 4.5:.3f}", "--to", f"{now - 1.5:.3f}")
    assert "0 slot(s) queued, 3 of 3 already run" in again
    refused = ctl(url, "backfill", every_id, "--from", "+1h", "--to", "+2h")
    assert refused.returncode == 1 and "in the future" in refused.stderr
