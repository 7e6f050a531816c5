"""Find report classes by name, like the task registry finds tasks.

Discovery (`ReportRegistry.discover`) indexes every public class defined (not imported) in
each public module of the ``reports`` package (framework modules ``base``, ``registry``,
``charts`` and ``stats`` are skipped) that is callable, not ``hide`` and not the `Report`
base itself, plus the classes of the ``das_actors.reports`` entry-point group (the
entry-point name is the report's name), so reports can live in other distributions. Any
importable class can also be named by its dotted path, ``package.module:Class``, resolved
on demand (it must then be a `Report` subclass or set one of the ``report_*`` attributes: a
URL must not build and call any callable class). A module that fails to import, or a class
whose declaration is malformed, is recorded in `ReportRegistry.errors` and logged: one
broken report must not take the panel down.

A report's *name* (its URL, ``/reports/<name>``) is its ``report_name``, else its class
name less a ``Report`` suffix, lower-cased (``SchedulerReport`` -> ``scheduler``).
"""

from __future__ import annotations

import importlib
import importlib.metadata
import inspect
import logging
import pkgutil
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from actors.errors import ReportError, UnknownReportError
from reports.base import Param, Report, declared_params

log = logging.getLogger("das_actors.reports")

#: Entry-point group scanned by `ReportRegistry.discover`; the entry-point name is the report name.
ENTRY_POINT_GROUP = "das_actors.reports"
#: Modules of a report package that hold framework code, not reports.
SKIPPED_MODULES = frozenset({"base", "registry", "charts", "stats"})
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


class ReportRegistry:
    """Report classes by name: discovered ones, plus dotted paths resolved on demand.

    Thread-safe (the web serves requests from several threads).

    Args:
        allow_dotted: resolve ``package.module:Class`` names that were not discovered.
            Resolving one imports that module, so a panel open to untrusted users may
            turn this off.
    """

    def __init__(self, *, allow_dotted: bool = True) -> None:
        self.allow_dotted = allow_dotted
        #: Module (or entry point) -> why it could not be indexed.
        self.errors: dict[str, str] = {}
        self._index: dict[str, ReportInfo] = {}
        self._dotted: dict[str, ReportInfo] = {}
        self._lock = threading.Lock()

    def discover(self, packages: Sequence[str] = ("reports",)) -> ReportRegistry:
        """(Re)build the index from the modules of *packages* and the entry points; returns self."""
        index: dict[str, ReportInfo] = {}
        errors: dict[str, str] = {}
        for package in packages:
            for module_name in _package_modules(package, errors):
                try:
                    module = importlib.import_module(module_name)
                except Exception as exc:  # noqa: BLE001 - any import failure is recorded
                    _record(errors, module_name, f"import failed: {type(exc).__name__}: {exc}")
                    continue
                for attr, cls in sorted(vars(module).items()):
                    if _is_indexable(attr, cls, module_name):
                        self._add(index, errors, report_name(cls), cls, origin=module_name)
        for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            origin = f"entry point {entry_point.name} = {entry_point.value}"
            try:
                loaded = entry_point.load()
            except Exception as exc:  # noqa: BLE001 - any import failure is recorded
                _record(errors, entry_point.module, f"{origin}: load failed: {type(exc).__name__}: {exc}")
                continue
            if not inspect.isclass(loaded) or loaded is Report or not _is_report_class(loaded):
                _record(errors, entry_point.module, f"{origin}: {loaded!r} is not a report class")
                continue
            self._add(index, errors, entry_point.name, loaded, origin=entry_point.module)
        with self._lock:
            self._index, self.errors = index, errors
            self._dotted.clear()
        log.debug("report classes discovered: %s", ", ".join(sorted(index)) or "none")
        return self

    @staticmethod
    def _add(index: dict[str, ReportInfo], errors: dict[str, str], name: str, cls: type, origin: str) -> None:
        if name in index:
            _record(errors, origin, f"report {name!r} is already defined by {index[name].module}; skipped")
            return
        try:
            index[name] = make_info(name, cls)
        except ReportError as exc:
            _record(errors, origin, str(exc))

    def info(self, name: str) -> ReportInfo:
        """The `ReportInfo` of a registered name or a dotted path.

        Raises:
            UnknownReportError: no such report (the message lists the known names).
        """
        with self._lock:
            found = self._index.get(name) or self._dotted.get(name)
        if found is not None:
            return found
        if not (self.allow_dotted and isinstance(name, str) and ":" in name and not name.startswith(":")):
            raise UnknownReportError(self._unknown(name))
        found = self._import_dotted(name)
        with self._lock:
            return self._dotted.setdefault(name, found)

    def names(self) -> list[str]:
        """Registered names, sorted."""
        with self._lock:
            return sorted(self._index)

    def infos(self) -> list[ReportInfo]:
        """The registered reports, by group then title."""
        with self._lock:
            infos = list(self._index.values())
        return sorted(infos, key=lambda i: (i.group.lower(), i.title.lower(), i.name))

    def _import_dotted(self, name: str) -> ReportInfo:
        module_name, _, qualname = name.partition(":")
        if not module_name or not qualname or any(not part.isidentifier() for part in module_name.split(".")) \
                or any(not part.isidentifier() for part in qualname.split(".")):  # fmt: skip
            raise UnknownReportError(self._unknown(name, f"{name!r} is not a dotted path (package.module:Class)"))
        try:
            obj: Any = importlib.import_module(module_name)
            for part in qualname.split("."):
                obj = getattr(obj, part)
        except Exception as exc:  # any import failure is a clear "unknown report" (re-raised)
            raise UnknownReportError(self._unknown(name, f"cannot import {name!r} ({type(exc).__name__}: {exc})")) \
                from exc
        if not inspect.isclass(obj) or obj is Report or not _is_report_class(obj) or not _declares_report(obj):
            raise UnknownReportError(self._unknown(
                name, f"{name!r} is not a report class (a Report subclass, or a class with __call__ that sets "
                      "report_title, report_group, report_info or report_name)"))
        try:
            return make_info(name, obj)
        except ReportError as exc:
            raise UnknownReportError(f"report {name!r} cannot be used: {exc}") from exc

    def _unknown(self, name: object, reason: str | None = None) -> str:
        names = self.names()
        head = reason or f"no report named {str(name)[:80]!r}"
        known = f"known: {', '.join(names)}" if names else "no reports are registered"
        return f"{head}; {known}"


def _package_modules(package: str, errors: dict[str, str]) -> list[str]:
    try:
        pkg = importlib.import_module(package)
    except Exception as exc:  # noqa: BLE001 - any import failure is recorded
        _record(errors, package, f"import failed: {type(exc).__name__}: {exc}")
        return []
    path = getattr(pkg, "__path__", None)
    if path is None:
        _record(errors, package, "is a module, not a package")
        return []
    return sorted(f"{package}.{info.name}" for info in pkgutil.iter_modules(path)
                  if not info.ispkg and not info.name.startswith("_") and info.name not in SKIPPED_MODULES)


def _is_indexable(attr: str, obj: object, module_name: str) -> bool:
    return (inspect.isclass(obj) and not attr.startswith("_") and obj.__module__ == module_name
            and obj is not Report and not obj.__dict__.get("hide", False) and _is_report_class(obj))


def _is_report_class(cls: type) -> bool:
    """A concrete class whose instances are callable (helpers and exceptions are not reports)."""
    defines_call = any("__call__" in vars(klass) for klass in cls.__mro__ if klass is not object)
    return defines_call and not inspect.isabstract(cls)


def _declares_report(cls: type) -> bool:
    """A class named by a dotted path must say it is a report: any callable class of any module
    could otherwise be built and called from a URL."""
    return issubclass(cls, Report) or any(
        name in vars(klass) for klass in cls.__mro__ for name in ("report_title", "report_group", "report_info",
                                                                 "report_name"))


def _record(errors: dict[str, str], where: str, message: str) -> None:
    errors[where] = f"{errors[where]}; {message}" if where in errors else message
    log.error("report discovery: %s: %s", where, message)


_default: ReportRegistry | None = None
_default_lock = threading.Lock()


def default_registry() -> ReportRegistry:
    """The process-wide registry, discovered on first use (``reports`` plus entry points)."""
    global _default  # noqa: PLW0603 - a lazily built, process-wide cache
    with _default_lock:
        if _default is None:
            _default = ReportRegistry().discover()
        return _default
