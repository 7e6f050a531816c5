"""What is inside a data object: its format (JSON, CSV or bytes), checked once and read back.

Why a module of its own: both object-store backends check an upload the same way before it
becomes visible, and the task SDK, the panel and the API read it back the same way (JSON as
Python values, CSV as rows with their header, anything else as bytes). Everything here works
on an iterator of byte chunks, so a CSV of any size is checked and paged in constant memory;
only JSON must be parsed whole (up to `JSON_CHECK_MAX_BYTES`).

A CSV object is UTF-8 text (a BOM is allowed) whose first row is the header; every other
non-blank row has as many fields as the header. A JSON object is one strict JSON document
(no NaN or Infinity). A failed check names the line and column.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable, Iterator
from typing import Any

from actors.errors import InvalidValueError

FORMATS = ("json", "csv", "bytes")
#: JSON objects up to this size are parsed when written (a bigger one is stored unchecked).
JSON_CHECK_MAX_BYTES = 64 * 1024 * 1024
#: Longest CSV field accepted, characters (the csv module's own limit is 128 KiB).
CSV_FIELD_MAX = 1024 * 1024
csv.field_size_limit(max(csv.field_size_limit(), CSV_FIELD_MAX))  # process-wide, set once: never lowered
_CONTENT_TYPES = {"json": "application/json", "csv": "text/csv; charset=utf-8", "bytes": "application/octet-stream"}


class ChunkReader(io.RawIOBase):
    """A readable binary stream over an iterator of byte chunks (for `io.TextIOWrapper`, csv)."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        super().__init__()
        self._chunks = iter(chunks)
        self._pending = memoryview(b"")
        self.consumed = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            try:
                self._pending = memoryview(next(self._chunks))
            except StopIteration:
                return 0
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        self.consumed += size
        return size


def text_lines(chunks: Iterable[bytes]) -> io.TextIOWrapper:
    """UTF-8 text (a leading BOM dropped) over byte chunks, newlines untranslated (as csv wants)."""
    return io.TextIOWrapper(io.BufferedReader(ChunkReader(chunks), 1024 * 1024), encoding="utf-8-sig", newline="")


def detect_format(name: str, content_type: str = "", given: str | None = None) -> str:
    """``json``, ``csv`` or ``bytes``: *given* if set, else from the content type, else the name's ending."""
    if given:
        if given not in FORMATS:
            raise InvalidValueError(f"format: one of {', '.join(FORMATS)}, got {given!r}", field="format", value=given)
        return given
    media = content_type.split(";", 1)[0].strip().lower()
    if media in ("application/json", "text/json") or media.endswith("+json"):
        return "json"
    if media in ("text/csv", "application/csv"):
        return "csv"
    lowered = name.lower()
    if lowered.endswith(".json"):
        return "json"
    if lowered.endswith(".csv"):
        return "csv"
    return "bytes"


def content_type_for(fmt: str, given: str = "") -> str:
    """The content type to store: *given* when it says something, else the format's own."""
    media = given.split(";", 1)[0].strip().lower()
    if media and media not in ("application/octet-stream", "application/x-www-form-urlencoded",
                               "multipart/form-data"):
        return given.strip()[:200]
    return _CONTENT_TYPES[fmt]


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text} is out of range")
    return value


def loads_json(data: bytes | str, *, what: str) -> Any:
    """Strict JSON; `InvalidValueError` naming *what*, the line and the column."""
    try:
        text = data.decode("utf-8-sig") if isinstance(data, bytes) else data
    except UnicodeDecodeError as exc:
        raise InvalidValueError(f"{what}: not UTF-8 text (byte {exc.start}): JSON must be UTF-8",
                                field="body") from None
    try:
        return json.loads(text, parse_constant=_reject_constant, parse_float=_finite)
    except json.JSONDecodeError as exc:
        raise InvalidValueError(f"{what}: not valid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}",
                                field="body", value={"line": exc.lineno, "column": exc.colno}) from None
    except (ValueError, RecursionError) as exc:
        raise InvalidValueError(f"{what}: not valid JSON: {exc}", field="body") from None


def check_json(chunks: Iterable[bytes], size: int, *, what: str) -> dict[str, Any]:
    """Parse a JSON object being written; its facts (``json``: the top-level type)."""
    if size > JSON_CHECK_MAX_BYTES:
        return {"checked": False}
    value = loads_json(b"".join(chunks), what=what)
    return {"json": type(value).__name__ if not isinstance(value, dict | list) else
            ("object" if isinstance(value, dict) else "array")}


def csv_rows(chunks: Iterable[bytes], *, what: str) -> Iterator[tuple[int, list[str]]]:
    """``(line, fields)`` of every non-blank CSV row, header first; `InvalidValueError` at a bad one."""
    reader = csv.reader(text_lines(chunks), strict=True)
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except UnicodeDecodeError as exc:
            raise InvalidValueError(f"{what}: not UTF-8 text near line {reader.line_num + 1}: CSV must be "
                                    f"UTF-8 ({exc.reason})", field="body",
                                    value={"line": reader.line_num + 1}) from None
        except csv.Error as exc:
            raise InvalidValueError(f"{what}: not valid CSV at line {reader.line_num}: {exc}", field="body",
                                    value={"line": reader.line_num}) from None
        if row:
            yield reader.line_num, row


def check_csv(chunks: Iterable[bytes], *, what: str) -> dict[str, Any]:
    """Read a CSV object being written through; its facts (``columns``: the header, ``rows``)."""
    rows = csv_rows(chunks, what=what)
    first = next(rows, None)
    if first is None:
        raise InvalidValueError(f"{what}: an empty CSV (a CSV object starts with its header row)", field="body")
    header = first[1]
    count = 0
    for line, row in rows:
        if len(row) != len(header):
            raise InvalidValueError(f"{what}: not valid CSV at line {line} column {min(len(row), len(header)) + 1}: "
                                    f"{len(row)} fields, the header has {len(header)}", field="body",
                                    value={"line": line, "column": min(len(row), len(header)) + 1})
        count += 1
    return {"columns": header, "rows": count}


def check(fmt: str, chunks: Iterable[bytes], size: int, *, what: str) -> dict[str, Any]:
    """The facts of an object of format *fmt* being written (empty for bytes); raises when it does not parse."""
    if fmt == "json":
        return check_json(chunks, size, what=what)
    if fmt == "csv":
        return check_csv(chunks, what=what)
    return {}


def decode(fmt: str, chunks: Iterable[bytes], *, what: str) -> Any:
    """An object's content as Python values: JSON values, CSV rows as dicts (header keys), else bytes."""
    if fmt == "json":
        return loads_json(b"".join(chunks), what=what)
    if fmt == "csv":
        rows = csv_rows(chunks, what=what)
        first = next(rows, None)
        if first is None:
            return []
        header = first[1]
        return [dict(zip(header, row, strict=False)) for _, row in rows]
    return b"".join(chunks)


def csv_page(chunks: Iterable[bytes], offset: int, limit: int, *, what: str) -> tuple[list[str], list[list[str]], bool]:
    """``(header, rows, more)``: rows *offset* .. *offset + limit* of a CSV object (streamed, header excluded)."""
    rows = csv_rows(chunks, what=what)
    first = next(rows, None)
    if first is None:
        return [], [], False
    page: list[list[str]] = []
    for position, (_, row) in enumerate(rows):
        if position < offset:
            continue
        if len(page) >= limit:
            return first[1], page, True
        page.append(row)
    return first[1], page, False


class Digest:
    """Size and sha256 of bytes seen so far (each backend feeds it while writing)."""

    def __init__(self) -> None:
        import hashlib

        self._hash = hashlib.sha256()
        self.size = 0

    def update(self, chunk: bytes) -> None:
        self._hash.update(chunk)
        self.size += len(chunk)

    @property
    def hexdigest(self) -> str:
        return self._hash.hexdigest()


def rechunk(chunks: Iterable[bytes], size: int) -> Iterator[bytes]:
    """The same bytes in chunks of exactly *size* (the last one shorter), whatever came in."""
    buffer = bytearray()
    for chunk in chunks:
        if not chunk:
            continue
        buffer += chunk
        while len(buffer) >= size:
            yield bytes(buffer[:size])
            del buffer[:size]
    if buffer:
        yield bytes(buffer)


__all__ = ["FORMATS", "ChunkReader", "Digest", "check", "content_type_for", "csv_page", "decode",
           "detect_format", "loads_json", "rechunk", "text_lines"]
