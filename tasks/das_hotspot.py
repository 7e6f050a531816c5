"""DAS "hotspot" tasks: find the most popular keys or values in the query log, keep them warm.

``HotspotBase`` is the moving-window top-N framework of DAS (feature inventory section 3.4),
``ValueHotspot`` counts the values of one DAS key and spawns ``QueryMaintainer`` children for
the hot ones, ``KeyHotspot`` counts keys and spawns a ``ValueHotspot`` per hot key: a
three-level hierarchy KeyHotspot -> ValueHotspot -> QueryMaintainer.

One run at time ``now``, with period P, interval I (the task's own, reused as the chunk size)
and allowed gap G:

1. window ``[now - P, now]``; load the stored summaries fully inside it;
2. walk them by start with a cursor (max-ed: a nested or overlapping summary never moves it
   backwards; a summary nested in the coverage is not counted twice); every uncovered range
   is a gap;
3. a gap of at most G is skipped *and reported* (``skipped_gaps``; the trailing one is only
   deferred: the next run sees it again, longer); a longer one is summarised in chunks of
   about I (``floor(delta / I)`` equal chunks, capped at ``max_chunks`` per run) and each
   chunk is stored at once as an immutable summary; a chunk that raises is reported
   (``failed_chunks``), not stored, and retried by the next run;
4. the per-item counts of every summary are summed (a sliding-window total);
5. ``preselect_items`` filters, the items are ranked (count descending, then item
   ascending: deterministic), selected by ``mode`` (``calls``: the smallest head holding
   more than ``fraction`` of all calls; ``keys``: the top ``floor(N * fraction)``;
   ``fixed``: the top ``floor(fraction)``), and ``mutate_items`` may merge them;
6. ``generate_task`` turns each selected item into child jobs (``new_tasks``); an exception
   there is reported in ``failed_items``.

The pure parts (coverage, chunking, counting, ranking, selection) are module functions,
tested on hand-built summaries without a service.
"""

from __future__ import annotations

import fnmatch
import itertools
import json
import math
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from actors.errors import ServiceError
from tasks.base import TaskBase
from tasks.das_query import das_now, das_service, next_refresh, query_label

MODES = ("calls", "keys", "fixed")
#: Most chunks one run summarises; a longer backlog is cut into this many larger chunks.
MAX_CHUNKS = 1000
DAY = 86400.0
#: Shortest first-run delay of a spawned QueryMaintainer (a job interval must be positive).
MIN_CHILD_INTERVAL_S = 0.1


# ------------------------------------------------------------------------------ pure parts
@dataclass(frozen=True)
class Gap:
    """A range of the window that no stored summary covers."""

    start: float
    finish: float
    trailing: bool = False  # ends at the window's end: the next run sees it again

    @property
    def seconds(self) -> float:
        return self.finish - self.start

    def to_dict(self) -> dict[str, Any]:
        return {"start": self.start, "finish": self.finish, "seconds": round(self.seconds, 6),
                "trailing": self.trailing}


@dataclass
class Coverage:
    """How stored summaries cover a window: the ones to count, the gaps, the redundant ones."""

    used: list[dict[str, Any]] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)
    nested: int = 0  # summaries inside the covered range already: not counted twice
    overlapping: int = 0  # summaries that start inside the covered range but reach beyond it


def find_coverage(summaries: Iterable[Mapping[str, Any]], epoch_start: float, epoch_end: float) -> Coverage:
    """Walk *summaries* by start (longest first on ties) with a max-ed cursor; see the module doc.

    Summaries outside ``[epoch_start, epoch_end]`` are ignored. A summary entirely inside the
    range already covered is dropped (a duplicate from a concurrent run, say); one that
    starts inside it but reaches further is counted and reported in ``overlapping``.
    """
    cov = Coverage()
    cursor = epoch_start
    inside = [s for s in summaries if float(s["start"]) >= epoch_start and float(s["finish"]) <= epoch_end]
    for summary in sorted(inside, key=lambda s: (float(s["start"]), -float(s["finish"]))):
        start, finish = float(summary["start"]), float(summary["finish"])
        if cursor < start:
            cov.gaps.append(Gap(cursor, start))
        elif start < cursor:
            if finish <= cursor:
                cov.nested += 1
                continue
            cov.overlapping += 1
        cov.used.append(dict(summary))
        cursor = max(cursor, finish)
    if cursor < epoch_end:
        cov.gaps.append(Gap(cursor, epoch_end, trailing=True))
    return cov


def plan_chunks(start: float, finish: float, interval: float, allowed_gap: float,
                max_chunks: int = MAX_CHUNKS) -> list[tuple[float, float]]:
    """The chunks summarising the gap ``[start, finish]``; empty when it is at most *allowed_gap*.

    A gap up to *interval* is one chunk; a longer one is ``floor(delta / interval)`` equal
    chunks (each between I and 2I long), at most *max_chunks* of them. Chunks tile the gap
    exactly (the last one ends at *finish*).
    """
    delta = finish - start
    if delta <= allowed_gap or delta <= 0:
        return []
    if interval <= 0:
        raise ValueError(f"the summary interval must be positive, got {interval!r}")
    blocks = max(1, min(math.floor(delta / interval), max(1, int(max_chunks))))
    size = delta / blocks
    edges = [start + i * size for i in range(blocks)] + [finish]
    return list(itertools.pairwise(edges))


def aggregate(summaries: Iterable[Mapping[str, Any]], payload: str = "keys") -> dict[str, int]:
    """Sum the ``[[item, count], ...]`` pairs of *summaries* per item (the sliding-window total)."""
    totals: Counter[str] = Counter()
    for summary in summaries:
        for item, count in summary.get(payload) or ():
            totals[str(item)] += int(count)
    return dict(totals)


def rank_items(counts: Mapping[str, int]) -> list[tuple[str, int]]:
    """Items by count descending, then by item ascending (deterministic tie order)."""
    return sorted(((str(item), int(count)) for item, count in counts.items()), key=lambda p: (-p[1], p[0]))


def select_items(ranked: Sequence[tuple[str, int]], mode: str, fraction: float) -> list[tuple[str, int]]:
    """Pick the hot items of *ranked* (already sorted by `rank_items`) according to *mode*.

    ``calls``: the smallest head whose calls exceed ``fraction`` of all calls (at least one
    item when there are calls); ``keys``: the top ``floor(len * fraction)``; ``fixed``: the
    top ``floor(fraction)``.

    Raises:
        ValueError: an unknown *mode*.
    """
    if mode == "calls":
        total = sum(count for _, count in ranked)
        if total <= 0:
            return []
        selected: list[tuple[str, int]] = []
        running = 0
        for item, count in ranked:
            selected.append((item, count))
            running += count
            if running > fraction * total:
                break
        return selected
    if mode == "keys":
        return list(ranked[: max(0, math.floor(len(ranked) * fraction))])
    if mode == "fixed":
        return list(ranked[: max(0, math.floor(fraction))])
    raise ValueError(f"unknown hotspot mode {mode!r} (known: {', '.join(MODES)})")


def calls_in(times: Iterable[float], start: float, finish: float) -> int:
    """How many call times fall in the half-open chunk ``[start, finish)`` (no double counting
    of a call on the boundary between two chunks)."""
    return sum(1 for t in times if start <= float(t) < finish)


def plain_value(value: Any) -> str:
    """A spec value as text: JSON-encoded strings (DAS stored ``'"/A/B/C"'``) are decoded."""
    if isinstance(value, str):
        if len(value) >= 2 and value[0] == value[-1] == '"':
            try:
                decoded = json.loads(value)
            except ValueError:
                return value
            return decoded if isinstance(decoded, str) else value
        return value
    return json.dumps(value, sort_keys=True)


def _spec(record: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    mongoquery = record.get("mongoquery") or {}
    return [entry for entry in (mongoquery.get("spec") or []) if isinstance(entry, Mapping)]


def count_values(records: Iterable[Mapping[str, Any]], key: str, start: float, finish: float) -> dict[str, int]:
    """Calls per value of *key* in ``[start, finish)`` over query-log *records*."""
    counts: Counter[str] = Counter()
    for record in records:
        calls = calls_in(record.get("times") or (), start, finish)
        if not calls:
            continue
        for value in {plain_value(e.get("value")) for e in _spec(record) if e.get("key") == key}:
            counts[value] += calls
    return dict(counts)


def count_keys(records: Iterable[Mapping[str, Any]], start: float, finish: float) -> dict[str, int]:
    """Calls per DAS key (a query with several conditions counts for each of its keys once)."""
    counts: Counter[str] = Counter()
    for record in records:
        calls = calls_in(record.get("times") or (), start, finish)
        if not calls:
            continue
        for key in {str(e.get("key")) for e in _spec(record) if e.get("key")}:
            counts[key] += calls
    return dict(counts)


def merge_supersets(items: Sequence[tuple[str, int]], patterns: Iterable[str]) -> list[tuple[str, int]]:
    """Replace selected values by the shortest cached wildcard *pattern* matching them.

    DAS's ``get_superset_keys``, fixed: it works on a copy (DAS mutated the set it iterated
    over), the counts of merged values are summed, and the order stays deterministic.
    """
    wildcards = sorted({p for p in patterns if "*" in p}, key=lambda p: (len(p), p))
    merged: Counter[str] = Counter()
    for item, count in items:
        target = item
        if "*" not in item:
            target = next((p for p in wildcards if fnmatch.fnmatchcase(item, p)), item)
        merged[target] += count
    return rank_items(merged)


# ------------------------------------------------------------------------------ the gap filler
@dataclass
class FillReport:
    """What `fill_window` did: summaries counted, written, gaps skipped, chunks that failed."""

    used: list[dict[str, Any]]
    written: int
    skipped_gaps: list[dict[str, Any]]
    failed_chunks: list[dict[str, Any]]
    nested: int
    overlapping: int


def fill_window(das: Any, analyzer: str, epoch_start: float, epoch_end: float, *, interval: float,
                allowed_gap: float, summarise: Callable[[float, float], Any], payload: str = "keys",
                max_chunks: int = MAX_CHUNKS, logger: Any = None) -> FillReport:
    """Load *analyzer*'s summaries in the window, summarise every gap longer than *allowed_gap*
    with *summarise(start, finish)* (a list of ``[item, count]`` pairs), store each at once.

    Shared by the hotspots (``payload="keys"``) and QueryAnalyzer (``payload="queries"``).
    """
    stored = das.get_summaries(analyzer, after=epoch_start, before=epoch_end)
    cov = find_coverage(stored, epoch_start, epoch_end)
    used = list(cov.used)
    skipped: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    written = 0
    budget = max(1, int(max_chunks))
    for gap in cov.gaps:
        chunks = plan_chunks(gap.start, gap.finish, interval, allowed_gap, budget)
        if not chunks:
            skipped.append(gap.to_dict())
            continue
        for start, finish in chunks:
            try:
                pairs = summarise(start, finish)
            except Exception as exc:  # noqa: BLE001 - reported in the result, retried by the next run
                failed.append({"start": start, "finish": finish, "error": f"{type(exc).__name__}: {exc}"})
                if logger is not None:
                    logger.warning("%s: summarising [%.3f, %.3f] failed: %s: %s", analyzer, start, finish,
                                   type(exc).__name__, exc)
                continue
            das.add_summary(analyzer, start, finish, **{payload: pairs})
            used.append({"analyzer": analyzer, "start": start, "finish": finish, payload: pairs})
            written += 1
    if skipped and logger is not None:
        lost = [g for g in skipped if not g["trailing"]]
        if lost:
            logger.info("%s: %d gap(s) of at most allowed_gap not summarised (%.1f s in all): their calls are "
                        "not counted", analyzer, len(lost), sum(g["seconds"] for g in lost))
    return FillReport(used, written, skipped, failed, cov.nested, cov.overlapping)


# ------------------------------------------------------------------------------ tasks
HOTSPOT_OPTIONS: list[dict[str, Any]] = [
    {"name": "fraction", "type": "float", "default": 0.15,
     "help": "calls mode: share of all calls the selection must exceed; keys mode: share of the distinct "
             "items; fixed mode: how many items"},
    {"name": "mode", "type": "str", "default": "calls", "help": "selection mode: calls, keys or fixed"},
    {"name": "period", "type": "float", "default": 30 * DAY, "help": "look-back window, seconds"},
    {"name": "allowed_gap", "type": "float", "default": 3600.0,
     "help": "an uncovered range of at most this many seconds is not summarised (and is reported)"},
    {"name": "max_chunks", "type": "int", "default": MAX_CHUNKS,
     "help": "at most this many summaries are written per run (a longer backlog gets larger chunks)"},
]


class HotspotBase(TaskBase):
    """Moving-window top-N framework (abstract): see the module docstring for the algorithm.

    Subclasses set `identifier` (or pass it as an option) and implement `make_one_summary`
    and `generate_task`; they may override `preselect_items`, `mutate_items` and `report`.
    """

    hide = True
    task_options = [
        {"name": "identifier", "type": "str", "help": "summary namespace (analyzer name)"},
        *HOTSPOT_OPTIONS,
    ]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        mode = str(self.options.get("mode", "calls"))
        if mode not in MODES:
            raise ValueError(f"{type(self).__name__}: unknown mode {mode!r} (known: {', '.join(MODES)})")
        self.mode = mode
        self.fraction = float(self.options.get("fraction", 0.15))
        self.period = float(self.options.get("period", 30 * DAY))
        self.allowed_gap = float(self.options.get("allowed_gap", 3600.0))
        self.max_chunks = int(self.options.get("max_chunks", MAX_CHUNKS))
        self.identifier = str(self.options.get("identifier") or self.default_identifier())
        self.das: Any = None
        self.now = 0.0

    def default_identifier(self) -> str:
        raise ServiceError(f"{type(self).__name__} needs an identifier option")

    # -- hooks -------------------------------------------------------------------------
    def make_one_summary(self, start: float, finish: float) -> Mapping[str, int]:
        """Item -> calls in ``[start, finish)``."""
        raise NotImplementedError

    def generate_task(self, item: str, count: int, epoch_start: float, epoch_end: float) -> Iterable[dict[str, Any]]:
        """The child job dicts for one hot item."""
        raise NotImplementedError

    def preselect_items(self, items: Mapping[str, int]) -> dict[str, int]:
        """Filter the aggregated items before selection (default: keep all)."""
        return dict(items)

    def mutate_items(self, items: list[tuple[str, int]]) -> list[tuple[str, int]]:
        """Merge or replace the selected items (default: unchanged)."""
        return items

    def report(self) -> dict[str, Any]:
        """Extra keys for the run's result."""
        return {}

    # -- the run -----------------------------------------------------------------------
    def _summarise(self, start: float, finish: float) -> list[list[Any]]:
        return [[item, count] for item, count in rank_items(self.make_one_summary(start, finish)) if count > 0]

    def __call__(self) -> dict[str, Any]:
        if self.interval <= 0:
            raise ServiceError(f"{type(self).__name__} uses its interval as the summary chunk size; "
                               f"it must be positive, got {self.interval!r}")
        self.das = das_service(self)
        self.now = now = das_now(self.das)
        epoch_end, epoch_start = now, now - self.period
        filled = fill_window(self.das, self.identifier, epoch_start, epoch_end, interval=float(self.interval),
                             allowed_gap=self.allowed_gap, summarise=self._summarise, payload="keys",
                             max_chunks=self.max_chunks, logger=self.logger)
        totals = aggregate(filled.used, "keys")
        items = self.preselect_items(totals)
        selected = self.mutate_items(select_items(rank_items(items), self.mode, self.fraction))
        new_tasks: list[dict[str, Any]] = []
        failed_items: list[list[Any]] = []
        for item, count in selected:
            try:
                new_tasks.extend(self.generate_task(item, count, epoch_start, epoch_end))
            except Exception as exc:  # noqa: BLE001 - reported per item; the other items go on
                failed_items.append([item, count, f"{type(exc).__name__}: {exc}"])
                self.logger.warning("%s: no task for %r: %s: %s", self.identifier, item, type(exc).__name__, exc)
        self.logger.info("%s: %d summaries (%d new), %d calls over %d items, %d selected, %d new tasks",
                         self.identifier, len(filled.used), filled.written, sum(totals.values()), len(totals),
                         len(selected), len(new_tasks))
        result: dict[str, Any] = {
            "identifier": self.identifier, "mode": self.mode, "fraction": self.fraction,
            "epoch_start": epoch_start, "epoch_end": epoch_end,
            "summaries": len(filled.used), "new_summaries": filled.written,
            "nested_summaries": filled.nested, "overlapping_summaries": filled.overlapping,
            "skipped_gaps": filled.skipped_gaps, "failed_chunks": filled.failed_chunks,
            "calls": sum(totals.values()), "items": len(totals),
            "selected": [[item, count] for item, count in selected],
            "new_tasks": new_tasks, "failed_items": failed_items,
        }
        result.update(self.report())
        return result


def value_identifier(key: str) -> str:
    """The summary identifier of a ValueHotspot on *key*: ``valuehotspot-<key with . -> ->``."""
    return "valuehotspot-" + key.replace(".", "-")


class ValueHotspot(HotspotBase):
    """Count the calls per value of one DAS key; keep the hot values cached with QueryMaintainers.

    For each hot value and each field it builds the storage query ``{fields: [field], spec:
    [{key, value}], instance}``, makes sure it is cached (fetched now, not recorded, if it is
    not), and spawns a QueryMaintainer that first runs at ``expiry - preempt`` and lives until
    this task's next run (``only_before = epoch_end + interval``); the next run spawns a
    fresh set. No child is needed when the data outlives that next run.
    """

    task_title = "DAS value hotspot"
    task_options = [
        {"name": "key", "type": "str", "help": "the DAS key whose values are counted, e.g. dataset.name"},
        *HOTSPOT_OPTIONS,
        {"name": "allow_wildcarding", "type": "bool", "default": False,
         "help": "also maintain values containing '*' (wildcard queries)"},
        {"name": "find_supersets", "type": "bool", "default": False,
         "help": "replace hot values by a cached wildcard query on the key that covers them"},
        {"name": "preempt", "type": "float", "default": 60.0,
         "help": "children refresh this many seconds before the data expires"},
        {"name": "fields", "type": "list", "default": None,
         "help": "fields to keep cached for each value (default: the key's prefix, dataset for dataset.name)"},
        {"name": "instance", "type": "str", "default": "prod/global", "help": "DBS instance of the queries"},
        {"name": "min_delay", "type": "float", "default": 1.0,
         "help": "a child's first run is never sooner than this many seconds from now"},
    ]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.key = str(self.options["key"])
        fields = self.options.get("fields") or [self.key.split(".")[0]]
        self.fields = [str(f) for f in fields]
        self.preempt = float(self.options["preempt"])
        self._warmed = 0

    def default_identifier(self) -> str:
        return value_identifier(str(self.options["key"]))

    def make_one_summary(self, start: float, finish: float) -> Mapping[str, int]:
        return count_values(self.das.list_queries(key=self.key, after=start, before=finish), self.key, start, finish)

    def preselect_items(self, items: Mapping[str, int]) -> dict[str, int]:
        if self.options["allow_wildcarding"]:
            return dict(items)
        return {item: count for item, count in items.items() if "*" not in item}

    def mutate_items(self, items: list[tuple[str, int]]) -> list[tuple[str, int]]:
        if not self.options["find_supersets"]:
            return items
        return merge_supersets(items, self._cached_patterns())

    def _cached_patterns(self) -> list[str]:
        """Wildcard values of the key seen in the window whose queries are cached now."""
        patterns: set[str] = set()
        for record in self.das.list_queries(key=self.key, after=self.now - self.period, before=self.now):
            for entry in _spec(record):
                value = plain_value(entry.get("value"))
                wanted = entry.get("key") == self.key and "*" in value and value not in patterns
                if wanted and all(self.das.in_cache(self.query_for(value, f)) for f in self.fields):
                    patterns.add(value)
        return sorted(patterns)

    def query_for(self, value: str, field_name: str) -> dict[str, Any]:
        return {"fields": [field_name], "spec": [{"key": self.key, "value": value}],
                "instance": str(self.options["instance"])}

    def _expiry(self, query: dict[str, Any]) -> float:
        """When the cached data of *query* expires; fetched now (not recorded) if it is not cached."""
        expiry = self.das.expiry(query)
        if expiry is None or expiry <= self.now:
            result = self.das.call(query, record=False)
            if result.status == "failed":
                raise ServiceError(f"query-failed: {query_label(query)}: {result.error or 'no error text'}")
            self._warmed += 1
            expiry = result.expire if result.expire is not None else self.das.expiry(query)
        if expiry is None:
            raise ServiceError(f"find-expiry-failed: {query_label(query)} has no API-call expiry")
        return float(expiry)

    def generate_task(self, item: str, count: int, epoch_start: float, epoch_end: float) -> Iterator[dict[str, Any]]:
        only_before = epoch_end + float(self.interval)
        min_delay = float(self.options["min_delay"])
        for field_name in self.fields:
            query = self.query_for(item, field_name)
            expiry = self._expiry(query)
            now = das_now(self.das)
            schedule = next_refresh(expiry, self.preempt, now, min_delay)
            if schedule >= only_before:
                continue  # fresh until after this task's next run, which decides again
            yield {
                "classname": "QueryMaintainer",
                "name": f"{self.identifier}-{item}-{field_name}",
                "interval": max(schedule - now, min_delay, MIN_CHILD_INTERVAL_S),
                "only_before": only_before,
                "kwargs": {"dasquery": query, "preempt": self.preempt, "min_delay": min_delay},
            }

    def report(self) -> dict[str, Any]:
        return {"key": self.key, "fields": self.fields, "fetched_now": self._warmed}


class KeyHotspot(HotspotBase):
    """Count the calls per DAS key over all queries; spawn a ValueHotspot for every hot key.

    Each child ValueHotspot runs every ``child_interval`` seconds until this task's next run,
    with ``preempt = child_preempt`` and any further options in ``child_kwargs``.
    (DAS's KeyHotspot could not even be constructed.)
    """

    task_title = "DAS key hotspot"
    task_options = [
        *HOTSPOT_OPTIONS,
        {"name": "child_interval", "type": "float", "default": 4 * 3600.0,
         "help": "interval of the ValueHotspot children, seconds"},
        {"name": "child_preempt", "type": "float", "default": 300.0,
         "help": "preempt of the ValueHotspot children (and of their QueryMaintainers)"},
        {"name": "child_kwargs", "type": "dict", "default": {},
         "help": "further options of the ValueHotspot children (period, mode, fraction, allowed_gap...)"},
    ]

    def default_identifier(self) -> str:
        return "keyhotspot"

    def make_one_summary(self, start: float, finish: float) -> Mapping[str, int]:
        return count_keys(self.das.list_queries(after=start, before=finish), start, finish)

    def generate_task(self, item: str, count: int, epoch_start: float, epoch_end: float) -> Iterator[dict[str, Any]]:
        kwargs = {**dict(self.options["child_kwargs"] or {}), "key": item,
                  "preempt": float(self.options["child_preempt"])}
        yield {
            "classname": "ValueHotspot",
            "name": f"keyhotspot-{value_identifier(item)}",
            "interval": float(self.options["child_interval"]),
            "only_before": epoch_end + float(self.interval),
            "kwargs": kwargs,
        }

    def report(self) -> dict[str, Any]:
        out: dict[str, Any] = {"child_interval": float(self.options["child_interval"])}
        if float(self.options["child_interval"]) >= float(self.interval):
            out["warning"] = ("child_interval >= interval: each ValueHotspot child reaches its only_before (this "
                              "task's next run) before its first run, so it never runs")
        return out
