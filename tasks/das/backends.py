"""Pick the das store backend a URI names: the one module that knows both backends.

Why a module of its own: `tasks.das.store` holds the protocol and the records both
backends share, and each backend imports it; choosing between them belongs above both,
so nothing imports back from the module that re-exports it.
"""

from __future__ import annotations

from actors.uri import is_mongo, is_sqlite, sqlite_path
from tasks.das.store import DasStore
from tasks.das.store_mongo import MongoDasStore
from tasks.das.store_sqlite import SQLiteDasStore

__all__ = ["MongoDasStore", "SQLiteDasStore", "open_das_store"]


def open_das_store(uri: str, db_name: str = "das", *, timeout_s: float = 2.0) -> DasStore:
    """Build (not yet open) the store named by *uri*: ``sqlite:///path`` or ``mongodb://...``.

    Raises:
        ConfigError: an empty SQLite path (a `ValueError` for any other unsupported URI).
    """
    if is_sqlite(uri):
        return SQLiteDasStore(sqlite_path(uri, field="das_db_uri"))
    if is_mongo(uri):
        return MongoDasStore(uri, db_name, timeout_s=timeout_s)
    raise ValueError(f"das_db_uri {uri!r} is not supported (use sqlite:///file.db or mongodb://host:port/)")
