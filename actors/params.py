"""`Param`: the one declared-parameter type behind options, task options and report parameters.

Why: a server option (``--retry-delay``), a task's declared argument (``task_options``) and a
report's query parameter (``?period=2h``) are the same idea: a name, a type, a default or
"required", bounds and help text; a value that comes either as text (a flag, a form field, a
query string) or as a Python value (a config file, a JSON body). Declaring them with one type
means one set of rules, one set of error messages, and one way the panel builds its forms.

Types: ``str``, ``int``, ``float``, ``bool``, ``duration`` (seconds; text also ``90s``,
``10m``, ``2h``, ``1d``), ``size`` (bytes, an int; text also ``64M``, ``1GiB``), ``json``
(any JSON value), ``list`` and ``dict``.

* `Param.check` takes a Python value: it must already have the type (an int is a float, a
  bool is never a number); numbers must be finite and within ``minimum``/``maximum``; a value
  must be one of ``choices`` when they are given. ``None`` is accepted when the default is
  ``None``.
* `Param.parse` takes text (empty text means the default) and then checks it.
* `Param.of` reads a declaration dict (``{"name", "type", "default", "help", "choices",
  "required", "minimum", "maximum"}``); without a ``default`` a parameter is required.

Every refusal is an `InvalidValueError` whose ``field`` is the parameter's name and whose
message names it and the value. Callers add where the value came from (a file and line, a
flag, a report).

`Option` declares a *server option* (``--workers``): a `Param` plus what the command line
and the panel need (group, whether it may change live, short flag). The registry of options
is `actors.config`; service plugins declare options of their own (`actors.services`).
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from actors.bounds import HORIZON_S, MAX_COUNT, MAX_SIZE
from actors.errors import ConfigError, InvalidValueError
from actors.jsonsafe import find_unsafe

PARAM_TYPES: Final = ("str", "int", "float", "bool", "duration", "size", "json", "list", "dict")
#: The keys a declaration dict may have.
DECLARATION_KEYS: Final = frozenset({"name", "type", "default", "help", "choices", "required", "minimum",
                                     "maximum"})
#: Longest text accepted for one value.
MAX_TEXT: Final = 500

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})
_DURATION = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*(s|sec|m|min|h|d)?\s*", re.IGNORECASE)
_UNIT_S = {"": 1.0, "s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0}
_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*(k|kib|m|mib|g|gib)?", re.IGNORECASE)
_SIZE_FACTOR = {"k": 1024, "kib": 1024, "m": 1024**2, "mib": 1024**2, "g": 1024**3, "gib": 1024**3}
_NUMERIC = frozenset({"int", "float", "duration", "size"})


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


#: The Python values each parameter type takes (a type not listed takes any value: json).
_ACCEPTS: dict[str, Callable[[Any], bool]] = {
    "str": lambda value: isinstance(value, str),
    "int": _is_int,
    "size": _is_int,
    "float": _is_number,
    "duration": _is_number,
    "bool": lambda value: isinstance(value, bool),
    "list": lambda value: isinstance(value, list | tuple),
    "dict": lambda value: isinstance(value, Mapping),
}


class _Required:
    """The default of a parameter that has none (it must be given)."""

    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Final = _Required()


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


@dataclass(frozen=True)
class Param:
    """One declared parameter; see the module docstring."""

    name: str
    type: str = "str"
    default: Any = REQUIRED
    help: str = ""
    choices: tuple[Any, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    #: What the parameter is called in messages: "option", "parameter", "argument" ...
    kind: str = "parameter"

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME.fullmatch(self.name):
            raise InvalidValueError(f"parameter name {self.name!r} is not an identifier", field="name",
                                    value=self.name)
        if self.type not in PARAM_TYPES:
            raise InvalidValueError(f"parameter {self.name!r} has type {self.type!r} (known: "
                                    f"{', '.join(PARAM_TYPES)})", field=self.name, value=self.type)
        if self.choices is not None:
            object.__setattr__(self, "choices", tuple(self.choices))
        if not self.required:
            if find_unsafe(self.default) is not None:
                raise InvalidValueError(f"the default of {self.name!r} is not JSON-safe", field=self.name)
            if self.default is not None:
                try:
                    self.check(self.default)
                except InvalidValueError as exc:
                    raise InvalidValueError(f"bad default: {exc}", field=self.name, value=exc.value) from None

    # ------------------------------------------------------------------ declarations
    @property
    def label(self) -> str:
        """``option 'workers'``: how messages name this parameter."""
        return f"{self.kind} {self.name!r}"

    @classmethod
    def of(cls, declared: Param | Mapping[str, Any], where: str = "", *, kind: str = "parameter",
           default_type: str = "str") -> Param:
        """A `Param` from a declaration dict (or itself); `InvalidValueError` (prefixed *where*) if malformed."""
        if isinstance(declared, Param):
            return declared
        prefix = f"{where}: " if where else ""
        if not isinstance(declared, Mapping) or not isinstance(declared.get("name"), str) or not declared["name"]:
            raise InvalidValueError(f"{prefix}{_shown(declared)} is not a dict with a 'name'", field=where or None)
        unknown = sorted(set(declared) - DECLARATION_KEYS)
        if unknown:
            raise InvalidValueError(f"{prefix}parameter {declared['name']!r} has unknown keys {unknown}",
                                    field=where or None)
        required = declared.get("required", "default" not in declared)
        choices = declared.get("choices")
        try:
            return cls(name=declared["name"], type=str(declared.get("type", default_type)),
                       default=REQUIRED if required else declared.get("default"), help=str(declared.get("help", "")),
                       choices=None if choices is None else tuple(choices), minimum=declared.get("minimum"),
                       maximum=declared.get("maximum"), kind=kind)
        except InvalidValueError as exc:
            raise InvalidValueError(f"{prefix}{exc}", field=where or exc.field, value=exc.value) from None

    @property
    def required(self) -> bool:
        """Whether a value must be given (there is no default)."""
        return self.default is REQUIRED

    def default_value(self) -> Any:
        """A fresh copy of the default (`InvalidValueError` when the parameter is required)."""
        if self.required:
            helptext = f" ({self.help})" if self.help else ""
            raise InvalidValueError(f"{self.label} is required{helptext}", field=self.name)
        return copy.deepcopy(self.default)

    def describe(self) -> dict[str, Any]:
        """JSON-safe, for the API, the panel's forms and the docs."""
        return {"name": self.name, "type": self.type, "default": None if self.required else self.default,
                "required": self.required, "help": self.help,
                "choices": None if self.choices is None else list(self.choices), "minimum": self.minimum,
                "maximum": self.maximum}

    # ------------------------------------------------------------------ values
    def check(self, value: Any, *, shown: str | None = None) -> Any:
        """*value* (a Python value) validated and normalised; `InvalidValueError` naming the parameter.

        *shown* is how messages quote the value (the raw text when it came from `parse`).
        """
        if value is None and not self.required and self.default is None:
            return None
        kind = self.type
        accepts = _ACCEPTS.get(kind)
        if accepts is not None and not accepts(value):
            raise self._expects(value)
        shown_value = value  # quoted (repr) only in a message: a config file checks a million values
        if kind in ("float", "duration"):
            value = float(value)
        if kind in _NUMERIC:
            if not math.isfinite(value):
                quoted = _shown(shown_value) if shown is None else shown
                raise self._refuse(f"must be a finite number, got {quoted}", quoted)
            if self.minimum is not None and value < self.minimum:
                quoted = _shown(shown_value) if shown is None else shown
                raise self._refuse(f"must be >= {self.minimum:g}, got {quoted}", quoted)
            if self.maximum is not None and value > self.maximum:
                quoted = _shown(shown_value) if shown is None else shown
                raise self._refuse(f"must be <= {self.maximum:g}, got {quoted}", quoted)
        if self.choices is not None and value not in self.choices:
            quoted = _shown(shown_value) if shown is None else shown
            allowed = ", ".join(repr(c) for c in self.choices)
            raise self._refuse(f"must be one of {allowed}, got {quoted}", quoted)
        return value

    def parse(self, raw: str | None) -> Any:
        """The value of *raw* text (None or blank: the default); `InvalidValueError` naming the parameter."""
        if raw is None or (raw.strip() == "" and self.type != "str") or raw == "":
            return self.default_value()
        if len(raw) > MAX_TEXT or "\x00" in raw:
            raise self._refuse(f"at most {MAX_TEXT} characters and no NUL, got {_shown(raw[:40])}...", raw[:40])
        return self.check(self._from_text(raw), shown=_shown(raw))

    def _expects(self, value: Any) -> InvalidValueError:
        name = {"size": "int", "duration": "float"}.get(self.type, self.type)
        return self._refuse(f"expects {name}, got {_shown(value)} ({type(value).__name__})", _shown(value))

    def _refuse(self, rule: str, shown: str) -> InvalidValueError:
        return InvalidValueError(f"{self.label} {rule}", field=self.name, value=shown)

    def _from_text(self, raw: str) -> Any:
        text = raw.strip()
        kind = self.type
        if kind == "str":
            return raw
        if kind == "bool":
            if text.lower() not in _TRUE | _FALSE:
                raise self._expects(raw)
            return text.lower() in _TRUE
        try:
            if kind == "int":
                value = integral_text(text)
                if value is None:
                    raise ValueError(text)
                return value
            if kind == "float":
                return float(text)
            if kind == "size":
                return parse_size(text, self.name)
            if kind == "duration":
                return parse_duration(text, self.name)
            import json

            return json.loads(text)
        except InvalidValueError:
            if kind == "duration":
                raise self._refuse(f"expects a duration (seconds, or 90s, 10m, 2h, 1d), got {_shown(raw)}",
                                   _shown(raw)) from None
            raise self._expects(raw) from None
        except ValueError:
            raise self._expects(raw) from None

    def text(self, value: Any) -> str:
        """*value* as text (what a form shows, what `parse` reads back)."""
        if value is None or value is REQUIRED:
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        if self.type in ("json", "list", "dict"):
            import json

            return json.dumps(value)
        return str(value)


def integral_text(text: str) -> int | None:
    """*text* as an integer: ``42``, or a number with no fraction (``42.0``, ``4.2e1``: JSON and the
    clients that write it make no difference); None when it is not one."""
    try:
        return int(text.strip(), 10)
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        return None
    return int(number) if math.isfinite(number) and number.is_integer() else None


def parse_duration(text: str, field: str) -> float:
    """``90``, ``90s``, ``10m``, ``1.5h``, ``2d`` -> seconds; `InvalidValueError` naming *field*."""
    match = _DURATION.fullmatch(text)
    if match is None:
        raise InvalidValueError(f"{field}: expected seconds or a duration such as 90s, 10m, 2h, 1d; got "
                                f"{_shown(text[:40])}", field=field, value=text[:40])
    value = float(match.group(1)) * _UNIT_S[(match.group(2) or "").lower()]
    if not math.isfinite(value):
        raise InvalidValueError(f"{field}: duration out of range: {_shown(text[:40])}", field=field, value=text[:40])
    return value


def parse_size(text: str, field: str) -> int:
    """``4096``, ``64M``, ``1.5GiB`` -> bytes (binary multiples); `InvalidValueError` naming *field*."""
    match = _SIZE.fullmatch(text.strip())
    bad = InvalidValueError(f"{field}: expected a size in bytes (suffixes K, M, G, KiB, MiB, GiB), got "
                            f"{_shown(text[:40])}", field=field, value=text[:40])
    if match is None:
        raise bad
    number = float(match.group(1)) * (_SIZE_FACTOR[match.group(2).lower()] if match.group(2) else 1)
    if not number.is_integer():
        raise bad
    return int(number)


def check_all(params: Sequence[Param], values: Mapping[str, Any], *,
              allow_extra: bool) -> dict[str, Any]:
    """Every parameter's value from *values* (Python values; defaults filled in, copies).

    Raises `InvalidValueError` for a bad value, a missing required one, or (unless
    *allow_extra*) a name no parameter declares.
    """
    known = {p.name: p for p in params}
    out = {name: value for name, value in values.items() if name not in known}
    for param in params:  # what is declared first (a missing required one), then what is not
        out[param.name] = param.check(values[param.name]) if param.name in values else param.default_value()
    if not allow_extra:
        for name in values:
            if name not in known:
                listed = ", ".join(sorted(known)) or "none"
                raise InvalidValueError(f"unknown argument {str(name)[:40]!r} (known: {listed})",
                                        field=str(name)[:40], value=str(name)[:40])
    return out


def parse_all(params: Sequence[Param], raw: Mapping[str, str], *,
              strict: bool = True) -> dict[str, Any]:
    """Every parameter's value from text *raw* (a query string, a form); see `check_all`."""
    known = {p.name for p in params}
    if strict:
        for name in raw:
            if name not in known:
                listed = ", ".join(sorted(known)) or "none"
                raise InvalidValueError(f"{str(name)[:40]}: unknown parameter (this takes: {listed})",
                                        field=str(name)[:40], value=str(name)[:40])
    return {p.name: p.parse(raw.get(p.name)) for p in params}


# ----------------------------------------------------------------------------- server options
_OPTION_TYPES: tuple[type, ...] = (int, float, str, bool)
_OPTION_NAME = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*")


@dataclass(frozen=True, slots=True)
class Option:
    """One option. ``live``: may change while the server runs; ``size``: an int that also
    accepts ``K/M/G/KiB/MiB/GiB`` suffixes (binary multiples) on the command line."""

    name: str
    type: type
    default: Any
    help: str
    group: str
    choices: tuple[Any, ...] | None = None
    live: bool = False
    minimum: float | None = None
    #: Upper bound; None means the one for its kind (`actors.bounds`: sizes MAX_SIZE, counts
    #: MAX_COUNT, seconds HORIZON_S), so that no option can hold a number the runtime overflows on.
    maximum: float | None = None
    short: str | None = None
    metavar: str | None = None
    size: bool = False
    #: A text option's accepted forms as a regular expression, for documents (the OpenAPI schema of
    #: ``PUT /options/<name>``); the option's own check stays the authority.
    pattern: str | None = None
    #: The validation rules, as the one parameter type (`actors.params.Param`) declares them.
    param: Param = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not _OPTION_NAME.fullmatch(self.name):
            raise ValueError(f"option name {self.name!r} is not snake_case")
        if self.type not in _OPTION_TYPES:
            raise ValueError(f"option {self.name!r}: type must be int, float, str or bool, not {self.type!r}")
        kind = "size" if self.size else self.type.__name__
        if self.maximum is None and self.type in (int, float):
            object.__setattr__(self, "maximum", {"size": MAX_SIZE, "int": MAX_COUNT}.get(kind, HORIZON_S))
        try:
            param = Param(self.name, kind, default=REQUIRED, help=self.help, choices=self.choices, minimum=self.minimum,
                          maximum=self.maximum, kind="option")
        except InvalidValueError as exc:
            raise ValueError(str(exc)) from None
        object.__setattr__(self, "param", param)
        try:
            param.check(self.default)
        except InvalidValueError as exc:
            raise ConfigError(f"default: {exc}") from None

    @property
    def flag(self) -> str:
        """The long command-line flag, ``--kebab-case``."""
        return "--" + self.name.replace("_", "-")



__all__ = ["PARAM_TYPES", "REQUIRED", "Option", "Param", "check_all", "integral_text", "parse_all", "parse_duration",
           "parse_size"]
