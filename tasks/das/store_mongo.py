"""The das service's MongoDB backend: `MongoDasStore` (MongoDB or FerretDB; see
`tasks.das.store` for the data and the atomic refresh with generations)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, ClassVar

from actors.errors import ServiceError
from tasks.das.store import OPEN_ATTEMPTS, PAYLOADS, READ_ATTEMPTS, CacheEntry, Doc, Part, summary_doc

# ---------------------------------------------------------------------------- MongoDB


class MongoDasStore:
    """`DasStore` on MongoDB (or FerretDB) database *db_name* at *uri* (pymongo, lazy connect)."""

    kind = "mongodb"

    def __init__(self, uri: str, db_name: str = "das", *, timeout_s: float = 2.0) -> None:
        from pymongo.errors import PyMongoError
        from pymongo.uri_parser import parse_uri

        try:
            parsed = parse_uri(uri)
        except (PyMongoError, ValueError) as exc:
            raise ValueError(f"das_db_uri is not a valid MongoDB URI: {exc}") from exc
        if not db_name:
            raise ValueError("das_db_name must not be empty")
        self.uri, self.db_name, self.timeout_s = uri, db_name, timeout_s
        self._uri_options = {str(key).lower() for key in parsed["options"]}
        hosts = ",".join(f"{host}:{port}" for host, port in parsed["nodelist"])  # never the credentials
        self._where = f"mongodb://{hosts}/{db_name}"
        self._lock = threading.Lock()
        self._client: Any = None
        self._ready = False

    def __repr__(self) -> str:
        return f"MongoDasStore({self._where})"

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        from pymongo.errors import PyMongoError

        try:
            yield
        except PyMongoError as exc:
            raise ServiceError(f"das mongodb store {self._where}: {action} failed: {exc}") from exc

    def _db(self) -> Any:
        if not self._ready:
            self.open()
        return self._client[self.db_name]

    def open(self) -> None:
        from pymongo import ASCENDING, IndexModel, MongoClient
        from pymongo.errors import ConnectionFailure

        with self._lock:
            if self._ready:
                return
            if self._client is None:
                ms = int(self.timeout_s * 1000)
                timeouts: dict[str, Any] = {"serverSelectionTimeoutMS": ms, "connectTimeoutMS": ms,
                                            "socketTimeoutMS": 10 * ms}
                self._client = MongoClient(self.uri, connect=False, appname="das-actors-das",
                                           **{k: v for k, v in timeouts.items() if k.lower() not in self._uri_options})
            db = self._client[self.db_name]

            def index(*keys: str, unique: bool = False, name: str | None = None) -> Any:
                return IndexModel([(k, ASCENDING) for k in keys], unique=unique, name=name or "_".join(keys))

            wanted = {
                "cache": [index("qhash", "generation", "pos", unique=True)],
                "cachestate": [index("qhash", "generation", unique=True)],
                "apicalls": [index("qhash", "generation")],
                "apilog": [index("time")],
                "querylog": [index("qhash", unique=True), index("mongoquery.spec.key", name="spec_key")],
                "querytimes": [index("t", "qhash"), index("qhash", "t")],
                "summaries": [index("analyzer", "start", "finish", unique=True), index("analyzer", "start"),
                              index("finish")],
            }
            with self._errors("open"):
                for attempt in range(OPEN_ATTEMPTS):
                    try:
                        self._ensure_indexes(db, wanted)
                        break
                    except ConnectionFailure:
                        # FerretDB drops the connection when several clients create indexes at once
                        if attempt == OPEN_ATTEMPTS - 1:
                            raise
                        time.sleep(0.05 * (attempt + 1))
            self._ready = True

    @staticmethod
    def _ensure_indexes(db: Any, wanted: Mapping[str, list[Any]]) -> None:
        """Create the missing indexes only (FerretDB fails a createIndexes naming existing ones)."""
        for name, indexes in wanted.items():
            existing = db[name].index_information()
            missing = [i for i in indexes if i.document["name"] not in existing]
            if missing:
                db[name].create_indexes(missing)

    def close(self) -> None:
        with self._lock:
            client, self._client, self._ready = self._client, None, False
        if client is not None:
            client.close()

    # -- cache ----------------------------------------------------------------------------

    _NEWEST: ClassVar[list[tuple[str, int]]] = [("generation", -1)]

    def _current(self, db: Any, qhash: str, projection: Doc | None = None) -> Doc | None:
        """The newest published pointer document of *qhash*."""
        found: Doc | None = db["cachestate"].find_one({"qhash": qhash}, projection or {"_id": False},
                                                      sort=self._NEWEST)
        return found

    def read(self, qhash: str) -> CacheEntry | None:
        with self._errors("read"):
            db = self._db()
            for _ in range(READ_ATTEMPTS):
                state = self._current(db, qhash)
                if state is None:
                    return None
                rows = list(db["cache"].find({"qhash": qhash, "generation": state["generation"]},
                                             {"_id": False, "record": True}).sort("pos", 1))
                if len(rows) == state["count"]:
                    return CacheEntry(qhash, int(state["generation"]), float(state["expire"]),
                                      [row["record"] for row in rows], dict(state["query"]), float(state["updated"]))
        return None

    def state(self, qhash: str) -> tuple[int, float] | None:
        with self._errors("state"):
            state = self._current(self._db(), qhash, {"generation": True, "expire": True})
        return None if state is None else (int(state["generation"]), float(state["expire"]))

    def write_generation(self, qhash: str, generation: int, parts: Sequence[Part], now: float) -> None:
        rows: list[Doc] = []
        calls: list[Doc] = []
        for part in parts:
            for record in part.records:
                rows.append({"qhash": qhash, "generation": generation, "pos": len(rows), "expire": part.expire,
                             "system": part.system, "api": part.api, "record": dict(record)})
            calls.append({"qhash": qhash, "generation": generation, "system": part.system, "api": part.api,
                          "url": part.url, "expire": part.expire, "time": now})
        with self._errors("write records"):
            db = self._db()
            if rows:
                db["cache"].insert_many(rows, ordered=True)
            if calls:
                db["apicalls"].insert_many(calls, ordered=True)

    def switch(self, qhash: str, generation: int, *, expire: float, count: int, query: Mapping[str, Any],
               now: float) -> bool:
        from pymongo.errors import DuplicateKeyError

        doc = {"qhash": qhash, "generation": generation, "expire": expire, "count": count, "query": dict(query),
               "updated": now}
        with self._errors("switch"):
            db = self._db()
            try:
                db["cachestate"].insert_one(doc)  # the one write that publishes the generation
            except DuplicateKeyError:
                return False
            if db["cachestate"].find_one({"qhash": qhash, "generation": {"$gt": generation}}, {"_id": True}):
                # a newer generation was already published: ours never becomes current
                db["cachestate"].delete_one({"qhash": qhash, "generation": generation})
                return False
        return True

    def drop_older(self, qhash: str, generation: int) -> None:
        older = {"qhash": qhash, "generation": {"$lt": generation}}
        with self._errors("drop old generations"):
            db = self._db()
            db["cachestate"].delete_many(older)  # pointers first: no reader is sent to deleted records
            db["cache"].delete_many(older)
            db["apicalls"].delete_many(older)

    def drop_generation(self, qhash: str, generation: int) -> None:
        this = {"qhash": qhash, "generation": generation}
        with self._errors("drop a generation"):
            db = self._db()
            db["cachestate"].delete_many(this)
            db["cache"].delete_many(this)
            db["apicalls"].delete_many(this)

    def remove(self, qhash: str) -> int:
        with self._errors("remove"):
            db = self._db()
            state = self._current(db, qhash)
            db["cachestate"].delete_many({"qhash": qhash})
            removed = 0
            if state is not None:
                removed = db["cache"].count_documents({"qhash": qhash, "generation": state["generation"]})
            db["cache"].delete_many({"qhash": qhash})
            db["apicalls"].delete_many({"qhash": qhash})
        return int(removed)

    def apicall_records(self, qhash: str) -> list[Doc]:
        with self._errors("apicalls"):
            db = self._db()
            state = self._current(db, qhash)
            if state is None:
                return []
            return list(db["apicalls"].find({"qhash": qhash, "generation": state["generation"]}, {"_id": False}))

    # -- query log ------------------------------------------------------------------------

    def log_call(self, qhash: str, query: str, mongoquery: Mapping[str, Any], time: float) -> None:
        from pymongo.errors import DuplicateKeyError

        with self._errors("log call"):
            db = self._db()
            try:
                db["querylog"].update_one({"qhash": qhash}, {"$setOnInsert": {"query": query,
                                                                              "mongoquery": dict(mongoquery)}},
                                          upsert=True)
            except DuplicateKeyError:
                pass  # a concurrent first call created it
            db["querytimes"].insert_one({"qhash": qhash, "t": time})

    def prune_calls(self, before: float) -> int:
        with self._errors("prune query log"):
            db = self._db()
            dropped = int(db["querytimes"].delete_many({"t": {"$lt": before}}).deleted_count)
            if dropped:
                alive = set(db["querytimes"].distinct("qhash"))
                gone = [d["qhash"] for d in db["querylog"].find({}, {"qhash": True}) if d["qhash"] not in alive]
                for start in range(0, len(gone), 1000):
                    db["querylog"].delete_many({"qhash": {"$in": gone[start:start + 1000]}})
        return dropped

    def list_queries(self, *, key: str | None, after: float, before: float) -> list[Doc]:
        with self._errors("list queries"):
            db = self._db()
            hashes = sorted(db["querytimes"].distinct("qhash", {"t": {"$gte": after, "$lte": before}}))
            found: dict[str, Doc] = {}
            for start in range(0, len(hashes), 1000):
                where: Doc = {"qhash": {"$in": hashes[start:start + 1000]}}
                if key is not None:
                    where["mongoquery.spec.key"] = key
                for doc in db["querylog"].find(where, {"_id": False, "query": True, "mongoquery": True,
                                                       "qhash": True}):
                    found[doc["qhash"]] = {"query": doc["query"], "mongoquery": doc["mongoquery"],
                                           "qhash": doc["qhash"], "times": []}
            matched = sorted(found)
            for start in range(0, len(matched), 1000):
                for row in db["querytimes"].find({"qhash": {"$in": matched[start:start + 1000]}},
                                                 {"_id": False, "qhash": True, "t": True}):
                    found[row["qhash"]]["times"].append(row["t"])
        docs = [found[h] for h in matched]
        for doc in docs:
            doc["times"].sort()
        return docs

    # -- API log --------------------------------------------------------------------------

    def log_api(self, entries: Sequence[Mapping[str, Any]]) -> None:
        if entries:
            with self._errors("log api calls"):
                self._db()["apilog"].insert_many([dict(e) for e in entries], ordered=True)

    def api_calls(self, since: float | None) -> list[Doc]:
        where = {} if since is None else {"time": {"$gte": since}}
        with self._errors("api calls"):
            return list(self._db()["apilog"].find(where, {"_id": False}).sort([("time", 1), ("_id", 1)]))

    def prune_api_log(self, before: float) -> int:
        with self._errors("prune api log"):
            return int(self._db()["apilog"].delete_many({"time": {"$lt": before}}).deleted_count)

    # -- summaries ------------------------------------------------------------------------

    def add_summary(self, summary: Mapping[str, Any]) -> bool:
        from pymongo.errors import DuplicateKeyError

        doc = summary_doc(summary)
        for payload in PAYLOADS:  # [[item, count], ...] -> [{item, count}, ...]: FerretDB has no nested arrays
            if payload in doc:
                doc[payload] = [{"item": item, "count": count} for item, count in doc[payload]]
        with self._errors("add summary"):
            try:
                self._db()["summaries"].insert_one(doc)
            except DuplicateKeyError:
                return False
        return True

    def get_summaries(self, analyzer: str, *, after: float, before: float) -> list[Doc]:
        where = {"analyzer": analyzer, "start": {"$gte": after}, "finish": {"$lte": before}}
        with self._errors("get summaries"):
            docs = list(self._db()["summaries"].find(where, {"_id": False}).sort([("start", 1), ("finish", 1)]))
        for doc in docs:
            for payload in PAYLOADS:
                if payload in doc:
                    doc[payload] = [[pair["item"], pair["count"]] for pair in doc[payload]]
        return docs

    def remove_summaries(self, *, older_than: float, analyzer: str | None) -> int:
        where: Doc = {"finish": {"$lt": older_than}}
        if analyzer is not None:
            where["analyzer"] = analyzer
        with self._errors("remove summaries"):
            return int(self._db()["summaries"].delete_many(where).deleted_count)
