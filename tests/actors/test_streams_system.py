"""The stream hub in the whole server: started by the Supervisor, restarted by it when it dies (its
streams reloaded from the store), and config streams consumed at start."""

from __future__ import annotations

import pykka
import pytest

from actors.config import Settings
from actors.streammessages import ListStreams
from actors.streamspec import StreamOrigin, StreamSpec
from actors.system import System
from tests.actors.ingest_support import wait_for

pytestmark = pytest.mark.system


def test_the_supervisor_restarts_a_dead_hub_and_the_streams_come_back(tmp_path):
    settings = Settings({"db_uri": f"sqlite:///{tmp_path}/store.db", "workers": 1, "restart_min_backoff": 0.05,
                         "restart_max_backoff": 0.2, "shutdown_grace": 0.5, "web": False})
    spec = StreamSpec("nowhere", "amqp://guest:guest@127.0.0.1:1/%2F", "q", tags=("x",), origin=StreamOrigin.CONFIG)
    system = System(settings, streams=[spec]).start()
    try:
        [view] = system.ask_streams(ListStreams())
        assert view["name"] == "nowhere" and view["origin"] == "config"
        first = system.directory.streams
        assert first is not None
        first.stop()  # dies as far as the supervisor can tell
        wait_for("a new hub", lambda: (ref := system.directory.streams) is not None and ref is not first
                 and ref.is_alive(), 30)
        assert [s["name"] for s in system.ask_streams(ListStreams())] == ["nowhere"]
        down = wait_for("shown down", lambda: system.ask_streams(ListStreams())[0]["status"]["state"] == "down", 30)
        assert down
    finally:
        system.shutdown(grace_s=0.2)
    assert not any(ref.is_alive() for ref in pykka.ActorRegistry.get_all()
                   if ref.actor_class.__name__ == "StreamConsumer")
