"""One contract for both stream stores (SQLite, and capped collections on a real MongoDB-compatible
server): definitions, messages stored once per id, seq order, windows, caps."""

from __future__ import annotations

import pytest

from actors.store.streams import make_message, message_key, parse_body
from tests.store.data_backends import DataBackend
from tests.store.test_contract import wait_for

pytestmark = pytest.mark.usefixtures("data_backend")


def msg(n: int, *, recv: float = 1000.0, body: bytes | None = None, message_id: str | None = "auto"):
    return make_message(body if body is not None else f'{{"n": {n}}}'.encode(), recv=recv + n,
                        message_id=f"id-{n}" if message_id == "auto" else message_id, routing_key="q",
                        headers={"h": n})


def test_definitions_are_kept_and_removed(data_backend: DataBackend):
    store = data_backend.streams()
    store.save_stream({"name": "b", "uri": "amqp://x/", "queue": "q", "tags": ["t"], "paused": False})
    store.save_stream({"name": "a", "uri": "amqp://y/", "queue": "q2", "tags": [], "paused": True})
    store.save_stream({"name": "b", "uri": "amqp://x/", "queue": "q", "tags": ["t"], "paused": True})
    assert [(s["name"], s["paused"]) for s in store.load_streams()] == [("a", True), ("b", True)]
    store.append("b", [msg(1)])
    assert store.remove_stream("b") is True
    assert store.remove_stream("b") is False
    assert [s["name"] for s in store.load_streams()] == ["a"]
    assert store.count("b") == 0


def test_messages_are_stored_once_per_id_in_seq_order(data_backend: DataBackend):
    store = data_backend.streams()
    assert store.append("s", [msg(1), msg(2), msg(2), msg(3)]) == 3  # a duplicate inside the batch
    assert store.append("s", [msg(3), msg(4)]) == 1  # a redelivery of 3
    docs = store.since("s", 0)
    assert [d["body"]["n"] for d in docs] == [1, 2, 3, 4]
    seqs = [d["seq"] for d in docs]
    assert seqs == sorted(seqs) and len(set(seqs)) == 4
    assert [d["body"]["n"] for d in store.since("s", seqs[1])] == [3, 4]
    assert store.last_seq("s") == seqs[-1]
    assert store.count("s") == 4
    first = docs[0]
    assert first["message_id"] == "id-1" and first["kind"] == "json" and first["headers"] == {"h": 1}
    assert first["routing_key"] == "q" and first["stream"] == "s"
    assert [d["body"]["n"] for d in store.latest("s", 2)] == [4, 3]
    assert store.count("other") == 0 and store.since("other", 0) == []


def test_windows_and_bytes(data_backend: DataBackend):
    store = data_backend.streams()
    store.append("w", [msg(n, recv=1000.0) for n in range(10)])
    store.append("w", [msg(99, body=b"\xff\x00binary")])
    assert [d["body"]["n"] for d in store.window("w", 1005.0, 1008.0)] == [5, 6, 7]
    last = store.since("w", 0)[-1]
    assert last["kind"] == "bytes" and last["body"] == b"\xff\x00binary"


def test_the_cap_keeps_the_newest(data_backend: DataBackend):
    store = data_backend.streams(max_messages=5, size_bytes=1024 * 1024)
    for start in range(0, 20, 4):
        store.append("c", [msg(n) for n in range(start, start + 4)])
    # SQLite trims on insert; FerretDB trims capped collections in a periodic cleanup.
    wait_for("the cap", lambda: store.count("c") <= 5, 30)
    assert store.latest("c", 1)[0]["body"]["n"] == 19


def test_message_ids_without_a_publisher_id_hash_the_content():
    one = message_key(None, "q", {"a": 1}, 5.0, b"x")
    assert one.startswith("sha256:") and one == message_key(None, "q", {"a": 1}, 5.0, b"x")
    assert one != message_key(None, "q", {"a": 1}, 6.0, b"x")
    assert message_key("given", "q", {}, None, b"x") == "given"


def test_bodies_that_are_json_are_documents():
    assert parse_body(b'{"a": [1, 2.5]}', None) == ("json", {"a": [1, 2.5]})
    assert parse_body(b"NaN", None) == ("bytes", b"NaN")
    assert parse_body(b'{"$where": 1}', None) == ("bytes", b'{"$where": 1}')  # not storable as a document
    assert parse_body(b'{"a": 1}', "application/octet-stream")[0] == "bytes"
    assert parse_body(b"plain text", "text/plain") == ("bytes", b"plain text")
