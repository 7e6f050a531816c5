"""The data-object store: named, versioned, tagged files of any size, behind one protocol.

Why: operators bring data in (uploads, the API, the CLI) and tasks write their results back
as objects, for other tasks and people to read. Suricate kept each object as one MongoDB
document (16 MB at most, CSV as a string); here an object is a stream of bytes stored in
chunks, GridFS on MongoDB (`actors.store.objects_gridfs`) and chunked blobs in SQLite
(`actors.store.objects_sqlite`), one contract tested against both.

* ``write`` streams chunks in and returns the new version's `ObjectInfo`. Nothing of a write
  is visible until it is complete: chunks go to storage first, the object's format is
  checked (`actors.store.formats`: a CSV or JSON that does not parse is refused, line and
  column named), and only then one record makes the version visible. A failed or
  interrupted write leaves nothing behind (a crashed writer's chunks are swept later).
* Writing a name again adds a version (1, 2, ...); the newest is the object. A write without
  tags keeps the tags of the newest version; ``keep_versions`` prunes the oldest beyond it.
* Metadata of a version: name, version, size, sha256, content type, format, tags, created,
  the producing run (``{"job_id", "index", "name"}`` when a task wrote it) and format facts
  (CSV header and row count, the JSON top-level type).
* ``max_bytes`` caps one write: past it the write is undone and `ObjectTooLargeError` (413)
  names the option.

Implementations are safe to use from several threads and from several processes on the
same database (the server and its worker processes all write).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from actors.errors import InvalidValueError, NotFoundError
from actors.tags import check_name, check_tags

#: Bytes per stored chunk: GridFS's default (255 KiB), used by both backends.
CHUNK_BYTES = 255 * 1024
#: Seconds after which chunks of an unfinished write are taken for a crashed writer's and swept.
STALE_WRITE_S = 6 * 3600.0


class ObjectTooLargeError(InvalidValueError):
    """An object bigger than ``object_max_size`` (HTTP 413)."""

    def __init__(self, name: str, limit: int) -> None:
        super().__init__(f"object {name!r} is larger than object_max_size ({limit} bytes): the upload was refused "
                         f"and nothing was stored", field="object_max_size", value=limit, status=413)


class IncompleteWriteError(InvalidValueError):
    """The bytes of an object stopped before their announced length (an interrupted upload)."""

    def __init__(self, name: str, got: int, expected: int) -> None:
        super().__init__(f"object {name!r}: the upload ended after {got} of {expected} bytes; nothing was stored",
                         field="body", value=got)


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    """One version of an object (everything but its bytes)."""

    name: str
    version: int
    size: int
    sha256: str
    content_type: str
    format: str
    tags: tuple[str, ...] = ()
    created: float = 0.0
    producer: Mapping[str, Any] | None = None
    facts: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe."""
        return {"name": self.name, "version": self.version, "size": self.size, "sha256": self.sha256,
                "content_type": self.content_type, "format": self.format, "tags": list(self.tags),
                "created": self.created, "producer": None if self.producer is None else dict(self.producer),
                "facts": dict(self.facts)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ObjectInfo:
        """Rebuild from `to_dict` output (what the backends store)."""
        producer = data.get("producer")
        return cls(name=str(data["name"]), version=int(data["version"]), size=int(data["size"]),
                   sha256=str(data["sha256"]), content_type=str(data.get("content_type") or ""),
                   format=str(data.get("format") or "bytes"), tags=tuple(data.get("tags") or ()),
                   created=float(data.get("created") or 0.0), producer=dict(producer) if producer else None,
                   facts=dict(data.get("facts") or {}))


@dataclass(frozen=True, slots=True)
class ObjectPage:
    """One page of objects (their newest versions), sorted by name, with the real total."""

    items: list[ObjectInfo] = field(default_factory=list)
    total: int = 0
    more: bool = False


#: What `ObjectStore.write` calls to check the bytes once stored: ``check(chunks, size)`` ->
#: format facts, raising `InvalidValueError` when they do not parse.
Checker = Callable[[Iterator[bytes], int], Mapping[str, Any]]


@runtime_checkable
class ObjectStore(Protocol):
    """What the panel, the API, the CLI and the task SDK need from an object store."""

    kind: str

    def open(self) -> None:
        """Create tables/collections and indexes if missing; sweep stale unfinished writes. Idempotent."""

    def close(self) -> None:
        """Release connections. Idempotent."""

    def write(self, name: str, chunks: Iterable[bytes], *, content_type: str, fmt: str,
              tags: Sequence[str] | None = None, producer: Mapping[str, Any] | None = None, max_bytes: int = 0,
              expected_size: int | None = None, check: Checker | None = None, keep_versions: int = 0) -> ObjectInfo:
        """Store a new version of *name* from *chunks* (see the module docstring); its info.

        *tags* None keeps the newest version's tags. *expected_size*: the announced length
        (an upload's Content-Length); fewer bytes is `IncompleteWriteError`. *check* runs on
        the stored bytes before the version becomes visible. *keep_versions* > 0 prunes older
        versions beyond that many.
        """

    def info(self, name: str, version: int | None = None) -> ObjectInfo:
        """The newest version of *name* (or *version*); `NotFoundError` if there is none."""

    def read(self, name: str, version: int | None = None) -> tuple[ObjectInfo, Iterator[bytes]]:
        """The info and the bytes (chunk by chunk) of *name* (newest, or *version*)."""

    def find(self, *, tag: str | None = None, prefix: str | None = None, limit: int = 100,
             offset: int = 0) -> ObjectPage:
        """Objects (their newest version) by name, optionally with *tag* and/or a name *prefix*."""

    def versions(self, name: str) -> list[ObjectInfo]:
        """Every stored version of *name*, newest first; `NotFoundError` if there is none."""

    def tag(self, name: str, *, add: Sequence[str] = (), remove: Sequence[str] = (),
            version: int | None = None) -> ObjectInfo:
        """Add and remove tags of *name*'s newest version (or *version*); its new info."""

    def delete(self, name: str, version: int | None = None) -> int:
        """Delete every version of *name* (or one *version*); how many were deleted (404 for none)."""

    def stats(self) -> dict[str, Any]:
        """``kind, objects, versions, bytes``."""


# ----------------------------------------------------------------------------- shared rules
def checked_name(name: Any) -> str:
    """An object name, validated (`actors.tags.check_name`)."""
    return check_name(name, field="name", what="object")


def checked_version(version: Any) -> int | None:
    """None, or a version number >= 1."""
    if version is None:
        return None
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise InvalidValueError(f"version: an integer >= 1, got {version!r}", field="version", value=version)
    return version


def checked_page(limit: int, offset: int) -> None:
    """`InvalidValueError` for a negative limit or offset."""
    if limit < 0 or offset < 0:
        raise InvalidValueError(f"limit and offset must be >= 0, got {limit} and {offset}", field="limit", value=limit)


def new_tags(current: Sequence[str], add: Sequence[str], remove: Sequence[str]) -> tuple[str, ...]:
    """*current* plus *add* minus *remove*, validated and sorted."""
    adding = check_tags(list(add), field="add")
    removing = set(check_tags(list(remove), field="remove"))
    return check_tags([t for t in (*current, *adding) if t not in removing])


def missing(name: str, version: int | None = None) -> NotFoundError:
    """The `NotFoundError` of an object (version) that does not exist."""
    if version is None:
        return NotFoundError(f"no object named {name!r}")
    return NotFoundError(f"object {name!r} has no version {version}")


def producer_of(run: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The producing-run record of an object (``job_id``, ``index``, ``name``, ``attempt``), or None."""
    if not run:
        return None
    keep = ("job_id", "index", "attempt", "name", "run_id")
    return {key: run[key] for key in keep if run.get(key) is not None}
