"""Storage backends behind one protocol: `open_store` picks one from a ``--db-uri``."""

from __future__ import annotations

from actors.store.base import DOC_TYPES, Page, Query, Store

__all__ = ["DOC_TYPES", "Page", "Query", "Store", "open_store"]


def open_store(uri: str, *, size_bytes: int, max_docs: int = 0, **backend_options: object) -> Store:
    """Build (not yet open) the store named by *uri*.

    ``sqlite:///relative/or/absolute.db`` (``sqlite:////abs/path.db`` for absolute) is the
    embedded store; ``mongodb://...`` the MongoDB backend.
    """
    from actors.errors import ConfigError

    if uri.startswith("sqlite://"):
        from actors.store.sqlite import SQLiteStore

        path = uri.removeprefix("sqlite://")
        path = path.removeprefix("/") if not path.startswith("//") else path[1:]
        if not path:
            raise ConfigError(f"db_uri {uri!r} names no file (use sqlite:///path/to/file.db)")
        return SQLiteStore(path, size_bytes=size_bytes, max_docs=max_docs)
    if uri.startswith(("mongodb://", "mongodb+srv://")):
        try:
            from actors.store.mongo import MongoStore  # type: ignore[import-not-found,unused-ignore]
        except ImportError as exc:  # pragma: no cover - until the MongoDB backend lands
            raise ConfigError(f"db_uri {uri!r}: the MongoDB backend is not available ({exc})") from exc
        return MongoStore(uri, size_bytes=size_bytes, max_docs=max_docs, **backend_options)  # type: ignore[arg-type]
    raise ConfigError(f"db_uri {uri!r} is not supported (use sqlite:///file.db or mongodb://host:port/)")
