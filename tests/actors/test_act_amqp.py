"""act.publish through the delivery actor to the session's real RabbitMQ broker: the message is read
back from its queue (basic_get), persistent, with the action id as its message id; a publish no queue
takes is a failed attempt (mandatory), retried, not dropped silently."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pika
import pytest

from actors.dispatcher import ActionDispatcher, DispatchConfig
from actors.store.beside import open_outbox, open_records
from actors.targets import TargetSpec
from tasks.act.sdk import TARGET, Act
from tests.rabbitmq import RabbitBroker

FAST = DispatchConfig(timeout_s=10.0, max_attempts=2, retry_delay_s=0.1, retry_max_delay_s=0.2, poll_s=0.02)


@pytest.fixture
def stores(tmp_path):
    outbox, records = open_outbox(f"sqlite:///{tmp_path}/s.db"), open_records(f"sqlite:///{tmp_path}/s.db")
    outbox.open()
    records.open()
    ref = ActionDispatcher.start(outbox, records, FAST)
    yield outbox, records
    ref.stop(block=True, timeout=30)
    outbox.close()
    records.close()


def final(outbox, action_id: str, timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = outbox.get(action_id)
        if found and found["state"] in ("delivered", "failed"):
            return dict(found)
        time.sleep(0.05)
    raise AssertionError(f"action {action_id} not final within {timeout}s: {outbox.get(action_id)}")


def test_a_publish_is_read_back_from_the_broker(stores, rabbitmq: RabbitBroker):
    outbox, records = stores
    queue = f"act-{uuid.uuid4().hex[:10]}"
    connection = pika.BlockingConnection(pika.URLParameters(rabbitmq.url))
    try:
        channel = connection.channel()
        channel.queue_declare(queue, durable=True)
        records.put(TARGET, "bus", TargetSpec("bus", rabbitmq.url, routing_key=queue).to_record())
        action_id = Act(outbox, records).publish("bus", {"alert": "hot", "n": 7})
        done = final(outbox, action_id)
        assert done["state"] == "delivered" and done["attempts"][0]["response"] == "confirmed by the broker"
        method, properties, body = channel.basic_get(queue, auto_ack=True)
        assert method is not None and json.loads(body) == {"alert": "hot", "n": 7}
        assert properties.message_id == action_id and properties.delivery_mode == 2
        assert properties.content_type == "application/json"
    finally:
        connection.close()


def test_a_publish_no_queue_takes_fails_after_its_attempts(stores, rabbitmq: RabbitBroker):
    outbox, records = stores
    records.put(TARGET, "void", TargetSpec("void", rabbitmq.url, routing_key=f"nobody-{uuid.uuid4().hex}").to_record())
    done = final(outbox, Act(outbox, records).publish("void", b"\x00\xffbinary"))
    assert done["state"] == "failed" and done["attempt_count"] == FAST.max_attempts
    assert done["last_error"].startswith("unroutable") and done["body_encoding"] == "base64"
