"""The DAS reports: Hotspot, Query and API, over the das service's stored analytics.

As in DAS they compute nothing heavy: the hotspot tasks and QueryAnalyzer store per-interval
summaries (`tasks.das_hotspot`, `tasks.das_analyzer`), the das service logs every upstream
fetch; these reports only read those documents over a bounded window and add them up.

* **Hotspot** (``identifier``, ``period``, ``fraction``): the cumulative share of calls over
  the items of a ValueHotspot / KeyHotspot (most popular first), which part of the window the
  summaries cover (and the gaps), calls and distinct items over time, and the selected items
  (the smallest head holding more than ``fraction`` of the calls, or the task's own mode).
  DAS's HotspotReport overwrote counts instead of summing them and put every time bin on the
  last summary; both are fixed (tests check the numbers).
* **Query** (``period``, ``key``): calls by key, constraint (value) types by key, requested
  fields by key, instances, key combinations and calls over time, from QueryAnalyzer's
  summaries (no division by zero for a period under an hour).
* **API** (``period``): upstream calls by system and API, failures, latency, over time.

The report gets the das service from the context (``context.services["das"]``, as tasks get
it); without one the page says how to configure it (``--das-db-uri``) instead of failing.
The figures are module functions (`hotspot_figures`, `query_figures`, `api_figures`) over
plain documents, tested without a server.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from actors.errors import ReportParamError
from actors.store.base import Query
from reports import charts
from reports.base import Report
from reports.stats import bin_width, duration_label, thin
from tasks.das.hotspot import MODES, aggregate, find_coverage, rank_items, select_items
from tasks.das_analyzer import ANALYZER, read_structure

DAY = 86400.0
#: Points of the cumulative curve at most.
MAX_POINTS = 200
#: Rows of the selected-items table at most.
MAX_ROWS = 200
#: Hotspot results read to list the identifiers.
MAX_HOTSPOT_RUNS = 500
HOTSPOT_CLASSES = ("ValueHotspot", "KeyHotspot")
NOT_CONFIGURED = ("the das service is not configured: start the server with --das-db-uri (and --das-upstreams), "
                  "the same store the hotspot tasks and das-serve use")


def das_of(context: Any) -> Any:
    """The das service the report reads (``context.services["das"]``), or None."""
    services = getattr(context, "services", None)
    if isinstance(services, Mapping):
        return services.get("das")
    return None


# ----------------------------------------------------------------------------- figures
def _bins(start: float, now: float) -> tuple[float, int]:
    width = bin_width(max(now - start, 1.0), max_bins=100)
    return width, max(1, math.ceil((now - start) / width))


def _bin_of(t: float, start: float, width: float, n: int) -> int:
    return min(max(int((t - start) // width), 0), n - 1)


def coverage_by_bin(summaries: Iterable[Mapping[str, Any]], start: float, width: float, n: int) -> list[float]:
    """Per time bin, the share (0..100 %) covered by *summaries* (overlaps counted once)."""
    covered = [0.0] * n
    intervals = sorted((float(s["start"]), float(s["finish"])) for s in summaries)
    merged: list[list[float]] = []
    for a, b in intervals:
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    for a, b in merged:
        first, last = _bin_of(a, start, width, n), _bin_of(b, start, width, n)
        for i in range(first, last + 1):
            lo, hi = start + i * width, start + (i + 1) * width
            covered[i] += max(0.0, min(b, hi) - max(a, lo))
    return [round(100.0 * c / width, 3) for c in covered]


def hotspot_figures(summaries: Sequence[Mapping[str, Any]], *, identifier: str, start: float, now: float,
                    fraction: float, mode: str = "calls") -> dict[str, Any]:
    """Everything the Hotspot report shows, from the summaries of *identifier* in ``[start, now]``."""
    cov = find_coverage(summaries, start, now)
    totals = aggregate(cov.used)
    ranked = rank_items(totals)
    ncalls = sum(count for _, count in ranked)
    selected = select_items(ranked, mode, fraction) if mode in MODES else select_items(ranked, "calls", fraction)
    running = 0
    rows = []
    for rank, (item, count) in enumerate(ranked[:MAX_ROWS], start=1):
        running += count
        rows.append({"rank": rank, "item": item, "calls": count, "share_pct": 100.0 * count / ncalls,
                     "cumulative_pct": 100.0 * running / ncalls, "selected": rank <= len(selected)})
    cumulative, acc = [], 0
    for rank, (_, count) in enumerate(ranked, start=1):
        acc += count
        cumulative.append((rank, 100.0 * acc / ncalls))
    points = thin(cumulative, MAX_POINTS)
    label = duration_label(now - start)
    key_plot = charts.line_spec(
        f"Cumulative share of calls over the {len(ranked)} items, most popular first (last {label})",
        [{"label": "cumulative calls", "x": [p[0] for p in points], "y": [p[1] for p in points],
          "colour": charts.PALETTE[0]},
         {"label": f"selected ({len(selected)})", "x": [p[0] for p in cumulative[: len(selected)]],
          "y": [p[1] for p in cumulative[: len(selected)]], "colour": charts.PALETTE[2]}],
        y_label="calls", y_unit="%", x_label="items by popularity (rank)", x_time=False)
    width, n = _bins(start, now)
    coverage = coverage_by_bin(cov.used, start, width, n)
    coverage_plot = charts.bars_spec(
        f"Summary coverage of the window ({duration_label(width)} bins)", [{"label": "covered", "values": coverage}],
        y_label="covered", y_unit="%", x_label="time", x_min=start, x_width=width, x_time=True)
    by_time = sorted(cov.used, key=lambda s: float(s["start"]))
    mids = [(float(s["start"]) + float(s["finish"])) / 2 for s in by_time]
    rates = [60.0 * sum(int(c) for _, c in s.get("keys") or ()) / max(float(s["finish"]) - float(s["start"]), 1e-9)
             for s in by_time]
    distinct = [len(s.get("keys") or ()) for s in by_time]
    time_plot = charts.line_spec(
        "Calls per minute and distinct items, per summary",
        [{"label": "calls per minute", "x": mids, "y": rates, "colour": charts.PALETTE[0]},
         {"label": "distinct items", "x": mids, "y": distinct, "colour": charts.PALETTE[1]}],
        y_label="per summary", x_label="summary midpoint", x_min=start, x_max=now)
    return {
        "identifier": identifier, "start": start, "now": now, "fraction": fraction, "mode": mode,
        "nsummaries": len(cov.used), "nested_summaries": cov.nested, "overlapping_summaries": cov.overlapping,
        "ncalls": ncalls, "nkeys": len(ranked),
        "selected": [[item, count] for item, count in selected],
        "selected_calls": sum(count for _, count in selected),
        "covered_s": sum(min(float(s["finish"]), now) - max(float(s["start"]), start) for s in cov.used)
        - _overlap_s(cov.used),
        "gaps": [g.to_dict() for g in cov.gaps], "rows": rows, "rows_capped": len(ranked) > MAX_ROWS,
        "charts": {"keys": key_plot, "coverage": coverage_plot, "time": time_plot},
    }


def _overlap_s(summaries: Sequence[Mapping[str, Any]]) -> float:
    """Seconds counted twice when the lengths of *summaries* are added (partial overlaps)."""
    total, end = 0.0, -math.inf
    for s in sorted(summaries, key=lambda s: (float(s["start"]), -float(s["finish"]))):
        a, b = float(s["start"]), float(s["finish"])
        if a < end:
            total += min(b, end) - a
        end = max(end, b)
    return total


def query_figures(summaries: Sequence[Mapping[str, Any]], *, start: float, now: float,
                  key: str = "") -> dict[str, Any]:
    """Everything the Query report shows, from QueryAnalyzer summaries in ``[start, now]``."""
    cov = find_coverage(summaries, start, now)
    by_key: Counter[str] = Counter()
    constraint: dict[str, Counter[str]] = defaultdict(Counter)
    fields: dict[str, Counter[str]] = defaultdict(Counter)
    instances: Counter[str] = Counter()
    combos: Counter[str] = Counter()
    width, n = _bins(start, now)
    over_time: dict[str, list[int]] = {}
    total = 0
    for summary in cov.used:
        mid = (float(summary["start"]) + float(summary["finish"])) / 2
        slot = _bin_of(mid, start, width, n)
        for stored, calls in summary.get("queries") or ():
            structure = read_structure(stored)
            keys = dict(structure.get("keys") or {})
            if key and key not in keys:
                continue
            count = int(calls)
            total += count
            instances[str(structure.get("instance") or "unknown")] += count
            combos[" + ".join(sorted(keys)) or "(none)"] += count
            for k, kind in keys.items():
                by_key[k] += count
                constraint[k][str(kind)] += count
                for f in structure.get("fields") or ():
                    fields[k][str(f)] += count
                over_time.setdefault(k, [0] * n)[slot] += count
    ranked_keys = rank_items(by_key)
    label = duration_label(now - start)
    series = [{"label": k, "values": over_time[k]} for k, _ in ranked_keys[:8]]
    others = [k for k, _ in ranked_keys[8:]]
    if others:
        series.append({"label": f"other keys ({len(others)})",
                       "values": [sum(over_time[k][i] for k in others) for i in range(n)]})
    where = f" with {key}" if key else ""
    return {
        "start": start, "now": now, "key": key, "nqueries": total, "nsummaries": len(cov.used),
        "gaps": [g.to_dict() for g in cov.gaps], "popular_key": ranked_keys[0][0] if ranked_keys else None,
        "seen_keys": [k for k, _ in ranked_keys], "by_key": dict(ranked_keys),
        "constraints": {k: dict(rank_items(v)) for k, v in sorted(constraint.items())},
        "fields": {k: dict(rank_items(v)) for k, v in sorted(fields.items())},
        "instances": dict(rank_items(instances)), "key_sets": dict(rank_items(combos)),
        "bin_s": width,
        "charts": {
            "by_key": charts.bars_spec(f"Calls by key, queries{where} in the last {label}",
                                       [{"label": "calls", "values": [c for _, c in ranked_keys]}],
                                       categories=[k for k, _ in ranked_keys], y_label="calls"),
            "constraints": charts.baobab_spec("Constraint by key", {k: dict(v) for k, v in constraint.items()},
                                              unit="calls", levels=["key", "value type"]),
            "fields": charts.baobab_spec("Field by key", {k: dict(v) for k, v in fields.items()}, unit="calls",
                                         levels=["key", "field"]),
            "instances": charts.pie_spec("DBS instance", rank_items(instances), unit="calls"),
            "key_sets": charts.pie_spec("Key(s) used", rank_items(combos), unit="calls"),
            "over_time": charts.bars_spec(f"Calls by key over time ({duration_label(width)} bins)", series,
                                          y_label="calls", x_label="time", x_min=start, x_width=width,
                                          x_time=True),
        },
    }


def api_figures(calls: Iterable[Mapping[str, Any]], *, start: float, now: float) -> dict[str, Any]:
    """Everything the API report shows, from the das service's API-call log in ``[start, now]``."""
    width, n = _bins(start, now)
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    nested: dict[str, dict[str, int]] = defaultdict(dict)
    over_time: dict[str, list[int]] = {}
    total = failures = 0
    for call in calls:
        t = call.get("time")
        if not isinstance(t, int | float) or not start <= t <= now:
            continue
        system, api = str(call.get("system") or "?"), str(call.get("api") or "?")
        row = rows.setdefault((system, api), {"system": system, "api": api, "calls": 0, "failures": 0,
                                              "records": 0, "latency_s": 0.0})
        row["calls"] += 1
        total += 1
        if call.get("status") != "ok":
            row["failures"] += 1
            failures += 1
        row["records"] += int(call.get("records") or 0)
        row["latency_s"] += float(call.get("latency_s") or 0.0)
        nested[system][api] = nested[system].get(api, 0) + 1
        over_time.setdefault(system, [0] * n)[_bin_of(float(t), start, width, n)] += 1
    table = sorted(rows.values(), key=lambda r: (-r["calls"], r["system"], r["api"]))
    for row in table:
        row["mean_latency_s"] = row.pop("latency_s") / row["calls"]
    label = duration_label(now - start)
    return {
        "start": start, "now": now, "calls": total, "failures": failures, "rows": table,
        "by_system": {s: sum(a.values()) for s, a in sorted(nested.items())}, "bin_s": width,
        "charts": {
            "api": charts.baobab_spec(f"API calls by system and API, last {label}", dict(nested), unit="calls",
                                      levels=["system", "API"]),
            "over_time": charts.bars_spec(f"API calls by system over time ({duration_label(width)} bins)",
                                          [{"label": s, "values": v} for s, v in sorted(over_time.items())],
                                          y_label="calls", x_label="time", x_min=start, x_width=width,
                                          x_time=True),
        },
    }


# ----------------------------------------------------------------------------- reports
def hotspot_tasks(context: Any, since: float) -> list[dict[str, Any]]:
    """The hotspot identifiers that ran since *since*, newest first, with their last run's settings."""
    found: dict[str, dict[str, Any]] = {}
    for classname in HOTSPOT_CLASSES:
        page = context.find(Query(type="result", classname=classname, outcome="success", since=since,
                                  limit=MAX_HOTSPOT_RUNS))
        for doc in page.items:
            result = doc.get("result") or {}
            identifier = result.get("identifier")
            if not isinstance(identifier, str) or identifier in found:
                continue
            start, end = result.get("epoch_start"), result.get("epoch_end")
            found[identifier] = {
                "identifier": identifier, "classname": classname, "name": doc.get("name"),
                "job_id": doc.get("job_id"), "last_run": doc.get("time"), "mode": result.get("mode"),
                "fraction": result.get("fraction"),
                "period": end - start if isinstance(start, int | float) and isinstance(end, int | float) else None,
            }
    return sorted(found.values(), key=lambda t: -(t["last_run"] or 0))


class HotspotReport(Report):
    """The hot items of a ValueHotspot / KeyHotspot: cumulative calls over items, summary coverage,
    calls over time and the selected items, from the summaries the task stored.

    Without ``identifier`` the most recently run hotspot is shown (all are listed). ``period``,
    ``fraction`` and the mode default to the task's own, from its newest run.
    """

    report_group = "DAS"
    report_title = "Hotspot"
    params = [
        {"name": "identifier", "type": "str", "default": "",
         "help": "summary identifier, e.g. valuehotspot-dataset-name or keyhotspot (default: the newest)"},
        {"name": "period", "type": "duration", "default": None, "minimum": 1, "maximum": 366 * DAY,
         "help": "window: seconds or 10m, 2h, 30d (default: the task's period, else 30 d)"},
        {"name": "fraction", "type": "float", "default": None, "minimum": 0,
         "help": "selection: the smallest head above this share of calls (default: the task's)"},
    ]

    def __call__(self, *, identifier: str = "", period: float | None = None,
                 fraction: float | None = None) -> tuple[str, dict[str, Any]]:
        now = self.context.now
        das = das_of(self.context)
        known = hotspot_tasks(self.context, now - 30 * DAY)
        data: dict[str, Any] = {"configured": das is not None, "message": NOT_CONFIGURED, "tasks": known,
                                "figures": None}
        chosen = identifier.strip() or (known[0]["identifier"] if known else "")
        data["identifier"] = chosen
        if das is None or not chosen:
            return "report_hotspot.mako", data
        task = next((t for t in known if t["identifier"] == chosen), None)
        window = period or (task or {}).get("period") or 30 * DAY
        share = fraction if fraction is not None else (task or {}).get("fraction")
        mode = (task or {}).get("mode") or "calls"
        if fraction is not None or share is None:
            mode, share = "calls", 0.15 if share is None else share
        if mode == "calls" and share is not None and share > 1:
            raise ReportParamError("fraction", f"a share of calls is at most 1, got {share}")
        summaries = das.get_summaries(chosen, after=now - window, before=now)
        if not summaries and task is None:
            raise ReportParamError("identifier", f"no hotspot task and no summaries named {chosen[:60]!r}")
        data["task"] = task
        data["figures"] = hotspot_figures(summaries, identifier=chosen, start=now - window, now=now,
                                          fraction=float(share), mode=mode)
        return "report_hotspot.mako", data


class QueryReport(Report):
    """Recent DAS queries by structure: calls by key, constraint types, requested fields,
    instances, key combinations and calls over time, from QueryAnalyzer's summaries."""

    report_group = "DAS"
    report_title = "DAS Query"
    params = [
        {"name": "period", "type": "duration", "default": 7 * DAY, "minimum": 60, "maximum": 366 * DAY,
         "help": "window: seconds or 30m, 6h, 7d"},
        {"name": "key", "type": "str", "default": "", "help": "only queries using this key, e.g. dataset.name"},
    ]

    def __call__(self, *, period: float = 7 * DAY, key: str = "") -> tuple[str, dict[str, Any]]:
        now = self.context.now
        das = das_of(self.context)
        analyzer_runs = self.context.find(Query(type="result", classname="QueryAnalyzer", limit=1)).total
        data: dict[str, Any] = {"configured": das is not None, "message": NOT_CONFIGURED,
                                "analyzer_exists": analyzer_runs > 0, "figures": None}
        if das is not None:
            summaries = das.get_summaries(ANALYZER, after=now - period, before=now)
            data["figures"] = query_figures(summaries, start=now - period, now=now, key=key.strip())
        return "report_query.mako", data


class APIReport(Report):
    """Upstream API calls of the das service by system and API: counts, failures, latency, over time."""

    report_group = "DAS"
    report_title = "APIs"
    params = [{"name": "period", "type": "duration", "default": DAY, "minimum": 60, "maximum": 60 * DAY,
               "help": "window: seconds or 30m, 6h, 7d"}]

    def __call__(self, *, period: float = DAY) -> tuple[str, dict[str, Any]]:
        now = self.context.now
        das = das_of(self.context)
        data: dict[str, Any] = {"configured": das is not None, "message": NOT_CONFIGURED, "figures": None}
        if das is not None:
            data["figures"] = api_figures(das.api_calls(since=now - period), start=now - period, now=now)
        return "report_api.mako", data
