"""Tags and data names: the one place that says what a tag and an object or stream name may be.

Why a module of its own: jobs, data objects and streams all carry tags, and every list
(schedule, results, objects, streams) filters by one; objects and streams are also named in
URLs, file names and MongoDB collection names. Checking both once, here, keeps a tag typed in
the panel, a config file, the API or the CLI the same tag everywhere. Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from actors.errors import InvalidValueError

#: A tag: a letter or digit, then letters, digits and ``._:-``; at most 64 characters.
TAG = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
#: Most tags on one job, object or stream.
MAX_TAGS = 32
#: An object or stream name: a letter or digit, then letters, digits and ``._-``; at most 120
#: characters (no ``/``: it is one URL path segment; no ``$``: it is part of a collection name).
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,119}")


def check_tag(tag: Any, *, field: str = "tag") -> str:
    """*tag* if it is a valid tag, else `InvalidValueError` naming *field* and the value."""
    if not isinstance(tag, str) or not TAG.fullmatch(tag):
        raise InvalidValueError(f"{field}: a tag is a letter or digit followed by up to 63 letters, digits or "
                                f"'._:-', got {tag!r}", field=field, value=tag)
    return tag


def check_tags(tags: Any, *, field: str = "tags") -> tuple[str, ...]:
    """Valid tags as a sorted tuple without repeats.

    Accepts a list or tuple of tags, or one text of comma-separated tags (the form and
    command-line spelling); None is no tags.
    """
    if tags is None:
        return ()
    if isinstance(tags, str):
        items: Iterable[Any] = [part.strip() for part in tags.split(",") if part.strip()]
    elif isinstance(tags, list | tuple | set | frozenset):
        items = tags
    else:
        raise InvalidValueError(f"{field}: expected a list of tags or comma-separated text, got "
                                f"{type(tags).__name__}", field=field, value=tags)
    found = sorted({check_tag(tag, field=field) for tag in items})
    if len(found) > MAX_TAGS:
        raise InvalidValueError(f"{field}: at most {MAX_TAGS} tags, got {len(found)}", field=field, value=len(found))
    return tuple(found)


def check_name(name: Any, *, field: str = "name", what: str = "object") -> str:
    """*name* if it may name an object or a stream, else `InvalidValueError`."""
    if not isinstance(name, str) or not NAME.fullmatch(name):
        shown = name[:60] if isinstance(name, str) else name
        raise InvalidValueError(f"{field}: a{'n' if what[0] in 'aeiou' else ''} {what} name is a letter or digit "
                                f"followed by up to 119 letters, digits or '._-', got {shown!r}", field=field,
                                value=shown)
    return name
