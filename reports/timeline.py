"""The runs of a recent window as a Gantt chart spec: one lane per job, one bar per run.

Why a module of its own: the Overview and every Job page draw "what ran in the last hour"
(`web.timeline` reads the runs through the web's backend); turning the stored result
documents and the runs in progress into bars is pure (documents and a time in, a
`reports.charts.gantt_spec` out), so it is tested without a server. The chart is
bounded whatever the window holds: at most `MAX_LANES` jobs (the most recently active
ones, then listed by name so lanes do not jump between refreshes) and `MAX_BARS_PER_LANE`
runs per job (the newest); what was left out, including runs the caller did not read, is
counted in the chart's note. A window whose runs all began after its start (a young
server) is drawn from shortly before the first run, so its bars are not slivers at the right.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from reports import charts
from reports.chartunits import duration

#: Most jobs (lanes) one chart draws.
MAX_LANES = 12
#: Most runs (bars) one lane draws (the newest).
MAX_BARS_PER_LANE = 150
#: Shortest time axis, seconds: when every run of the window is more recent than the window's start
#: (a server or job younger than the window), the axis starts shortly before the first run, spanning
#: at least this much.
MIN_SPAN_S = 120.0

Href = Callable[[Mapping[str, Any]], str | None]


@dataclass(frozen=True, slots=True)
class _Bar:
    job_id: str
    name: str
    start: float
    end: float
    outcome: str
    href: str | None
    title: str


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _clock(epoch: float) -> str:
    try:
        return datetime.fromtimestamp(epoch, UTC).strftime("%H:%M:%S")
    except (OverflowError, OSError, ValueError):
        return str(epoch)


def _run_name(doc: Mapping[str, Any]) -> str:
    attempt = doc.get("attempt")
    return f"run {doc.get('index')}" + (f" attempt {attempt}" if attempt else "")


def _finished_bar(doc: Mapping[str, Any], run_href: Href) -> _Bar | None:
    start = _number(doc.get("started_at"))
    if start is None:  # a missed slot never ran: no interval to draw
        return None
    end = _number(doc.get("finished_at"))
    took = _number(doc.get("duration"))
    if end is None:
        end = start + took if took is not None else _number(doc.get("time")) or start
    outcome = str(doc.get("outcome") or "")
    name = str(doc.get("name") or doc.get("job_id") or "")
    title = (f"{name} {_run_name(doc)}: {outcome}, {duration(max(end - start, 0.0))}, "
             f"{_clock(start)}\u2013{_clock(end)} UTC")
    return _Bar(str(doc.get("job_id") or ""), name, start, max(end, start), outcome, run_href(doc), title)


def _running_bar(run: Mapping[str, Any], now: float, running_href: Href) -> _Bar | None:
    start = _number(run.get("started_at"))
    if start is None:
        return None
    name = str(run.get("name") or run.get("job_id") or "")
    title = f"{name} {_run_name(run)}: running for {duration(max(now - start, 0.0))}, since {_clock(start)} UTC"
    return _Bar(str(run.get("job_id") or ""), name, start, now, "running", running_href(run), title)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def runs_timeline(results: Iterable[Mapping[str, Any]], running: Iterable[Mapping[str, Any]], *, now: float,
                  run_href: Href, job_href: Href, running_href: Href, window_s: float = 3600.0, unread: int = 0,
                  title: str = "Runs, last hour", max_lanes: int = MAX_LANES,
                  max_bars_per_lane: int = MAX_BARS_PER_LANE) -> dict[str, Any]:
    """The `reports.charts.gantt_spec` of the runs that ended in [now - window_s, now] (*results*,
    stored result documents) and the runs in progress (*running*, with ``started_at``).

    *run_href* / *running_href* give a bar's link, *job_href* a lane's (from a document);
    *unread* counts runs of the window the caller did not read (said in the note).
    """
    since = now - window_s
    bars: dict[str, list[_Bar]] = {}
    first_doc: dict[str, Mapping[str, Any]] = {}
    for doc in results:
        bar = _finished_bar(doc, run_href)
        if bar is not None and bar.end >= since:
            bars.setdefault(bar.job_id, []).append(bar)
            first_doc.setdefault(bar.job_id, doc)
    for run in running:
        bar = _running_bar(run, now, running_href)
        if bar is not None:
            bars.setdefault(bar.job_id, []).append(bar)
            first_doc.setdefault(bar.job_id, run)
    active = sorted(bars, key=lambda job_id: max(b.end for b in bars[job_id]), reverse=True)
    shown, left_out = active[:max_lanes], active[max_lanes:]
    omitted_runs = unread + sum(len(bars[job_id]) for job_id in left_out)
    names = [bars[job_id][0].name for job_id in shown]
    lanes: list[dict[str, Any]] = []
    first_start = min((b.start for job_id in shown for b in bars[job_id]), default=None)
    for job_id in sorted(shown, key=lambda j: (bars[j][0].name, j)):
        chosen = sorted(bars[job_id], key=lambda b: b.start, reverse=True)
        omitted_runs += max(0, len(chosen) - max_bars_per_lane)
        name = bars[job_id][0].name
        label = name if names.count(name) == 1 else f"{name} ({job_id[:6]})"
        lanes.append({"label": label, "job_id": job_id, "href": job_href(first_doc[job_id]),
                      "bars": [{"start": b.start, "end": b.end, "outcome": b.outcome, "href": b.href,
                                "title": b.title} for b in reversed(chosen[:max_bars_per_lane])]})
    parts = []
    if left_out:
        parts.append(f"{_plural(len(left_out), 'more job')} not shown (the {max_lanes} most recently active are)")
    if omitted_runs:
        parts.append(f"{_plural(omitted_runs, 'run')} of the window not drawn (the newest are, at most "
                     f"{max_bars_per_lane} per job)")
    x_min = since
    if first_start is not None and first_start > since:  # a young server or job: span its runs, not an empty hour
        x_min = max(since, min(first_start - 0.05 * (now - first_start), now - MIN_SPAN_S))
    spec = charts.gantt_spec(title, lanes, x_min=x_min, x_max=now, now=now, omitted_note="; ".join(parts))
    spec["omitted"].update(lanes=len(left_out), bars=omitted_runs)
    spec["empty"] = "no runs in this window"
    return spec
