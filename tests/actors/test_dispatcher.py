"""The delivery actor against a real loopback receiver (pytest-httpserver): signed attempts, retries
with backoff, Retry-After, 410, the SSRF guard. Stores are real (SQLite in a temp dir); waits poll."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from actors import webhooks
from actors.delivery import Attempt, retry_after
from actors.dispatcher import ActionDispatcher, DispatchConfig, next_state
from actors.errors import InvalidValueError, ServiceError
from actors.store.beside import open_outbox, open_records
from actors.store.outbox import ActionQuery
from actors.targets import TargetSpec
from tasks.act.sdk import TARGET, Act

SECRET = webhooks.new_secret()
FAST = DispatchConfig(timeout_s=5.0, max_attempts=4, retry_delay_s=0.05, retry_max_delay_s=0.2, concurrency=2,
                      poll_s=0.02)


class Receiver:
    """Answers with the given statuses in turn; keeps every request (headers, body, arrival time)."""

    def __init__(self, server: HTTPServer, statuses: list[int], headers: dict[str, str] | None = None) -> None:
        self.seen: list[tuple[dict[str, str], bytes, float]] = []
        self.statuses, self.headers = list(statuses), headers or {}
        server.expect_request("/hook", method="POST").respond_with_handler(self)

    def __call__(self, request: Request) -> Response:
        self.seen.append(({k.lower(): v for k, v in request.headers.items()}, request.get_data(), time.time()))
        status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        return Response("answer " + str(status), status=status, headers=self.headers)


@pytest.fixture
def stores(tmp_path):
    outbox, records = open_outbox(f"sqlite:///{tmp_path}/s.db"), open_records(f"sqlite:///{tmp_path}/s.db")
    outbox.open()
    records.open()
    yield outbox, records
    outbox.close()
    records.close()


@pytest.fixture
def dispatcher(stores) -> Iterator[Callable[[DispatchConfig], Any]]:
    started: list[Any] = []

    def start(config: DispatchConfig = FAST) -> Any:
        ref = ActionDispatcher.start(stores[0], stores[1], config)
        started.append(ref)
        return ref

    yield start
    for ref in started:
        ref.stop(block=True, timeout=30)


def wait_for(predicate: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"not within {timeout}s"
        time.sleep(0.02)


def queue_webhook(stores, target: str, payload: Any, *, allow_any_url: bool = False) -> str:
    act = Act(stores[0], stores[1], allow_any_url=allow_any_url)
    run = {"job_id": "j1", "index": 3, "attempt": 0, "name": "job", "run_id": "j1:3:0"}
    return act.for_run(run).webhook(target, payload)


def final(stores, action_id: str) -> dict[str, Any]:
    return wait_for(lambda: (a := stores[0].get(action_id)) and a["state"] in ("delivered", "failed") and a)


def test_a_webhook_reaches_the_receiver_after_two_failures_signed_every_time(stores, dispatcher, httpserver):
    receiver = Receiver(httpserver, [500, 500, 200])
    stores[1].put(TARGET, "hook", TargetSpec("hook", httpserver.url_for("/hook"), secret=SECRET,
                                             headers={"X-Team": "ops"}).to_record())
    action_id = queue_webhook(stores, "hook", {"alert": "hot", "value": 42})
    dispatcher()
    done = final(stores, action_id)
    assert done["state"] == "delivered" and [a["status"] for a in done["attempts"]] == [500, 500, 200]
    assert done["run_id"] == "j1:3:0" and done["name"] == "job"
    assert len(receiver.seen) == 3
    stamps = []
    for headers, body, _at in receiver.seen:
        assert json.loads(body) == {"alert": "hot", "value": 42}
        assert headers["content-type"] == "application/json" and headers["x-team"] == "ops"
        assert webhooks.verify(SECRET, headers, body, now=time.time()) == action_id  # same id on every retry
        stamps.append(headers["webhook-timestamp"])
    signatures = {headers["webhook-signature"] for headers, _, _ in receiver.seen}
    assert len(signatures) == len(set(stamps))  # a fresh signature for each timestamp
    gaps = [b[2] - a[2] for a, b in zip(receiver.seen, receiver.seen[1:], strict=False)]
    assert all(gap >= 0.04 for gap in gaps)  # backoff between attempts (base 0.05 s, jitter 20%)


def test_410_gone_stops_at_once(stores, dispatcher, httpserver):
    receiver = Receiver(httpserver, [410])
    stores[1].put(TARGET, "hook", TargetSpec("hook", httpserver.url_for("/hook")).to_record())
    done = final(stores, (queue_webhook(stores, "hook", {"x": 1}), dispatcher())[0])
    assert done["state"] == "failed" and done["attempt_count"] == 1 and len(receiver.seen) == 1
    assert "webhook-signature" not in receiver.seen[0][0]  # an unsigned target


def test_attempts_stop_after_act_max_attempts(stores, dispatcher, httpserver):
    Receiver(httpserver, [503])
    stores[1].put(TARGET, "hook", TargetSpec("hook", httpserver.url_for("/hook")).to_record())
    done = final(stores, (queue_webhook(stores, "hook", "text body"), dispatcher())[0])
    assert done["state"] == "failed" and done["attempt_count"] == FAST.max_attempts
    assert done["last_error"].startswith("HTTP 503") and done["content_type"].startswith("text/plain")


def test_retry_after_is_honoured():
    config = DispatchConfig(retry_delay_s=1.0, retry_max_delay_s=2.0)
    wait = Attempt(ok=False, status=429, retry_after_s=120.0)
    assert next_state(wait, 1, config, lambda: 0.5) == ("pending", 120.0)
    assert next_state(Attempt(ok=False, status=500), 1, config, lambda: 0.5) == ("pending", 1.0)
    assert next_state(Attempt(ok=True, status=204), 1, config, lambda: 0.5) == ("delivered", 0.0)
    assert retry_after("7", now=0) == 7.0 and retry_after("soon", now=0) is None
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470) == 10.0


def test_a_429_with_retry_after_waits_that_long(stores, dispatcher, httpserver):
    Receiver(httpserver, [429, 200], headers={"Retry-After": "1"})
    stores[1].put(TARGET, "hook", TargetSpec("hook", httpserver.url_for("/hook")).to_record())
    done = final(stores, (queue_webhook(stores, "hook", {"x": 1}), dispatcher())[0])
    first, second = done["attempts"]
    assert done["state"] == "delivered" and second["at"] - first["at"] >= 1.0


def test_only_configured_targets_unless_any_url_is_allowed_and_then_no_private_address(stores, dispatcher,
                                                                                       httpserver):
    receiver = Receiver(httpserver, [200])
    with pytest.raises(ServiceError, match="act_allow_any_url"):
        queue_webhook(stores, httpserver.url_for("/hook"), {"x": 1})
    with pytest.raises(ServiceError, match="no target named 'nowhere'"):
        queue_webhook(stores, "nowhere", {"x": 1})
    with pytest.raises(InvalidValueError, match="JSON-safe"):
        queue_webhook(stores, httpserver.url_for("/hook"), {"x": object()}, allow_any_url=True)
    action_id = queue_webhook(stores, httpserver.url_for("/hook"), {"x": 1}, allow_any_url=True)
    done = final(stores, (action_id, dispatcher())[0])
    assert done["state"] == "failed" and done["attempt_count"] == 1  # not retried: it cannot help
    assert "not a public address" in done["last_error"] and receiver.seen == []
    assert stores[0].find(ActionQuery(state="failed")).total == 1


def test_a_private_address_is_reached_when_the_operator_allows_it(stores, dispatcher, httpserver):
    receiver = Receiver(httpserver, [200])
    action_id = queue_webhook(stores, httpserver.url_for("/hook"), {"x": 1}, allow_any_url=True)
    dispatcher(dataclasses.replace(FAST, allow_private=True))
    done = final(stores, action_id)
    assert done["state"] == "delivered" and len(receiver.seen) == 1


def test_a_removed_target_fails_its_actions(stores, dispatcher):
    stores[1].put(TARGET, "brief", TargetSpec("brief", "http://127.0.0.1:9/").to_record())
    action_id = queue_webhook(stores, "brief", {"x": 1})
    stores[1].delete(TARGET, "brief")
    done = final(stores, (action_id, dispatcher())[0])
    assert done["state"] == "failed" and "no longer exists" in done["last_error"]
