"""DAS-QL, the small subset the service understands, and the query's storage form and hash.

Text form (what users and the load generator send)::

    dataset dataset.name=/A/B/*                      fields first, then conditions
    file dataset.name=/A/B/C site.name=T1_CH         several conditions, any order
    dataset.name=/A/B/C                              no field: the first key's prefix (dataset)
    run run.number between [1,5]                     a range          (value "[1,5]")
    run run.number>=100                              an open range    (value ">=100")
    dataset dataset.name="/A B/C/*"                  quotes for values with spaces

Storage form (what is stored in the query log and passed between tasks)::

    {"fields": ["dataset"], "spec": [{"key": "dataset.name", "value": "/A/B/*"}],
     "instance": "prod/global"}

It is canonical: fields sorted and unique, spec sorted by key, one entry per key, values
plain strings (DAS stored them JSON-encoded, ``'"/A/B/RAW"'``; here they are not). So
two spellings of one query have one storage form, one `to_text` and one `qhash`.

Stdlib only: the worker subprocess imports it.
"""

from __future__ import annotations

import hashlib
import json
import re
import shlex
from collections.abc import Mapping
from typing import Any

#: The instance queries get when none is given.
DEFAULT_INSTANCE = "prod/global"

_WORD = r"[a-z][a-z0-9_]*"
_FIELD = re.compile(_WORD)
_KEY = re.compile(rf"{_WORD}(?:\.{_WORD})*")
_BETWEEN = re.compile(r"\[\s*([^\s,\[\]]+)\s*,\s*([^\s,\[\]]+)\s*\]")
_INSTANCE = re.compile(r"[A-Za-z0-9_./-]+")

Storage = dict[str, Any]


def parse_query(text: str, *, instance: str = DEFAULT_INSTANCE) -> Storage:
    """Parse DAS-QL *text* into the canonical storage form (see the module docstring).

    Raises:
        ValueError: naming the offending token (an empty query, a bad field or key, an
            empty value, a key given twice, a malformed range, no condition at all).
    """
    if not isinstance(text, str):
        raise ValueError(f"a DAS query must be a string, got {type(text).__name__}")
    try:
        tokens = shlex.split(text, posix=True)
    except ValueError as exc:
        raise ValueError(f"cannot parse query {text!r}: {exc}") from None
    if not tokens:
        raise ValueError("empty query: expected e.g. 'dataset dataset.name=/A/B/*'")
    fields: list[str] = []
    spec: list[tuple[str, str]] = []
    position = 0
    while position < len(tokens):
        token = tokens[position]
        position += 1
        if position < len(tokens) and tokens[position] == "between":
            # "key between [a,b]"; the range may have been split at spaces: "[1," "5]"
            key, parts = token, []
            position += 1
            while position < len(tokens):
                parts.append(tokens[position])
                position += 1
                if parts[-1].endswith("]"):
                    break
            spec.append((_checked_key(key, f"{key} between"), _range(key, " ".join(parts))))
            continue
        if "=" not in token:
            if spec:
                raise ValueError(f"unexpected token {token!r} after the conditions: fields come first "
                                 f"('file dataset.name=/A/B/C'), conditions are key=value")
            if not _FIELD.fullmatch(token):
                raise ValueError(f"bad field {token!r}: a field is a lower-case word such as 'dataset'")
            fields.append(token)
            continue
        key, _, value = token.partition("=")
        if key.endswith(">"):
            key = key[:-1]
            _checked_key(key, token)
            if not value:
                raise ValueError(f"empty value in {token!r}")
            spec.append((key, ">=" + value))
            continue
        spec.append((_checked_key(key, token), value))
        if not value:
            raise ValueError(f"empty value in {token!r}: write key=value")
    if not spec:
        raise ValueError(f"query {text!r} has no condition: expected key=value, e.g. 'dataset.name=/A/B/*'")
    if not fields:
        fields = [spec[0][0].split(".", 1)[0]]
    return _canonical(fields, spec, instance)


def _checked_key(key: str, token: str) -> str:
    if not _KEY.fullmatch(key):
        raise ValueError(f"bad key {key!r} in {token!r}: a key is lower-case words joined by dots, "
                         f"e.g. 'dataset.name'")
    return key


def _range(key: str, text: str) -> str:
    match = _BETWEEN.fullmatch(text.strip())
    if not match:
        raise ValueError(f"bad range {text!r} for {key!r}: expected '{key} between [low,high]'")
    return f"[{match.group(1)},{match.group(2)}]"


def _canonical(fields: list[str], spec: list[tuple[str, str]], instance: str) -> Storage:
    if not isinstance(instance, str) or not _INSTANCE.fullmatch(instance):
        raise ValueError(f"bad instance {instance!r}: expected e.g. 'prod/global'")
    seen: dict[str, str] = {}
    for key, value in spec:
        if key in seen:
            raise ValueError(f"key {key!r} is given twice ({seen[key]!r} and {value!r})")
        seen[key] = value
    return {
        "fields": sorted(set(fields)),
        "spec": [{"key": key, "value": seen[key]} for key in sorted(seen)],
        "instance": instance,
    }


def normalize(query: str | Mapping[str, Any], *, instance: str = DEFAULT_INSTANCE) -> Storage:
    """The canonical storage form of DAS-QL text or of a storage-form mapping.

    A mapping needs ``spec`` (a list of ``{key, value}`` with string values; other entry
    keys such as DAS's ``pattern`` are dropped); ``fields`` defaults to the first key's
    prefix and ``instance`` to *instance*.

    Raises:
        ValueError: what is wrong, as in `parse_query`.
    """
    if isinstance(query, str):
        return parse_query(query, instance=instance)
    if not isinstance(query, Mapping):
        raise ValueError(f"a DAS query is DAS-QL text or a storage-form dict, got {type(query).__name__}")
    raw_spec = query.get("spec")
    if not isinstance(raw_spec, list | tuple) or not raw_spec:
        raise ValueError(f"storage query {dict(query)!r} needs a non-empty 'spec' list of {{key, value}}")
    spec: list[tuple[str, str]] = []
    for entry in raw_spec:
        if not isinstance(entry, Mapping) or not isinstance(entry.get("key"), str):
            raise ValueError(f"bad spec entry {entry!r}: expected {{'key': str, 'value': str}}")
        value = entry.get("value")
        if not isinstance(value, str) or not value:
            raise ValueError(f"bad value {value!r} for key {entry['key']!r}: values are non-empty strings")
        spec.append((_checked_key(entry["key"], entry["key"]), value))
    raw_fields = query.get("fields") or [spec[0][0].split(".", 1)[0]]
    if not isinstance(raw_fields, list | tuple):
        raise ValueError(f"bad fields {raw_fields!r}: expected a list of words")
    for field in raw_fields:
        if not isinstance(field, str) or not _FIELD.fullmatch(field):
            raise ValueError(f"bad field {field!r}: a field is a lower-case word such as 'dataset'")
    return _canonical(list(raw_fields), spec, query.get("instance") or instance)


def to_text(storage: Mapping[str, Any]) -> str:
    """The canonical DAS-QL text of a storage query (``parse_query(to_text(s)) == s`` up to instance)."""
    canonical = normalize(storage)
    parts = list(canonical["fields"])
    for entry in canonical["spec"]:
        key, value = entry["key"], entry["value"]
        kind = value_type(value)
        if kind == "between_value":
            parts.append(f"{key} between {value}")
        elif kind == "last_value":
            parts.append(f"{key}>={_quote(value[2:])}")
        else:
            parts.append(f"{key}={_quote(value)}")
    return " ".join(parts)


def _quote(value: str) -> str:
    return value if re.fullmatch(r"[^\s'\"\\]+", value) else shlex.quote(value)


def qhash(storage: Mapping[str, Any]) -> str:
    """A stable hash of the query: 32 hex digits of SHA-256 over its canonical form
    (sorted fields, sorted spec, instance); independent of spelling and dict order."""
    canonical = normalize(storage)
    body = json.dumps([canonical["fields"], [[e["key"], e["value"]] for e in canonical["spec"]],
                       canonical["instance"]], separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(body.encode("ascii")).hexdigest()[:32]


def value_type(value: str) -> str:
    """The kind of a condition value, as DAS's QueryAnalyzer classified them:

    ``between_value`` (``[a,b]``), ``last_value`` (``>=a``), ``wildcard_end`` (one ``*``,
    at the end), ``wildcard_N`` (N ``*`` anywhere else), ``string``, or ``unknown``
    (not a non-empty string).
    """
    if not isinstance(value, str) or not value:
        return "unknown"
    if _BETWEEN.fullmatch(value):
        return "between_value"
    if value.startswith(">=") and len(value) > 2:
        return "last_value"
    stars = value.count("*")
    if stars == 1 and value.endswith("*"):
        return "wildcard_end"
    if stars:
        return f"wildcard_{stars}"
    return "string"


def keys_of(storage: Mapping[str, Any]) -> list[str]:
    """The condition keys of a storage query, sorted."""
    return sorted(entry["key"] for entry in storage.get("spec") or [] if isinstance(entry, Mapping))
