"""Helpers of the stream tests: a confirmed publisher that survives broker restarts, a hub on a real
store, an actor that records what the scheduler would be told. Waits poll with deadlines."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pika
import pykka
from pika.exceptions import AMQPError

from actors.ingest import IngestConfig
from actors.messages import GetStatus
from actors.policy import RestartPolicy
from actors.routing import Directory
from actors.store.streams import StreamStore
from actors.streamhub import StreamHub
from actors.streammessages import GetStream, StreamArrived
from actors.streamspec import StreamSpec

FAST = IngestConfig(prefetch=50, heartbeat_s=10, backoff_min_s=0.05, backoff_max_s=0.5, poll_s=0.05,
                    status_every_s=0.1, arrival_every_s=0.05, connect_timeout_s=2.0)
POLICY = RestartPolicy(max_restarts=3, window_s=60, min_backoff_s=0.01, max_backoff_s=0.05, reset_after_s=60)


def queue_name() -> str:
    return f"ingest-{uuid.uuid4().hex[:10]}"


def wait_for(what: str, check: Callable[[], Any], timeout: float = 60.0, every: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(every)


class Publisher:
    """Publishes persistent messages with confirms; on a broken connection it reconnects (until a
    deadline) and publishes the unconfirmed message again, same message id (a possible duplicate)."""

    def __init__(self, url: str, queue: str) -> None:
        self.url, self.queue = url, queue
        self.confirmed: list[str] = []
        self.retries = 0
        self._conn: Any = None
        self._channel: Any = None

    def _connect(self, deadline: float) -> None:
        while True:
            try:
                params = pika.URLParameters(self.url)
                params.connection_attempts = 1
                params.socket_timeout = 2
                self._conn = pika.BlockingConnection(params)
                self._channel = self._conn.channel()
                self._channel.queue_declare(self.queue, durable=True)
                self._channel.confirm_delivery()
                return
            except (AMQPError, OSError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def publish(self, message_id: str, body: bytes, *, deadline_s: float = 120.0) -> None:
        deadline = time.monotonic() + deadline_s
        while True:
            if self._channel is None:
                self._connect(deadline)
            try:
                self._channel.basic_publish("", self.queue, body, mandatory=True, properties=pika.BasicProperties(
                    delivery_mode=pika.DeliveryMode.Persistent, message_id=message_id, content_type="application/json"))
                self.confirmed.append(message_id)
                return
            except (AMQPError, OSError):
                self.retries += 1
                self._channel = None
                try:
                    self._conn.close()
                except Exception:
                    pass
                if time.monotonic() > deadline:
                    raise

    def close(self) -> None:
        try:
            if self._conn is not None and self._conn.is_open:
                self._conn.close()
        except Exception:
            pass


def ready_messages(url: str, queue: str) -> int:
    """Messages ready in *queue* (not delivered, or delivered and never acked by a consumer that left)."""
    conn = pika.BlockingConnection(pika.URLParameters(url))
    try:
        return int(conn.channel().queue_declare(queue, durable=True, passive=True).method.message_count)
    finally:
        conn.close()


class Arrivals(pykka.ThreadingActor):
    """Stands in for the scheduler: adds up the `StreamArrived` counts it is told."""

    def __init__(self) -> None:
        super().__init__()
        self.counts: dict[str, int] = {}

    def on_receive(self, message: Any) -> Any:
        if isinstance(message, StreamArrived):
            self.counts[message.stream] = self.counts.get(message.stream, 0) + message.count
        elif isinstance(message, GetStatus):
            return dict(self.counts)
        return None


@contextmanager
def running_hub(store: StreamStore, specs: list[StreamSpec], *, config: IngestConfig = FAST,
                policy: RestartPolicy = POLICY, **options: Any) -> Iterator[tuple[pykka.ActorRef[Any], Directory]]:
    directory = Directory()
    directory.scheduler = Arrivals.start()
    hub = StreamHub.start(store, config, directory, policy, config_streams=specs, **options)
    directory.streams = hub
    try:
        yield hub, directory
    finally:
        if hub.is_alive():
            hub.stop(block=True, timeout=10)
        directory.scheduler.stop(block=True, timeout=10)


def ask(ref: Any, message: Any) -> Any:
    """An ask with a timeout, its answer untyped (the tests index into it)."""
    return ref.ask(message, timeout=10)


def status(hub: pykka.ActorRef[Any], name: str) -> dict[str, Any]:
    return dict(ask(hub, GetStream(name))["status"])


def stored_ids(store: StreamStore, name: str) -> list[str]:
    found: list[str] = []
    seq = 0
    while True:
        batch = store.since(name, seq, limit=5000)
        if not batch:
            return found
        found.extend(str(doc["message_id"]) for doc in batch)
        seq = batch[-1]["seq"]


def in_thread(target: Callable[[], None]) -> threading.Thread:
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread
