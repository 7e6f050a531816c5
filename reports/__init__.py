"""Reports: read-only views over the stored runs and events, with charts.

Every public class of a module of this package is a report (the ``/reports`` index of the
panel lists them by ``report_group``); reports in other distributions register through
the ``das_actors.reports`` entry-point group, and any importable class can be named by its
dotted path ``package.module:Class``. See `reports.base` for the contract (and why report
code must only read), `reports.charts` for the SVG charts, `reports.registry` for discovery.

Built-in reports: ``scheduler`` (load and success rates over 10 min / 1 h / 6 h / 24 h),
``job`` (one job's durations, lateness, outcomes, retries and result values), ``test``
(the Test tasks' runs) and ``workers`` (restarts, crashes, recycles, memory per worker).
"""

from __future__ import annotations

from typing import Any

from actors.params import Param
from reports.base import Report, ReportContext, parse_params
from reports.registry import ReportInfo, ReportRegistry, default_registry

__all__ = ["Param", "Report", "ReportContext", "ReportInfo", "ReportRegistry", "default_registry", "groups", "index",
           "parse_params"]


def index(registry: ReportRegistry | None = None) -> list[dict[str, Any]]:
    """Every listed report (``name, title, group, info, description, params``), by group then title."""
    return [info.describe() for info in (registry or default_registry()).infos()]


def groups(registry: ReportRegistry | None = None) -> list[tuple[str, list[dict[str, Any]]]]:
    """`index` grouped: ``[(group, [report, ...]), ...]``, groups sorted ("General" first)."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for entry in index(registry):
        grouped.setdefault(entry["group"], []).append(entry)
    return sorted(grouped.items(), key=lambda item: (item[0] != "General", item[0].lower()))
