"""The upstream HTTP JSON APIs behind the das service: which one answers a query, and the fetch.

An upstream API is configured by a dict (a JSON file lists them, ``das_upstreams``)::

    {"system": "dbs", "api": "datasets", "keys": ["dataset", "dataset.name"],
     "url": "http://127.0.0.1:8300/dbs/datasets?dataset.name={dataset.name}",
     "expire_s": 60, "timeout_s": 5, "retries": 2}

It *answers* a query when every field and every condition key of the query is one of its
``keys`` and every ``{placeholder}`` of its URL is a condition of the query (values are
URL-encoded into the template). The answer is a JSON list of records, or an object with
a ``records`` or ``data`` list, or one object (one record). Records expire
``Cache-Control: max-age`` seconds after the fetch when the response says so, else
``expire_s`` after it. A connection error, a timeout, a 5xx or a 429 is retried
``retries`` times (after ``retry_delay_s``, doubling); other 4xx and bad JSON are not.

A local upstream to run against (the demo, the tests, the benchmark) is
`tasks.das.demo_upstream.DemoUpstream`. Stdlib only.
"""

from __future__ import annotations

import http.client
import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tasks.das.query import _KEY

_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_MAX_AGE = re.compile(r"(?:^|,)\s*(?:max-age|s-maxage)\s*=\s*\"?(\d+)\"?\s*(?:,|$)", re.IGNORECASE)
_NO_CACHE = re.compile(r"(?:^|,)\s*(?:no-store|no-cache)\s*(?:,|$)", re.IGNORECASE)
#: Most bytes read from one upstream response.
MAX_RESPONSE_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class UpstreamApi:
    """One configured upstream API; see the module docstring."""

    system: str
    api: str
    keys: tuple[str, ...]
    url: str
    expire_s: float = 60.0
    timeout_s: float = 5.0
    retries: int = 2
    retry_delay_s: float = 0.1
    placeholders: tuple[str, ...] = field(default=(), compare=False)

    @classmethod
    def from_dict(cls, config: Mapping[str, Any], where: str = "upstream") -> UpstreamApi:
        """Validate one upstream dict. Raises `ValueError` naming *where* and the field."""
        if not isinstance(config, Mapping):
            raise ValueError(f"{where}: expected an object, got {type(config).__name__}")
        known = {"system", "api", "keys", "url", "expire_s", "timeout_s", "retries", "retry_delay_s"}
        unknown = sorted(set(config) - known)
        if unknown:
            raise ValueError(f"{where}: unknown field(s) {', '.join(map(repr, unknown))} "
                             f"(known: {', '.join(sorted(known))})")
        for name in ("system", "api", "url"):
            if not isinstance(config.get(name), str) or not config[name]:
                raise ValueError(f"{where}: {name!r} must be a non-empty string, got {config.get(name)!r}")
        keys = config.get("keys")
        if not isinstance(keys, list | tuple) or not keys or not all(isinstance(k, str) for k in keys):
            raise ValueError(f"{where}: 'keys' must be a non-empty list of keys, got {keys!r}")
        for key in keys:
            if not _KEY.fullmatch(key):
                raise ValueError(f"{where}: bad key {key!r} in 'keys'")
        url = config["url"]
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"{where}: 'url' must be an http(s) URL template, got {url!r}")
        placeholders = tuple(_PLACEHOLDER.findall(url))
        for name in placeholders:
            if name not in keys:
                raise ValueError(f"{where}: URL placeholder {{{name}}} is not one of its keys {list(keys)}")
        numbers: dict[str, float] = {}
        for name, default, minimum in (("expire_s", 60.0, 0.0), ("timeout_s", 5.0, 0.001),
                                       ("retries", 2, 0), ("retry_delay_s", 0.1, 0.0)):
            value = config.get(name, default)
            if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
                raise ValueError(f"{where}: {name!r} must be a number >= {minimum:g}, got {value!r}")
            if name == "retries" and not isinstance(value, int):
                raise ValueError(f"{where}: 'retries' must be an integer, got {value!r}")
            numbers[name] = value
        return cls(system=config["system"], api=config["api"], keys=tuple(keys), url=url,
                   expire_s=float(numbers["expire_s"]), timeout_s=float(numbers["timeout_s"]),
                   retries=int(numbers["retries"]), retry_delay_s=float(numbers["retry_delay_s"]),
                   placeholders=placeholders)

    def answers(self, storage: Mapping[str, Any]) -> bool:
        """Whether this API can answer the (canonical) storage query."""
        conditions = {entry["key"] for entry in storage["spec"]}
        return (all(f in self.keys for f in storage["fields"]) and conditions <= set(self.keys)
                and set(self.placeholders) <= conditions)

    def url_for(self, storage: Mapping[str, Any]) -> str:
        """The URL template filled with the query's URL-encoded condition values."""
        values = {entry["key"]: entry["value"] for entry in storage["spec"]}
        return _PLACEHOLDER.sub(lambda m: urllib.parse.quote(values[m.group(1)], safe=""), self.url)

    def describe(self) -> dict[str, Any]:
        """The config dict back (JSON-safe)."""
        return {"system": self.system, "api": self.api, "keys": list(self.keys), "url": self.url,
                "expire_s": self.expire_s, "timeout_s": self.timeout_s, "retries": self.retries,
                "retry_delay_s": self.retry_delay_s}


@dataclass(frozen=True)
class Fetched:
    """What one API returned (or why it did not): ``max_age`` is from Cache-Control."""

    api: UpstreamApi
    url: str
    records: list[dict[str, Any]]
    max_age: float | None
    attempts: int
    latency_s: float
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def lifetime_s(self) -> float:
        """Seconds the records stay fresh: max-age when the response gave one, else expire_s."""
        return self.api.expire_s if self.max_age is None else self.max_age


class _Retryable(Exception):
    pass


class Upstreams:
    """The configured upstream APIs (a list of dicts, see the module docstring).

    Raises `ValueError` naming the entry and field at construction.
    """

    def __init__(self, config: Iterable[Mapping[str, Any]] = (), *, sleep: Any = time.sleep) -> None:
        if isinstance(config, Mapping | str | bytes):
            raise ValueError("upstreams: expected a list of upstream objects")
        self.apis = tuple(UpstreamApi.from_dict(entry, f"upstreams[{position}]")
                          for position, entry in enumerate(config))
        seen: set[tuple[str, str]] = set()
        for api in self.apis:
            if (api.system, api.api) in seen:
                raise ValueError(f"upstreams: {api.system}/{api.api} is configured twice")
            seen.add((api.system, api.api))
        self._sleep = sleep

    @classmethod
    def from_file(cls, path: str | Path) -> Upstreams:
        """Read the JSON list of upstream dicts at *path*. Raises `ValueError` naming the file."""
        try:
            config = json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ValueError(f"upstreams file {str(path)!r} not found") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"upstreams file {str(path)!r}: {exc}") from exc
        if not isinstance(config, list):
            raise ValueError(f"upstreams file {str(path)!r}: expected a JSON list of upstream objects")
        try:
            return cls(config)
        except ValueError as exc:
            raise ValueError(f"upstreams file {str(path)!r}: {exc}") from exc

    def __len__(self) -> int:
        return len(self.apis)

    def for_query(self, storage: Mapping[str, Any]) -> list[UpstreamApi]:
        """The APIs answering the canonical storage query (config order)."""
        return [api for api in self.apis if api.answers(storage)]

    def fetch(self, api: UpstreamApi, storage: Mapping[str, Any]) -> Fetched:
        """GET the API's URL for the query: timeout, retries; never raises for upstream trouble."""
        url = api.url_for(storage)
        started = time.perf_counter()
        delay = api.retry_delay_s
        attempts = 0
        error = ""
        while True:
            attempts += 1
            try:
                records, max_age = _get(url, api.timeout_s)
                return Fetched(api, url, records, max_age, attempts, time.perf_counter() - started)
            except _Retryable as exc:
                error = str(exc)
            except ValueError as exc:
                return Fetched(api, url, [], None, attempts, time.perf_counter() - started, error=str(exc))
            if attempts > api.retries:
                break
            self._sleep(delay)
            delay *= 2
        message = f"{api.system}/{api.api}: {error} (after {attempts} attempt{'s' * (attempts > 1)})"
        return Fetched(api, url, [], None, attempts, time.perf_counter() - started, error=message)


def _get(url: str, timeout_s: float) -> tuple[list[dict[str, Any]], float | None]:
    """One GET: (records, max-age). `_Retryable` or `ValueError` (permanent) on trouble."""
    headers = {"Accept": "application/json", "User-Agent": "das-actors"}
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - a configured http(s) URL
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310 - configured http(s) URL
            body = response.read(MAX_RESPONSE_BYTES + 1)
            cache_control = response.headers.get("Cache-Control") or ""
    except urllib.error.HTTPError as exc:
        exc.close()
        if exc.code >= 500 or exc.code == 429:
            raise _Retryable(f"HTTP {exc.code} {exc.reason} from {url}") from None
        raise ValueError(f"HTTP {exc.code} {exc.reason} from {url}") from None
    except TimeoutError:
        raise _Retryable(f"timed out after {timeout_s:g}s: {url}") from None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        reason = getattr(exc, "reason", exc)
        if isinstance(reason, TimeoutError):
            raise _Retryable(f"timed out after {timeout_s:g}s: {url}") from None
        raise _Retryable(f"{type(exc).__name__}: {reason} ({url})") from None
    if len(body) > MAX_RESPONSE_BYTES:
        raise ValueError(f"response from {url} is larger than {MAX_RESPONSE_BYTES} bytes")
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"response from {url} is not JSON: {exc}") from None
    return _records(data), _max_age(cache_control)


def _records(data: Any) -> list[dict[str, Any]]:
    if isinstance(data, Mapping):
        for name in ("records", "data"):
            if isinstance(data.get(name), list):
                data = data[name]
                break
        else:
            return [dict(data)]
    if not isinstance(data, list):
        return [{"value": data}]
    return [dict(item) if isinstance(item, Mapping) else {"value": item} for item in data]


def _max_age(cache_control: str) -> float | None:
    """Seconds from ``Cache-Control`` (``max-age``/``s-maxage``; ``no-store``/``no-cache`` = 0), else None."""
    if _NO_CACHE.search(cache_control):
        return 0.0
    match = _MAX_AGE.search(cache_control)
    return float(match.group(1)) if match else None


def parse_upstreams(value: str | Sequence[Mapping[str, Any]] | None) -> Upstreams:
    """`Upstreams` from a file path, a list of dicts, or nothing ("" / None: no upstream)."""
    if not value:
        return Upstreams([])
    if isinstance(value, str):
        return Upstreams.from_file(value)
    return Upstreams(value)
