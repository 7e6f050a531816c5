"""One contract for both object stores: chunked blobs in SQLite and GridFS on a real MongoDB-compatible
server (FerretDB 1.24 here): versions, tags, size limits, checks, and nothing half-written visible."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from pymongo import MongoClient

from actors.errors import InvalidValueError, NotFoundError
from actors.store import formats
from actors.store.objects import IncompleteWriteError, ObjectStore, ObjectTooLargeError
from tests.store.data_backends import DataBackend

pytestmark = pytest.mark.usefixtures("data_backend")


def put(store: ObjectStore, name: str, data: bytes, **options: Any):
    fmt = options.pop("fmt", None) or formats.detect_format(name, options.get("content_type", ""))
    content_type = options.pop("content_type", "") or formats.content_type_for(fmt)
    check = options.pop("check", None)
    if check is None and fmt != "bytes":
        def check(chunks, size):
            return formats.check(fmt, chunks, size, what=f"object {name!r}")
    chunks = [data[i:i + 70_000] for i in range(0, len(data), 70_000)] or [b""]
    return store.write(name, chunks, content_type=content_type, fmt=fmt, check=check, **options)


def read_all(store: ObjectStore, name: str, version: int | None = None) -> bytes:
    _, chunks = store.read(name, version)
    return b"".join(chunks)


def leftover_chunks(backend: DataBackend) -> int:
    """Stored chunk rows of any blob (committed or not)."""
    if backend.name == "sqlite":
        path = backend.uri.removeprefix("sqlite:///")
        with sqlite3.connect(path) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM object_chunks").fetchone()[0])
    client: MongoClient[dict[str, Any]] = MongoClient(backend.uri, serverSelectionTimeoutMS=5000)
    try:
        return int(client[backend.db_name]["objects.chunks"].count_documents({}))
    finally:
        client.close()


def test_a_written_object_reads_back_with_its_metadata(data_backend: DataBackend):
    store = data_backend.objects()
    data = os.urandom(600_000)
    info = put(store, "raw.bin", data, tags=["b", "a"], producer={"job_id": "j1", "index": 3, "name": "job",
                                                                    "extra": "dropped"})
    assert (info.name, info.version, info.size, info.format) == ("raw.bin", 1, len(data), "bytes")
    assert info.sha256 == hashlib.sha256(data).hexdigest()
    assert info.tags == ("a", "b")
    assert info.producer == {"job_id": "j1", "index": 3, "name": "job"}
    assert info.content_type == "application/octet-stream"
    assert read_all(store, "raw.bin") == data
    assert store.info("raw.bin") == info


def test_writing_a_name_again_adds_a_version_and_keeps_tags(data_backend: DataBackend):
    store = data_backend.objects()
    put(store, "doc.json", b'{"v": 1}', tags=["model"])
    second = put(store, "doc.json", b'{"v": 2}')
    assert second.version == 2 and second.tags == ("model",)  # no tags given: the newest version's are kept
    assert read_all(store, "doc.json") == b'{"v": 2}'
    assert read_all(store, "doc.json", 1) == b'{"v": 1}'
    assert [v.version for v in store.versions("doc.json")] == [2, 1]
    assert store.find().total == 1
    third = put(store, "doc.json", b'{"v": 3}', tags=[])
    assert third.tags == ()


def test_retention_prunes_the_oldest_versions(data_backend: DataBackend):
    store = data_backend.objects()
    for value in range(5):
        put(store, "series.csv", f"n\n{value}\n".encode(), keep_versions=2)
    assert [v.version for v in store.versions("series.csv")] == [5, 4]
    with pytest.raises(NotFoundError):
        store.info("series.csv", 3)


def test_find_by_tag_and_prefix_pages_the_newest_versions(data_backend: DataBackend):
    store = data_backend.objects()
    for index in range(7):
        put(store, f"obj-{index}.json", b"[]", tags=["even" if index % 2 == 0 else "odd", "all"])
    put(store, "other.json", b"{}", tags=["all"])
    put(store, "obj-1.json", b"[1]", tags=["even"])  # its newest version moves to "even"
    page = store.find(tag="even", limit=3)
    assert [i.name for i in page.items] == ["obj-0.json", "obj-1.json", "obj-2.json"]
    assert page.total == 5 and page.more
    assert [i.name for i in store.find(tag="even", offset=3).items] == ["obj-4.json", "obj-6.json"]
    assert store.find(tag="odd").total == 2
    assert store.find(prefix="obj-").total == 7
    assert store.find(tag="all", prefix="oth").items[0].name == "other.json"


def test_tag_and_untag(data_backend: DataBackend):
    store = data_backend.objects()
    put(store, "t.bin", b"x", tags=["keep", "drop"])
    changed = store.tag("t.bin", add=["new"], remove=["drop"])
    assert changed.tags == ("keep", "new")
    assert store.info("t.bin").tags == ("keep", "new")
    assert [i.name for i in store.find(tag="new").items] == ["t.bin"]
    assert store.find(tag="drop").total == 0
    with pytest.raises(InvalidValueError):
        store.tag("t.bin", add=["not a tag"])


def test_too_large_is_refused_and_leaves_nothing(data_backend: DataBackend):
    store = data_backend.objects()
    with pytest.raises(ObjectTooLargeError) as caught:
        put(store, "big.bin", os.urandom(1_000_000), max_bytes=500_000)
    assert caught.value.status == 413 and "object_max_size" in str(caught.value)
    assert store.find().total == 0
    with pytest.raises(NotFoundError):
        store.versions("big.bin")
    assert leftover_chunks(data_backend) == 0


def test_an_interrupted_write_leaves_nothing_visible(data_backend: DataBackend):
    store = data_backend.objects()
    put(store, "keep.bin", b"v1")

    def broken() -> Iterator[bytes]:
        yield os.urandom(600_000)
        raise OSError("client went away")

    with pytest.raises(OSError, match="went away"):
        store.write("keep.bin", broken(), content_type="application/octet-stream", fmt="bytes")
    with pytest.raises(IncompleteWriteError):
        store.write("keep.bin", [b"short"], content_type="application/octet-stream", fmt="bytes", expected_size=100)
    assert store.info("keep.bin").version == 1
    assert read_all(store, "keep.bin") == b"v1"
    assert leftover_chunks(data_backend) == 1


def test_a_csv_or_json_that_does_not_parse_is_refused_naming_line_and_column(data_backend: DataBackend):
    store = data_backend.objects()
    with pytest.raises(InvalidValueError, match="line 3 column 2"):
        put(store, "bad.csv", b"a,b\n1,2\n3\n")
    with pytest.raises(InvalidValueError, match="line 2 column"):
        put(store, "bad.json", b'{"a": 1,\n  oops}')
    assert store.find().total == 0
    info = put(store, "good.csv", b"a,b\n1,2\n3,4\n")
    assert info.facts == {"columns": ["a", "b"], "rows": 2}
    assert info.content_type.startswith("text/csv")


def test_delete_a_version_or_all(data_backend: DataBackend):
    store = data_backend.objects()
    put(store, "d.bin", b"1")
    put(store, "d.bin", b"2")
    assert store.delete("d.bin", 2) == 1
    assert store.info("d.bin").version == 1 and read_all(store, "d.bin") == b"1"
    assert store.delete("d.bin") == 1
    assert store.find().total == 0
    with pytest.raises(NotFoundError):
        store.delete("d.bin")
    assert leftover_chunks(data_backend) == 0


def test_concurrent_writers_get_distinct_versions(data_backend: DataBackend):
    store = data_backend.objects()
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            put(store, "shared.bin", str(n).encode() * 1000)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert sorted(v.version for v in store.versions("shared.bin")) == [1, 2, 3, 4, 5, 6]


def test_names_are_checked(data_backend: DataBackend):
    store = data_backend.objects()
    for bad in ("", "../x", "a/b", "$x", "x" * 200):
        with pytest.raises(InvalidValueError):
            put(store, bad, b"x")


def test_a_20_mb_object_round_trips_byte_identical(data_backend: DataBackend):
    store = data_backend.objects()
    data = os.urandom(20 * 1024 * 1024)
    began = time.monotonic()
    info = store.write("twenty.bin", (data[i:i + 1024 * 1024] for i in range(0, len(data), 1024 * 1024)),
                       content_type="application/octet-stream", fmt="bytes")
    wrote = time.monotonic() - began
    digest = hashlib.sha256()
    size = 0
    began = time.monotonic()
    for chunk in store.read("twenty.bin")[1]:
        digest.update(chunk)
        size += len(chunk)
    read = time.monotonic() - began
    print(f"\n20 MiB object on {data_backend.name} ({store.kind}): write {wrote:.2f}s, read {read:.2f}s",
          file=sys.stderr)
    assert size == len(data) and info.size == len(data)
    assert digest.hexdigest() == hashlib.sha256(data).hexdigest() == info.sha256
