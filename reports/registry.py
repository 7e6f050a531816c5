"""Find report classes by name, the way every plugin is found (`actors.plugins`).

Discovery (`ReportRegistry.discover`) indexes every public class defined in a public module
of the ``reports`` package that says it is a report (a `Report` subclass, or a callable
class that sets one of the ``report_*`` attributes; a helper module adds nothing, so no
module has to be skipped by name), plus the classes of the ``das_actors.reports``
entry-point group (the entry-point name is the report's name), so reports can live in other
distributions. A dotted path ``package.module:Class`` resolves on demand when its module
is in the ``reports`` package or under a prefix the operator listed in ``report_packages``:
a URL never chooses what the server imports. A module that fails to import, or a class whose
declaration is malformed, is recorded in `ReportRegistry.errors` and logged: one broken
report must not take the panel down.

A report's *name* (its URL, ``/reports/<name>``) is its ``report_name``, else its class
name less a ``Report`` suffix, lower-cased (``SchedulerReport`` -> ``scheduler``).
"""

from __future__ import annotations

import inspect
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from actors.errors import ReportError, UnknownReportError
from actors.params import Param
from actors.plugins import Found, PluginIndex, PluginKind, RegistryCache, is_callable_class
from reports.base import Report, declared_params

log = logging.getLogger("das_actors.reports")

#: Entry-point group scanned by `ReportRegistry.discover`; the entry-point name is the report name.
ENTRY_POINT_GROUP = "das_actors.reports"
#: The index heading of a report that does not say.
DEFAULT_GROUP = "General"


@dataclass(frozen=True)
class ReportInfo:
    """What the registry knows about one report class."""

    name: str
    title: str
    group: str
    info: str
    params: tuple[Param, ...]
    module: str
    cls: type
    template_dir: str | None  # the directory of the class's module: its templates live there

    def describe(self) -> dict[str, Any]:
        """A JSON-safe summary for the index and the API."""
        first = self.info.strip().split("\n\n", 1)[0].replace("\n", " ") if self.info else ""
        return {"name": self.name, "title": self.title, "group": self.group, "info": self.info,
                "description": first, "params": [p.describe() for p in self.params]}


def report_name(cls: type) -> str:
    """``report_name``, else the class name less "Report", lower-cased."""
    given = cls.__dict__.get("report_name") or getattr(cls, "report_name", None)
    if isinstance(given, str) and given:
        return given
    name = cls.__name__
    if name.endswith("Report") and len(name) > len("Report"):
        name = name[: -len("Report")]
    return name.lower()


def make_info(name: str, cls: type) -> ReportInfo:
    """The `ReportInfo` of *cls* under *name*; `ReportError` when its declarations are malformed."""
    title = getattr(cls, "report_title", None) or cls.__name__
    group = getattr(cls, "report_group", None) or DEFAULT_GROUP
    info = getattr(cls, "report_info", None) or inspect.cleandoc(cls.__doc__ or "")
    params = declared_params(cls)
    module = inspect.getmodule(cls)
    where = getattr(module, "__file__", None)
    template_dir = str(Path(where).resolve().parent) if where else None
    return ReportInfo(name=name, title=str(title), group=str(group), info=str(info), params=params,
                      module=cls.__module__, cls=cls, template_dir=template_dir)


def _declares_report(cls: type) -> bool:
    """A report says it is one: a `Report` subclass, or a callable class with a ``report_*``
    attribute (any callable class could otherwise be built and called from a URL)."""
    if cls is Report or not is_callable_class(cls):
        return False
    return issubclass(cls, Report) or any(
        name in vars(klass) for klass in cls.__mro__ for name in ("report_title", "report_group", "report_info",
                                                                 "report_name"))


#: The built-in package of reports.
BUILTIN_PACKAGES = ("reports",)
REPORTS = PluginKind(noun="report", plural="reports", entry_point_group=ENTRY_POINT_GROUP, accepts=_declares_report,
                     name_of=lambda _attribute, cls: report_name(cls), option="report_packages",
                     builtin=BUILTIN_PACKAGES)


class ReportRegistry:
    """Report classes by name: discovered ones, plus dotted paths resolved on demand.

    Thread-safe (the web serves requests from several threads).

    Args:
        allow_dotted: resolve ``package.module:Class`` names that were not discovered.
        importable: module prefixes an operator made importable (``report_packages``).
    """

    def __init__(self, *, allow_dotted: bool = True, importable: Sequence[str] = ()) -> None:
        self._plugins = PluginIndex(REPORTS, UnknownReportError, importable=importable, allow_dotted=allow_dotted)
        self._infos: dict[str, ReportInfo] = {}
        self._lock = threading.Lock()

    @property
    def errors(self) -> dict[str, str]:
        """Module (or entry point) -> why it could not be indexed."""
        return self._plugins.errors

    def discover(self, packages: Sequence[str] = BUILTIN_PACKAGES) -> ReportRegistry:
        """(Re)build the index from the modules of *packages* and the entry points; returns self."""
        with self._lock:
            self._infos.clear()
        self._plugins.discover(packages, check=self._check)
        return self

    def _check(self, found: Found) -> None:
        info = make_info(found.name, found.cls)
        with self._lock:
            self._infos[found.name] = info

    def info(self, name: str) -> ReportInfo:
        """The `ReportInfo` of a registered name or an importable dotted path.

        Raises:
            UnknownReportError: no such report (the message lists the known names).
        """
        with self._lock:
            known = self._infos.get(name)
        if known is not None:
            return known
        try:
            self._plugins.get(name, check=self._check)
        except ReportError as exc:
            raise UnknownReportError(f"report {name!r} cannot be used: {exc}") from exc
        with self._lock:
            return self._infos[name]

    def names(self) -> list[str]:
        """Registered names, sorted."""
        return self._plugins.names()

    def infos(self) -> list[ReportInfo]:
        """The registered reports, by group then title."""
        infos = [self.info(found.name) for found in self._plugins.found()]
        return sorted(infos, key=lambda i: (i.group.lower(), i.title.lower(), i.name))


#: The process-wide registry for a set of importable packages, discovered on first use.
default_registry = RegistryCache(lambda importable: ReportRegistry(importable=importable).discover()).get
