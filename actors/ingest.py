"""Stream consumer actor: one AMQP queue into the stream store, each message stored once, then acked.

Suricate consumed with ``no_ack`` in a bare thread that never reconnected: any hiccup lost
messages. Here one `StreamConsumer` actor per stream owns its own pika connection (pika is
not thread-safe, so the connection never leaves the actor's thread) and drives it with a
``Poll`` message it sends itself after every round, so commands (stop, status) interleave
with consuming and the heartbeat is serviced on every round:

* **Manual ack after the store.** Deliveries of a round (at most ``prefetch`` unacknowledged)
  are stored in one ``append``; only then is the last delivery tag acked (``multiple``). A
  message the store already has (a redelivery) is skipped by its id and acked too.
* **Store down.** Nothing is acked; the batch is kept and the append retried with capped
  backoff while the connection stays serviced. The stream shows ``store down`` and the error.
* **Broker down or connection lost.** Unacked deliveries are dropped (the broker redelivers
  them), and the actor reconnects with capped exponential backoff; the stream shows ``down``,
  the last error and since when. Never a crash: an unexpected exception fails the actor, and
  its hub (`actors.streamhub`) restarts it under the server's `RestartPolicy`.
* New messages are reported to the scheduler (`StreamArrived`, at most every
  `IngestConfig.arrival_every_s`) for the jobs declared ``on_stream``.

The queue is declared durable (created if missing); a queue that exists with other
properties is used as it is (a passive declare).
"""

from __future__ import annotations

import logging
import random
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

import pykka
import structlog

from actors.errors import StoreError
from actors.messages import GetStatus
from actors.routing import Directory, TimerHandle, tell_later
from actors.store.streams import StreamMessage, StreamStore, make_message
from actors.streammessages import Connect, ConsumerFailed, ConsumerStatus, Poll, StreamArrived
from actors.streamspec import StreamSpec
from actors.uri import redact

log = structlog.get_logger("das_actors.ingest")
logging.getLogger("pika").setLevel(logging.CRITICAL)  # pika narrates every socket; stream.* events say it once

#: AMQP reply code of a queue declared with properties other than the existing queue's.
PRECONDITION_FAILED = 406
#: Seconds over which the message rate is measured.
RATE_WINDOW_S = 10.0
#: What a stream's status counts (since its consumer started).
COUNTERS = ("received", "stored", "duplicates", "acked", "reconnects", "store_errors", "connection_errors")


def idle_status(state: str, error: str | None = None) -> dict[str, Any]:
    """The status of a stream whose consumer is not running (or not yet reporting)."""
    return {"state": state, "error": error, "since": time.time(), "rate": 0.0, "last_message_at": None, "held": 0,
            **dict.fromkeys(COUNTERS, 0)}


@dataclass(frozen=True, slots=True)
class IngestConfig:
    """How every stream consumer works (from the ``stream_*`` options)."""

    prefetch: int = 100
    heartbeat_s: float = 30.0
    backoff_min_s: float = 0.2
    backoff_max_s: float = 30.0
    poll_s: float = 0.2
    status_every_s: float = 1.0
    arrival_every_s: float = 0.25
    connect_timeout_s: float = 5.0


def backoff_s(attempt: int, config: IngestConfig, rng: Any = random.random) -> float:
    """Seconds before retry *attempt* (0-based): doubling from ``backoff_min_s``, capped, +20% jitter."""
    raw = min(config.backoff_max_s, config.backoff_min_s * 2.0 ** min(attempt, 32))
    return float(min(config.backoff_max_s, raw * (1.0 + 0.2 * rng())))


def _amqp_errors() -> tuple[type[BaseException], ...]:
    from pika.exceptions import AMQPError

    return (AMQPError, OSError, EOFError)


class StreamConsumer(pykka.ThreadingActor):
    """Consumes one stream; see the module docstring. Driven by messages it sends itself."""

    def __init__(self, spec: StreamSpec, store: StreamStore, config: IngestConfig, *, hub: pykka.ActorRef[Any],
                 directory: Directory, generation: int) -> None:
        super().__init__()
        self.spec = spec
        self._store = store
        self._config = config
        self._hub = hub
        self._dir = directory
        self._generation = generation
        self._conn: Any = None
        self._channel: Any = None
        self._batch: list[tuple[int, StreamMessage]] = []
        self._attempt = 0
        self._store_attempt = 0
        self._store_retry_at = 0.0
        self._timer: TimerHandle | None = None
        self._stopping = False
        self._connected_once = False
        self.state: str = "connecting"
        self.error: str | None = None
        self.since = time.time()
        self.counters = dict.fromkeys(COUNTERS, 0)
        self._samples: deque[tuple[float, int]] = deque()
        self._last_message_at: float | None = None
        self._status_at = 0.0
        self._arrived = 0
        self._arrival_at = 0.0

    # ------------------------------------------------------------------ lifecycle
    def on_start(self) -> None:
        """Actor thread: connect at once."""
        self.actor_ref.tell(Connect())

    def on_stop(self) -> None:
        """Actor thread: close the connection; what is not acked is redelivered by the broker later."""
        self._stopping = True
        if self._timer is not None:
            self._timer.cancel()
        self._close()

    def on_failure(self, exception_type: Any, exception_value: Any, traceback: Any) -> None:
        """Actor thread, after an unhandled exception: close, tell the hub (which restarts us)."""
        self._close()
        try:
            self._hub.tell(ConsumerFailed(self.spec.name, self._generation,
                                          f"{exception_type.__name__}: {exception_value}"))
        except pykka.ActorDeadError:
            pass

    def on_receive(self, message: Any) -> Any:
        """Actor thread: connect, poll, status."""
        if isinstance(message, Poll):
            self._poll()
        elif isinstance(message, Connect):
            self._timer = None
            self._connect()
        elif isinstance(message, GetStatus):
            return self.status()
        return None

    # ------------------------------------------------------------------ connection
    def _connect(self) -> None:
        if self._stopping or self._conn is not None:
            return
        try:
            import pika
        except ImportError:
            self._set("failed", "the pika package is not installed: pip install 'das-actors[amqp]'")
            return
        try:
            params = pika.URLParameters(self.spec.uri)
            if self._config.heartbeat_s > 0:
                params.heartbeat = max(1, round(self._config.heartbeat_s))
            params.connection_attempts = 1
            params.socket_timeout = self._config.connect_timeout_s
            params.stack_timeout = self._config.connect_timeout_s * 2
            params.blocked_connection_timeout = 60
            params.client_properties = {"connection_name": f"das-actors stream {self.spec.name}"}
            conn = pika.BlockingConnection(params)
        except (*_amqp_errors(), ValueError) as exc:  # type: ignore[misc]  # mypy cannot read a starred tuple
            self._retry_connect(exc)
            return
        try:
            channel = self._open_channel(conn)
            channel.basic_consume(self.spec.queue, self._on_message, auto_ack=False)
        except _amqp_errors() as exc:
            self._close_quietly(conn)
            self._retry_connect(exc)
            return
        self._conn, self._channel = conn, channel
        if self._connected_once:
            self.counters["reconnects"] += 1
        self._connected_once = True
        self._attempt = 0
        self._set("consuming", None)
        log.info("stream.connected", stream=self.spec.name, uri=redact(self.spec.uri), queue=self.spec.queue)
        self.actor_ref.tell(Poll())

    def _open_channel(self, conn: Any) -> Any:
        from pika.exceptions import ChannelClosedByBroker

        channel = conn.channel()
        channel.basic_qos(prefetch_count=self._config.prefetch)
        try:
            channel.queue_declare(self.spec.queue, durable=True)
        except ChannelClosedByBroker as exc:
            if exc.reply_code != PRECONDITION_FAILED:
                raise
            channel = conn.channel()  # the queue exists with other properties: use it as it is
            channel.basic_qos(prefetch_count=self._config.prefetch)
            channel.queue_declare(self.spec.queue, passive=True)
        return channel

    def _retry_connect(self, exc: BaseException) -> None:
        delay = backoff_s(self._attempt, self._config)
        self._attempt += 1
        self.counters["connection_errors"] += 1
        self._set("down", f"{type(exc).__name__}: {exc or 'connection failed'} (retry in {delay:.1f}s)")
        log.warning("stream.down", stream=self.spec.name, error=self.error, attempt=self._attempt)
        if not self._stopping:
            self._timer = tell_later(self.actor_ref, delay, Connect(self._attempt))

    def _lost(self, exc: BaseException) -> None:
        """The connection broke: drop what is not acked (the broker redelivers it) and reconnect."""
        dropped = len(self._batch)
        self._batch.clear()
        self._close()
        log.warning("stream.connection_lost", stream=self.spec.name, error=f"{type(exc).__name__}: {exc}",
                    unacked_dropped=dropped)
        self._retry_connect(exc)

    def _close(self) -> None:
        conn, self._conn, self._channel = self._conn, None, None
        if conn is not None:
            self._close_quietly(conn)

    @staticmethod
    def _close_quietly(conn: Any) -> None:
        try:
            if conn.is_open:
                conn.close()
        except Exception:  # noqa: BLE001, S110 - a broken connection is being thrown away anyway
            pass

    # ------------------------------------------------------------------ consuming
    def _on_message(self, _channel: Any, method: Any, properties: Any, body: bytes) -> None:
        """pika callback (actor thread, inside process_data_events): buffer the delivery."""
        stamp = properties.timestamp
        self._batch.append((method.delivery_tag, make_message(
            body, recv=time.time(), message_id=properties.message_id, routing_key=method.routing_key or "",
            headers=properties.headers or {}, content_type=properties.content_type,
            published_at=float(stamp) if isinstance(stamp, int | float) else None)))
        self.counters["received"] += 1

    def _poll(self) -> None:
        if self._conn is None or self._stopping:
            return
        try:
            self._conn.process_data_events(time_limit=0 if self._batch else self._config.poll_s)
            while self._batch and len(self._batch) < self._config.prefetch:  # take what is already there
                before = len(self._batch)
                self._conn.process_data_events(time_limit=0)
                if len(self._batch) == before:
                    break
            if self._batch and time.monotonic() >= self._store_retry_at:
                self._flush()
        except _amqp_errors() as exc:
            self._lost(exc)
            return
        self._report()
        self.actor_ref.tell(Poll())

    def _flush(self) -> None:
        """Store the batch; ack it only once stored."""
        messages = [message for _, message in self._batch]
        try:
            stored = self._store.append(self.spec.name, messages)
        except StoreError as exc:
            self.counters["store_errors"] += 1
            delay = backoff_s(self._store_attempt, self._config)
            self._store_attempt += 1
            self._store_retry_at = time.monotonic() + delay
            self._set("store down", f"{type(exc).__name__}: {exc} ({len(messages)} message(s) held unacked; "
                                    f"retry in {delay:.1f}s)")
            log.warning("stream.store_down", stream=self.spec.name, error=str(exc), held=len(messages))
            return
        last_tag = self._batch[-1][0]
        self._batch.clear()
        self.counters["stored"] += stored
        self.counters["duplicates"] += len(messages) - stored
        self._arrived += stored
        self._last_message_at = time.time()
        self._store_attempt, self._store_retry_at = 0, 0.0
        if self.state == "store down":
            self._set("consuming", None)
        self._channel.basic_ack(delivery_tag=last_tag, multiple=True)  # stored: now it may go
        self.counters["acked"] += len(messages)

    # ------------------------------------------------------------------ status
    def _set(self, state: str, error: str | None) -> None:
        if state != self.state:
            self.since = time.time()
        self.state, self.error = state, error
        self._report(force=True)

    def _report(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if self._arrived and now - self._arrival_at >= self._config.arrival_every_s:
            self._dir.tell_scheduler(StreamArrived(self.spec.name, self._arrived))
            self._arrived, self._arrival_at = 0, now
        if force or now - self._status_at >= self._config.status_every_s:
            self._status_at = now
            try:
                self._hub.tell(ConsumerStatus(self.spec.name, self._generation, self.status()))
            except pykka.ActorDeadError:
                pass

    def status(self) -> dict[str, Any]:
        """The live status shown on the stream (state, last error, since when, counters, rate)."""
        now = time.monotonic()
        self._samples.append((now, self.counters["stored"]))
        while len(self._samples) > 2 and now - self._samples[0][0] > RATE_WINDOW_S:
            self._samples.popleft()
        first_t, first_n = self._samples[0]
        rate = (self.counters["stored"] - first_n) / (now - first_t) if now - first_t > 0.5 else 0.0
        return {"state": self.state, "error": self.error, "since": self.since, "rate": round(rate, 3),
                "last_message_at": self._last_message_at, "held": len(self._batch), **self.counters}
