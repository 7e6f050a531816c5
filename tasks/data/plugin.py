"""The data services as service plugins: ``services["objects"]`` and ``services["streams"]``.

Why a module of its own: the runtime never names a service (`actors.services`); these two
declarations, published under the ``das_actors.services`` entry point, are how every task
receives the object store and the stream store. Their options are the server's own ``Data``
options (the panel, the API and the ingest actors use them too), named in ``uses``. Cheap to
import: the stores are opened only when built, once per worker process.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from actors.services import ServicePlugin

OBJECT_OPTIONS = ("data_uri", "data_db_name", "db_timeout", "object_max_size", "object_versions")
STREAM_OPTIONS = ("data_uri", "data_db_name", "db_timeout", "stream_max_messages", "stream_size")


def _uri(values: Mapping[str, Any]) -> str:
    from actors.store.data import data_uri_for

    return data_uri_for(str(values.get("db_uri") or ""), str(values.get("data_uri") or ""))


def _build_objects(values: Mapping[str, Any]) -> Any:
    from actors.store.data import open_object_store
    from tasks.data.objects import ObjectsService

    if not _uri(values):
        return None  # no store named at all (a bare worker, a test): the service is off
    store = open_object_store(_uri(values), db_name=str(values.get("data_db_name") or "das_data"),
                              timeout_s=float(values.get("db_timeout") or 2.0))
    store.open()
    return ObjectsService(store, max_bytes=int(values.get("object_max_size") or 0),
                          keep_versions=int(values.get("object_versions") or 0))


def _build_streams(values: Mapping[str, Any]) -> Any:
    from actors.store.data import open_stream_store
    from tasks.data.streams import StreamsService

    if not _uri(values):
        return None  # no store named at all: the service is off
    store = open_stream_store(_uri(values), db_name=str(values.get("data_db_name") or "das_data"),
                              max_messages=int(values.get("stream_max_messages") or 100_000),
                              size_bytes=int(values.get("stream_size") or 64 * 1024 * 1024),
                              timeout_s=float(values.get("db_timeout") or 2.0))
    store.open()
    return StreamsService(store)


OBJECTS = ServicePlugin(name="objects", title="Data objects (read, write, find by tag)", build=_build_objects,
                        uses=OBJECT_OPTIONS)
STREAMS = ServicePlugin(name="streams", title="Stream messages (by time window or sequence)", build=_build_streams,
                        uses=STREAM_OPTIONS)
