"""DAS "hotspot" tasks: find the most popular keys or values in the query log, keep them warm.

``HotspotBase`` is the moving-window top-N framework of DAS (feature inventory section 3.4),
``ValueHotspot`` counts the values of one DAS key and spawns ``QueryMaintainer`` children for
the hot ones, ``KeyHotspot`` counts keys and spawns a ``ValueHotspot`` per hot key: a
three-level hierarchy KeyHotspot -> ValueHotspot -> QueryMaintainer. The algorithm (window
coverage, chunks, counting, ranking, selection) is `tasks.das.hotspot`, pure and shared.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from actors.errors import ServiceError
from tasks.base import TaskBase
from tasks.das.hotspot import (
    DAY,
    MAX_CHUNKS,
    MIN_CHILD_INTERVAL_S,
    MODES,
    aggregate,
    count_keys,
    count_values,
    fill_window,
    merge_supersets,
    plain_value,
    rank_items,
    select_items,
    spec_entries,
)
from tasks.das_query import das_now, das_service, next_refresh, query_label

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
            for entry in spec_entries(record):
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
