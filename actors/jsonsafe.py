"""Make arbitrary task output storable, and say exactly what is not JSON-safe.

Tasks return whatever they like. The original DAS lost every failed result because an
exception object could not be encoded; here nothing is dropped: values that are not JSON
are stringified, keys that are not strings (or that a document store refuses: a leading
``$`` or a ``.``) are rewritten, and each change is listed in a note stored beside the result.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from actors.bounds import json_int

JsonValue = Any  # a value built only from dict[str, ...], list, str, int, float, bool, None

#: Deepest nesting kept as structure; anything below is stringified (guards recursion).
MAX_DEPTH = 32


def find_unsafe(value: Any, path: str = "") -> str | None:
    """Return the path of the first value that is not plain JSON, or None if all is JSON.

    Used to reject job arguments up front ("kwargs['when'] is a datetime, not JSON").
    Floats must be finite, integers 64-bit (`actors.bounds.json_int`); mapping keys must be strings.
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str):
        return None if utf8_ok(value) else (path or "value")
    if isinstance(value, int):
        return None if json_int(value) else (path or "value")
    if isinstance(value, float):
        return None if math.isfinite(value) else (path or "value")
    if isinstance(value, list | tuple):
        for i, item in enumerate(value):
            bad = find_unsafe(item, f"{path}[{i}]")
            if bad is not None:
                return bad
        return None
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                return f"{path}[{key!r}] (key is {type(key).__name__}, not str)"
            if not utf8_ok(key):
                return f"{path}[{key!r}] (key is not valid Unicode)"
            bad = find_unsafe(item, f"{path}[{key!r}]")
            if bad is not None:
                return bad
        return None
    return path or "value"


def sanitize(value: Any, notes: list[str], path: str = "result", depth: int = 0) -> JsonValue:
    """Return a JSON-safe copy of *value*, appending one note per change to *notes*.

    Keys are made storable in MongoDB as well as SQLite: ``$`` at the start and ``.``
    anywhere are replaced by ``_``. Tuples and sets become lists (sets sorted by repr).
    """
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        if utf8_ok(value):
            return value
        notes.append(f"{path}: text with lone surrogates (not valid Unicode), stored with them escaped")
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, int):
        if json_int(value):
            return value
        notes.append(f"{path}: integer of {value.bit_length()} bits is beyond 64 bits, stored as a string")
        return _big_int_text(value)
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        notes.append(f"{path}: non-finite float {value!r} stored as a string")
        return repr(value)
    if depth >= MAX_DEPTH:
        notes.append(f"{path}: nested deeper than {MAX_DEPTH} levels, stored as a string")
        return _safe_repr(value)
    if isinstance(value, list | tuple):
        return [sanitize(v, notes, f"{path}[{i}]", depth + 1) for i, v in enumerate(value)]
    if isinstance(value, set | frozenset):
        notes.append(f"{path}: {type(value).__name__} stored as a list")
        items = sorted(value, key=repr)
        return [sanitize(v, notes, f"{path}[{i}]", depth + 1) for i, v in enumerate(items)]
    if isinstance(value, Mapping):
        out: dict[str, JsonValue] = {}
        for key, item in value.items():
            safe_key = key if isinstance(key, str) else str(key)
            if not utf8_ok(safe_key):
                safe_key = safe_key.encode("utf-8", "backslashreplace").decode("utf-8")
            if safe_key.startswith("$") or "." in safe_key:
                safe_key = safe_key.replace(".", "_").replace("$", "_", 1) if safe_key else "_"
            if safe_key != key:
                notes.append(f"{path}: key {key!r} stored as {safe_key!r}")
            while safe_key in out:
                safe_key += "_"
            out[safe_key] = sanitize(item, notes, f"{path}[{safe_key!r}]", depth + 1)
        return out
    notes.append(f"{path}: {type(value).__name__} is not JSON, stored as its string form")
    return _safe_repr(value)


def utf8_ok(text: str) -> bool:
    """*text* can be stored as UTF-8 (no lone surrogates, which JSON escapes can carry)."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _big_int_text(value: int) -> str:
    """A huge int as text (str() refuses past 4300 digits: then its size only)."""
    try:
        return str(value)
    except ValueError:
        return f"<integer of {value.bit_length()} bits>"


def _safe_repr(value: Any) -> str:
    try:
        return str(value)
    except Exception as exc:  # noqa: BLE001 - a broken __str__ must not lose the result
        return f"<unprintable {type(value).__name__}: {exc!r}>"
