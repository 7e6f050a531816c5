"""The MongoDB backend: results and logs in a capped collection, job records beside it.

It exists because the original DAS analytics stored everything in a capped MongoDB
collection, and production sites keep doing so (``--db-uri mongodb://...``). It offers the
same `Store` protocol as the embedded SQLite store, plus a native live tail.

* Documents go to the capped collection ``db_coll`` (created at `MongoStore.open` with
  ``size``/``max``; an existing one that is not capped, or capped differently, is refused
  unless ``convert``). Job records go to the normal collection ``<db_coll>_jobs``.
* The store gives each document an increasing integer ``seq`` (also its ``_id``); several
  servers on one database each have a Journal writing, so a seq another writer took is found
  by its duplicate key and numbered again (`actors.store.mongo_seq`). A batch is one
  unordered ``insert_many``. A batch that failed
  is retried by the Journal with the same document objects: they keep their ``seq``, so
  what a lost reply had already stored comes back as duplicate keys and is counted as
  stored, never written twice.
* `MongoStore.tail` is a tailable cursor (await-data on MongoDB), re-created whenever it dies.

Tested against MongoDB and FerretDB 1.24 (SQLite backend). FerretDB differences, handled:
it trims capped collections in a periodic cleanup, not on insert, so ``docs``/``bytes``
may exceed the capacity for a while (``evicted`` is computed as documents inserted since
`open` minus the growth of the count, so it catches up with that cleanup); it has no
``convertToCapped``/``collMod``, so ``convert`` copies the documents into a new capped
collection and renames it; its ``bytes`` are SQLite page sizes (multiples of 4 KiB); it
closes a tailable cursor whose first batch is not full, so the tail opens its cursor with
a one-document first batch anchored on an existing document; its await-data cursors lose
or repeat documents, so there the tail polls a plain tailable cursor instead.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import structlog
from bson.errors import InvalidDocument
from pymongo import ASCENDING, DESCENDING, IndexModel, MongoClient
from pymongo import errors as mongo_errors
from pymongo.collection import Collection as MongoCollection
from pymongo.command_cursor import CommandCursor
from pymongo.database import Database
from pymongo.errors import OperationFailure, PyMongoError
from pymongo.uri_parser import parse_uri

from actors.errors import ConfigError, StoreError, StoreUnavailableError
from actors.store.base import Page, Query, check_fields
from actors.store.mongo_jobs import MongoJobs
from actors.store.mongo_lease import MongoLease
from actors.store.mongo_ledger import MongoLedger, ensure_ledger
from actors.store.mongo_relay import MongoRelay
from actors.store.mongo_seq import Numbering
from actors.store.runlines import expand, is_batch

Doc = dict[str, Any]
log = structlog.get_logger("das_actors.store")

#: The queries' indexes: seq (unique: paging, the tail), type, runs of a job, outcomes, time
#: windows, ancestry (multikey), logger names, class and job names.
_KEYS = (("type", "seq"), ("job_id", "index"), ("type", "outcome", "seq"), ("type", "time"), ("parent",),
         ("logger", "seq"), ("classname",), ("name",))  # fmt: skip
_INDEXES = (IndexModel([("seq", ASCENDING)], unique=True), *(IndexModel([(k, ASCENDING) for k in ks]) for ks in _KEYS))
_UNAVAILABLE = (mongo_errors.ConnectionFailure, mongo_errors.ExecutionTimeout, mongo_errors.WTimeoutError,
                mongo_errors.WaitQueueTimeoutError)  # fmt: skip
_DUPLICATE_KEY = 11000
#: BadValue, CommandNotFound, InvalidOptions, CommandNotSupported, NotImplemented: convert by copying.
_NO_SUCH_COMMAND = frozenset({2, 59, 72, 115, 238})
_NEWEST = [("seq", DESCENDING)]
_NO_ID = {"_id": False}


class MongoStore(MongoJobs, MongoLedger, MongoLease, MongoRelay):
    """`Store` (and `TailableStore`) on MongoDB at *uri*, capped at *size_bytes*; see the module.
    The run ledger (`actors.store.mongo_ledger`) lives in two normal collections beside it; the
    leader lease with the instances' heartbeats (`actors.store.mongo_lease`) and the commands
    followers hand to the leader (`actors.store.mongo_relay`) in three more."""

    kind = "mongodb"

    def __init__(self, uri: str, *, size_bytes: int, max_docs: int = 0, db_name: str = "analytics_results",
                 db_coll: str = "db", convert: bool = False, timeout_s: float = 2.0) -> None:
        if isinstance(size_bytes, bool) or not isinstance(size_bytes, int) or size_bytes <= 0:
            raise ValueError(f"db_size must be a positive integer number of bytes, got {size_bytes!r}")
        if isinstance(max_docs, bool) or not isinstance(max_docs, int) or max_docs < 0:
            raise ValueError(f"db_max_docs must be an integer >= 0 (0 = unlimited), got {max_docs!r}")
        if not timeout_s > 0:
            raise ValueError(f"db_timeout must be > 0 seconds, got {timeout_s!r}")
        self.uri, self.size_bytes, self.max_docs = uri, size_bytes, max_docs
        self.db_name, self.db_coll, self.convert, self.timeout_s = db_name, db_coll, convert, timeout_s
        self._lock = threading.RLock()  # open/close and the writer's seq counter
        self._client: MongoClient[Doc] | None = None
        self._numbering = Numbering()
        self._pending: dict[int, tuple[Mapping[str, Any], list[int]]] = {}  # id(doc) -> (doc, seqs) of a failed batch
        self._inserted = self._count_at_open = 0
        self._server: Doc = {}
        try:
            parsed = parse_uri(uri)
        except (PyMongoError, ValueError) as exc:
            raise ConfigError(f"db_uri is not a valid MongoDB URI: {exc}") from exc
        self._uri_options = {str(key).lower() for key in parsed["options"]}
        hosts = ",".join(f"{host}:{port}" for host, port in parsed["nodelist"])  # never the credentials
        self._where = f"mongodb://{hosts}/{db_name}.{db_coll}"

    def __repr__(self) -> str:
        return f"MongoStore({self._where}, size_bytes={self.size_bytes}, max_docs={self.max_docs})"

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        try:
            yield
        except _UNAVAILABLE as exc:
            raise StoreUnavailableError(f"mongodb store {self._where}: {action} failed: {exc}") from exc
        except PyMongoError as exc:
            raise StoreError(f"mongodb store {self._where}: {action} failed: {exc}") from exc

    def _db(self) -> Database[Doc]:
        client = self._client
        if client is None:
            raise StoreError(f"mongodb store {self._where} is not open")
        return client[self.db_name]

    def _docs(self) -> MongoCollection[Doc]:
        return self._db()[self.db_coll]

    def _jobs(self) -> MongoCollection[Doc]:
        return self._db()[self.db_coll + "_jobs"]

    # -- lifecycle ----------------------------------------------------------------------

    def open(self) -> None:
        with self._lock:
            if self._client is not None:
                return
            ms = int(self.timeout_s * 1000)
            # Options in the URI win; operations may run longer than connecting takes.
            timeouts: dict[str, Any] = {
                "serverSelectionTimeoutMS": ms, "connectTimeoutMS": ms, "socketTimeoutMS": 5 * ms}
            client: MongoClient[Doc] = MongoClient(
                self.uri, connect=False, appname="das-actors",
                **{key: value for key, value in timeouts.items() if key.lower() not in self._uri_options})  # fmt: skip
            self._client = client
            try:
                with self._errors("open"):
                    info = client.admin.command("buildInfo")
                    self._server = {"version": info.get("version"), "ferretdb": info.get("ferretdbVersion")}
                    self._ensure_capped(self._db())
                    self._ensure_indexes(self._docs())
                    ensure_ledger(self._db(), self.db_coll)
                    newest = self._docs().find_one({}, projection={"seq": True}, sort=_NEWEST)
                    self._numbering = Numbering(int(newest["seq"]) if newest and isinstance(newest.get("seq"), int)
                                                else 0)
                    self._count_at_open, self._inserted, self._pending = self._coll_stats()[0], 0, {}
            except BaseException:
                self._client = None
                client.close()
                raise

    def _ensure_capped(self, db: Database[Doc]) -> None:
        name, spare = self.db_coll, self.db_coll + "_convert"
        found = {c["name"]: c.get("options", {}) for c in db.list_collections(filter={"name": {"$in": [name, spare]}})}
        if name not in found and spare in found:  # a conversion stopped between drop and rename
            log.warning("store.convert.resume", collection=f"{self.db_name}.{name}", source=spare)
            db[spare].rename(name)
            found[name] = found.pop(spare)
        options = found.get(name)
        if options is None:
            extra: dict[str, Any] = {"max": self.max_docs} if self.max_docs else {}
            db.create_collection(name, capped=True, size=self.size_bytes, **extra)
            log.info("store.created", collection=f"{self.db_name}.{name}", size=self.size_bytes, max=self.max_docs)
            return
        size, most = int(options.get("size") or 0), int(options.get("max") or 0)
        # MongoDB rounds a capped size up to a multiple of 256 bytes.
        if options.get("capped") and size in (self.size_bytes, -(-self.size_bytes // 256) * 256) \
                and most == self.max_docs:  # fmt: skip
            return
        found_text = f"capped with size={size} max={most}" if options.get("capped") else "not capped"
        asked = f"capped with size={self.size_bytes} (db_size) max={self.max_docs} (db_max_docs)"
        if not self.convert:
            raise ConfigError(f"collection {self.db_name}.{name} exists but is {found_text}, while {asked} was "
                              "asked: give --db-convert to convert it (keeps the newest documents that fit), "
                              "or use another --db-coll")  # fmt: skip
        log.warning("store.convert", collection=f"{self.db_name}.{name}", found=found_text, asked=asked)
        try:
            if options.get("capped"):
                db.command({"collMod": name, "cappedSize": self.size_bytes, "cappedMax": self.max_docs or 0})
            else:
                db.command({"convertToCapped": name, "size": self.size_bytes})
                if self.max_docs:
                    db.command({"collMod": name, "cappedMax": self.max_docs})
        except OperationFailure as exc:
            if exc.code not in _NO_SUCH_COMMAND:
                raise
            log.warning("store.convert.copy", collection=f"{self.db_name}.{name}", reason=str(exc))
            self._copy_convert(db, name, spare)

    def _ensure_indexes(self, coll: MongoCollection[Doc]) -> None:
        # Only the missing ones: FerretDB 1.24 fails a createIndexes naming several existing indexes.
        existing = coll.index_information()
        if existing.get("seq_1", {"unique": True}).get("unique") is not True:
            raise ConfigError(f"collection {self.db_name}.{self.db_coll} has an index seq_1 that is not unique: "
                              "drop it (das-actors creates it unique)")  # fmt: skip
        missing = [index for index in _INDEXES if index.document["name"] not in existing]
        if missing:
            coll.create_indexes(missing)

    def _copy_convert(self, db: Database[Doc], name: str, spare: str) -> None:
        """Convert by copying into a new capped collection (for servers without convertToCapped)."""
        db.drop_collection(spare)
        extra: dict[str, Any] = {"max": self.max_docs} if self.max_docs else {}
        db.create_collection(spare, capped=True, size=self.size_bytes, **extra)
        batch: list[Doc] = []
        for doc in db[name].find({}):  # natural (insertion) order
            batch.append(doc)
            if len(batch) == 1000:
                db[spare].insert_many(batch, ordered=True)
                batch = []
        if batch:
            db[spare].insert_many(batch, ordered=True)
        db.drop_collection(name)
        db[spare].rename(name)

    def close(self) -> None:
        with self._lock:
            client, self._client = self._client, None
            if client is not None:
                client.close()

    # -- documents ------------------------------------------------------------------------

    def insert(self, docs: Sequence[Mapping[str, Any]]) -> int:
        """See `Store.insert`. A line batch (`actors.store.runlines`) is stored as its lines, one
        document each with consecutive seqs: the capped collection, its indexes and every reader
        stay as they were. Returns the documents stored (lines, for a batch)."""
        if not docs:
            return 0
        with self._lock:
            coll = self._docs()
            items: list[tuple[int, Mapping[str, Any]]] = []  # (position of the given document, document)
            for position, given in enumerate(docs):
                kind = given.get("type")
                if type(kind) is not str:
                    raise StoreError(f"document #{position} of the batch has no string 'type': {kind!r}")
                if is_batch(given):
                    items.extend((position, line) for line in expand(given))
                else:
                    items.append((position, given))
            retried = {position: list(prior[1]) for position, given in enumerate(docs)
                       if (prior := self._pending.get(id(given))) is not None and prior[0] is given}
            fresh = {i for i, (position, _) in enumerate(items) if position not in retried}
            with self._errors("insert"):
                numbers = iter(self._numbering.next_seqs(coll, len(fresh)))
            batch: list[Doc] = []
            for position, given in items:
                # a retried batch keeps its seqs: what was stored is not stored again
                seq = retried[position].pop(0) if position in retried else next(numbers)
                doc = {key: value for key, value in given.items() if key not in ("seq", "_id")}
                doc["seq"] = doc["_id"] = seq
                batch.append(doc)
            try:
                with self._errors("insert"):
                    self._numbering.insert(coll, batch, fresh, self._insert_many)
            except (InvalidDocument, OverflowError) as exc:
                raise StoreError(f"mongodb store {self._where}: a document is not BSON-safe: {exc}") from exc
            except BaseException:  # the Journal retries with the same objects: they keep these numbers
                seqs: dict[int, list[int]] = {}
                for (position, _), doc in zip(items, batch, strict=True):
                    seqs.setdefault(position, []).append(doc["seq"])
                self._pending = {id(given): (given, seqs[position]) for position, given in enumerate(docs)
                                 if position in seqs}
                raise
            self._pending = {}
            self._inserted += len(batch)
            return len(batch)

    def resync_seq(self) -> None:
        """Number new documents above the newest stored one (a follower that becomes the leader:
        another server wrote meanwhile; `actors.store.mongo_seq`)."""
        with self._lock, self._errors("resync_seq"):
            self._numbering.resync(self._docs())

    @staticmethod
    def _insert_many(coll: MongoCollection[Doc], batch: list[Doc]) -> None:
        """One unordered insert (a test seam: a reply lost after part of the batch was stored)."""
        coll.insert_many(batch, ordered=False)

    @staticmethod
    def _spec(query: Query) -> Doc:
        """The filter document of *query*."""
        spec: Doc = {}
        for key, value in (("type", query.type), ("job_id", query.job_id), ("index", query.index),
                           ("outcome", query.outcome), ("classname", query.classname), ("name", query.name),
                           ("parent", query.parent), ("tags", query.tag)):  # fmt: skip
            if value is not None:
                spec[key] = value  # on an array (parent, tags), equality matches any element
        if query.outcome is not None or query.classname is not None or query.name is not None:
            # these describe runs: they match result documents only (as in the SQLite store)
            spec["type"] = "result" if query.type in (None, "result") else {"$in": []}
        window = {op: bound for op, bound in (("$gte", query.since), ("$lte", query.until)) if bound is not None}
        if window:
            spec["time"] = window
        if query.logger_prefix is not None:
            spec["logger"] = {"$regex": "^" + re.escape(query.logger_prefix) + r"(?:\.|$)"}
        if query.min_level is not None:
            spec["level"] = {"$gte": query.min_level}
        return spec

    def find(self, query: Query) -> Page:
        if query.limit < 0 or query.offset < 0:
            raise ValueError(f"query limit and offset must be >= 0, got {query.limit} and {query.offset}")
        spec = self._spec(query)
        coll = self._docs()
        with self._errors("find"):
            total = coll.count_documents(spec)
            items = [] if query.limit == 0 else list(
                coll.find(spec, projection=_NO_ID, sort=_NEWEST, skip=query.offset, limit=query.limit))
        return Page(items=items, total=total, more=query.offset + len(items) < total)

    def iter_rows(self, query: Query, fields: Sequence[str], batch: int = 5000) -> Iterator[tuple[Any, ...]]:
        """See `Store.iter_rows`: one cursor (no skip) with a projection, *batch* documents per round trip."""
        names = ("seq", "time", "type", *check_fields(fields, batch))
        projection: Doc = {"_id": False, **dict.fromkeys(names, True)}
        with self._errors("iter_rows"):
            cursor = self._docs().find(self._spec(query), projection=projection, batch_size=batch)
            try:
                for found in cursor:
                    get = found.get
                    yield tuple(get(name) for name in names)
            finally:
                cursor.close()

    def read_after(self, seq: int, types: Collection[str] | None = None, limit: int = 1000) -> list[Doc]:
        spec = self._after(seq, types)
        if spec is None or limit <= 0:
            return []
        with self._errors("read_after"):
            return list(self._docs().find(spec, projection=_NO_ID, sort=[("seq", ASCENDING)], limit=limit))

    @staticmethod
    def _after(seq: int, types: Collection[str] | None) -> Doc | None:
        spec: Doc = {"seq": {"$gt": seq}}
        if types is not None:
            types = [types] if isinstance(types, str) else list(types)
            if not types:
                return None
            spec["type"] = {"$in": types}
        return spec

    def last_seq(self) -> int:
        with self._errors("last_seq"):
            newest = self._docs().find_one({}, projection={"seq": True}, sort=_NEWEST)
        return int(newest["seq"]) if newest and isinstance(newest.get("seq"), int) else 0

    def tail(self, after_seq: int, types: Collection[str] | None, stop: threading.Event,
             poll_s: float = 0.2) -> Iterator[Doc]:
        """A tailable cursor on the capped collection (await-data on MongoDB), re-created when it dies.

        A tailable cursor dies when its first query matches nothing (and, on FerretDB, when
        its first batch is not full), so it is opened on ``seq > after`` OR the newest stored
        document at or before it, with a first batch of one; that anchor is skipped here, as
        is anything at or below the last yielded ``seq``. On FerretDB 1.24 the cursor is
        tailable without await-data and polled every *poll_s*: its await-data ``getMore``
        loses or repeats documents when the wait ends while it is reading a batch.
        """
        if poll_s <= 0:
            raise ValueError(f"poll_s must be > 0, got {poll_s!r}")
        if self._after(after_seq, types) is None:  # no type asked: nothing will ever come
            stop.wait()
            return
        last, wait_ms = after_seq, max(1, min(int(poll_s * 1000), int(self.timeout_s * 2500)))
        awaits = not self._server.get("ferretdb")
        while not stop.is_set():
            try:
                with self._errors("tail"):
                    cursor = self._tail_cursor(last, types, wait_ms if awaits else None)
            except StoreUnavailableError:
                stop.wait(poll_s)  # the server is away: retry from the last yielded seq
                continue
            try:
                while cursor.alive and not stop.is_set():
                    doc = cursor.try_next()
                    if doc is None:
                        if not awaits:
                            stop.wait(poll_s)
                    elif isinstance(doc.get("seq"), int) and doc["seq"] > last:
                        last = doc["seq"]
                        yield doc
            except PyMongoError as exc:  # the server went away, or the cursor was killed: re-create it
                log.debug("store.tail.reopen", error=f"{type(exc).__name__}: {exc}", after_seq=last)
            finally:
                cursor.close()
            stop.wait(poll_s)

    def _tail_cursor(self, last: int, types: Collection[str] | None, wait_ms: int | None) -> CommandCursor[Doc]:
        spec = self._after(last, types) or {}
        anchor = self._docs().find_one({"seq": {"$lte": last}}, projection={"seq": True}, sort=_NEWEST)
        if anchor is not None:
            spec = {"$or": [{"seq": anchor["seq"]}, spec]}
        cursor: CommandCursor[Doc] = self._db().cursor_command(
            "find", self.db_coll, filter=spec, projection=_NO_ID, tailable=True, awaitData=wait_ms is not None,
            batchSize=1, max_await_time_ms=wait_ms)  # fmt: skip
        return cursor.batch_size(1000)

    def _coll_stats(self) -> tuple[int, int]:
        stats = self._db().command("collStats", self.db_coll)
        return int(stats.get("count", 0)), int(stats.get("size", 0))

    def stats(self) -> Doc:
        """Counts from ``collStats``; ``evicted`` = inserted since `open` minus the growth of the count."""
        with self._errors("stats"):
            docs, size = self._coll_stats()
        evicted = max(0, self._inserted - (docs - self._count_at_open))
        return {"kind": self.kind, "docs": docs, "bytes": size, "capacity_bytes": self.size_bytes,
                "max_docs": self.max_docs, "evicted": evicted, "server": dict(self._server),
                "where": self._where}  # fmt: skip
