"""The table `make bench` prints: one `Figure` per row (das-actors, APScheduler, ratio, target,
met?) built from the raw outcomes of the scenarios.

Why a module of its own: the runner (`benchmarks.run`) starts processes and collects outcomes;
what a figure means, which target it has and how it is extrapolated (the scale rows to a
million jobs) is a separate concern, read by whoever checks a target.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from benchmarks.common import fmt_number
from benchmarks.das_hit_ratio import figures as das_hit_figures
from benchmarks.dask_side import figures as dask_figures
from benchmarks.panel_side import figures as panel_figures
from benchmarks.reports_bench import figures as reports_figures


@dataclass
class Figure:
    key: str
    label: str
    unit: str
    das: float | None
    aps: float | None
    better: str  # "higher" or "lower": for das-actors
    target: str = ""
    check: Callable[[float, float | None], bool | None] | None = None
    das_error: str | None = None
    aps_error: str | None = None
    aps_note: str | None = None  # why there is no APScheduler figure (not applicable)
    das_note: str | None = None  # why there is no das-actors figure (not measured)
    note: str | None = None  # a footnote printed under the table

    @property
    def ratio(self) -> float | None:
        if self.das is None or self.aps is None:
            return None
        if self.better == "higher":
            return self.das / self.aps if self.aps else None
        return self.aps / self.das if self.das else None

    @property
    def met(self) -> str:
        if not self.target:
            return ""
        if self.das_error:
            return "ERROR"
        if self.das is None:
            return "NOT MEASURED"
        assert self.check is not None
        verdict = self.check(self.das, self.ratio)
        if verdict is None:
            return "UNVERIFIED"
        return "met" if verdict else "MISSED"

    def cells(self) -> list[str]:
        das = ("ERROR" if self.das_error else fmt_number(self.das, self.unit) if self.das is not None
               else f"— ({self.das_note})" if self.das_note else "—")
        aps = ("ERROR" if self.aps_error else fmt_number(self.aps, self.unit) if self.aps is not None
               else f"— ({self.aps_note})" if self.aps_note else "—")
        ratio = self.ratio
        text = "—" if ratio is None else (f"{ratio:,.0f}x" if ratio >= 100 else f"{ratio:.2f}x")
        return [self.label, das, aps, text, self.target or "—", self.met]

    def to_json(self) -> dict[str, Any]:
        return {"label": self.label, "unit": self.unit, "das": self.das, "aps": self.aps, "ratio": self.ratio,
                "ratio_basis": "das/aps" if self.better == "higher" else "aps/das", "target": self.target or None,
                "met": self.met or None, "das_error": self.das_error, "aps_error": self.aps_error,
                "aps_note": self.aps_note, "das_note": self.das_note, "note": self.note}


def side_of(outcome: dict[str, Any] | None, key: str) -> tuple[dict[str, Any] | None, str | None]:
    """(data, error) of one unit; error is None when it succeeded; both None when it was not run."""
    if outcome is None:
        return None, None
    unit = outcome["units"].get(key)
    if unit is None:
        return None, None
    if unit.get("ok"):
        return unit["data"], None
    return None, str(unit.get("error") or "failed")


def _get(data: dict[str, Any] | None, name: str) -> float | None:
    if data is None:
        return None
    value = data.get(name)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _at_most(limit: float) -> Callable[[float, float | None], bool | None]:
    def check(value: float, ratio: float | None) -> bool | None:
        return value <= limit
    return check


def build_figures(outcomes: dict[str, dict[str, Any]]) -> list[Figure]:
    """The table rows for the scenarios that ran, with their targets."""
    figures: list[Figure] = []
    if "burst" in outcomes:
        o = outcomes["burst"]
        n = int(o["params"]["n"])
        das, de = side_of(o, "das:burst")
        aps, ae = side_of(o, "aps:burst")
        figures.append(Figure("burst.runs_per_s", f"burst: runs completed/s ({n:,} one-shot jobs)", "runs/s",
                              _get(das, "runs_per_s"), _get(aps, "runs_per_s"), "higher",
                              ">= 15,000/s and >= 3x",
                              lambda v, r: None if r is None else v >= 15_000 and r >= 3.0, de, ae,
                              note=None if das is None else
                              f"das-actors jobs submitted with {das.get('submit_mode')}; completion polled with "
                              f"ask('status') every {1000 * float(das.get('poll_s') or 0):g} ms"))
        figures.append(Figure("burst.stored_runs_per_s", "burst: runs/s until every result is stored", "runs/s",
                              _get(das, "stored_runs_per_s"), None, "higher", das_error=de,
                              aps_note="stores nothing"))
    if "herd" in outcomes:
        figures.extend(herd_figures(outcomes["herd"]))
    for name in ("spread1000", "spread2000"):
        if name in outcomes:
            figures.extend(spread_figures(name, outcomes[name]))
    if "journal" in outcomes:
        o = outcomes["journal"]
        lines = int(o["params"]["lines"])
        das, de = side_of(o, "das:journal")
        task_note = None if das is None else (
            f"the task itself logged its lines in {das.get('task_s')} s "
            f"({float(das.get('task_lines_per_s') or 0):,.0f} lines/s); from its start to the last line stored "
            f"took {das.get('elapsed_s')} s")
        figures.append(Figure("journal.lines_per_s", f"journal: lines stored/s ({lines:,} lines, one task)",
                              "lines/s", _get(das, "lines_per_s"), None, "higher", ">= 200,000/s",
                              lambda v, r: v >= 200_000, de, aps_note="n/a", note=task_note))
        figures.append(Figure("journal.lines_lost", "journal: lines lost", "lines", _get(das, "lines_lost"), None,
                              "lower", "0", lambda v, r: v == 0, de, aps_note="n/a"))
    if "scale" in outcomes:
        figures.extend(scale_figures(outcomes["scale"]))
    if "startup" in outcomes:
        o = outcomes["startup"]
        das, de = side_of(o, "das:startup")
        aps, ae = side_of(o, "aps:startup")
        figures.append(Figure("startup.first_run_s", "start-up: launch to first run started", "s",
                              _get(das, "first_run_s"), _get(aps, "first_run_s"), "lower", "<= 1.5 s",
                              lambda v, r: v <= 1.5, de, ae,
                              note=f"median of {o['params']['repeats']} launch(es): `python -m actors.cli start "
                              "--no-start-offset cfg.py` vs `python -m benchmarks.aps_startup`"))
    if "das_hit_ratio" in outcomes:
        figures.extend(Figure(**row) for row in das_hit_figures(outcomes["das_hit_ratio"], side_of))
    if "reports" in outcomes:
        figures.extend(Figure(**row) for row in reports_figures(outcomes["reports"], side_of))
    if "dask_burst" in outcomes:
        figures.extend(Figure(**row) for row in dask_figures(outcomes["dask_burst"], side_of))
    if "panel" in outcomes:
        figures.extend(Figure(**row) for row in panel_figures(outcomes["panel"], side_of))
    return figures


def _lateness_rows(name: str, where: str, o: dict[str, Any], p99_target: str,
                   p99_check: Callable[[float, float | None], bool | None] | None,
                   note: str | None = None) -> list[Figure]:
    """p50, p99 (with its target), max and runs missed of one steady-load scenario, both systems."""
    seconds = float(o["params"]["seconds"])
    n = int(o["params"]["jobs"])
    das, de = side_of(o, "das:steady")
    aps, ae = side_of(o, "aps:steady")
    expected = round(n * seconds)
    return [
        Figure(f"{name}.p50_ms", f"{name}: lateness p50, {where}", "ms", _get(das, "p50_ms"), _get(aps, "p50_ms"),
               "lower", das_error=de, aps_error=ae),
        Figure(f"{name}.p99_ms", f"{name}: lateness p99, {where}", "ms", _get(das, "p99_ms"), _get(aps, "p99_ms"),
               "lower", p99_target, p99_check, de, ae, note=note),
        Figure(f"{name}.max_ms", f"{name}: lateness max, {where}", "ms", _get(das, "max_ms"), _get(aps, "max_ms"),
               "lower", das_error=de, aps_error=ae),
        Figure(f"{name}.missed", f"{name}: runs missed of {expected:,} ({seconds:g} s)", "runs",
               _get(das, "missed"), _get(aps, "missed"), "lower", das_error=de, aps_error=ae),
    ]


def herd_figures(o: dict[str, Any]) -> list[Figure]:
    """The herd: every job due at the same instant each second. Its floor is the time das-actors needs
    to run that many runs at all (jobs / its burst rate, measured in the same process just before)."""
    n = int(o["params"]["jobs"])
    warmup = int(o["params"].get("warmup_runs", 2))
    das, de = side_of(o, "das:steady")
    floor = _get(das, "floor_ms")

    def check(value: float, ratio: float | None) -> bool | None:
        if floor is None or ratio is None:
            return None
        return value <= 1.3 * floor and ratio >= 4.0

    where = f"{n:,} jobs @ 1 Hz all due at once, first {warmup} runs of each job excluded"
    note = None if das is None or floor is None else (
        f"floor = {n:,} jobs / {float(das['floor_burst_runs_per_s']):,.0f} runs/s (a burst of "
        f"{das['floor_burst_n']:,} one-shot runs in the same process just before) = {floor:.1f} ms; "
        f"p99 = {float(das['p99_ms']) / floor:.2f}x the floor")
    rows = _lateness_rows("herd", where, o, "<= 1.3x floor and >= 4x", check, note)
    rows.insert(0, Figure("herd.floor_ms", f"herd: floor = {n:,} / burst rate", "ms", floor, None, "lower",
                          das_error=de, aps_note="n/a"))
    return rows


def spread_figures(name: str, o: dict[str, Any]) -> list[Figure]:
    """Steady load with the first runs spread over the interval: p99 <= 2 ms and <= APScheduler's."""
    n = int(o["params"]["jobs"])
    spread = float(o["params"].get("spread_s", 1.0))
    warmup = int(o["params"].get("warmup_runs", 2))
    over = "the interval" if spread == 1.0 else f"{spread:g} s"
    where = f"{n:,} jobs @ 1 Hz, first runs over {over}, first {warmup} runs of each job excluded"
    return _lateness_rows(name, where, o, "<= 2 ms and >= 1x",
                          lambda v, r: None if r is None else v <= 2.0 and r >= 1.0)


def _fmt_ms(value: float | None) -> str:
    return "?" if value is None else f"{value:.1f}"


#: Targets of the scale rows, at a million jobs.
SCALE_TARGET_JOBS = 1_000_000


def scale_figures(o: dict[str, Any]) -> list[Figure]:
    """Load from config, restart from the store, RSS, first page; the targets hold at a million jobs.
    Below that, each figure is also extrapolated linearly to a million (the RSS above the process's
    own before the jobs), and the target is checked on the extrapolation."""
    jobs = int(o["params"]["jobs"])
    k = f"{jobs // 1000:,}k" if jobs % 1000 == 0 else f"{jobs:,}"
    cfg, ce = side_of(o, "das:scale_config")
    rst, re_ = side_of(o, "das:scale_restart")
    aps, ae = side_of(o, "aps:scale")
    factor = SCALE_TARGET_JOBS / jobs
    at_target = jobs >= SCALE_TARGET_JOBS
    figures: list[Figure] = []

    def add(key: str, label: str, unit: str, das: float | None, aps_value: float | None, error: str | None,
            target: str, limit: float | None, extrapolated: float | None, **extra: Any) -> None:
        check = None if limit is None else _at_most(limit)
        figures.append(Figure(key, f"{k} jobs: {label}", unit, das, aps_value, "lower",
                              target if at_target else "", check if at_target else None, das_error=error,
                              aps_error=None if "aps_note" in extra else ae, **extra))
        if not at_target and extrapolated is not None and limit is not None:
            figures.append(Figure(f"{key}.at_1m", "  ... extrapolated to 1M jobs (linear)", unit, extrapolated,
                                  None, "lower", target, check, das_error=error, aps_note="n/a"))

    def scaled(value: float | None, base: float = 0.0) -> float | None:
        return None if value is None else base + (value - base) * factor

    add("scale.load_config_s", f"load from config + start (APS: add_job x {k})", "s", _get(cfg, "total_s"),
        _get(aps, "load_config_s"), ce, "<= 20 s at 1M", 20.0, scaled(_get(cfg, "total_s")))
    add("scale.restart_s", "restart, restored from the store", "s", _get(rst, "total_s"), None, re_ or None,
        "<= 20 s at 1M", 20.0, scaled(_get(rst, "total_s")), aps_note="no persistence")
    rss = [v for v in (_get(cfg, "rss_mb"), _get(rst, "rss_mb")) if v is not None]
    rss_max = max(rss) if rss else None
    before = _get(cfg, "rss_before_mb") or 0.0
    add("scale.rss_mb", "supervisor RSS (max of config run and restart)", "MB", rss_max, _get(aps, "rss_mb"), ce,
        "<= 1,024 MB at 1M", 1024.0, scaled(rss_max, before))
    add("scale.first_page_ms", "first schedule page, 50 jobs (facade)", "ms", _get(cfg, "first_page_ms"),
        _get(aps, "first_page_ms"), ce, "<= 200 ms at 1M", 200.0, scaled(_get(cfg, "first_page_ms")),
        note=None if cfg is None else f"das-actors: {cfg.get('page_method')}, median of 5 calls (after a restart: "
        f"{_fmt_ms(_get(rst, 'first_page_ms'))} ms); APScheduler: get_jobs()[:50]")
    # A page grows with the jobs (the due-time cut is read off the heap, keys are built for the jobs due
    # by then): its linear extrapolation is an upper bound; `--full` measures it at a million.
    measured = cfg is not None and cfg.get("api_first_page_ms") is not None
    api_note = None if cfg is None else (
        f"{cfg.get('api_url')} through the WSGI app (WebTest), median of 5 calls; "
        f"{cfg.get('api_items')} jobs, {cfg.get('api_bytes'):,} bytes returned" if measured
        else str(cfg.get("api_note")))
    figures.append(Figure("scale.api_first_page_ms", f"{k} jobs: GET api/v1/jobs?limit=50", "ms",
                          _get(cfg, "api_first_page_ms"), None, "lower", "<= 200 ms", _at_most(200.0), ce,
                          aps_note="no API", das_note=None if measured or cfg is None else "not measured",
                          note=api_note))
    return figures


__all__ = ["SCALE_TARGET_JOBS", "Figure", "build_figures", "herd_figures", "scale_figures", "side_of", "spread_figures"]
