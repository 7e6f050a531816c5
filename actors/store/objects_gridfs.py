"""Data objects on MongoDB: GridFS files of any size (see `actors.store.objects`).

Each version is one GridFS file (``<bucket>.files`` + ``<bucket>.chunks``, 255 KiB chunks,
the unique ``(files_id, n)`` index) whose ``metadata`` is the version's `ObjectInfo`. A
catalog (``<bucket>.catalog``, one document per name) holds the version counter and the
newest version's info: listing, paging and tag filters read it alone.

A write is announced in ``<bucket>.writes``, streamed into an upload stream, checked (read
back), then committed: the version number comes from an atomic ``$inc`` on the catalog, the
file's metadata gets the info with ``committed: true``, and the catalog moves to it unless a
newer version got there first. Until then no list shows it (`versions` reads committed files
only); an error deletes the file and its chunks; a crashed writer's are swept at the next
`GridFSObjectStore.open` after `STALE_WRITE_S`.

Tested against FerretDB 1.24 (SQLite backend), which stores GridFS files byte-identically.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from bson import ObjectId
from gridfs import GridFSBucket
from gridfs.errors import GridFSError
from pymongo import ASCENDING, MongoClient
from pymongo import errors as mongo_errors
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError, PyMongoError
from pymongo.uri_parser import parse_uri

from actors.errors import ConfigError, StoreError, StoreUnavailableError
from actors.store.formats import Digest, rechunk
from actors.store.objects import (
    CHUNK_BYTES,
    STALE_WRITE_S,
    Checker,
    IncompleteWriteError,
    ObjectInfo,
    ObjectPage,
    ObjectTooLargeError,
    checked_name,
    checked_page,
    checked_version,
    missing,
    new_tags,
    producer_of,
)
from actors.tags import check_tag, check_tags

Doc = dict[str, Any]
_UNAVAILABLE = (mongo_errors.ConnectionFailure, mongo_errors.ExecutionTimeout, mongo_errors.WTimeoutError,
                mongo_errors.WaitQueueTimeoutError)
_COMMITTED = "metadata.committed"
#: Seconds a writer waits for another's lock on the same name, and a lock's lifetime (a crashed holder).
LOCK_WAIT_S = 30.0
LOCK_TTL_S = 60.0


class GridFSObjectStore:
    """`ObjectStore` on the MongoDB at *uri*, database *db_name*, GridFS bucket *bucket*."""

    kind = "gridfs"

    def __init__(self, uri: str, *, db_name: str = "das_data", bucket: str = "objects",
                 timeout_s: float = 2.0) -> None:
        try:
            parsed = parse_uri(uri)
        except (PyMongoError, ValueError) as exc:
            raise ConfigError(f"data_uri is not a valid MongoDB URI: {exc}") from exc
        self.uri, self.db_name, self.bucket_name, self.timeout_s = uri, db_name, bucket, timeout_s
        self._uri_options = {str(key).lower() for key in parsed["options"]}
        hosts = ",".join(f"{host}:{port}" for host, port in parsed["nodelist"])
        self._where = f"mongodb://{hosts}/{db_name} (GridFS bucket {bucket})"
        self._client: MongoClient[Doc] | None = None
        self._bucket: GridFSBucket | None = None

    def __repr__(self) -> str:
        return f"GridFSObjectStore({self._where})"

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        try:
            yield
        except _UNAVAILABLE as exc:
            raise StoreUnavailableError(f"gridfs object store {self._where}: {action} failed: {exc}") from exc
        except (PyMongoError, GridFSError) as exc:
            raise StoreError(f"gridfs object store {self._where}: {action} failed: {exc}") from exc

    def _db(self) -> Database[Doc]:
        if self._client is None:
            raise StoreError(f"gridfs object store {self._where} is not open")
        return self._client[self.db_name]

    def _coll(self, suffix: str) -> Collection[Doc]:
        return self._db()[f"{self.bucket_name}.{suffix}"]

    def _gridfs(self) -> GridFSBucket:
        if self._bucket is None:
            raise StoreError(f"gridfs object store {self._where} is not open")
        return self._bucket

    # -- lifecycle ------------------------------------------------------------------------
    def open(self) -> None:
        if self._client is not None:
            return
        ms = int(self.timeout_s * 1000)
        timeouts: dict[str, Any] = {"serverSelectionTimeoutMS": ms, "connectTimeoutMS": ms, "socketTimeoutMS": 30 * ms}
        self._client = MongoClient(self.uri, connect=False, appname="das-actors-objects",
                                   **{k: v for k, v in timeouts.items() if k.lower() not in self._uri_options})
        try:
            with self._errors("open"):
                self._bucket = GridFSBucket(self._db(), bucket_name=self.bucket_name, chunk_size_bytes=CHUNK_BYTES)
                self._coll("catalog").create_index([("info.tags", ASCENDING)])
                self._coll("files").create_index([("filename", ASCENDING), ("metadata.version", ASCENDING)])
                self._coll("chunks").create_index([("files_id", ASCENDING), ("n", ASCENDING)], unique=True)
                for stale in self._coll("writes").find({"started": {"$lt": time.time() - STALE_WRITE_S}}):
                    self._discard(stale["_id"])
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        client, self._client, self._bucket = self._client, None, None
        if client is not None:
            client.close()

    # -- writing --------------------------------------------------------------------------
    def write(self, name: str, chunks: Iterable[bytes], *, content_type: str, fmt: str,
              tags: Sequence[str] | None = None, producer: Mapping[str, Any] | None = None, max_bytes: int = 0,
              expected_size: int | None = None, check: Checker | None = None, keep_versions: int = 0) -> ObjectInfo:
        name = checked_name(name)
        chosen_tags = None if tags is None else check_tags(list(tags))
        file_id = ObjectId()
        with self._errors("write"):
            self._coll("writes").insert_one({"_id": file_id, "name": name, "started": time.time()})
        try:
            digest = self._upload(name, file_id, chunks, max_bytes)
            if expected_size is not None and digest.size < expected_size:
                raise IncompleteWriteError(name, digest.size, expected_size)
            facts = dict(check(self._chunks(file_id), digest.size)) if check is not None else {}
            return self._commit(name, file_id, digest, content_type=content_type, fmt=fmt, tags=chosen_tags,
                                producer=producer, facts=facts, keep_versions=keep_versions)
        except BaseException:
            self._discard(file_id)
            raise

    def _upload(self, name: str, file_id: ObjectId, chunks: Iterable[bytes], max_bytes: int) -> Digest:
        digest = Digest()
        with self._errors("write chunks"):
            stream = self._gridfs().open_upload_stream_with_id(file_id, name, metadata={"committed": False})
            try:
                for chunk in rechunk(chunks, CHUNK_BYTES):
                    digest.update(chunk)
                    if max_bytes and digest.size > max_bytes:
                        raise ObjectTooLargeError(name, max_bytes)
                    stream.write(chunk)
            except BaseException:
                stream.abort()
                raise
            stream.close()
        return digest

    def _commit(self, name: str, file_id: ObjectId, digest: Digest, *, content_type: str, fmt: str,
                tags: tuple[str, ...] | None, producer: Mapping[str, Any] | None, facts: dict[str, Any],
                keep_versions: int) -> ObjectInfo:
        catalog = self._coll("catalog")
        with self._errors("commit"), self._name_lock(name):
            entry = catalog.find_one({"_id": name}) or {}
            version = int(entry.get("last") or 0) + 1
            if tags is None:
                tags = tuple((entry.get("info") or {}).get("tags") or ())
            info = ObjectInfo(name=name, version=version, size=digest.size, sha256=digest.hexdigest,
                              content_type=content_type, format=fmt, tags=tags, created=time.time(),
                              producer=producer_of(producer), facts=facts)
            self._coll("files").update_one({"_id": file_id},
                                           {"$set": {"metadata": {**info.to_dict(), "committed": True}}})
            catalog.update_one({"_id": name}, {"$set": {"version": version, "last": version, "file_id": file_id,
                                                        "info": info.to_dict()}}, upsert=True)
            self._coll("writes").delete_one({"_id": file_id})
            if keep_versions > 0:
                old = self._coll("files").find({"filename": name, _COMMITTED: True}, {"_id": True},
                                               sort=[("metadata.version", -1)], skip=keep_versions)
                for doc in list(old):
                    self._gridfs().delete(doc["_id"])
        return info

    @contextmanager
    def _name_lock(self, name: str) -> Iterator[None]:
        """Serialize changes of one name across threads and processes: a lock document whose unique
        ``_id`` is the name (inserting it is atomic on MongoDB and FerretDB alike, unlike a
        read-modify-write); a crashed holder's lock expires after `LOCK_TTL_S`."""
        locks, owner = self._coll("locks"), ObjectId()
        deadline = time.monotonic() + LOCK_WAIT_S
        pause = 0.002
        while True:
            try:
                locks.insert_one({"_id": name, "owner": owner, "until": time.time() + LOCK_TTL_S})
                break
            except DuplicateKeyError:
                locks.delete_one({"_id": name, "until": {"$lt": time.time()}})
                if time.monotonic() > deadline:
                    raise StoreUnavailableError(f"gridfs object store {self._where}: object {name!r} stayed locked "
                                                f"for {LOCK_WAIT_S:g}s by another writer") from None
                time.sleep(pause)
                pause = min(pause * 2, 0.05)
        try:
            yield
        finally:
            locks.delete_one({"_id": name, "owner": owner})

    def _discard(self, file_id: Any) -> None:
        try:
            with self._errors("discard"):
                self._coll("chunks").delete_many({"files_id": file_id})
                self._coll("files").delete_one({"_id": file_id})
                self._coll("writes").delete_one({"_id": file_id})
        except StoreError:
            pass  # swept at a later open

    # -- reading --------------------------------------------------------------------------
    def _chunks(self, file_id: Any) -> Iterator[bytes]:
        with self._errors("read"):
            stream = self._gridfs().open_download_stream(file_id)
        try:
            while True:
                with self._errors("read"):
                    chunk = stream.readchunk()
                if not chunk:
                    return
                yield chunk
        finally:
            stream.close()

    def _file(self, name: str, version: int | None) -> Doc:
        name, version = checked_name(name), checked_version(version)
        with self._errors("info"):
            if version is None:
                entry = self._coll("catalog").find_one({"_id": name, "version": {"$exists": True}})
                doc = None if entry is None else self._coll("files").find_one({"_id": entry["file_id"]})
            else:
                doc = self._coll("files").find_one({"filename": name, "metadata.version": version, _COMMITTED: True})
        if doc is None:
            raise missing(name, version)
        return doc

    @staticmethod
    def _info(doc: Mapping[str, Any]) -> ObjectInfo:
        return ObjectInfo.from_dict(doc["metadata"])

    def info(self, name: str, version: int | None = None) -> ObjectInfo:
        return self._info(self._file(name, version))

    def read(self, name: str, version: int | None = None) -> tuple[ObjectInfo, Iterator[bytes]]:
        doc = self._file(name, version)
        return self._info(doc), self._chunks(doc["_id"])

    def find(self, *, tag: str | None = None, prefix: str | None = None, limit: int = 100,
             offset: int = 0) -> ObjectPage:
        checked_page(limit, offset)
        query: Doc = {"version": {"$exists": True}}
        if tag is not None:
            query["info.tags"] = check_tag(tag)
        if prefix:
            query["_id"] = {"$gte": prefix, "$lt": prefix + "\U0010ffff"}
        with self._errors("find"):
            total = self._coll("catalog").count_documents(query)
            docs = list(self._coll("catalog").find(query, sort=[("_id", ASCENDING)], skip=offset, limit=limit)) \
                if limit else []
        items = [ObjectInfo.from_dict(doc["info"]) for doc in docs]
        return ObjectPage(items=items, total=total, more=offset + len(items) < total)

    def versions(self, name: str) -> list[ObjectInfo]:
        name = checked_name(name)
        with self._errors("versions"):
            docs = list(self._coll("files").find({"filename": name, _COMMITTED: True},
                                                 sort=[("metadata.version", -1)]))
        if not docs:
            raise missing(name)
        return [self._info(doc) for doc in docs]

    # -- changing ---------------------------------------------------------------------------
    def tag(self, name: str, *, add: Sequence[str] = (), remove: Sequence[str] = (),
            version: int | None = None) -> ObjectInfo:
        with self._errors("tag"), self._name_lock(checked_name(name)):
            doc = self._file(name, version)
            info = self._info(doc)
            changed = ObjectInfo.from_dict({**info.to_dict(), "tags": list(new_tags(info.tags, add, remove))})
            self._coll("files").update_one({"_id": doc["_id"]}, {"$set": {"metadata.tags": list(changed.tags)}})
            self._coll("catalog").update_one({"_id": info.name, "version": info.version},
                                             {"$set": {"info.tags": list(changed.tags)}})
        return changed

    def delete(self, name: str, version: int | None = None) -> int:
        name, version = checked_name(name), checked_version(version)
        query: Doc = {"filename": name, _COMMITTED: True}
        if version is not None:
            query["metadata.version"] = version
        with self._errors("delete"), self._name_lock(name):
            ids = [doc["_id"] for doc in self._coll("files").find(query, {"_id": True})]
            if not ids:
                raise missing(name, version)
            for file_id in ids:
                self._gridfs().delete(file_id)
            newest = self._coll("files").find_one({"filename": name, _COMMITTED: True},
                                                  sort=[("metadata.version", -1)])
            if newest is None:
                self._coll("catalog").delete_one({"_id": name})
            else:
                self._coll("catalog").update_one({"_id": name}, {"$set": {
                    "version": newest["metadata"]["version"], "file_id": newest["_id"], "info": {
                        k: v for k, v in newest["metadata"].items() if k != "committed"}}})
        return len(ids)

    def stats(self) -> dict[str, Any]:
        with self._errors("stats"):
            objects = self._coll("catalog").count_documents({"version": {"$exists": True}})
            versions = self._coll("files").count_documents({_COMMITTED: True})
            size = sum(int(doc.get("length") or 0) for doc in self._coll("files").find({_COMMITTED: True},
                                                                                     {"length": True}))
        return {"kind": self.kind, "objects": objects, "versions": versions, "bytes": size, "where": self._where}
