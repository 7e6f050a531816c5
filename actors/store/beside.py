"""Where the interact stores live: beside the results store named by ``db_uri``.

Why a module of its own: the keyed records (`actors.store.records`) and the outbox
(`actors.store.outbox`) each have a SQLite and a MongoDB backend; choosing one from the URI
here keeps the protocols free of their implementations (no import cycle). SQLite: the file
``<results file>.interact.db`` (`interact_path`; its connections: `actors.store.sqlite_data`); MongoDB: the
collections ``<db_coll>_records`` and ``<db_coll>_actions`` of the results database.
"""

from __future__ import annotations

from actors.store.outbox import Outbox
from actors.store.records import Records
from actors.uri import is_mongo, is_sqlite, sqlite_path


def interact_path(results_path: str) -> str:
    """The file of the interact stores beside the results store file *results_path*."""
    stem = results_path[:-3] if results_path.endswith(".db") else results_path
    return stem + ".interact.db"


def open_records(db_uri: str, *, db_name: str = "analytics_results", db_coll: str = "db",
                 timeout_s: float = 2.0) -> Records:
    """The records store beside the results store named by *db_uri* (built, not opened)."""
    if is_sqlite(db_uri):
        from actors.store.records_sqlite import SQLiteRecords

        return SQLiteRecords(interact_path(sqlite_path(db_uri)))
    if is_mongo(db_uri):
        from actors.store.records_mongo import MongoRecords

        return MongoRecords(db_uri, db_name=db_name, coll=db_coll + "_records", timeout_s=timeout_s)
    raise ValueError(f"db_uri {db_uri!r} names no store kind this server knows")


def open_outbox(db_uri: str, *, db_name: str = "analytics_results", db_coll: str = "db",
                timeout_s: float = 2.0) -> Outbox:
    """The outbox beside the results store named by *db_uri* (built, not opened)."""
    if is_sqlite(db_uri):
        from actors.store.outbox_sqlite import SQLiteOutbox

        return SQLiteOutbox(interact_path(sqlite_path(db_uri)))
    if is_mongo(db_uri):
        from actors.store.outbox_mongo import MongoOutbox

        return MongoOutbox(db_uri, db_name=db_name, coll=db_coll + "_actions", timeout_s=timeout_s)
    raise ValueError(f"db_uri {db_uri!r} names no store kind this server knows")
