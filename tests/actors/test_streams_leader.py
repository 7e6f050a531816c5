"""Only the leader consumes streams (issue 15): a follower's stream hub starts no consumer and lists
the streams ``standby`` (read from the store, as the leader changed them); taking the lead starts
the consumers, losing it stops them."""

from __future__ import annotations

from typing import Any

import pykka
import pytest

from actors.leadermessages import RoleChanged
from actors.routing import Directory
from actors.store.streams_sqlite import SQLiteStreamStore
from actors.streamhub import StreamHub
from actors.streammessages import GetStream, ListStreams
from actors.streamspec import StreamSpec
from tests.actors.ingest_support import FAST, POLICY, ask, wait_for


class Idle(pykka.ThreadingActor):
    """A consumer that consumes nothing (the hub's side is under test)."""


@pytest.fixture
def store(tmp_path):
    made = SQLiteStreamStore(tmp_path / "data.db")
    made.open()
    yield made
    made.close()


def test_a_followers_hub_consumes_nothing_until_it_leads(store):
    consumers: list[pykka.ActorRef[Any]] = []

    def make(*_args: Any, **_kwargs: Any) -> pykka.ActorRef[Any]:
        ref = Idle.start()
        consumers.append(ref)
        return ref

    directory = Directory(role="follower")
    spec = StreamSpec("s1", "amqp://guest:guest@127.0.0.1:1/%2F", "q1")
    hub = StreamHub.start(store, FAST, directory, POLICY, config_streams=[spec], make_consumer=make)
    try:
        assert ask(hub, GetStream("s1"))["status"]["state"] == "standby" and consumers == []
        store.save_stream({**StreamSpec("s2", "amqp://guest:guest@127.0.0.1:1/%2F", "q2").to_record(),
                           "paused": False, "created_at": 1.0, "updated_at": 1.0})  # the leader added one
        assert [s["name"] for s in ask(hub, ListStreams())] == ["s1", "s2"]
        directory.role = "leader"
        hub.tell(RoleChanged(leading=True, term=2))
        wait_for("two consumers", lambda: len(consumers) == 2, 10)
        directory.role = "follower"
        hub.tell(RoleChanged(leading=False))
        wait_for("consumers stopped", lambda: not any(ref.is_alive() for ref in consumers), 10)
        assert ask(hub, GetStream("s2"))["status"]["state"] == "standby"
    finally:
        hub.stop(block=True, timeout=10)
        for ref in consumers:
            if ref.is_alive():
                ref.stop()
