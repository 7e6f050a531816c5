"""Storage backends behind one protocol: `open_store` picks one from a ``--db-uri``."""

from __future__ import annotations

from actors.errors import ConfigError
from actors.store.base import DOC_TYPES, Page, Query, Store
from actors.uri import is_mongo, is_sqlite, sqlite_path

__all__ = ["DOC_TYPES", "Page", "Query", "Store", "open_store"]


def open_store(uri: str, *, size_bytes: int, max_docs: int = 0, **backend_options: object) -> Store:
    """Build (not yet open) the store named by *uri*.

    ``sqlite:///relative/or/absolute.db`` (``sqlite:////abs/path.db`` for absolute) is the
    embedded store; ``mongodb://...`` the MongoDB backend.
    """
    if is_sqlite(uri):
        from actors.store.sqlite import SQLiteStore

        return SQLiteStore(sqlite_path(uri), size_bytes=size_bytes, max_docs=max_docs)
    if is_mongo(uri):
        from actors.store.mongo import MongoStore

        return MongoStore(uri, size_bytes=size_bytes, max_docs=max_docs, **backend_options)  # type: ignore[arg-type]
    raise ConfigError(f"db_uri {uri!r} is not supported (use sqlite:///file.db or mongodb://host:port/)")
