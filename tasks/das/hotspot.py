"""The hotspot algorithm of DAS, pure: coverage of a window, chunking, counting, ranking, selection.

Why a module of its own: the three hotspot tasks (`tasks.das_hotspot`), the query analyzer and
the das reports all use it, and it is tested on hand-built summaries without a service or
a task. The task classes live in `tasks.das_hotspot`; this module holds no task.

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
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

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


def spec_entries(record: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    mongoquery = record.get("mongoquery") or {}
    return [entry for entry in (mongoquery.get("spec") or []) if isinstance(entry, Mapping)]


def count_values(records: Iterable[Mapping[str, Any]], key: str, start: float, finish: float) -> dict[str, int]:
    """Calls per value of *key* in ``[start, finish)`` over query-log *records*."""
    counts: Counter[str] = Counter()
    for record in records:
        calls = calls_in(record.get("times") or (), start, finish)
        if not calls:
            continue
        for value in {plain_value(e.get("value")) for e in spec_entries(record) if e.get("key") == key}:
            counts[value] += calls
    return dict(counts)


def count_keys(records: Iterable[Mapping[str, Any]], start: float, finish: float) -> dict[str, int]:
    """Calls per DAS key (a query with several conditions counts for each of its keys once)."""
    counts: Counter[str] = Counter()
    for record in records:
        calls = calls_in(record.get("times") or (), start, finish)
        if not calls:
            continue
        for key in {str(e.get("key")) for e in spec_entries(record) if e.get("key")}:
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
