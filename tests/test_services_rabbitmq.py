"""The session's RabbitMQ broker (tests/rabbitmq.py) is a real one: publisher confirms, manual
acks, and durable queues whose persistent messages survive a SIGKILL of the broker."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator

import pika
import pytest

from tests.rabbitmq import RabbitBroker


@pytest.fixture
def channel(rabbitmq: RabbitBroker) -> Iterator[pika.adapters.blocking_connection.BlockingChannel]:
    connection = pika.BlockingConnection(pika.URLParameters(rabbitmq.url))
    try:
        yield connection.channel()
    finally:
        if connection.is_open:
            connection.close()


def _queue() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"


def _drain(channel, queue: str, expected: int) -> list[bytes]:
    """Consume *expected* messages from *queue* with manual acks (no auto-ack), with a deadline."""
    bodies: list[bytes] = []
    channel.basic_qos(prefetch_count=10)
    for method, _properties, body in channel.consume(queue, auto_ack=False, inactivity_timeout=10):
        if method is None:  # inactivity_timeout passed with nothing delivered
            break
        bodies.append(body)
        channel.basic_ack(method.delivery_tag)
        if len(bodies) == expected:
            break
    channel.cancel()
    return bodies


def test_publish_with_confirms_and_consume_with_manual_ack(channel):
    queue = _queue()
    channel.queue_declare(queue, durable=True)
    channel.confirm_delivery()
    for i in range(20):
        # With confirms on, basic_publish raises if the broker nacks or cannot route (mandatory).
        channel.basic_publish("", queue, f"message {i}".encode(), mandatory=True,
                              properties=pika.BasicProperties(delivery_mode=pika.DeliveryMode.Persistent,
                                                              message_id=str(i)))
    assert _drain(channel, queue, 20) == [f"message {i}".encode() for i in range(20)]
    # All acked: nothing is left, and nothing comes back as a redelivery.
    assert channel.queue_declare(queue, durable=True, passive=True).method.message_count == 0


def test_unacked_message_is_redelivered(channel, rabbitmq):
    queue = _queue()
    channel.queue_declare(queue, durable=True)
    channel.basic_publish("", queue, b"once")
    method, _props, body = next(channel.consume(queue, auto_ack=False, inactivity_timeout=10))
    assert body == b"once" and not method.redelivered
    channel.cancel()
    channel.connection.close()  # without the ack: the broker requeues it

    connection = pika.BlockingConnection(pika.URLParameters(rabbitmq.url))
    try:
        again = connection.channel().basic_get(queue, auto_ack=True)
        assert again[0] is not None and again[0].redelivered and again[2] == b"once"
    finally:
        connection.close()


def test_durable_queue_keeps_persistent_messages_across_a_broker_kill(rabbitmq):
    queue = _queue()
    connection = pika.BlockingConnection(pika.URLParameters(rabbitmq.url))
    channel = connection.channel()
    channel.queue_declare(queue, durable=True)
    channel.confirm_delivery()  # confirmed persistent messages are on disk before the kill
    for i in range(50):
        channel.basic_publish("", queue, f"kept {i}".encode(),
                              properties=pika.BasicProperties(delivery_mode=pika.DeliveryMode.Persistent))
    channel.basic_publish("", queue, b"transient", properties=pika.BasicProperties(delivery_mode=1))

    rabbitmq.kill()
    with pytest.raises(pika.exceptions.AMQPError):  # the connection is really gone
        channel.queue_declare(queue, durable=True, passive=True)
    restarted_in = rabbitmq.start()
    print(f"\namqp tests: broker restarted after SIGKILL in {restarted_in:.1f}s", file=sys.stderr)

    connection = pika.BlockingConnection(pika.URLParameters(rabbitmq.url))
    try:
        channel = connection.channel()
        assert channel.queue_declare(queue, durable=True, passive=True).method.message_count == 50
        assert _drain(channel, queue, 50) == [f"kept {i}".encode() for i in range(50)]
    finally:
        connection.close()
