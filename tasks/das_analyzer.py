"""DAS analytics housekeeping tasks: ``QueryAnalyzer`` (query-structure summaries for the Query
report) and ``AnalyticsCleanup`` (deletes old summaries).

Fixed against DAS (feature inventory section 7, bugs 31 and 34):

* QueryAnalyzer is gap-aware like the hotspots (it summarises every range of its window that
  no stored summary covers, in chunks of its interval), where DAS assumed it ran exactly
  every interval and lost or double-counted calls otherwise;
* a stored value that is not valid JSON is reported (``bad_values``) and typed ``unknown``,
  where DAS's ``json.loads`` raised and failed the run;
* AnalyticsCleanup deletes summaries older than ``now - cutoff`` (DAS compared the finish
  time with the *duration* and deleted nothing) and returns how many went; its default
  cutoff is one value (30 days) in the code and the options alike.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

from tasks.base import TaskBase
from tasks.das.hotspot import DAY, MAX_CHUNKS, calls_in, fill_window
from tasks.das.query import value_type as das_value_type
from tasks.das_query import das_now, das_service

#: Summary identifier of QueryAnalyzer (the Query report reads it).
ANALYZER = "query_analyzer"
#: At most this many unreadable values are listed in a run's result.
MAX_BAD_VALUES = 20
#: Stands for "." in the key names of a *stored* structure: MongoDB-compatible servers refuse
#: dots in field names (FerretDB: "key must not contain '.'"), and no DAS key contains ":".
STORED_DOT = ":"


def stored_structure(structure: Mapping[str, Any]) -> dict[str, Any]:
    """*structure* as stored in a summary: key names with ``.`` written as `STORED_DOT`
    (DAS replaced dots with ``_``, which cannot be undone; this can, by `read_structure`)."""
    keys = {str(k).replace(".", STORED_DOT): v for k, v in dict(structure.get("keys") or {}).items()}
    return {**structure, "keys": keys}


def read_structure(structure: Mapping[str, Any]) -> dict[str, Any]:
    """A stored structure with its key names as DAS writes them again (``dataset.name``)."""
    keys = {str(k).replace(STORED_DOT, "."): v for k, v in dict(structure.get("keys") or {}).items()}
    return {**structure, "keys": keys}


def classify_value(raw: Any) -> tuple[str, str | None]:
    """The DAS value type of a stored spec value, and why it could not be read (or None).

    Plain strings are typed by `tasks.das.query.value_type` (``between_value`` for
    ``[a,b]``, ``last_value`` for ``>=a``, ``wildcard_end``, ``wildcard_N``, ``string``).
    Values in DAS's own encoding are understood too: JSON-encoded strings (``'"/A/B/C"'``)
    and range documents (``{"$gte": a, "$lte": b}``, ``{"$gte": a}``), decoded first.
    """
    value = raw
    if isinstance(value, str) and value[:1] in ('"', "{"):
        try:
            value = json.loads(value)
        except ValueError as exc:
            return "unknown", f"not valid JSON: {exc}"
    if isinstance(value, Mapping):
        if "$gte" in value and "$lte" in value:
            return "between_value", None
        if "$gte" in value:
            return "last_value", None
        return "unknown", None
    if isinstance(value, str):
        return das_value_type(value), None
    return "unknown", None


def query_structure(record: Mapping[str, Any], problems: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The structure of a query-log record: ``{fields, instance, keys: {key: value_type}}``.

    Key names keep their dots (``dataset.name``). An unreadable value is appended to
    *problems* (``{qhash, key, value, error}``) and typed ``unknown``.
    """
    mongoquery = record.get("mongoquery") or {}
    keys: dict[str, str] = {}
    for entry in mongoquery.get("spec") or []:
        if not isinstance(entry, Mapping) or not entry.get("key"):
            continue
        kind, error = classify_value(entry.get("value"))
        if error is not None and problems is not None:
            problems.append({"qhash": record.get("qhash"), "key": str(entry["key"]),
                             "value": str(entry.get("value"))[:200], "error": error})
        keys[str(entry["key"])] = kind
    return {
        "fields": [str(f) for f in mongoquery.get("fields") or []],
        "instance": str(mongoquery.get("instance") or "unknown"),
        "keys": dict(sorted(keys.items())),
    }


def structure_hash(structure: Mapping[str, Any]) -> str:
    """A stable hash of a structure (canonical JSON, sorted keys)."""
    text = json.dumps(structure, sort_keys=True, separators=(",", ":"))
    return hashlib.sha1(text.encode("utf-8"), usedforsecurity=False).hexdigest()


def summarize_structures(records: Iterable[Mapping[str, Any]], start: float, finish: float,
                         problems: list[dict[str, Any]] | None = None) -> list[list[Any]]:
    """``[[structure, calls], ...]`` for the calls in ``[start, finish)``, identical structures
    grouped by `structure_hash`, most calls first (ties by hash: deterministic)."""
    grouped: dict[str, list[Any]] = {}
    for record in records:
        calls = calls_in(record.get("times") or (), start, finish)
        if not calls:
            continue
        structure = query_structure(record, problems)
        entry = grouped.setdefault(structure_hash(structure), [structure, 0])
        entry[1] += calls
    ranked = sorted(grouped.items(), key=lambda kv: (-kv[1][1], kv[0]))
    return [[structure, count] for _, (structure, count) in ranked]


class QueryAnalyzer(TaskBase):
    """Summarise the structure of recent DAS queries (fields, instance, key -> value type).

    Every range of ``[now - period, now]`` without a stored summary (longer than
    ``allowed_gap``) is summarised in chunks of the task's interval, so a late, missed or
    early run neither loses nor double-counts calls. The Query report reads these summaries
    (``queries: [[structure, calls], ...]``; key names are stored with ``:`` for ``.``, see
    `stored_structure`, as MongoDB-compatible stores refuse dots in field names).
    """

    task_title = "DAS query analyzer"
    task_options = [
        {"name": "period", "type": "float", "default": 7 * DAY,
         "help": "how far back uncovered time is summarised (the first run backfills it)"},
        {"name": "allowed_gap", "type": "float", "default": 60.0,
         "help": "an uncovered range of at most this many seconds is not summarised (and is reported)"},
        {"name": "max_chunks", "type": "int", "default": MAX_CHUNKS,
         "help": "at most this many summaries are written per run"},
    ]

    def __call__(self) -> dict[str, Any]:
        if self.interval <= 0:
            raise ValueError(f"QueryAnalyzer uses its interval as the summary chunk size; it must be positive, "
                             f"got {self.interval!r}")
        das = das_service(self)
        now = das_now(das)
        problems: list[dict[str, Any]] = []
        calls = 0

        def summarise(start: float, finish: float) -> list[list[Any]]:
            nonlocal calls
            pairs = summarize_structures(das.list_queries(after=start, before=finish), start, finish, problems)
            calls += sum(count for _, count in pairs)
            return [[stored_structure(structure), count] for structure, count in pairs]

        filled = fill_window(das, ANALYZER, now - float(self.options["period"]), now, interval=float(self.interval),
                             allowed_gap=float(self.options["allowed_gap"]), summarise=summarise,
                             payload="queries", max_chunks=int(self.options["max_chunks"]), logger=self.logger)
        if problems:
            self.logger.warning("%d stored value(s) could not be read; typed 'unknown'", len(problems))
        self.logger.info("query_analyzer: %d new summaries (%d calls), %d in the window",
                         filled.written, calls, len(filled.used))
        return {
            "new_summaries": filled.written, "summaries": len(filled.used), "calls": calls,
            "skipped_gaps": filled.skipped_gaps, "failed_chunks": filled.failed_chunks,
            "bad_values": problems[:MAX_BAD_VALUES], "bad_value_count": len(problems),
        }


class AnalyticsCleanup(TaskBase):
    """Delete analyzer summaries that finished more than ``cutoff`` seconds ago.

    Returns how many were deleted. ``analyzer`` restricts it to one summary namespace.
    """

    task_title = "DAS analytics cleanup"
    task_options = [
        {"name": "cutoff", "type": "float", "default": 30 * DAY,
         "help": "summaries that finished more than this many seconds ago are deleted"},
        {"name": "analyzer", "type": "str", "default": None,
         "help": "only this analyzer's summaries (e.g. query_analyzer); default: every analyzer"},
    ]

    def __call__(self) -> dict[str, Any]:
        das = das_service(self)
        cutoff = float(self.options["cutoff"])
        if cutoff < 0:
            raise ValueError(f"AnalyticsCleanup: cutoff must be >= 0 seconds, got {cutoff!r}")
        older_than = das_now(das) - cutoff
        analyzer = self.options.get("analyzer") or None
        removed = int(das.remove_summaries(older_than=older_than, analyzer=analyzer))
        self.logger.info("removed %d summaries finished before %.0f (%s)", removed, older_than,
                         analyzer or "every analyzer")
        return {"removed": removed, "older_than": older_than, "analyzer": analyzer}
