"""Report discovery (package modules, entry points, dotted paths, hide) and parameter validation."""

from __future__ import annotations

import importlib.metadata
import re
import sys
import textwrap

import pytest

import reports
from actors.errors import ReportError, ReportParamError, UnknownReportError
from actors.params import Param
from reports import base, registry
from reports.base import parse_params
from reports.registry import ReportRegistry


# ----------------------------------------------------------------------------- discovery
def test_the_built_in_reports_are_discovered_and_grouped():
    found = ReportRegistry(importable=("tests",)).discover()
    assert {"scheduler", "job", "test", "workers"} <= set(found.names())
    assert not {n for n in found.names() if n in ("report", "param", "reportcontext")}  # framework classes
    scheduler = found.info("scheduler")
    assert (scheduler.title, scheduler.group, scheduler.cls.__name__) == ("Scheduler", "General", "SchedulerReport")
    assert scheduler.info.startswith("Load averages")
    assert [p.name for p in scheduler.params] == ["window"]
    assert scheduler.template_dir is not None and scheduler.template_dir.endswith("reports")
    groups = dict(reports.groups(found))
    assert next(iter(groups)) == "General"
    assert {r["name"] for r in groups["General"]} >= {"scheduler", "job", "workers"}
    assert [r["name"] for r in groups["Test Reports"]] == ["test"]
    entry = next(r for r in reports.index(found) if r["name"] == "job")
    assert entry["params"][0] == {"name": "job_id", "type": "str", "default": None, "required": True,
                                  "help": entry["params"][0]["help"], "choices": None, "minimum": None,
                                  "maximum": None}


@pytest.fixture
def package(tmp_path, monkeypatch):
    """A throw-away report package ``fakereports`` on sys.path."""
    root = tmp_path / "fakereports"
    root.mkdir()
    (root / "__init__.py").write_text("")
    (root / "good.py").write_text(textwrap.dedent('''
        from reports.base import Report
        from reports.scheduler import SchedulerReport  # imported: not indexed here

        class CountReport(Report):
            """Counts things."""
            report_group = "Counting"
            def __call__(self):
                return "report_count.mako", {}

        class Hidden(Report):
            hide = True
            def __call__(self):
                return "x.mako", {}

        class Named:
            report_name = "other-name"
            def __init__(self, context):
                pass
            def __call__(self):
                return "x.mako", {}

        class _Private(Report):
            def __call__(self):
                return "x.mako", {}

        class Helper:
            """No __call__: not a report."""

        class BadParams(Report):
            params = [{"name": "x", "type": "complex"}]
            def __call__(self, x=None):
                return "x.mako", {}
    '''))
    (root / "broken.py").write_text("raise RuntimeError('broken on purpose')\n")
    (root / "base.py").write_text("class Skipped:\n    def __call__(self):\n        pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "fakereports"
    for name in [m for m in sys.modules if m.startswith("fakereports")]:
        del sys.modules[name]


def test_discovery_rules_mirror_the_tasks(package):
    found = ReportRegistry(importable=("tests",)).discover([package])
    assert found.names() == ["count", "other-name"]
    assert found.info("count").group == "Counting" and found.info("count").title == "CountReport"
    assert "broken on purpose" in found.errors["fakereports.broken"]
    assert "complex" in found.errors["fakereports.good"]
    with pytest.raises(UnknownReportError, match="known: count, other-name"):
        found.info("hidden")


def test_entry_points_register_reports_by_their_name(monkeypatch):
    points = [importlib.metadata.EntryPoint("extra", "tests.reports.extra:Extra", registry.ENTRY_POINT_GROUP),
              importlib.metadata.EntryPoint("nope", "tests.reports.extra:NotAReport", registry.ENTRY_POINT_GROUP),
              importlib.metadata.EntryPoint("gone", "tests.reports.missing:X", registry.ENTRY_POINT_GROUP)]

    def entry_points(*, group):
        return points if group == registry.ENTRY_POINT_GROUP else []

    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)
    found = ReportRegistry(importable=("tests",)).discover([])
    assert found.names() == ["extra"]
    assert found.info("extra").title == "Extra <b>title</b>"
    assert "is not a report" in found.errors["tests.reports.extra"]
    assert "load failed" in found.errors["tests.reports.missing"]


def test_dotted_paths_resolve_on_demand_and_can_be_refused():
    found = ReportRegistry(importable=("tests",)).discover([])
    info = found.info("tests.reports.extra:Plain")
    assert info.name == "tests.reports.extra:Plain" and info.title == "Plain" and info.group == "General"
    assert found.info("tests.reports.extra:Plain") is info  # cached
    for bad, words in (("tests.reports.extra:NotAReport", "not a report"),
                       ("functools:partial", "not importable by this server"),
                       ("tests.reports.nowhere:X", "cannot import"), ("os.path", "not importable by this server"),
                       ("a b:c", "unknown report"), (":x", "unknown report")):
        with pytest.raises(UnknownReportError, match=words):
            found.info(bad)
    with pytest.raises(UnknownReportError, match="unknown report"):
        ReportRegistry(allow_dotted=False, importable=("tests",)).discover([]).info("tests.reports.extra:Plain")


# ----------------------------------------------------------------------------- parameters
@pytest.mark.parametrize(("kind", "raw", "value"), [
    ("str", " a b ", " a b "), ("int", " 42", 42), ("float", "1.5", 1.5), ("bool", "yes", True),
    ("bool", "off", False), ("duration", "90", 90.0), ("duration", "90s", 90.0), ("duration", "10m", 600.0),
    ("duration", "1.5h", 5400.0), ("duration", "2d", 172800.0), ("duration", "", None),
])
def test_parameter_types(kind, raw, value):
    assert Param("p", kind, default=None).parse(raw) == value


@pytest.mark.parametrize(("param", "raw", "words"), [
    (Param("window", choices=("10m", "1h"), default=None), "7m", "must be one of '10m', '1h', got '7m'"),
    (Param("n", "int", default=None), "1.5", "expects int, got '1.5'"),
    (Param("n", "int", minimum=1, maximum=5, default=None), "9", "must be <= 5"),
    (Param("x", "float", default=None), "nan", "finite"),
    (Param("period", "duration", default=None), "7 weeks", "expects a duration (seconds, or 90s, 10m"),
    (Param("period", "duration", maximum=86400, default=None), "2d", "must be <= 86400"),
    (Param("b", "bool", default=None), "maybe", "expects bool"),
    (Param("job_id", help="the job"), "", "is required (the job)"),
    (Param("s", default=None), "x" * 501, "at most 500"),
    (Param("s", default=None), "a\x00b", "no NUL"),
])
def test_bad_parameters_name_their_field(param, raw, words):
    with pytest.raises(ReportParamError, match=re.escape(words)) as caught:
        parse_params([param], {param.name: raw})
    assert caught.value.field == param.name and str(caught.value).startswith(param.name + ": ")


def test_parse_params_fills_defaults_and_refuses_unknown_names():
    params = base.declared_params(type("R", (), {"params": [{"name": "window", "default": "1h"},
                                                           {"name": "n", "type": "int", "default": 3}]}))
    assert parse_params(params, {}) == {"window": "1h", "n": 3}
    assert parse_params(params, {"n": "5", "window": ""}) == {"window": "1h", "n": 5}
    with pytest.raises(ReportParamError, match="unknown parameter") as caught:
        parse_params(params, {"windw": "1h"})
    assert caught.value.field == "windw"
    assert parse_params(params, {"windw": "1h"}, strict=False) == {"window": "1h", "n": 3}


@pytest.mark.parametrize("declared", [
    "window", [{"type": "str"}], [{"name": "x", "type": "complex"}], [{"name": "a b"}],
    [{"name": "x", "colour": "red"}], [{"name": "x"}, {"name": "x"}],
    [{"name": "w", "choices": ["a"], "default": "b"}],
])
def test_malformed_declarations_are_refused(declared):
    with pytest.raises(ReportError):
        base.declared_params(type("R", (), {"params": declared}))
