"""The embedded store's WAL checkpoints run on their own thread (`actors.store.sqlite_checkpoint`)."""

from __future__ import annotations

import os

from actors.store.sqlite import SQLiteStore
from actors.store.sqlite_checkpoint import Checkpointer
from tests.polling import wait_for


def test_the_wal_is_checkpointed_by_the_thread_not_by_a_commit(tmp_path):
    store = SQLiteStore(tmp_path / "s.db", size_bytes=1 << 30)
    store.open()
    try:
        store.insert([{"type": "result", "time": 1.0, "job_id": "j", "index": i, "outcome": "success",
                       "pad": "x" * 2000} for i in range(3000)])  # ~1,500 pages: past SQLite's default 1,000
        checkpointer = store._checkpointer
        assert checkpointer is not None
        wait_for(lambda: checkpointer.done >= 2, 10)
        wal = tmp_path / "s.db-wal"
        # a passive checkpoint copied the pages; the next write starts the WAL over, so it stays small
        store.insert([{"type": "result", "time": 2.0, "job_id": "j", "index": 0, "outcome": "success"}])
        wait_for(lambda: checkpointer.done >= 4, 10)
        assert os.path.getsize(wal) < 20 * 1024 * 1024
    finally:
        store.close()
    assert store._checkpointer is None


def test_the_checkpointer_never_creates_a_deleted_file(tmp_path):
    path = tmp_path / "gone.db"
    checkpointer = Checkpointer(str(path), every_s=0.01).start()
    try:
        wait_for(lambda: checkpointer.failed >= 3, 10)  # it tried, and could not open what is not there
        assert not path.exists()
    finally:
        checkpointer.stop()
    assert not path.exists()
