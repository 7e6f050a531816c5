"""Stream ingestion with acks on: messages stored per second, and how many were lost (issue 13).

    python -m benchmarks.stream_ingest [--messages 20000] [--prefetch 100] [--mongo-uri mongodb://...]
                                       [--amqp-url amqp://...]

Publishes *messages* persistent JSON messages, each with its own message id, with publisher
confirms into a durable queue of a real RabbitMQ broker (the test suite's, started on free
loopback ports, unless ``--amqp-url`` is given). Then starts a `StreamHub` with one stream on a
fresh stream store (SQLite, or MongoDB with ``--mongo-uri``) and times until every message is
stored and acknowledged (the consumer acks only after the store). Prints one JSON object:
``per_second`` (stored per second), ``lost`` (confirmed but not stored), ``duplicates_stored``
(stored twice; always 0: ids are unique), the store and the prefetch.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from actors.ingest import IngestConfig
from actors.store.streams import StreamStore
from actors.store.streams_mongo import MongoStreamStore
from actors.store.streams_sqlite import SQLiteStreamStore
from actors.streammessages import AddStream
from actors.streamspec import StreamSpec
from tests.actors.ingest_support import POLICY, Publisher, ready_messages, running_hub, status, stored_ids, wait_for


def measure(amqp_url: str, store: StreamStore, messages: int, prefetch: int) -> dict[str, Any]:
    """Publish, then consume into *store*; the figures."""
    queue = f"bench-{uuid.uuid4().hex[:10]}"
    publisher = Publisher(amqp_url, queue)
    began = time.monotonic()
    for i in range(messages):
        publisher.publish(f"b{i}", json.dumps({"i": i, "sensor": f"s{i % 16}", "value": i * 0.25}).encode())
    published_s = time.monotonic() - began
    publisher.close()
    config = IngestConfig(prefetch=prefetch, heartbeat_s=30, backoff_min_s=0.05, backoff_max_s=1.0, poll_s=0.05,
                          status_every_s=0.2, arrival_every_s=0.25)
    with running_hub(store, [], config=config, policy=POLICY) as (hub, _):
        began = time.monotonic()
        hub.ask(AddStream(StreamSpec("bench", amqp_url, queue)), timeout=10)
        wait_for("every message acked", lambda: status(hub, "bench")["acked"] >= messages, timeout=600, every=0.01)
        seconds = time.monotonic() - began
        final = status(hub, "bench")
    ids = stored_ids(store, "bench")
    expected = {f"b{i}" for i in range(messages)}
    return {"messages": messages, "seconds": round(seconds, 3), "per_second": round(messages / seconds, 1),
            "stored": len(ids), "lost": len(expected - set(ids)), "duplicates_stored": len(ids) - len(set(ids)),
            "left_in_queue": ready_messages(amqp_url, queue), "store": store.kind, "prefetch": prefetch,
            "published_per_second_with_confirms": round(messages / published_s, 1),
            "redeliveries_skipped": final["duplicates"]}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=20000)
    parser.add_argument("--prefetch", type=int, default=100)
    parser.add_argument("--mongo-uri", default="")
    parser.add_argument("--amqp-url", default="")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        broker = None
        url = args.amqp_url
        if not url:
            from tests.rabbitmq import start_broker

            (Path(tmp) / "rabbitmq").mkdir()
            broker = start_broker(Path(tmp) / "rabbitmq")
            url = broker.url
        store: StreamStore
        if args.mongo_uri:
            store = MongoStreamStore(args.mongo_uri, db_name=f"bench_{uuid.uuid4().hex[:8]}")
        else:
            store = SQLiteStreamStore(Path(tmp) / "data.db")
        store.open()
        try:
            figures = measure(url, store, args.messages, args.prefetch)
        finally:
            store.remove_stream("bench")
            store.close()
            if broker is not None:
                broker.close()
    print(json.dumps(figures))
    return figures


if __name__ == "__main__":
    main()
