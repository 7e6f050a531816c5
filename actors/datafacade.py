"""The facade's data half: objects and streams as the panel, the API and the CLI see them.

Why a module of its own: `actors.facade.Facade` is the one door into a running server; data
objects and streams are a room of their own (issue 13), so their verbs live here, mixed into
the Facade, and read the System's object store and stream store and ask its stream hub. Every
method answers JSON-safe data (object bytes excepted: a chunk iterator) or raises an
`actors.errors.DasActorsError` whose ``status`` the web answers with.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import structlog

from actors.errors import InvalidValueError
from actors.store import formats
from actors.streammessages import AddStream, GetStream, ListStreams, PauseStream, RemoveStream, ResumeStream
from actors.streamspec import StreamOrigin, StreamSpec
from actors.tags import check_name, check_tag, check_tags

if TYPE_CHECKING:
    from actors.system import System

log = structlog.get_logger("das_actors.facade")

#: Largest JSON object shown pretty-printed on its page (bigger ones: size, hash, download).
JSON_PREVIEW_MAX = 2 * 1024 * 1024
#: Characters of a message body shown as text in lists and the live tail.
BODY_TEXT_MAX = 4000
#: Seconds between two reads of a stream's live tail.
TAIL_POLL_S = 0.2


def message_view(doc: Mapping[str, Any]) -> dict[str, Any]:
    """A stored stream message, JSON-safe: a bytes body as text (when UTF-8) and base64, with its size."""
    out = {k: v for k, v in doc.items() if k != "body"}
    body = doc.get("body")
    if isinstance(body, bytes | bytearray):
        raw = bytes(body)
        out["size"] = len(raw)
        try:
            out["body_text"] = raw.decode("utf-8")[:BODY_TEXT_MAX]
        except UnicodeDecodeError:
            out["body_text"] = None
        out["body_base64"] = base64.b64encode(raw[:BODY_TEXT_MAX]).decode("ascii")
    else:
        out["body"] = body
        out["body_text"] = json.dumps(body, ensure_ascii=False, sort_keys=True)[:BODY_TEXT_MAX]
    return out


class DataDoor:
    """Objects and streams of a running `System` (mixed into `actors.facade.Facade`)."""

    system: System

    # ------------------------------------------------------------------ objects
    def objects(self, *, tag: str | None = None, prefix: str | None = None, limit: int = 100,
                offset: int = 0) -> dict[str, Any]:
        """``{"objects": [...], "total", "more"}``: one page of objects (newest versions) by name."""
        if tag is not None:
            check_tag(tag)
        page = self.system.objects.find(tag=tag, prefix=prefix, limit=limit, offset=offset)
        return {"objects": [info.to_dict() for info in page.items], "total": page.total, "more": page.more}

    def object_info(self, name: str, version: int | None = None) -> dict[str, Any]:
        """One version's metadata (the newest unless *version*)."""
        return self.system.objects.info(name, version).to_dict()

    def object_versions(self, name: str) -> list[dict[str, Any]]:
        """Every kept version of *name*, newest first."""
        return [info.to_dict() for info in self.system.objects.versions(name)]

    def put_object(self, name: str, chunks: Iterable[bytes], *, content_type: str = "", fmt: str | None = None,
                   tags: Any = None, expected_size: int | None = None) -> dict[str, Any]:
        """Store a new version of *name* from *chunks* (an upload), checked (CSV, JSON) before it shows.

        *tags* None keeps the previous version's tags; text is comma-separated."""
        name = check_name(name, field="name", what="object")
        chosen = formats.detect_format(name, content_type, fmt)
        settings = self.system.settings

        def check(stored: Iterator[bytes], size: int) -> Mapping[str, Any]:
            return formats.check(chosen, stored, size, what=f"object {name!r}")

        info = self.system.objects.write(
            name, chunks, content_type=formats.content_type_for(chosen, content_type), fmt=chosen,
            tags=None if tags is None else check_tags(tags), max_bytes=int(settings.object_max_size),
            expected_size=expected_size, check=check, keep_versions=int(settings.object_versions))
        log.info("object.stored", object=name, version=info.version, size=info.size, format=chosen)
        return info.to_dict()

    @property
    def object_max_size(self) -> int:
        """The ``object_max_size`` option: the largest upload accepted, bytes."""
        return int(self.system.settings.object_max_size)

    def read_object(self, name: str, version: int | None = None) -> tuple[dict[str, Any], Iterator[bytes]]:
        """The metadata and the bytes (chunk by chunk) of *name*."""
        info, chunks = self.system.objects.read(name, version)
        return info.to_dict(), chunks

    def object_preview(self, name: str, version: int | None = None, *, offset: int = 0,
                       limit: int = 50) -> dict[str, Any]:
        """What an object's page shows: JSON pretty-printed, a CSV page with its header, else nothing."""
        info, chunks = self.system.objects.read(name, version)
        what = f"object {name!r}"
        if info.format == "json" and info.size <= JSON_PREVIEW_MAX:
            value = formats.decode("json", chunks, what=what)
            return {"kind": "json", "text": json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False)}
        if info.format == "csv":
            header, rows, more = formats.csv_page(chunks, offset, limit, what=what)
            return {"kind": "csv", "columns": header, "rows": rows, "offset": offset, "limit": limit, "more": more,
                    "total": info.facts.get("rows")}
        close = getattr(chunks, "close", None)
        if callable(close):
            close()
        return {"kind": "json-too-large" if info.format == "json" else "bytes"}

    def tag_object(self, name: str, *, add: Any = (), remove: Any = (), version: int | None = None) -> dict[str, Any]:
        """Add and remove tags of *name*'s newest version (or *version*)."""
        adding, removing = check_tags(add, field="add"), check_tags(remove, field="remove")
        if not adding and not removing:
            raise InvalidValueError("tags: give tags to add or to remove", field="add")
        return self.system.objects.tag(name, add=adding, remove=removing, version=version).to_dict()

    def delete_object(self, name: str, version: int | None = None) -> dict[str, Any]:
        """Delete every version of *name* (or one)."""
        deleted = self.system.objects.delete(name, version)
        log.info("object.deleted", object=name, version=version, versions=deleted)
        return {"name": name, "version": version, "deleted": deleted}

    # ------------------------------------------------------------------ streams
    def streams(self, *, tag: str | None = None) -> list[dict[str, Any]]:
        """Every stream (with *tag*): definition (password hidden), paused, live status."""
        if tag is not None:
            check_tag(tag)
        return list(self.system.ask_streams(ListStreams(tag)))

    def stream(self, name: str, *, last: int = 20) -> dict[str, Any]:
        """One stream with its *last* newest messages."""
        found = dict(self.system.ask_streams(GetStream(check_name(name, what="stream"))))
        found["messages"] = [message_view(doc) for doc in self.system.stream_store.latest(name, last)]
        found["stored"] = self.system.stream_store.count(name)
        found["last_seq"] = self.system.stream_store.last_seq(name)
        return found

    def add_stream(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """Register a stream (``name``, ``uri``, ``queue``, ``tags``) and start consuming it."""
        spec = StreamSpec.from_record({**data, "origin": str(StreamOrigin.API)})
        return dict(self.system.ask_streams(AddStream(spec)))

    def pause_stream(self, name: str) -> dict[str, Any]:
        """Stop consuming *name* (the broker keeps its messages)."""
        return dict(self.system.ask_streams(PauseStream(name)))

    def resume_stream(self, name: str) -> dict[str, Any]:
        """Consume *name* again."""
        return dict(self.system.ask_streams(ResumeStream(name)))

    def remove_stream(self, name: str) -> dict[str, Any]:
        """Stop consuming *name* and forget it and its stored messages."""
        return dict(self.system.ask_streams(RemoveStream(name)))

    def stream_messages(self, name: str, *, after: int | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """Messages after seq *after* (oldest first), or the newest *limit* (newest first)."""
        check_name(name, what="stream")
        self.system.ask_streams(GetStream(name))  # 404 for an unknown stream
        store = self.system.stream_store
        docs = store.latest(name, limit) if after is None else store.since(name, after, limit)
        return [message_view(doc) for doc in docs]

    def stream_last_seq(self, name: str) -> int:
        """The newest seq of *name* (where its live tail starts)."""
        return self.system.stream_store.last_seq(check_name(name, what="stream"))

    def stream_tail(self, name: str, after_seq: int, stop: threading.Event) -> Iterator[dict[str, Any]]:
        """New messages of *name* as they are stored, until *stop* is set (the stream page's live tail)."""
        store, last = self.system.stream_store, after_seq
        while not stop.is_set():
            docs = store.since(name, last, 500)
            for doc in docs:
                last = max(last, int(doc["seq"]))
                yield {**message_view(doc), "seq": doc["seq"]}
            if len(docs) < 500:
                stop.wait(TAIL_POLL_S)
