"""Pick the data backends (objects, stream messages) a URI names: the one module that knows them all.

Why a module of its own: the object store and the stream store each have a SQLite and a
MongoDB backend, and the server, its worker processes (the task SDK) and the tests all open
them from the same options. Where the data lives when ``data_uri`` is not given is decided
here too: beside the results store, never inside its file (a big upload must not hold the
Journal's write lock):

* ``sqlite:///path/results.db`` -> ``sqlite:///path/results-data.db``;
* ``mongodb://...`` -> the same server, database ``data_db_name``.
"""

from __future__ import annotations

from actors.errors import ConfigError
from actors.store.objects import ObjectStore
from actors.store.streams import StreamStore
from actors.uri import SQLITE_PREFIX, is_mongo, is_sqlite, sqlite_path


def data_uri_for(db_uri: str, data_uri: str = "") -> str:
    """The URI of the data stores: *data_uri* when given, else derived from *db_uri* (see the module)."""
    if data_uri:
        return data_uri
    if is_sqlite(db_uri):
        path = sqlite_path(db_uri)
        stem = path[:-3] if path.endswith(".db") else path
        return f"{SQLITE_PREFIX}/{stem}-data.db"
    return db_uri


def open_object_store(uri: str, *, db_name: str = "das_data", timeout_s: float = 2.0) -> ObjectStore:
    """Build (not yet open) the object store named by *uri*."""
    if is_sqlite(uri):
        from actors.store.objects_sqlite import SQLiteObjectStore

        return SQLiteObjectStore(sqlite_path(uri, field="data_uri"))
    if is_mongo(uri):
        from actors.store.objects_gridfs import GridFSObjectStore

        return GridFSObjectStore(uri, db_name=db_name, timeout_s=timeout_s)
    raise ConfigError(f"data_uri {uri!r} is not supported (use sqlite:///file.db or mongodb://host:port/)")


def open_stream_store(uri: str, *, db_name: str = "das_data", max_messages: int = 100_000,
                      size_bytes: int = 64 * 1024 * 1024, timeout_s: float = 2.0) -> StreamStore:
    """Build (not yet open) the stream store named by *uri*."""
    if is_sqlite(uri):
        from actors.store.streams_sqlite import SQLiteStreamStore

        return SQLiteStreamStore(sqlite_path(uri, field="data_uri"), max_messages=max_messages)
    if is_mongo(uri):
        from actors.store.streams_mongo import MongoStreamStore

        return MongoStreamStore(uri, db_name=db_name, max_messages=max_messages, size_bytes=size_bytes,
                                timeout_s=timeout_s)
    raise ConfigError(f"data_uri {uri!r} is not supported (use sqlite:///file.db or mongodb://host:port/)")
