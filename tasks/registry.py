"""Find task classes by name, describe them, and check a job's arguments before it runs.

DAS indexed every public class of every module in its ``tasks`` package once, at start,
and ignored the declared option defaults. This registry does the same discovery (plus
the ``das_actors.tasks`` entry-point group, so tasks can live in other distributions),
resolves dotted paths (``pkg.module:Class``) on demand, and applies and type-checks the
declared options, so a typo in a job definition is refused when the job is added, not
discovered in a worker at three in the morning.

A module that fails to import is recorded in `TaskRegistry.errors` and logged: one
broken task module must not take the server down.

This module knows nothing of actors; it imports only `actors.errors` and `actors.jobs`.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import importlib
import importlib.metadata
import inspect
import logging
import pkgutil
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from actors.errors import InvalidJobError, UnknownTaskClassError
from actors.jobs import RESERVED_KWARGS, JobSpec
from actors.jsonsafe import find_unsafe
from tasks.base import OPTION_TYPES, TaskBase

log = logging.getLogger("das_actors.tasks")

#: Entry-point group scanned by `TaskRegistry.discover`; the entry-point name is the classname.
ENTRY_POINT_GROUP = "das_actors.tasks"

#: Modules of a task package that hold framework code, not tasks.
SKIPPED_MODULES = frozenset({"base", "registry"})

#: How many known names an unknown-class error lists.
MAX_NAMES_IN_ERROR = 10


@dataclass(frozen=True)
class TaskInfo:
    """What the registry knows about one task class (``options`` are validated copies)."""

    classname: str
    title: str
    info: str
    options: tuple[dict[str, Any], ...]
    module: str
    cls: type

    def describe(self) -> dict[str, Any]:
        """A JSON-safe summary for the panel and the API."""
        return {
            "classname": self.classname,
            "title": self.title,
            "info": self.info,
            "options": [copy.deepcopy(option) for option in self.options],
        }


class TaskRegistry:
    """Task classes by name: discovered ones, plus dotted paths resolved on demand.

    Thread-safe: `resolve` may be called from several actor threads at once.

    Args:
        allow_dotted: resolve ``pkg.module:Class`` paths that were not discovered. A
            dotted path can name any importable class, so an API open to untrusted
            users should turn this off.
    """

    def __init__(self, *, allow_dotted: bool = True) -> None:
        self.allow_dotted = allow_dotted
        #: Module (or entry point) name -> why it could not be indexed.
        self.errors: dict[str, str] = {}
        self._index: dict[str, TaskInfo] = {}
        self._dotted: dict[str, TaskInfo] = {}
        self._lock = threading.Lock()

    # -- discovery ---------------------------------------------------------------------

    def discover(self, packages: Sequence[str] = ("tasks",)) -> None:
        """(Re)build the index from the modules of *packages* and the entry points.

        Indexed: public classes defined (not imported) in each public module, that are
        callable tasks, not ``hide`` and not `TaskBase`. Modules named ``base`` or
        ``registry`` are skipped. Failures are recorded in `errors`, never raised.
        """
        index: dict[str, TaskInfo] = {}
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
                        self._add(index, errors, attr, cls, origin=module_name)
        for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            origin = f"entry point {entry_point.name} = {entry_point.value}"
            try:
                loaded = entry_point.load()
            except Exception as exc:  # noqa: BLE001 - any import failure is recorded
                _record(errors, entry_point.module, f"{origin}: load failed: {type(exc).__name__}: {exc}")
                continue
            if not inspect.isclass(loaded) or loaded is TaskBase or not _is_task_class(loaded):
                _record(errors, entry_point.module, f"{origin}: {loaded!r} is not a task class")
                continue
            self._add(index, errors, entry_point.name, loaded, origin=entry_point.module)
        with self._lock:
            self._index = index
            self.errors = errors
            self._dotted.clear()
        log.debug("task classes discovered: %s", ", ".join(sorted(index)) or "none")

    @staticmethod
    def _add(index: dict[str, TaskInfo], errors: dict[str, str], name: str, cls: type, origin: str) -> None:
        if name in index:
            _record(errors, origin, f"task class {name!r} is already defined by {index[name].module}; skipped")
            return
        try:
            index[name] = make_info(name, cls)
        except InvalidJobError as exc:
            _record(errors, origin, str(exc))

    # -- look-ups ----------------------------------------------------------------------

    def resolve(self, classname: str) -> type:
        """The class for a registered name or a dotted path (``pkg.mod:Class`` or ``pkg.mod.Class``).

        Raises:
            UnknownTaskClassError: naming *classname*, known names and the closest one.
        """
        return self.info(classname).cls

    def info(self, classname: str) -> TaskInfo:
        """The `TaskInfo` of a registered name or a dotted path; see `resolve`."""
        with self._lock:
            found = self._index.get(classname) or self._dotted.get(classname)
        if found is not None:
            return found
        dotted = isinstance(classname, str) and ("." in classname.strip(".") or ":" in classname)
        if not self.allow_dotted or not dotted:
            raise UnknownTaskClassError(self._unknown_message(classname))
        found = self._import_dotted(classname)
        with self._lock:
            return self._dotted.setdefault(classname, found)

    def names(self) -> list[str]:
        """Registered class names, sorted (dotted paths resolved on demand are not listed)."""
        with self._lock:
            return sorted(self._index)

    def describe(self) -> list[dict[str, Any]]:
        """JSON-safe descriptions of the registered classes, sorted by name."""
        with self._lock:
            infos = [self._index[name] for name in sorted(self._index)]
        return [info.describe() for info in infos]

    def _import_dotted(self, classname: str) -> TaskInfo:
        if ":" in classname:
            module_name, _, qualname = classname.partition(":")
        else:
            module_name, _, qualname = classname.rpartition(".")
        try:
            obj: Any = importlib.import_module(module_name)
            for part in qualname.split("."):
                obj = getattr(obj, part)
        except Exception as exc:  # any import failure becomes a clear job error (re-raised)
            reason = f"cannot import {classname!r} ({type(exc).__name__}: {exc})"
            raise UnknownTaskClassError(self._unknown_message(classname, reason)) from exc
        if not inspect.isclass(obj) or obj is TaskBase or not _is_task_class(obj):
            reason = f"{classname!r} is {obj!r}, not a task class (a class with __call__)"
            raise UnknownTaskClassError(self._unknown_message(classname, reason))
        try:
            return make_info(classname, obj)
        except InvalidJobError as exc:
            raise UnknownTaskClassError(f"task class {classname!r} cannot be used: {exc}") from exc

    def _unknown_message(self, classname: object, reason: str | None = None) -> str:
        names = self.names()
        head = reason or f"unknown task class {classname!r}"
        shown = ", ".join(names[:MAX_NAMES_IN_ERROR])
        more = f" and {len(names) - MAX_NAMES_IN_ERROR} more" if len(names) > MAX_NAMES_IN_ERROR else ""
        known = f"known: {shown}{more}" if names else "no task classes are registered"
        suggestion = ""
        if isinstance(classname, str):
            by_lower = {name.lower(): name for name in names}
            close = difflib.get_close_matches(classname.lower(), list(by_lower), n=1, cutoff=0.5)
            if close:
                suggestion = f"; did you mean {by_lower[close[0]]!r}?"
        dotted = " (or use a dotted path such as 'package.module:Class')" if self.allow_dotted else ""
        return f"{head}; {known}{dotted}{suggestion}"

    # -- arguments ---------------------------------------------------------------------

    def prepare_kwargs(self, classname: str, kwargs: Mapping[str, Any]) -> dict[str, Any]:
        """Return *kwargs* with the declared defaults filled in and declared types checked.

        Arguments the class does not declare are passed on unchanged (DAS allowed them).
        ``None`` is accepted for an option whose default is ``None``.

        Raises:
            UnknownTaskClassError: *classname* cannot be resolved.
            InvalidJobError: a required option is missing or a value has the wrong type
                (``field`` is the option name).
        """
        info = self.info(classname)
        prepared = dict(kwargs)
        for option in info.options:
            name = option["name"]
            if name not in prepared:
                if "default" not in option:
                    helptext = f" ({option['help']})" if option.get("help") else ""
                    raise InvalidJobError(
                        f"task class {classname!r} requires option {name!r}{helptext}", field=name
                    )
                prepared[name] = copy.deepcopy(option["default"])
                continue
            problem = check_option(option, prepared[name])
            if problem:
                raise InvalidJobError(f"task class {classname!r}: {problem}", field=name)
        return prepared

    def validate_spec(self, spec: JobSpec) -> JobSpec:
        """Return *spec* with its class resolved and its option defaults applied.

        The result is a new `JobSpec` (its ``job_id`` covers the filled-in defaults)
        unless nothing had to be added, in which case *spec* itself is returned.

        Raises:
            UnknownTaskClassError: the class cannot be resolved.
            InvalidJobError: an option is missing or has the wrong type.
        """
        kwargs = self.prepare_kwargs(spec.classname, spec.kwargs)
        if kwargs == dict(spec.kwargs):
            return spec
        return dataclasses.replace(spec, kwargs=kwargs)


# -- helpers -----------------------------------------------------------------------------


def make_info(classname: str, cls: type) -> TaskInfo:
    """Build the `TaskInfo` of *cls*, validating its ``task_options``.

    Raises:
        InvalidJobError: ``task_options`` is malformed (``field`` is ``"task_options"``).
    """
    title = getattr(cls, "task_title", None) or cls.__name__
    info = getattr(cls, "task_info", None) or inspect.cleandoc(cls.__doc__ or "")
    raw = getattr(cls, "task_options", None) or []
    if not isinstance(raw, list | tuple):
        raise InvalidJobError(f"{cls.__qualname__}.task_options must be a list of dicts", field="task_options")
    options = tuple(_checked_option(cls, option) for option in raw)
    return TaskInfo(
        classname=classname, title=str(title), info=str(info), options=options, module=cls.__module__, cls=cls
    )


def _checked_option(cls: type, option: object) -> dict[str, Any]:
    where = f"{cls.__qualname__}.task_options"
    if not isinstance(option, Mapping) or not isinstance(option.get("name"), str) or not option["name"]:
        raise InvalidJobError(f"{where}: {option!r} is not a dict with a 'name'", field="task_options")
    name = option["name"]
    if name in RESERVED_KWARGS:
        raise InvalidJobError(f"{where}: option name {name!r} is reserved by the framework", field="task_options")
    kind = option.get("type", "json")
    if kind not in OPTION_TYPES:
        raise InvalidJobError(
            f"{where}: option {name!r} has type {kind!r} (known: {', '.join(OPTION_TYPES)})", field="task_options"
        )
    if "default" in option:
        bad = find_unsafe(option["default"])
        if bad is not None:
            raise InvalidJobError(
                f"{where}: default of option {name!r} is not JSON-safe (at {bad})", field="task_options"
            )
        problem = check_option(option, option["default"])
        if problem:
            raise InvalidJobError(f"{where}: bad default: {problem}", field="task_options")
    return {str(key): copy.deepcopy(value) for key, value in option.items()}


def check_option(option: Mapping[str, Any], value: Any) -> str | None:
    """Why *value* does not fit *option*'s declared type, or None if it fits."""
    kind = option.get("type", "json")
    if value is None and option.get("default", ...) is None:
        return None
    ok = {
        "str": isinstance(value, str),
        "int": isinstance(value, int) and not isinstance(value, bool),
        "float": isinstance(value, int | float) and not isinstance(value, bool),
        "bool": isinstance(value, bool),
        "list": isinstance(value, list | tuple),
        "dict": isinstance(value, Mapping),
    }.get(kind, True)
    if ok:
        return None
    return f"option {option['name']!r} must be of type {kind}, got {value!r} ({type(value).__name__})"


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
    return sorted(
        f"{package}.{info.name}"
        for info in pkgutil.iter_modules(path)
        if not info.ispkg and not info.name.startswith("_") and info.name not in SKIPPED_MODULES
    )


def _is_indexable(attr: str, obj: object, module_name: str) -> bool:
    return (
        inspect.isclass(obj)
        and not attr.startswith("_")
        and obj.__module__ == module_name
        and obj is not TaskBase
        and not obj.__dict__.get("hide", False)
        and _is_task_class(obj)
    )


def _is_task_class(cls: type) -> bool:
    """A concrete class whose instances are callable (helpers and exceptions are not tasks)."""
    defines_call = any("__call__" in vars(klass) for klass in cls.__mro__ if klass is not object)
    return defines_call and not inspect.isabstract(cls)


def _record(errors: dict[str, str], where: str, message: str) -> None:
    errors[where] = f"{errors[where]}; {message}" if where in errors else message
    log.error("task discovery: %s: %s", where, message)


_default: TaskRegistry | None = None
_default_lock = threading.Lock()


def default_registry() -> TaskRegistry:
    """The process-wide registry, discovered on first use (``tasks`` plus entry points)."""
    global _default  # noqa: PLW0603 - a lazily built, process-wide cache
    with _default_lock:
        if _default is None:
            registry = TaskRegistry()
            registry.discover()
            _default = registry
        return _default
