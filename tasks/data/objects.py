"""``services["objects"]``: what a task does with data objects (read, write, find by tag).

Values go in and come out as Python: a JSON object reads as its value, a CSV object as a list
of dicts (header keys, text values), anything else as bytes. ``write`` picks the format from
the name's ending (``.json``, ``.csv``) or ``format=``, else from the value (bytes stay bytes,
text is UTF-8, anything else becomes JSON). Each write adds a version (older ones are pruned
past ``object_versions``) and records the run that produced it. Over ``object_max_size`` a
write raises `actors.store.objects.ObjectTooLargeError`; a value that is not valid for its
format raises `actors.errors.InvalidValueError`.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from actors.errors import InvalidValueError
from actors.store import formats
from actors.store.objects import ObjectStore

#: Bytes per chunk handed to the store while writing a value.
WRITE_CHUNK = 1024 * 1024


def _split(data: bytes) -> Iterator[bytes]:
    view = memoryview(data)
    for start in range(0, len(view), WRITE_CHUNK):
        yield bytes(view[start:start + WRITE_CHUNK])


def _csv_bytes(rows: Any, name: str) -> bytes:
    """Rows (dicts, or a header list then value lists) as CSV text."""
    if not isinstance(rows, list | tuple):
        raise InvalidValueError(f"object {name!r}: a CSV is written from a list of rows, got {type(rows).__name__}",
                                field="data")
    out = io.StringIO()
    if rows and all(isinstance(row, Mapping) for row in rows):
        header = list(dict.fromkeys(key for row in rows for key in row))
        writer = csv.DictWriter(out, fieldnames=header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    else:
        writer_ = csv.writer(out, lineterminator="\n")
        writer_.writerows(rows)
    return out.getvalue().encode("utf-8")


def encode(name: str, data: Any, fmt: str | None) -> tuple[str, bytes]:
    """``(format, bytes)`` of a value written as object *name*."""
    chosen = formats.detect_format(name, "", fmt) if (fmt or name.lower().endswith((".json", ".csv"))) else None
    if chosen is None:
        if isinstance(data, bytes | bytearray | memoryview):
            return "bytes", bytes(data)
        if isinstance(data, str):
            return "bytes", data.encode("utf-8")
        chosen = "json"
    if chosen == "csv":
        if isinstance(data, bytes | bytearray | memoryview):
            return "csv", bytes(data)
        if isinstance(data, str):
            return "csv", data.encode("utf-8")
        return "csv", _csv_bytes(data, name)
    if chosen == "json":
        if isinstance(data, bytes | bytearray | memoryview):
            return "json", bytes(data)
        try:
            return "json", json.dumps(data, allow_nan=False, ensure_ascii=False).encode("utf-8")
        except (TypeError, ValueError) as exc:
            raise InvalidValueError(f"object {name!r}: the value is not JSON: {exc}", field="data") from None
    if isinstance(data, str):
        return "bytes", data.encode("utf-8")
    if not isinstance(data, bytes | bytearray | memoryview):
        raise InvalidValueError(f"object {name!r}: format bytes takes bytes or text, got {type(data).__name__}",
                                field="data")
    return "bytes", bytes(data)


class ObjectsService:
    """The object store as tasks see it (one per worker process; `for_run` binds it to a run)."""

    def __init__(self, store: ObjectStore, *, max_bytes: int = 0, keep_versions: int = 0,
                 run: Mapping[str, Any] | None = None) -> None:
        self.store = store
        self.max_bytes = max_bytes
        self.keep_versions = keep_versions
        self.run = dict(run) if run else None

    def for_run(self, run: Mapping[str, Any]) -> ObjectsService:
        """This service, recording *run* as the producer of what it writes."""
        return ObjectsService(self.store, max_bytes=self.max_bytes, keep_versions=self.keep_versions, run=run)

    # -- reading
    def read(self, name: str, version: int | None = None) -> Any:
        """The content as Python values: JSON values, CSV rows as dicts, else bytes."""
        info, chunks = self.store.read(name, version)
        return formats.decode(info.format, chunks, what=f"object {name!r}")

    def read_bytes(self, name: str, version: int | None = None) -> bytes:
        """The raw bytes."""
        return b"".join(self.store.read(name, version)[1])

    def chunks(self, name: str, version: int | None = None) -> Iterator[bytes]:
        """The raw bytes chunk by chunk (for objects too big to hold at once)."""
        return self.store.read(name, version)[1]

    def info(self, name: str, version: int | None = None) -> dict[str, Any]:
        """Metadata: name, version, size, sha256, content_type, format, tags, created, producer, facts."""
        return self.store.info(name, version).to_dict()

    def exists(self, name: str) -> bool:
        """Whether an object of that name exists."""
        from actors.errors import NotFoundError

        try:
            self.store.info(name)
        except NotFoundError:
            return False
        return True

    def find(self, tag: str | None = None, *, prefix: str | None = None, limit: int = 1000) -> list[dict[str, Any]]:
        """Objects (their newest version's metadata) by name, with *tag* and/or a name *prefix*."""
        return [info.to_dict() for info in self.store.find(tag=tag, prefix=prefix, limit=limit).items]

    def versions(self, name: str) -> list[dict[str, Any]]:
        """Every kept version of *name*, newest first."""
        return [info.to_dict() for info in self.store.versions(name)]

    # -- writing
    def write(self, name: str, data: Any, *, tags: Sequence[str] | None = None, format: str | None = None,
              content_type: str = "") -> dict[str, Any]:
        """Write *data* as a new version of *name* (see the module docstring); its metadata.

        *tags* None keeps the previous version's tags."""
        fmt, raw = encode(name, data, format)

        def check(chunks: Iterator[bytes], size: int) -> Mapping[str, Any]:
            return formats.check(fmt, chunks, size, what=f"object {name!r}")

        info = self.store.write(name, _split(raw), content_type=formats.content_type_for(fmt, content_type), fmt=fmt,
                                tags=tags, producer=self.run, max_bytes=self.max_bytes, check=check,
                                keep_versions=self.keep_versions)
        return info.to_dict()

    def tag(self, name: str, *tags: str) -> dict[str, Any]:
        """Add tags to the newest version of *name*."""
        return self.store.tag(name, add=tags).to_dict()

    def untag(self, name: str, *tags: str) -> dict[str, Any]:
        """Remove tags from the newest version of *name*."""
        return self.store.tag(name, remove=tags).to_dict()

    def delete(self, name: str) -> int:
        """Delete every version of *name*; how many there were."""
        return self.store.delete(name)
