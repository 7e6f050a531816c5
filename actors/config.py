"""Options of das-actors: one typed registry, Python config files, flags and precedence.

Why: DAS ``execfile``'d its configuration and silently ignored a misspelt name. Here each
option is declared once in `OPTIONS` (`actors.options`: type, default, bounds, group, live or
not), and that declaration drives the command-line flags, config-file checks, `Settings` validation and
the web options panel. Precedence: defaults < config files in order (later wins) < flags.

Config files are Python, run with `exec` like DAS's ``execfile``: the file is the
operator's own, run with the operator's privileges, never input from the network. Each
file gets a fresh namespace with ``Task`` and ``__file__``; afterwards every module-level
name must be an option, except ``_private`` names (for helpers), modules, functions,
classes and jobs returned by ``Task(...)``. Values in files must already have the right
Python type; only command-line text is parsed.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

from actors.errors import ConfigError, InvalidValueError
from actors.misfire import UNLIMITED, MisfirePolicy
from actors.options import OPTIONS, lookup, register, suggest
from actors.params import Option
from actors.services import check_services
from actors.uri import dask_address, same_sqlite_file

_METAVAR: dict[type, str] = {int: "N", float: "NUM", str: "TEXT"}
#: The shortest lease a leader can renew on time (every third of it, a store round trip or four each).
MIN_LEASE_TTL_S = 0.3
_AT_LEAST = (("retry_max_delay", "retry_delay"), ("restart_max_backoff", "restart_min_backoff"),
             ("act_retry_max_delay", "act_retry_delay"))


def coerce(option: Option, value: Any, *, from_text: bool, where: str = "") -> Any:
    """*value* converted to *option*'s type and validated, else `ConfigError` (prefixed *where*).

    ``from_text``: parse command-line text. Otherwise *value* must already have the type
    (an int is accepted for a float; a bool is never an int). The rules are the option's
    `Param`'s (`actors.params`), so options, task arguments and report parameters agree.
    """
    prefix = f"{where}: " if where else ""
    try:
        if not from_text or option.type is str:
            return option.param.check(value)
        if not isinstance(value, str) or not value.strip():
            return option.param.check(value)  # the message says what was expected and what came
        return option.param.parse(value)
    except InvalidValueError as exc:
        raise ConfigError(f"{prefix}{exc}") from None


def misfire_default(settings: Settings) -> MisfirePolicy:
    """The server's default misfire policy (jobs that set none of their own follow it)."""
    grace_text = str(settings.get("misfire_grace") or "").strip()
    grace: Any = None
    if grace_text:
        try:
            grace = UNLIMITED if grace_text.lower() == UNLIMITED else float(grace_text)
        except ValueError:
            raise InvalidValueError(f"misfire_grace: expected seconds or {UNLIMITED!r}, got {grace_text!r}",
                                    field="misfire_grace", value=grace_text) from None
    return MisfirePolicy.from_fields({"misfire": settings.get("misfire"), "misfire_grace": grace,
                                      "max_catchup": settings.get("max_catchup")})


class Settings:
    """Immutable, validated values of every option (``settings.workers``) and their sources:
    ``"default"``, ``"file:<path>:<line>"``, ``"flag"`` or ``"runtime"`` (given directly or by `replace`)."""

    __slots__ = ("_sources", "_values")
    _values: Mapping[str, Any]
    _sources: Mapping[str, str]

    def __init__(
        self, values: Mapping[str, Any] | None = None, sources: Mapping[str, str] | None = None
    ) -> None:
        given, origin = dict(values or {}), dict(sources or {})
        for name in given:
            lookup(name)
        where = {name: origin.get(name, "runtime") if name in given else "default" for name in OPTIONS}
        final = {
            name: coerce(o, given[name], from_text=False, where=_place(name, where[name])) if name in given
            else o.default
            for name, o in OPTIONS.items()
        }
        object.__setattr__(self, "_values", MappingProxyType(final))
        object.__setattr__(self, "_sources", MappingProxyType(where))
        self._check()

    def _check(self) -> None:
        """Cross-field rules; messages name both options and where their values came from."""
        for big, small in _AT_LEAST:
            if self.get(big) < self.get(small):
                raise ConfigError(
                    f"option {big!r} ({self.get(big)!r}, from {self.source(big)}) must be >= "
                    f"option {small!r} ({self.get(small)!r}, from {self.source(small)})"
                )
        for name in ("retry_jitter", "restart_jitter"):
            if not 0.0 <= self.get(name) <= 1.0:
                raise self._error(name, "must be between 0 and 1")
        try:
            misfire_default(self)
        except InvalidValueError as exc:
            name = exc.field if exc.field in ("misfire_grace", "max_catchup") else "misfire_grace"
            raise self._error(name, f"is not valid ({exc})") from None
        if 0 < self.lease_ttl < MIN_LEASE_TTL_S:
            raise self._error("lease_ttl", f"must be 0 (no lease) or at least {MIN_LEASE_TTL_S:g} s")
        if not self.web_base.startswith("/"):
            raise self._error("web_base", "must start with '/'")
        if self.web_port > 65535:
            raise self._error("web_port", "must be <= 65535")
        if same_sqlite_file(self.data_uri, self.db_uri):
            raise self._error("data_uri", "must not be the results store (db_uri): give the data a file of its own")
        try:
            dask_address(self.compute)
        except ConfigError as exc:
            where = _place("compute", self.source("compute"))
            raise ConfigError(f"{where}: {exc}" if where else str(exc)) from None
        for name, rule in check_services(self._values):
            raise self._error(name, rule)

    def _error(self, name: str, rule: str) -> ConfigError:
        where = _place(name, self.source(name))
        prefix = f"{where}: " if where else ""
        return ConfigError(f"{prefix}option {name!r} {rule}, got {self.get(name)!r}")

    @classmethod
    def defaults(cls) -> Settings:
        """Every option at its default."""
        return cls()

    def get(self, name: str) -> Any:
        """The value of option *name* (`ConfigError` with a suggestion if unknown)."""
        lookup(name)
        return self._values[name]

    def source(self, name: str) -> str:
        """Where the value of *name* came from: default, file:<path>:<line>, flag or runtime."""
        lookup(name)
        return self._sources[name]

    def to_dict(self) -> dict[str, Any]:
        """A plain (JSON-safe) dict of every option value."""
        return dict(self._values)

    def replace(self, **changes: Any) -> Settings:
        """A new `Settings` with *changes* applied (source "runtime") and everything revalidated.

        Values must have the option's Python type; parse operator text with
        ``coerce(OPTIONS[name], text, from_text=True)`` first. Whether an option may be
        changed without a restart (`Option.live`) is the caller's decision.
        """
        for name in changes:
            lookup(name)
        sources = {**self._sources, **dict.fromkeys(changes, "runtime")}
        return Settings({**self._values, **changes}, sources)

    def __getattr__(self, name: str) -> Any:
        if not name.startswith("_") and name in OPTIONS:
            return self._values[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}{suggest(name)}")

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"Settings are immutable; use replace({name}=...)")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Settings) and dict(self._values) == dict(other._values)

    def __hash__(self) -> int:
        return hash(tuple(self._values.items()))

    def __reduce__(self) -> tuple[Any, ...]:
        return (Settings, (dict(self._values), dict(self._sources)))

    def __repr__(self) -> str:
        changed = ", ".join(f"{k}={v!r}" for k, v in self._values.items() if self._sources[k] != "default")
        return f"Settings({changed})"


def _place(name: str, source: str) -> str:
    """The message prefix for a value from *source*: ``path:line``, ``--flag`` or nothing."""
    if source.startswith("file:"):
        return source[len("file:"):]
    if source == "flag":
        return OPTIONS[name].flag
    return ""


# ----------------------------------------------------------------------------- command line


class _BooleanAction(argparse.Action):
    """A pair of flags for one bool option: ``--x`` sets it, ``--no-x`` clears it. For an option
    whose name already says "no" (``no_start_offset``) the pair is ``--no-start-offset`` (set) and
    ``--start-offset`` (clear), never ``--no-no-start-offset``."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        long_flags = [s for s in option_strings if s.startswith("--")]
        self.negatives = {_opposite(s) for s in long_flags}
        super().__init__([*option_strings, *sorted(self.negatives)], dest, nargs=0, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        setattr(namespace, self.dest, option_string not in self.negatives)

    def format_usage(self) -> str:
        return " | ".join(self.option_strings)


def _opposite(flag: str) -> str:
    """``--x`` -> ``--no-x``; ``--no-x`` -> ``--x``."""
    return "--" + flag[len("--no-"):] if flag.startswith("--no-") else "--no-" + flag[2:]


def add_option_arguments(parser: argparse.ArgumentParser) -> None:
    """Add every option to *parser*, one group per `Option.group`, bools as ``--x/--no-x``.

    Defaults are ``argparse.SUPPRESS``: only flags actually given reach the namespace."""
    for group in dict.fromkeys(o.group for o in OPTIONS.values()):
        arguments = parser.add_argument_group(group)
        for option in OPTIONS.values():
            if option.group != group:
                continue
            names = ([f"-{option.short}"] if option.short else []) + [option.flag]
            default = "''" if option.default == "" else format(option.default, "g" * (option.type is float))
            live = "; live" if option.live else ""
            text = f"{option.help} (default: {default}{live})".replace("%", "%%")
            if option.type is bool:
                arguments.add_argument(*names, dest=option.name, action=_BooleanAction,
                                       default=argparse.SUPPRESS, help=text)
            else:
                metavar = option.metavar or (None if option.choices else _METAVAR[option.type])
                arguments.add_argument(*names, dest=option.name, default=argparse.SUPPRESS,
                                       choices=option.choices, metavar=metavar, help=text)


def flags_from_namespace(ns: argparse.Namespace) -> dict[str, Any]:
    """The option values given on the command line, coerced and validated."""
    given = vars(ns)
    return {
        name: coerce(option, given[name], from_text=isinstance(given[name], str), where=option.flag)
        for name, option in OPTIONS.items()
        if name in given
    }


def describe_options() -> list[dict[str, Any]]:
    """Every option as a JSON-safe dict (for the web options panel and documentation)."""
    fields = ("name", "default", "help", "group", "live", "minimum", "maximum", "flag", "pattern")
    return [
        {**{f: getattr(o, f) for f in fields}, "type": o.type.__name__,
         "choices": None if o.choices is None else list(o.choices)}
        for o in OPTIONS.values()
    ]


__all__ = ["OPTIONS", "Option", "Settings", "add_option_arguments", "coerce", "describe_options",
           "flags_from_namespace", "lookup", "register"]
