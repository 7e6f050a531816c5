"""What several instances need of the MongoDB store (issue 15), on the real server the suite uses
(FerretDB 1.24, whose updates are not atomic: these tests race real threads and connections):
the lease (one winner per term, renewal only by its holder, a released lease taken at once),
instance heartbeats, the command relay, and capped-collection seqs that two writers never share."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from actors.errors import NotFoundError
from actors.lease import LeaseStore
from actors.messages import PauseJob
from actors.relay import RelayClient, RelayStore, decode, error_fields
from actors.store.base import Query
from actors.store.mongo import MongoStore
from tests.store.test_contract import Backend


@pytest.fixture
def mongo(request, tmp_path) -> Iterator[Backend]:
    made = Backend("mongo", request, tmp_path)
    yield made
    made.cleanup()


def store_of(backend: Backend) -> MongoStore:
    store = backend.make()
    assert isinstance(store, MongoStore) and isinstance(store, LeaseStore) and isinstance(store, RelayStore)
    return store


def race(count: int, work: Any) -> list[Any]:
    """Run work(n) in *count* threads released together; their results."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def run(n: int) -> None:
        barrier.wait()
        results[n] = work(n)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def test_a_lapsed_lease_is_taken_by_exactly_one_of_several_racing_instances(mongo):
    stores = [store_of(mongo) for _ in range(4)]
    for round_ in range(5):
        now = stores[0].server_time()
        at = now + round_ * 10
        won = race(4, lambda n, at=at: stores[n].acquire_lease(f"i{n}", 0.5, at))
        winners = [lease for lease in won if lease is not None]
        assert len(winners) == 1, f"round {round_}: {won}"
        assert winners[0].term == round_ + 1
        assert stores[0].read_lease() == winners[0]


def test_a_held_lease_is_not_taken_and_only_its_holder_renews_it(mongo):
    store = store_of(mongo)
    now = store.server_time()
    lease = store.acquire_lease("a", 10.0, now)
    assert lease is not None and lease.term == 1 and lease.until == pytest.approx(now + 10.0)
    assert store.acquire_lease("b", 10.0, now + 1.0) is None
    assert store.renew_lease("b", 1, 10.0, now + 1.0) is None
    renewed = store.renew_lease("a", 1, 10.0, now + 2.0)
    assert renewed is not None and renewed.until == pytest.approx(now + 12.0)
    later = store.acquire_lease("b", 10.0, now + 13.0)  # lapsed: b takes term 2
    assert later is not None and later.term == 2 and later.holder == "b"
    assert store.renew_lease("a", 1, 10.0, now + 13.0) is None  # a newer term exists


def test_a_released_lease_is_taken_at_once(mongo):
    store = store_of(mongo)
    now = store.server_time()
    assert store.acquire_lease("a", 60.0, now) is not None
    assert store.acquire_lease("b", 60.0, now) is None
    assert store.release_lease("a", 1)
    taken = store.acquire_lease("b", 60.0, now)
    assert taken is not None and taken.term == 2


def test_the_server_clock_is_the_stores(mongo):
    import time

    store = store_of(mongo)
    assert abs(store.server_time() - time.time()) < 5.0  # same machine here; ms precision


def test_instances_beat_list_and_are_forgotten(mongo):
    store = store_of(mongo)
    store.beat({"id": "a", "host": "h", "heartbeat": 100.0, "ttl": 3.0, "started_at": 1.0})
    store.beat({"id": "b", "host": "h", "heartbeat": 50.0, "ttl": 3.0, "started_at": 2.0})
    store.beat({"id": "a", "host": "h", "heartbeat": 101.0, "ttl": 3.0, "started_at": 1.0})
    assert [(doc["id"], doc["heartbeat"]) for doc in store.instances()] == [("a", 101.0), ("b", 50.0)]
    assert store.forget_instances(beat_before=60.0) == 1
    assert store.forget_instances(["a"]) == 1
    assert store.instances() == []


def test_a_relayed_command_is_taken_once_answered_and_a_pending_one_withdrawn(mongo):
    store = store_of(mongo)
    client = RelayClient(store, "follower")
    first = client.send(PauseJob("j1"))
    second = client.send(PauseJob("j2"))
    taken = race(3, lambda n: store.take_command(f"leader{n}"))
    ids = sorted(doc["_id"] for doc in taken if doc is not None)
    assert ids == sorted([first, second])  # FIFO, each taken once (one leader polls; here three race)
    assert decode(next(doc for doc in taken if doc and doc["_id"] == first)) == PauseJob("j1")
    store.finish_command(first, answer={"job_id": "j1", "state": "paused"})
    store.finish_command(second, error=error_fields(NotFoundError("no job with id 'j2'")))
    assert (store.read_command(first) or {}).get("answer") == {"job_id": "j1", "state": "paused"}
    third = client.send(PauseJob("j3"))
    assert store.withdraw_command(third) and store.take_command("leader") is None
    assert not store.withdraw_command(first)


def test_a_follower_waits_for_the_leaders_answer_and_raises_its_error(mongo):
    store = store_of(mongo)
    stop = threading.Event()

    def leader() -> None:
        while not stop.is_set():
            doc = store.take_command("leader")
            if doc is None:
                stop.wait(0.02)
                continue
            if doc["args"]["job_id"] == "known":
                store.finish_command(doc["_id"], answer={"state": "paused"})
            else:
                store.finish_command(doc["_id"], error=error_fields(NotFoundError("no job with id 'x'")))

    thread = threading.Thread(target=leader)
    thread.start()
    try:
        client = RelayClient(store, "follower", poll_s=0.02)
        assert client.submit(PauseJob("known"), 10.0) == {"state": "paused"}
        with pytest.raises(NotFoundError) as caught:
            client.submit(PauseJob("x"), 10.0)
        assert caught.value.status == 404 and "no job with id 'x'" in str(caught.value)
    finally:
        stop.set()
        thread.join(10)


def test_with_no_leader_a_command_is_withdrawn_and_503(mongo):
    from actors.errors import ActorUnavailableError

    store = store_of(mongo)
    client = RelayClient(store, "follower", poll_s=0.02)
    with pytest.raises(ActorUnavailableError, match="not applied"):
        client.submit(PauseJob("j"), 0.2)
    assert store.take_command("late-leader") is None  # withdrawn: never applied


def test_two_writers_on_one_capped_collection_never_share_a_seq(mongo):
    stores = [store_of(mongo) for _ in range(2)]
    per_writer, batch = 400, 20
    tag = uuid.uuid4().hex[:6]

    def write(n: int) -> int:
        written = 0
        for start in range(0, per_writer, batch):
            docs = [{"type": "log", "tag": f"{tag}-{n}-{k}", "time": 1.0} for k in range(start, start + batch)]
            written += stores[n].insert(docs)
        return written

    assert race(2, write) == [per_writer, per_writer]
    found = stores[0].find(Query(type="log", limit=10_000)).items
    seqs = [doc["seq"] for doc in found]
    assert len(found) == 2 * per_writer and len(set(seqs)) == len(seqs)
    for n in range(2):  # each writer's numbers grow in the order it wrote
        mine = [doc["seq"] for doc in sorted(found, key=lambda d: int(d["tag"].rsplit("-", 1)[1]))
                if doc["tag"].startswith(f"{tag}-{n}-")]
        assert mine == sorted(mine)


def test_a_writer_whose_numbers_were_taken_meanwhile_stores_its_documents_above_them(mongo):
    quiet, busy = store_of(mongo), store_of(mongo)  # both opened on an empty collection
    assert busy.insert([{"type": "log", "tag": f"busy-{n}", "time": 1.0} for n in range(10)]) == 10
    assert quiet.insert([{"type": "log", "tag": "quiet", "time": 2.0}]) == 1  # its seq 1 was taken: numbered again
    found = {doc["tag"]: doc["seq"] for doc in busy.find(Query(type="log", limit=100)).items}
    assert found["quiet"] == 11 and sorted(found.values()) == list(range(1, 12))
    quiet.resync_seq()
    assert quiet.insert([{"type": "log", "tag": "again", "time": 3.0}]) == 1
    assert busy.find(Query(type="log", limit=1)).items[0]["tag"] == "again"
