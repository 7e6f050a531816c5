"""The interact stores, one contract on both backends: keyed records, script versions, the outbox.

SQLite on a temporary file, MongoDB on the real server of tests/services.py (FerretDB), one fresh
database per test. Races are real: threads (and, for the outbox, processes) at once.
"""

from __future__ import annotations

import multiprocessing
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from actors.errors import ConflictError, NotFoundError
from actors.store.beside import open_outbox, open_records
from actors.store.outbox import DELIVERED, DELIVERING, FAILED, PENDING, ActionQuery, Outbox
from actors.store.records import Records
from actors.store.scripts import ScriptBook, diff

BACKENDS = ("sqlite", "mongo")


def _uri(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, dict[str, Any]]:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path}/store.db", {}
    service = request.getfixturevalue("mongo_service")
    return service.uri, {"db_name": f"das_interact_{uuid.uuid4().hex[:10]}"}


@pytest.fixture(params=BACKENDS)
def where(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, dict[str, Any]]:
    return _uri(request.param, request, tmp_path)


@pytest.fixture
def records(where: tuple[str, dict[str, Any]]) -> Iterator[Records]:
    store = open_records(where[0], **where[1])
    store.open()
    yield store
    store.close()


@pytest.fixture
def outbox(where: tuple[str, dict[str, Any]]) -> Iterator[Outbox]:
    store = open_outbox(where[0], **where[1])
    store.open()
    yield store
    store.close()


# ---------------------------------------------------------------------- records
def test_insert_new_stores_once_and_put_replaces(records):
    assert records.insert_new("k", "a/1", {"v": 1}) is True
    assert records.insert_new("k", "a/1", {"v": 2}) is False
    assert records.get("k", "a/1") == {"v": 1}
    records.put("k", "a/1", {"v": 3})
    assert records.get("k", "a/1") == {"v": 3}
    assert records.get("other", "a/1") is None  # kinds are apart
    assert records.delete("k", "a/1") is True and records.delete("k", "a/1") is False


def test_find_lists_a_prefix_in_key_order_with_the_real_total(records):
    for key in ("b/2", "a/1", "b/1", "b_/x", "b%/y", "c/1"):
        records.put("k", key, {"key": key})
    page = records.find("k", prefix="b/", limit=1)
    assert [i["key"] for i in page.items] == ["b/1"] and page.total == 2 and page.more
    assert [i["key"] for i in records.find("k", prefix="b/", descending=True).items] == ["b/2", "b/1"]
    assert records.find("k", prefix="b_").total == 1  # LIKE and regex wildcards are literal
    assert records.find("k", limit=0).total == 6 and records.find("k", limit=0).items == []


def test_racing_inserts_of_one_key_let_exactly_one_win(records):
    wins: list[bool] = []
    barrier = threading.Barrier(8)

    def race(n: int) -> None:
        barrier.wait()
        wins.append(records.insert_new("race", "the-key", {"n": n}))

    threads = [threading.Thread(target=race, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(wins) == [False] * 7 + [True]


# ---------------------------------------------------------------------- scripts
def test_every_changed_save_is_a_version_and_an_unchanged_one_is_not(records):
    book = ScriptBook(records, 10_000)
    first = book.save("plot", "x = 1\n", tags="b,a", note="first")
    assert (first["version"], first["saved"], first["tags"]) == (1, True, ["a", "b"])
    second = book.save("plot", "x = 2\n", base_version=1)
    assert second["version"] == 2 and second["tags"] == ["a", "b"]  # tags kept when not given
    again = book.save("plot", "x = 2\n", base_version=2)
    assert (again["version"], again["saved"]) == (2, False)
    assert book.version("plot", 1).source == "x = 1\n" and book.version("plot").version == 2
    assert [v["version"] for v in book.versions("plot").items] == [2, 1]
    assert "source" not in book.versions("plot").items[0]
    assert diff(book.version("plot", 1).source, book.version("plot", 2).source, "v1", "v2") == [
        ("head", "--- v1"), ("head", "+++ v2"), ("hunk", "@@ -1 +1 @@"), ("del", "-x = 1"), ("add", "+x = 2")]
    assert book.count() == 1 and [s["name"] for s in book.list(tag="a").items] == ["plot"]
    assert book.list(tag="zzz").total == 0


def test_a_save_from_an_older_version_is_refused_and_loses_nothing(records):
    book = ScriptBook(records, 10_000)
    book.save("s", "one\n")
    book.save("s", "two\n", base_version=1)
    with pytest.raises(ConflictError, match="version 2 after you opened version 1"):
        book.save("s", "mine\n", base_version=1)
    assert book.version("s").source == "two\n"
    with pytest.raises(ConflictError):
        book.save("s", "new\n", create=True)


def test_racing_saves_of_the_same_version_cannot_both_win(records):
    book = ScriptBook(records, 10_000)
    book.save("s", "base\n")
    outcomes: list[str] = []
    barrier = threading.Barrier(6)

    def save(n: int) -> None:
        barrier.wait()
        try:
            book.save("s", f"edit {n}\n", base_version=1)
            outcomes.append("saved")
        except ConflictError:
            outcomes.append("conflict")

    threads = [threading.Thread(target=save, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert outcomes.count("saved") >= 1 and len(outcomes) == 6
    versions = [v["version"] for v in book.versions("s").items]
    assert versions == list(range(len(versions), 0, -1))  # no gap, no duplicate
    assert len(versions) == 1 + outcomes.count("saved")


def test_deleting_a_script_deletes_every_version(records):
    book = ScriptBook(records, 10_000)
    for n in range(3):
        book.save("gone", f"v{n}\n")
    book.save("kept", "x\n")
    assert book.delete("gone") == 3
    with pytest.raises(NotFoundError):
        book.info("gone")
    assert records.find("script-version", prefix="gone/").total == 0 and book.exists("kept")


# ---------------------------------------------------------------------- outbox
def action(n: int, *, at: float = 100.0, run_id: str = "j:1:0", target: str = "hook") -> dict[str, Any]:
    return {"action_id": f"msg_{n:04d}", "kind": "webhook", "target": target, "url": "", "body": f'{{"n": {n}}}',
            "body_encoding": "utf-8", "content_type": "application/json", "run_id": run_id, "job_id": "j",
            "name": "job", "created_at": at + n / 1000, "next_at": at + n, "lease_until": None, "attempt_count": 0,
            "attempts": [], "last_status": None, "last_error": None, "finished_at": None}


def test_claims_take_due_actions_once_soonest_first(outbox):
    for n in (3, 1, 2):
        outbox.add(action(n))
    assert outbox.claim(now=100.5, limit=10, lease_s=30) == []  # none due yet
    claimed = outbox.claim(now=102.5, limit=10, lease_s=30)
    assert [a["action_id"] for a in claimed] == ["msg_0001", "msg_0002"]
    assert all(a["state"] == DELIVERING and a["lease_until"] == 132.5 for a in claimed)
    assert outbox.claim(now=102.5, limit=10, lease_s=30) == []  # leased: nobody else gets them
    again = outbox.claim(now=133.0, limit=10, lease_s=30)  # the lease ran out (the claimer died): claimed again
    assert [a["action_id"] for a in again] == ["msg_0001", "msg_0002", "msg_0003"]


def test_attempts_are_recorded_and_lead_to_the_next_state(outbox):
    outbox.add(action(1))
    outbox.claim(now=200, limit=1, lease_s=30)
    retrying = outbox.finish_attempt("msg_0001", {"n": 1, "at": 200, "status": 500, "error": "HTTP 500"},
                                     state=PENDING, next_at=205)
    assert (retrying["state"], retrying["attempt_count"], retrying["next_at"], retrying["last_status"]) == \
        (PENDING, 1, 205, 500)
    assert outbox.claim(now=204, limit=1, lease_s=30) == []
    assert len(outbox.claim(now=205, limit=1, lease_s=30)) == 1
    done = outbox.finish_attempt("msg_0001", {"n": 2, "at": 205, "status": 200, "error": None}, state=DELIVERED,
                                 next_at=None)
    assert (done["state"], done["finished_at"], [a["status"] for a in done["attempts"]]) == (DELIVERED, 205, [500, 200])
    assert outbox.get("msg_0001") == done
    assert outbox.claim(now=10_000, limit=5, lease_s=30) == []


def test_find_filters_and_counts_and_a_failed_action_can_be_retried(outbox):
    outbox.add(action(1, run_id="a:1:0"))
    outbox.add(action(2, run_id="b:1:0", target="other"))
    outbox.add(action(3, run_id="b:1:0"))
    outbox.claim(now=1000, limit=3, lease_s=30)
    outbox.finish_attempt("msg_0001", {"n": 1, "at": 1000, "status": 410}, state=FAILED, next_at=None)
    outbox.finish_attempt("msg_0002", {"n": 1, "at": 1000, "status": 200}, state=DELIVERED, next_at=None)
    assert [a["action_id"] for a in outbox.find(ActionQuery()).items] == ["msg_0003", "msg_0002", "msg_0001"]
    assert outbox.find(ActionQuery(run_id="b:1:0")).total == 2
    assert [a["action_id"] for a in outbox.find(ActionQuery(target="other")).items] == ["msg_0002"]
    assert outbox.find(ActionQuery(state=FAILED)).total == 1
    assert outbox.counts(since=999) == {PENDING: 0, DELIVERING: 1, DELIVERED: 1, FAILED: 1}
    assert outbox.counts(since=1001)[DELIVERED] == 0
    retried = outbox.retry("msg_0001", now=2000)
    assert (retried["state"], retried["next_at"], retried["finished_at"]) == (PENDING, 2000, None)
    assert outbox.retry("msg_9999", now=1) is None


def _claim_all(uri: str, where: dict[str, Any], out: Any) -> None:
    store = open_outbox(uri, **where)
    store.open()
    got: list[str] = []
    while True:
        batch = store.claim(now=1e9, limit=3, lease_s=600)
        if not batch:
            break
        got.extend(a["action_id"] for a in batch)
    store.close()
    out.put(got)


def test_processes_claiming_at_once_never_share_an_action(where, outbox):
    for n in range(60):
        outbox.add(action(n))
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    workers = [ctx.Process(target=_claim_all, args=(where[0], where[1], out)) for _ in range(3)]
    for w in workers:
        w.start()
    claimed = [out.get(timeout=120) for _ in workers]
    for w in workers:
        w.join(30)
    every = [a for got in claimed for a in got]
    assert sorted(every) == [f"msg_{n:04d}" for n in range(60)]  # each exactly once
