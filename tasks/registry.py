"""Find task classes by name, describe them, and check a job's arguments before it runs.

DAS indexed every public class of every module in its ``tasks`` package once, at start,
and ignored the declared option defaults. This registry finds task classes the way every
plugin is found (`actors.plugins`: the ``tasks`` package, the ``das_actors.tasks``
entry-point group, and dotted paths ``pkg.module:Class`` under the packages the operator
made importable with ``task_packages``), and applies and type-checks the declared options
(`actors.params.Param`, the same rules as server options and report parameters), so a typo
in a job definition is refused when the job is added, not discovered in a worker at three
in the morning.

A module that fails to import is recorded in `TaskRegistry.errors` and logged: one
broken task module must not take the server down.

This module knows nothing of actors; it imports only the pure core.
"""

from __future__ import annotations

import dataclasses
import inspect
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from actors.errors import InvalidJobError, InvalidValueError, UnknownTaskClassError
from actors.jobs import RESERVED_KWARGS, JobSpec
from actors.params import Param, check_all
from actors.plugins import Found, PluginIndex, PluginKind, RegistryCache, is_callable_class
from tasks.base import OPTION_TYPES, TaskBase

#: Entry-point group scanned by `TaskRegistry.discover`; the entry-point name is the classname.
ENTRY_POINT_GROUP = "das_actors.tasks"
#: The built-in package of task modules.
BUILTIN_PACKAGES = ("tasks",)

TASKS = PluginKind(noun="task class", plural="task classes", entry_point_group=ENTRY_POINT_GROUP,
                   accepts=lambda cls: cls is not TaskBase and is_callable_class(cls), option="task_packages",
                   builtin=BUILTIN_PACKAGES)


@dataclass(frozen=True)
class TaskInfo:
    """What the registry knows about one task class."""

    classname: str
    title: str
    info: str
    #: The declared options, validated (`actors.params.Param`).
    params: tuple[Param, ...]
    module: str
    cls: type

    @property
    def options(self) -> list[dict[str, Any]]:
        """The declared options as JSON-safe dicts (fresh copies)."""
        return [param.describe() for param in self.params]

    @property
    def free_options(self) -> bool:
        """Whether arguments beyond the declared options are accepted: a class that declares none
        takes anything (as DAS did); one that declares some takes only those, unless it says
        ``task_free_options = True``."""
        return not self.params or bool(getattr(self.cls, "task_free_options", False))

    def describe(self) -> dict[str, Any]:
        """A JSON-safe summary for the panel and the API."""
        return {"classname": self.classname, "title": self.title, "info": self.info, "options": self.options,
                "free_options": self.free_options}


class TaskRegistry:
    """Task classes by name: discovered ones, plus dotted paths resolved on demand.

    Thread-safe: `resolve` may be called from several actor threads at once.

    Args:
        allow_dotted: resolve ``pkg.module:Class`` paths that were not discovered.
        importable: module prefixes an operator made importable (the ``task_packages``
            option), beyond the built-in ``tasks`` package.
    """

    def __init__(self, *, allow_dotted: bool = True, importable: Sequence[str] = ()) -> None:
        self._plugins = PluginIndex(TASKS, UnknownTaskClassError, importable=importable, allow_dotted=allow_dotted)
        self._infos: dict[str, TaskInfo] = {}
        self._lock = threading.Lock()

    @property
    def allow_dotted(self) -> bool:
        """Whether dotted paths are resolved."""
        return self._plugins.allow_dotted

    @property
    def errors(self) -> dict[str, str]:
        """Module (or entry point) name -> why it could not be indexed."""
        return self._plugins.errors

    # -- discovery ---------------------------------------------------------------------

    def discover(self, packages: Sequence[str] = BUILTIN_PACKAGES) -> None:
        """(Re)build the index from the modules of *packages* and the entry points.

        Indexed: public callable classes defined in each public module, not ``hide`` and
        not `TaskBase`, whose ``task_options`` are well formed. Failures are recorded in
        `errors`, never raised.
        """
        with self._lock:
            self._infos.clear()
        self._plugins.discover(packages, check=self._check)

    def _check(self, found: Found) -> None:
        info = make_info(found.name, found.cls)
        with self._lock:
            self._infos[found.name] = info

    # -- look-ups ----------------------------------------------------------------------

    def resolve(self, classname: str) -> type:
        """The class for a registered name or an importable dotted path.

        Raises:
            UnknownTaskClassError: naming *classname*, known names and the closest one.
        """
        return self.info(classname).cls

    def info(self, classname: str) -> TaskInfo:
        """The `TaskInfo` of a registered name or an importable dotted path; see `resolve`."""
        with self._lock:
            known = self._infos.get(classname)
        if known is not None:
            return known
        try:
            self._plugins.get(classname, check=self._check)
        except InvalidValueError as exc:
            if isinstance(exc, UnknownTaskClassError):
                raise
            raise UnknownTaskClassError(f"task class {classname!r} cannot be used: {exc}") from exc
        with self._lock:
            return self._infos[classname]

    def names(self) -> list[str]:
        """Registered class names, sorted (dotted paths resolved on demand are not listed)."""
        return self._plugins.names()

    def describe(self) -> list[dict[str, Any]]:
        """JSON-safe descriptions of the registered classes, sorted by name."""
        return [self.info(found.name).describe() for found in self._plugins.found()]

    # -- arguments ---------------------------------------------------------------------

    def prepare_kwargs(self, classname: str, kwargs: Mapping[str, Any]) -> dict[str, Any]:
        """Return *kwargs* with the declared defaults filled in and declared types checked.

        A class that declares its options (``task_options``) takes only those: any other
        argument is refused, naming it, unless the class opts in to free arguments
        (``task_free_options = True``). A class that declares none takes anything, as DAS did.
        ``None`` is accepted for an option whose default is ``None``.

        Raises:
            UnknownTaskClassError: *classname* cannot be resolved.
            InvalidJobError: a required option is missing or a value has the wrong type
                (``field`` is the option name).
        """
        info = self.info(classname)
        try:
            return check_all(info.params, kwargs, allow_extra=info.free_options)
        except InvalidValueError as exc:
            raise InvalidJobError(f"task class {classname!r}: {exc}", field=exc.field, value=exc.value) from None

    def validate_spec(self, spec: JobSpec) -> JobSpec:
        """Return *spec* with its class resolved and its option defaults applied.

        The result is a new `JobSpec` (its ``job_id`` covers the filled-in defaults)
        unless nothing had to be added, in which case *spec* itself is returned.

        Raises:
            UnknownTaskClassError: the class cannot be resolved.
            InvalidJobError: an option is missing or has the wrong type.
        """
        kwargs = self.prepare_kwargs(spec.classname, spec.kwargs)
        if kwargs == spec.kwargs:  # (`Arguments` compares with a dict without a copy of its own)
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
    where = f"{cls.__qualname__}.task_options"
    raw = getattr(cls, "task_options", None) or []
    if not isinstance(raw, list | tuple):
        raise InvalidJobError(f"{where} must be a list of dicts", field="task_options")
    params: list[Param] = []
    for declared in raw:
        try:
            param = Param.of(declared, where, kind="option", default_type="json")
        except InvalidValueError as exc:
            raise InvalidJobError(str(exc), field="task_options") from None
        if param.name in RESERVED_KWARGS:
            raise InvalidJobError(f"{where}: option name {param.name!r} is reserved by the framework",
                                  field="task_options")
        if param.type not in OPTION_TYPES:
            raise InvalidJobError(f"{where}: option {param.name!r} has type {param.type!r} (known: "
                                  f"{', '.join(OPTION_TYPES)})", field="task_options")
        params.append(param)
    return TaskInfo(classname=classname, title=str(title), info=str(info), params=tuple(params),
                    module=cls.__module__, cls=cls)


def _discovered(importable: tuple[str, ...]) -> TaskRegistry:
    registry = TaskRegistry(importable=importable)
    registry.discover()
    return registry


#: The process-wide registry for a set of importable packages, discovered on first use.
default_registry = RegistryCache(_discovered).get
