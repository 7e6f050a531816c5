"""`actors.store.sqlite_jobs`: job records read orjson first (the stdlib for what it refuses); a scan's cache."""

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


def test_a_scan_of_the_job_records_keeps_a_small_page_cache_and_gives_the_usual_one_back(tmp_path):
    from actors.store.sqlite import PAGE_CACHE_KIB
    from actors.store.sqlite_jobs import SCAN_CACHE_KIB

    store = SQLiteStore(tmp_path / "s.db", size_bytes=1 << 20)
    store.open()
    try:
        store.save_jobs([{"job_id": f"j{i}", "n": i} for i in range(5)])
        conn = store._conn()  # this thread's connection, the one the scan reads with

        def cache_kib() -> int:
            return -int(conn.execute("PRAGMA cache_size").fetchone()[0])

        assert cache_kib() == PAGE_CACHE_KIB
        seen = []
        for record in store.iter_jobs(2):
            seen.append((record["n"], cache_kib()))
        assert seen == [(i, SCAN_CACHE_KIB) for i in range(5)] and cache_kib() == PAGE_CACHE_KIB
        scan = store.iter_jobs(2)
        next(scan)
        scan.close()  # type: ignore[attr-defined]  # a generator: a scan given up half-way gives the cache back too
        assert cache_kib() == PAGE_CACHE_KIB
    finally:
        store.close()
