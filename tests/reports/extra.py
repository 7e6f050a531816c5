"""A report outside the ``reports`` package: found by its dotted path or an entry point."""

from __future__ import annotations

from typing import Any

from reports.base import Report


class Extra(Report):
    """Echoes its parameters (a report defined in the tests)."""

    report_group = "Extra <group>"
    report_title = "Extra <b>title</b>"
    params = [{"name": "word", "type": "str", "default": "hi", "help": "shown on the page"},
              {"name": "count", "type": "int", "default": 2, "minimum": 0, "maximum": 10},
              {"name": "flag", "type": "bool", "default": False}]

    def __call__(self, *, word: str = "hi", count: int = 2, flag: bool = False) -> tuple[str, dict[str, Any]]:
        return "report_extra.mako", {"now": self.context.now, "word": word, "count": count, "flag": flag}


class Plain:
    """A report that does not inherit Report (allowed, as in DAS)."""

    report_title = "Plain"

    def __init__(self, context: Any) -> None:
        self.context = context

    def __call__(self) -> tuple[str, dict[str, Any]]:
        return "report_extra.mako", {"now": self.context.now, "word": "plain", "count": 0, "flag": False}


class Broken(Report):
    """Answers something that is not (template, data)."""

    def __call__(self) -> Any:
        return {"not": "a tuple"}


class NoTemplate(Report):
    """Names a template that does not exist."""

    def __call__(self) -> tuple[str, dict[str, Any]]:
        return "report_missing.mako", {}


class NotAReport:
    """No __call__: not a report."""
