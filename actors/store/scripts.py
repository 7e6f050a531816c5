"""Scripts written in the browser: named, tagged, every save a new version, kept in `Records`.

Why: a script is code an analyst edits over weeks; losing yesterday's working version to
today's edit, or two browser tabs silently overwriting each other, is what a notebook server
must not do. So:

* every save that changes the text adds version ``n + 1`` (an unchanged save adds none);
  versions are never rewritten, and any two can be compared (`diff`);
* a save names the version it was edited from (``base_version``): if another save came in
  between, it is refused with 409, the text of both kept, rather than lost;
* two saves racing for the same version number cannot both win: the version record is
  created with insert-if-absent (`Records.insert_new`).

Records: ``script/<name>`` holds the metadata (tags, created, updated, the schedule's job),
``script-version/<name>/<000000001>`` one version's source. The newest version is the newest
version record, so a crash between the two writes loses nothing.
"""

from __future__ import annotations

import difflib
import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from actors.errors import ConflictError, InvalidValueError, NotFoundError
from actors.scriptsource import check_script_name, check_source
from actors.store.base import Page
from actors.store.records import Records
from actors.tags import check_tags

SCRIPT, VERSION = "script", "script-version"
#: Most scripts listed at once.
MAX_SCRIPTS = 10_000
MAX_NOTE = 200


@dataclass(frozen=True, slots=True)
class ScriptVersion:
    """One saved version of a script."""

    name: str
    version: int
    source: str
    saved_at: float
    note: str = ""
    sha256: str = ""

    def to_record(self) -> dict[str, Any]:
        """What the store keeps."""
        return {"name": self.name, "version": self.version, "source": self.source, "saved_at": self.saved_at,
                "note": self.note, "sha256": self.sha256, "size": len(self.source.encode("utf-8", "replace"))}

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> ScriptVersion:
        """Rebuild from `to_record` output."""
        return cls(name=str(record["name"]), version=int(record["version"]), source=str(record["source"]),
                   saved_at=float(record.get("saved_at") or 0.0), note=str(record.get("note") or ""),
                   sha256=str(record.get("sha256") or ""))


def _version_key(name: str, version: int) -> str:
    return f"{name}/{version:09d}"


def _digest(source: str) -> str:
    return hashlib.sha256(source.encode("utf-8", "surrogatepass")).hexdigest()


class ScriptBook:
    """Scripts and their versions in *records*; sources capped at *max_bytes*."""

    def __init__(self, records: Records, max_bytes: int, clock: Callable[[], float] = time.time) -> None:
        self.records = records
        self.max_bytes = max_bytes
        self.clock = clock

    # ------------------------------------------------------------------ reading
    def info(self, name: str) -> dict[str, Any]:
        """The metadata of script *name* with ``latest`` (its newest version number); 404 if none."""
        check_script_name(name)
        meta = self.records.get(SCRIPT, name)
        if meta is None:
            raise NotFoundError(f"no script named {name!r}")
        meta["latest"] = self._latest(name)
        return meta

    def exists(self, name: str) -> bool:
        """Whether script *name* exists."""
        return self.records.get(SCRIPT, check_script_name(name)) is not None

    def _latest(self, name: str) -> int:
        newest = self.records.find(VERSION, prefix=name + "/", limit=1, descending=True).items
        return int(newest[0]["version"]) if newest else 0

    def list(self, *, tag: str | None = None, limit: int = 100, offset: int = 0) -> Page:
        """Scripts by name (with ``latest``), those carrying *tag* if given."""
        if tag is None:
            page = self.records.find(SCRIPT, limit=limit, offset=offset)
            items = page.items
            total, more = page.total, page.more
        else:
            every = [s for s in self.records.find(SCRIPT, limit=MAX_SCRIPTS).items if tag in (s.get("tags") or ())]
            items = every[offset:offset + limit]
            total, more = len(every), offset + len(items) < len(every)
        for item in items:
            item["latest"] = self._latest(str(item["name"]))
        return Page(items=items, total=total, more=more)

    def count(self) -> int:
        """How many scripts there are."""
        return self.records.find(SCRIPT, limit=0).total

    def version(self, name: str, version: int | None = None) -> ScriptVersion:
        """Version *version* of script *name* (the newest when None); 404 if there is none."""
        check_script_name(name)
        if version is None:
            newest = self.records.find(VERSION, prefix=name + "/", limit=1, descending=True).items
            if not newest:
                raise NotFoundError(f"no script named {name!r}")
            return ScriptVersion.from_record(newest[0])
        record = self.records.get(VERSION, _version_key(name, version))
        if record is None:
            raise NotFoundError(f"script {name!r} has no version {version}")
        return ScriptVersion.from_record(record)

    def versions(self, name: str, *, limit: int = 100, offset: int = 0) -> Page:
        """Versions of *name*, newest first, without their source (``size``, ``note``, ``saved_at``)."""
        check_script_name(name)
        page = self.records.find(VERSION, prefix=name + "/", limit=limit, offset=offset, descending=True)
        items = [{k: v for k, v in item.items() if k != "source"} for item in page.items]
        return Page(items=items, total=page.total, more=page.more)

    # ------------------------------------------------------------------ writing
    def save(self, name: str, source: Any, *, base_version: int | None = None, note: str = "",
             tags: Any = None, create: bool = False) -> dict[str, Any]:
        """Save *source* as the next version of *name*; the script's metadata with ``saved`` and ``version``.

        *create*: the script must not exist yet (409 if it does). *base_version*: the version
        the text was edited from; a newer version saved meanwhile is a 409. An unchanged text
        adds no version (``saved`` is False). *tags*, when given, replace the tags.
        """
        check_script_name(name)
        text = check_source(source, self.max_bytes)
        if not isinstance(note, str) or len(note) > MAX_NOTE:
            raise InvalidValueError(f"note: at most {MAX_NOTE} characters of text", field="note")
        chosen_tags = None if tags is None else check_tags(tags)
        now = self.clock()
        meta = self.records.get(SCRIPT, name)
        if meta is not None and create:
            raise ConflictError(f"a script named {name!r} exists already; open it to edit it")
        latest = self._latest(name)
        if base_version is not None and base_version != latest:
            raise ConflictError(f"script {name!r} was saved as version {latest} after you opened version "
                                f"{base_version}; your text was not saved: compare the versions, then save again")
        if meta is None:
            meta = {"name": name, "tags": list(chosen_tags or ()), "created_at": now, "updated_at": now,
                    "schedule": None}
        elif chosen_tags is not None:
            meta["tags"] = list(chosen_tags)
        saved = False
        digest = _digest(text)
        newest = self.version(name) if latest else None
        if newest is None or newest.sha256 != digest:
            record = ScriptVersion(name, latest + 1, text, now, note.strip(), digest)
            if not self.records.insert_new(VERSION, _version_key(name, latest + 1), record.to_record()):
                raise ConflictError(f"script {name!r}: version {latest + 1} was saved by someone else at the same "
                                    "moment; your text was not saved: reload, compare, save again")
            latest, saved = latest + 1, True
            meta["updated_at"] = now
        meta.pop("latest", None)
        self.records.put(SCRIPT, name, meta)
        return {**meta, "latest": latest, "version": latest, "saved": saved}

    def tag(self, name: str, tags: Any) -> dict[str, Any]:
        """Replace the tags of *name*."""
        meta = self.info(name)
        meta["tags"] = list(check_tags(tags))
        latest = meta.pop("latest")
        self.records.put(SCRIPT, name, meta)
        return {**meta, "latest": latest}

    def set_schedule(self, name: str, schedule: dict[str, Any] | None) -> dict[str, Any]:
        """Remember (or forget, with None) the job that runs *name* on a schedule."""
        meta = self.info(name)
        meta["schedule"] = schedule
        latest = meta.pop("latest")
        self.records.put(SCRIPT, name, meta)
        return {**meta, "latest": latest}

    def delete(self, name: str) -> int:
        """Delete *name* and every version of it; how many versions went."""
        self.info(name)
        count = 0
        while True:
            batch = self.records.find(VERSION, prefix=name + "/", limit=500).items
            if not batch:
                break
            for item in batch:
                count += self.records.delete(VERSION, _version_key(name, int(item["version"])))
        self.records.delete(SCRIPT, name)
        return count


def diff(old: str, new: str, old_label: str, new_label: str, *, context: int = 3) -> list[tuple[str, str]]:
    """A unified diff as ``(kind, line)`` pairs, kind one of ``head``, ``hunk``, ``del``, ``add``, ``same``.

    Lines are plain text (the page escapes them); an empty list means no difference.
    """
    out: list[tuple[str, str]] = []
    for line in difflib.unified_diff(old.splitlines(), new.splitlines(), old_label, new_label, lineterm="",
                                     n=context):
        if line.startswith(("---", "+++")):
            out.append(("head", line))
        elif line.startswith("@@"):
            out.append(("hunk", line))
        elif line.startswith("-"):
            out.append(("del", line))
        elif line.startswith("+"):
            out.append(("add", line))
        else:
            out.append(("same", line))
    return out


__all__: Sequence[str] = ("ScriptBook", "ScriptVersion", "diff")
