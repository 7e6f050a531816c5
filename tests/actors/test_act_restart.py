"""A real ``das-actors start`` subprocess queues a webhook, is stopped after the first (failed) attempt
and started again: the action survives in the outbox and is delivered by the second server, with the
same webhook-id, both attempts on record. The config file declares the target (``Target(...)``)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from actors import webhooks
from actors.store.beside import open_outbox
from actors.store.outbox import ActionQuery

pytestmark = pytest.mark.system
ROOT = Path(__file__).resolve().parents[2]
SECRET = webhooks.new_secret()


def wait_for(predicate: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"not within {timeout}s: {what}"
        time.sleep(0.1)


def start(config: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "actors.cli", "start", str(config)], cwd=ROOT, stdout=out,
                                stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 0


def test_an_action_survives_a_restart_between_attempts(tmp_path: Path, httpserver: HTTPServer):
    statuses = [500]
    seen: list[dict[str, str]] = []

    def answer(request: Request) -> Response:
        seen.append({k.lower(): v for k, v in request.headers.items()} | {"body": request.get_data(as_text=True)})
        return Response("ok", status=statuses[0])

    httpserver.expect_request("/hook", method="POST").respond_with_handler(answer)
    store = tmp_path / "store.db"
    config = tmp_path / "config.py"
    config.write_text(f"""
workers = 1
web = False
db_uri = "sqlite:///{store}"
task_packages = "tests"
minimum_interval = 0
no_start_offset = True
shutdown_grace = 2
act_retry_delay = 4.0
act_retry_max_delay = 4.0
Target("hook", url="{httpserver.url_for('/hook')}", secret="{SECRET}")
Task("alerter", "tests.actors.act_tasks:Alert", 3600, only_once=True, level="critical")
""")
    log = tmp_path / "server.log"
    outbox = open_outbox(f"sqlite:///{store}")
    server = start(config, log)
    try:
        wait_for(lambda: store.with_name("store.interact.db").exists(), 60, "the interact store")
        outbox.open()
        first = wait_for(lambda: [a for a in outbox.find(ActionQuery()).items if a["attempt_count"] >= 1], 90,
                         "a first attempt")[0]
        assert first["state"] == "pending" and first["attempts"][0]["status"] == 500
        stop(server)
        statuses[0] = 200
        server = start(config, log)
        done = wait_for(lambda: (a := outbox.get(first["action_id"])) and a["state"] == "delivered" and a, 90,
                        "delivery after the restart")
    finally:
        if server.poll() is None:
            stop(server)
        outbox.close()
    assert [a["status"] for a in done["attempts"]] == [500, 200]
    assert done["run_id"].endswith(":1:0") and done["name"] == "alerter"
    assert len(seen) == 2 and {h["webhook-id"] for h in seen} == {first["action_id"]}
    for headers in seen:
        assert webhooks.verify(SECRET, headers, headers["body"].encode(), now=time.time()) == first["action_id"]
    assert "action.delivered" in log.read_text()
