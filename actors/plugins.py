"""Plugin discovery: find classes of one kind by package scan, entry point or dotted path.

Why: task classes, reports and services are all "things the server can use that somebody
else may write". They are found the same way, and the same door must be guarded the same
way, so the finding lives here once and `tasks.registry`, `reports.registry` and
`actors.services` only say what their kind of plugin looks like (`PluginKind`).

Found, in this order:

1. every public class *defined* in a public module of the built-in packages that the kind
   accepts (`PluginKind.accepts`): a helper module that defines no such class simply adds
   nothing, so discovery needs no list of modules to skip;
2. the kind's entry-point group (other distributions; the entry-point name is the name);
3. on demand, a dotted path ``package.module:Class`` (or ``package.module.Class``).

**What may be imported.** Importing a module runs its top-level code, so a name that comes
from the network must never choose what is imported. A dotted path is resolved only when its
module is one of the built-in packages or lies under a prefix the *operator* listed
(``task_packages`` / ``report_packages``, set in a config file or on the command line, never
through the web); anything else is refused *before* any import, with an error that says how to
allow it. The class found must also be defined in an allowed module (a class re-exported from
elsewhere, ``functools.partial`` say, is refused), and private or dunder names
(``unittest.__main__``) are never resolved.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.metadata
import inspect
import logging
import pkgutil
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

log = logging.getLogger("das_actors.plugins")

R = TypeVar("R")

#: How many known names an "unknown" message lists.
MAX_NAMES_IN_ERROR = 10


@dataclass(frozen=True)
class PluginKind:
    """What one kind of plugin looks like."""

    #: How messages call one: "task class", "report".
    noun: str
    #: The entry-point group scanned for it.
    entry_point_group: str
    #: Whether a class is one (package scan, entry points and dotted paths alike).
    accepts: Callable[[type], bool]
    #: The registry name of a class found under attribute *name* in a module.
    name_of: Callable[[str, type], str] = lambda attribute, _cls: attribute
    #: The option that lets an operator make more packages importable.
    option: str = "task_packages"
    #: The noun in the plural, for messages.
    plural: str = "plugins"
    #: The built-in packages: always scanned by default and always importable.
    builtin: tuple[str, ...] = ()


@dataclass(frozen=True)
class Found:
    """One plugin class and where it came from (a module, or an entry point)."""

    name: str
    cls: type
    origin: str


def is_callable_class(cls: type) -> bool:
    """A concrete class whose instances are callable (helpers and exceptions are not plugins)."""
    defines_call = any("__call__" in vars(klass) for klass in cls.__mro__ if klass is not object)
    return defines_call and not inspect.isabstract(cls)


def module_allowed(module: str, prefixes: Iterable[str]) -> bool:
    """Whether *module* is one of *prefixes* or lies under one (``pkg`` allows ``pkg.sub.mod``)."""
    if not module or any(not part.isidentifier() or part.startswith("_") for part in module.split(".")):
        return False
    return any(module == prefix or module.startswith(prefix + ".") for prefix in prefixes)


def split_dotted(name: str) -> tuple[str, str] | None:
    """``("package.module", "Class")`` of ``package.module:Class`` or ``package.module.Class``, else None."""
    if ":" in name:
        module, _, qualname = name.partition(":")
    else:
        module, _, qualname = name.rpartition(".")
    parts = [*module.split("."), *qualname.split(".")]
    if not module or not qualname or any(not part.isidentifier() for part in parts):
        return None
    if any(part.startswith("_") for part in qualname.split(".")):
        return None
    return module, qualname


class PluginIndex:
    """The plugins of one kind: discovered ones, plus dotted paths resolved on demand.

    Thread-safe: the web serves requests from several threads.

    Args:
        kind: what the plugins look like.
        unknown: builds the error raised for a name that cannot be resolved (the kind's
            own `actors.errors` class), from the message.
        importable: module prefixes the operator made importable, beyond the packages
            discovered (see the module docstring).
        allow_dotted: resolve dotted paths at all.
    """

    def __init__(self, kind: PluginKind, unknown: Callable[[str], Exception], *, importable: Sequence[str] = (),
                 allow_dotted: bool = True) -> None:
        self.kind = kind
        self.unknown = unknown
        self.importable = tuple(p.strip() for p in importable if p.strip())
        self.allow_dotted = allow_dotted
        #: Module (or entry point) -> why it could not be indexed.
        self.errors: dict[str, str] = {}
        self.packages: tuple[str, ...] = ()
        self._index: dict[str, Found] = {}
        self._dotted: dict[str, Found] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ discovery
    def discover(self, packages: Sequence[str], *, check: Callable[[Found], None] | None = None) -> None:
        """(Re)build the index from *packages* and the entry points; failures go to `errors`.

        *check* may refuse a found class by raising any exception (its message is recorded).
        """
        index: dict[str, Found] = {}
        errors: dict[str, str] = {}
        for package in packages:
            for module_name in _package_modules(package, errors):
                try:
                    module = importlib.import_module(module_name)
                except (Exception, SystemExit) as exc:  # noqa: BLE001 - one broken module must not stop discovery
                    _record(errors, module_name, f"import failed: {type(exc).__name__}: {exc}")
                    continue
                for attribute, obj in sorted(vars(module).items()):
                    if (inspect.isclass(obj) and not attribute.startswith("_") and obj.__module__ == module_name
                            and not obj.__dict__.get("hide", False) and self.kind.accepts(obj)):
                        self._add(index, errors, Found(self.kind.name_of(attribute, obj), obj, module_name), check)
        for entry_point in importlib.metadata.entry_points(group=self.kind.entry_point_group):
            origin = f"entry point {entry_point.name} = {entry_point.value}"
            try:
                loaded = entry_point.load()
            except Exception as exc:  # noqa: BLE001 - a broken distribution must not stop discovery
                _record(errors, entry_point.module, f"{origin}: load failed: {type(exc).__name__}: {exc}")
                continue
            if not inspect.isclass(loaded) or not self.kind.accepts(loaded):
                _record(errors, entry_point.module, f"{origin}: {loaded!r} is not a {self.kind.noun}")
                continue
            self._add(index, errors, Found(entry_point.name, loaded, entry_point.module), check)
        with self._lock:
            self._index, self.errors, self.packages = index, errors, tuple(packages)
            self._dotted.clear()
        log.debug("%s plugins discovered: %s", self.kind.noun, ", ".join(sorted(index)) or "none")

    def _add(self, index: dict[str, Found], errors: dict[str, str], found: Found,
             check: Callable[[Found], None] | None) -> None:
        if found.name in index:
            _record(errors, found.origin, f"{self.kind.noun} {found.name!r} is already defined by "
                                          f"{index[found.name].origin}; skipped")
            return
        if check is not None:
            try:
                check(found)
            except Exception as exc:  # noqa: BLE001 - a malformed plugin is recorded, not raised
                _record(errors, found.origin, str(exc))
                return
        index[found.name] = found

    # ------------------------------------------------------------------ look-ups
    def names(self) -> list[str]:
        """The discovered names, sorted (dotted paths resolved on demand are not listed)."""
        with self._lock:
            return sorted(self._index)

    def found(self) -> list[Found]:
        """The discovered plugins, by name."""
        with self._lock:
            return [self._index[name] for name in sorted(self._index)]

    def get(self, name: str, *, check: Callable[[Found], None] | None = None) -> Found:
        """The plugin called *name*: discovered, or a dotted path the operator made importable.

        Raises the kind's *unknown* error (nothing is imported for a refused path).
        """
        with self._lock:
            found = self._index.get(name) or self._dotted.get(name)
        if found is not None:
            return found
        if not isinstance(name, str) or not self.allow_dotted:
            raise self.unknown(self.unknown_message(name))
        parts = split_dotted(name)
        if parts is None:
            raise self.unknown(self.unknown_message(name))
        module_name, qualname = parts
        allowed = tuple(dict.fromkeys((*self.kind.builtin, *self.packages, *self.importable)))
        if not module_allowed(module_name, allowed):
            raise self.unknown(self.unknown_message(
                name, f"{name[:120]!r}: module {module_name[:80]!r} is not importable by this server (importable: "
                      f"{', '.join(allowed) or 'none'}; an operator adds packages with the {self.kind.option} "
                      "option in the config file or on the command line)"))
        try:
            obj: Any = importlib.import_module(module_name)
            for part in qualname.split("."):
                obj = getattr(obj, part)
        except BaseException as exc:  # noqa: BLE001 - any import failure (SystemExit too) is a clear "unknown"
            raise self.unknown(self.unknown_message(
                name, f"cannot import {name[:120]!r} ({type(exc).__name__}: {str(exc)[:200]})")) from None
        if not (inspect.isclass(obj) and self.kind.accepts(obj) and module_allowed(obj.__module__, allowed)):
            what = f"class {obj.__qualname__}" if inspect.isclass(obj) else type(obj).__name__
            raise self.unknown(self.unknown_message(name, f"{name[:120]!r} is a {what}, not a {self.kind.noun} "
                                                          "defined in an importable module"))
        found = Found(name, obj, module_name)
        if check is not None:
            check(found)
        with self._lock:
            return self._dotted.setdefault(name, found)

    def unknown_message(self, name: object, reason: str | None = None) -> str:
        """"unknown task class 'x'; known: a, b (or ...); did you mean 'y'?"."""
        names = self.names()
        head = reason or f"unknown {self.kind.noun} {str(name)[:120]!r}"
        shown = ", ".join(names[:MAX_NAMES_IN_ERROR])
        more = f" and {len(names) - MAX_NAMES_IN_ERROR} more" if len(names) > MAX_NAMES_IN_ERROR else ""
        known = f"known: {shown}{more}" if names else f"no {self.kind.plural} are registered"
        dotted = " (or a dotted path such as 'package.module:Class')" if self.allow_dotted else ""
        suggestion = ""
        if isinstance(name, str):
            by_lower = {n.lower(): n for n in names}
            close = difflib.get_close_matches(name.lower(), list(by_lower), n=1, cutoff=0.5)
            if close:
                suggestion = f"; did you mean {by_lower[close[0]]!r}?"
        return f"{head}; {known}{dotted}{suggestion}"


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
                  if not info.ispkg and not info.name.startswith("_"))


def _record(errors: dict[str, str], where: str, message: str) -> None:
    errors[where] = f"{errors[where]}; {message}" if where in errors else message
    log.error("plugin discovery: %s: %s", where, message)


def entry_point_objects(group: str) -> list[tuple[str, Any]]:
    """``(name, loaded object)`` of every entry point of *group* that loads; failures are logged."""
    out: list[tuple[str, Any]] = []
    for entry_point in importlib.metadata.entry_points(group=group):
        try:
            out.append((entry_point.name, entry_point.load()))
        except Exception:
            log.exception("plugin discovery: entry point %s = %s failed to load", entry_point.name,
                          entry_point.value)
    return out


def packages_option(text: str) -> tuple[str, ...]:
    """The ``task_packages`` / ``report_packages`` option text (comma-separated) as module prefixes."""
    return tuple(part.strip() for part in text.replace(";", ",").split(",") if part.strip())


class RegistryCache(Generic[R]):
    """One discovered registry per set of importable prefixes, built on first use (process-wide).

    Discovery imports every module of the built-in packages once; the server, its facade and
    each worker process then share the registry of their ``task_packages`` / ``report_packages``.
    """

    def __init__(self, build: Callable[[tuple[str, ...]], R]) -> None:
        self._build = build
        self._built: dict[tuple[str, ...], R] = {}
        self._lock = threading.Lock()

    def get(self, importable: Sequence[str] = ()) -> R:
        """The registry for *importable* (order and blanks do not matter)."""
        key = tuple(sorted(p.strip() for p in importable if p.strip()))
        with self._lock:
            if key not in self._built:
                self._built[key] = self._build(key)
            return self._built[key]
