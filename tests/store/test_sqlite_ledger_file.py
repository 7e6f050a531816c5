"""The SQLite run ledger in a file of its own (issue 17: claims must not wait behind the
Journal's inserts into the store's file): where it lives, an older ledger table moved out of
the store's file at open, and the ledger's file deleted under a running store recovered like
the store's own."""

from __future__ import annotations

import os
import sqlite3

from actors.ledger import Claim, SlotState
from actors.slots import slot_id
from actors.store.sqlite import SQLiteStore
from actors.store.sqlite_ledger import SCHEMA, ledger_path


def claim(job_id: str, slot: float, index: int = 1, owner: str = "life-1") -> Claim:
    return Claim(job_id=job_id, slot=slot, index=index, attempt=0, trigger="schedule", owner=owner, at=0.0)


def tables(path) -> set[str]:
    conn = sqlite3.connect(path)
    try:
        return {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    finally:
        conn.close()


def test_the_ledger_lives_beside_the_store_and_not_in_it(tmp_path):
    assert ledger_path(str(tmp_path / "das.db")) == str(tmp_path / "das.ledger.db")
    assert ledger_path(str(tmp_path / "store")) == str(tmp_path / "store.ledger")
    store = SQLiteStore(tmp_path / "das.db", size_bytes=1 << 20)
    store.open()
    try:
        assert store.claim_slots([claim("j", 1.0)]) == {}
    finally:
        store.close()
    assert "ledger" in tables(tmp_path / "das.ledger.db")
    assert "ledger" not in tables(tmp_path / "das.db") and "docs" in tables(tmp_path / "das.db")


def test_a_ledger_kept_in_the_store_file_by_an_older_version_is_moved_once(tmp_path):
    path = tmp_path / "das.db"
    old = sqlite3.connect(path)
    for statement in SCHEMA:
        old.execute(statement)
    old.execute("INSERT INTO ledger VALUES (?, 'j', 5.0, 'done', 0, 3, 'schedule', 'success', 'old-life', 6.0, 1)",
                (slot_id("j", 5.0),))
    old.commit()
    old.close()
    store = SQLiteStore(path, size_bytes=1 << 20)
    store.open()
    try:
        entries = store.slot_entries("j", 0.0, 10.0)
        assert [(e.slot, e.state, e.outcome, e.owner) for e in entries.values()] == [
            (5.0, SlotState.DONE, "success", "old-life")]
        refused = store.claim_slots([claim("j", 5.0)])  # the moved entry still decides its slot
        assert list(refused) == [next(iter(entries))]
        assert store.ledger_heads(["j"])["j"].max_index == 3
    finally:
        store.close()
    assert "ledger" not in tables(path)
    reopened = SQLiteStore(path, size_bytes=1 << 20)
    reopened.open()
    try:
        assert len(reopened.slot_entries("j", 0.0, 10.0)) == 1
    finally:
        reopened.close()


def test_the_ledger_file_deleted_while_open_is_recreated_whole(tmp_path):
    path = tmp_path / "das.db"
    store = SQLiteStore(path, size_bytes=1 << 20)
    store.open()
    try:
        assert store.claim_slots([claim("j", float(slot), index=slot) for slot in range(1, 11)]) == {}
        assert store.problem() is None
        os.remove(ledger_path(str(path)))
        assert "das.ledger.db was deleted while open" in (store.problem() or "")
        assert store.claim_slots([claim("j", 11.0, index=11)]) == {}  # goes to the unlinked inode
        how = store.recover()
        assert "das.ledger.db" in how and store.problem() is None
        assert len(store.slot_entries("j", 0.0, 100.0)) == 11
        assert store.claim_slots([claim("j", 12.0, index=12)]) == {}
    finally:
        store.close()
    reopened = SQLiteStore(path, size_bytes=1 << 20)
    reopened.open()
    try:
        assert sorted(e.slot for e in reopened.slot_entries("j", 0.0, 100.0).values()) == [
            float(slot) for slot in range(1, 13)]
        assert reopened.claim_slots([claim("j", 3.0, owner="other")]).keys() == {slot_id("j", 3.0)}
    finally:
        reopened.close()
