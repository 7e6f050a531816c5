"""Stream ingestion against a real RabbitMQ broker (tests/rabbitmq.py): stored once then acked, a
broker that is down is a status, restarts by policy, and the two fault tests of issue 13: SIGKILL the
broker mid-stream (every confirmed message stored exactly once) and stop the store mid-stream
(nothing acked that was not stored)."""

from __future__ import annotations

import json
import socket
import sys
import time
import uuid

import pykka
import pytest

from actors.messages import GetStatus
from actors.store.streams_mongo import MongoStreamStore
from actors.store.streams_sqlite import SQLiteStreamStore
from actors.streammessages import AddStream, ListStreams, PauseStream, RemoveStream, ResumeStream
from actors.streamspec import StreamSpec
from tests.actors.ingest_support import (
    POLICY,
    Publisher,
    ask,
    in_thread,
    queue_name,
    ready_messages,
    running_hub,
    status,
    stored_ids,
    wait_for,
)


@pytest.fixture
def store(tmp_path):
    made = SQLiteStreamStore(tmp_path / "data.db")
    made.open()
    yield made
    made.close()


def body(i: int) -> bytes:
    return json.dumps({"i": i, "value": i * 1.5}).encode()


def test_messages_are_stored_once_then_acked(rabbitmq, store):
    queue = queue_name()
    publisher = Publisher(rabbitmq.url, queue)
    for i in range(300):
        publisher.publish(f"m{i}", body(i))
    publisher.publish("m5", body(5))  # the same message published twice
    publisher.close()
    with running_hub(store, [StreamSpec("orders", rabbitmq.url, queue, tags=("shop",))]) as (hub, directory):
        done = wait_for("301 acks", lambda: (s := status(hub, "orders"))["acked"] == 301 and s)
        assert done["state"] == "consuming" and done["error"] is None
        assert (done["stored"], done["duplicates"]) == (300, 1)
        assert wait_for("the scheduler told", lambda: ask(directory.scheduler, GetStatus()).get("orders") == 300)
        [view] = ask(hub, ListStreams(tag="shop"))
        assert view["name"] == "orders" and view["uri"].startswith("amqp://guest:***@")
        assert ask(hub, ListStreams(tag="other")) == []
    assert ready_messages(rabbitmq.url, queue) == 0  # everything was acked
    docs = store.since("orders", 0, limit=1000)
    assert sorted(d["message_id"] for d in docs) == sorted(f"m{i}" for i in range(300))
    assert docs[0]["kind"] == "json" and docs[0]["body"] == {"i": 0, "value": 0.0}


def test_a_broker_that_is_down_is_a_status_not_a_crash(store):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    spec = StreamSpec("nowhere", f"amqp://guest:guest@127.0.0.1:{port}/%2F", "q")
    with running_hub(store, [spec]) as (hub, _):
        down = wait_for("two failed connects", lambda: (s := status(hub, "nowhere"))["state"] == "down"
                        and s.get("connection_errors", 0) >= 2 and s)
        assert "retry in" in down["error"] and down["since"] <= time.time()
        assert hub.is_alive()


def test_pause_resume_and_remove(rabbitmq, store):
    queue = queue_name()
    with running_hub(store, []) as (hub, _):
        hub.ask(AddStream(StreamSpec("s1", rabbitmq.url, queue)))
        wait_for("consuming", lambda: status(hub, "s1")["state"] == "consuming")
        paused = ask(hub, PauseStream("s1"))
        assert paused["paused"] and paused["status"]["state"] == "paused"
        publisher = Publisher(rabbitmq.url, queue)
        for i in range(10):
            publisher.publish(f"p{i}", body(i))
        assert store.count("s1") == 0 and ready_messages(rabbitmq.url, queue) == 10  # the broker keeps them
        assert store.load_streams()[0]["paused"] is True  # kept across restarts
        hub.ask(ResumeStream("s1"))
        wait_for("10 stored", lambda: store.count("s1") == 10)
        with pytest.raises(Exception, match="exists already"):
            hub.ask(AddStream(StreamSpec("s1", rabbitmq.url, "other-queue")))
        hub.ask(RemoveStream("s1"))
        assert ask(hub, ListStreams()) == [] and store.count("s1") == 0
        publisher.close()


class Dies(pykka.ThreadingActor):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__()

    def on_start(self) -> None:
        raise RuntimeError("consumer exploded")


def test_a_consumer_that_keeps_dying_is_restarted_by_policy_then_shown_failed(store):
    starts: list[int] = []

    def make(*args, **kwargs):
        starts.append(1)
        return Dies.start()

    spec = StreamSpec("fragile", "amqp://guest:guest@127.0.0.1:1/%2F", "q")
    with running_hub(store, [spec], make_consumer=make) as (hub, _):
        failed = wait_for("failed", lambda: (s := status(hub, "fragile"))["state"] == "failed" and s, 30)
        assert len(starts) == 1 + POLICY.max_restarts
        assert "restarts" in failed["error"] and hub.is_alive()
        hub.ask(ResumeStream("fragile"))  # an operator tries again: a fresh budget
        wait_for("restarted", lambda: len(starts) > 1 + POLICY.max_restarts)


def test_sigkill_of_the_broker_mid_stream_stores_every_confirmed_message_exactly_once(rabbitmq, store):
    total = 1000
    queue = queue_name()
    publisher = Publisher(rabbitmq.url, queue)
    with running_hub(store, [StreamSpec("crash", rabbitmq.url, queue)]) as (hub, _):
        def publish_all() -> None:
            for i in range(total):
                publisher.publish(f"k{i}", body(i), deadline_s=180)

        thread = in_thread(publish_all)
        wait_for("200 stored", lambda: store.count("crash") >= 200)
        rabbitmq.kill()
        killed_at = store.count("crash")
        wait_for("the stream shows the broker down", lambda: status(hub, "crash")["state"] == "down", 30)
        rabbitmq.start()
        thread.join(180)
        assert not thread.is_alive() and len(publisher.confirmed) == total
        wait_for(f"{total} stored", lambda: store.count("crash") >= total, 120)
        final = wait_for("all acked", lambda: (s := status(hub, "crash"))["state"] == "consuming" and s, 30)
    publisher.close()
    ids = stored_ids(store, "crash")
    assert len(ids) == len(set(ids)) == total
    assert set(ids) == {f"k{i}" for i in range(total)}
    print(f"\nbroker SIGKILL at {killed_at} stored: {total} stored exactly once, {final['reconnects']} reconnect(s), "
          f"{final['duplicates']} redelivered duplicate(s) skipped, {publisher.retries} publish retries",
          file=sys.stderr)


def test_a_store_outage_mid_stream_acks_nothing_that_was_not_stored(rabbitmq, mongo_service):
    mongo_service.require_restartable("the store outage under a stream")
    store = MongoStreamStore(mongo_service.uri, db_name=f"das_ingest_{uuid.uuid4().hex[:10]}", timeout_s=0.5)
    store.open()
    queue = queue_name()
    publisher = Publisher(rabbitmq.url, queue)
    spec = StreamSpec("outage", rabbitmq.url, queue)
    try:
        with running_hub(store, [spec]) as (hub, _):
            for i in range(200):
                publisher.publish(f"o{i}", body(i))
            wait_for("200 stored and acked", lambda: status(hub, "outage")["acked"] == 200)
            mongo_service.stop()
            for i in range(200, 400):
                publisher.publish(f"o{i}", body(i))
            held = wait_for("the stream shows the store down",
                            lambda: (s := status(hub, "outage"))["state"] == "store down" and s, 30)
            assert held["acked"] == 200 and "unacked" in held["error"]
        # The hub is stopped: what its consumer held unacked is back in the queue, all 200 of them.
        assert wait_for("200 back in the queue", lambda: ready_messages(rabbitmq.url, queue) == 200, 30)
        mongo_service.start()
        with running_hub(store, []) as (hub, _):  # the stored definition is consumed again
            wait_for("400 stored", lambda: store.count("outage") >= 400, 60)
        ids = stored_ids(store, "outage")
        assert len(ids) == len(set(ids)) == 400
    finally:
        mongo_service.start()
        publisher.close()
        store.remove_stream("outage")
        store.close()


def test_the_ingest_rate_with_acks_on_and_nothing_lost(rabbitmq, store):
    from benchmarks.stream_ingest import measure

    figures = measure(rabbitmq.url, store, 3000, 100)
    print(f"\nstream ingest, acks on: {figures['per_second']:.0f} messages stored per second "
          f"({figures['messages']} in {figures['seconds']:.2f}s, {figures['store']}), {figures['lost']} lost",
          file=sys.stderr)
    assert (figures["stored"], figures["lost"], figures["duplicates_stored"]) == (3000, 0, 0)
    assert figures["left_in_queue"] == 0
