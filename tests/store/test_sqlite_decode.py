"""`actors.store.sqlite_reads.decode_jobs`: orjson first, the stdlib for what orjson refuses."""

from __future__ import annotations

import math
import sqlite3

import pytest

from actors.errors import StoreError
from actors.store.sqlite import SQLiteStore


def test_job_records_orjson_refuses_are_still_read_and_a_corrupt_one_is_named(tmp_path):
    store = SQLiteStore(tmp_path / "s.db", size_bytes=1 << 20)
    store.open()
    try:
        store.save_jobs([{"job_id": "plain", "n": 1}])
        with sqlite3.connect(tmp_path / "s.db") as conn:  # bodies an older writer (the stdlib) could leave
            conn.execute("INSERT INTO jobs VALUES (?, ?)", ("nan", '{"job_id": "nan", "x": NaN}'))
        records = {r["job_id"]: r for r in store.iter_jobs(2)}
        assert records["plain"] == {"job_id": "plain", "n": 1}
        assert math.isnan(records["nan"]["x"])
        with sqlite3.connect(tmp_path / "s.db") as conn:
            conn.execute("INSERT INTO jobs VALUES (?, ?)", ("bad", '{"job_id": "bad", '))
        with pytest.raises(StoreError, match="'bad' is corrupt"):
            list(store.iter_jobs())
    finally:
        store.close()
