"""Reports that raise what a request thread must never let out (issue 11); found by dotted path
``tests.web.raising:Name`` (the web tests set ``report_packages = "tests"``)."""

from __future__ import annotations

from typing import Any

from reports.base import Report


class ExitReport(Report):
    """Raises SystemExit, as ``unittest.__main__`` did at import."""

    def __call__(self, **_: Any) -> tuple[str, dict[str, Any]]:
        raise SystemExit(3)


class InterruptReport(Report):
    """Raises KeyboardInterrupt from the request thread."""

    def __call__(self, **_: Any) -> tuple[str, dict[str, Any]]:
        raise KeyboardInterrupt


class LeakReport(Report):
    """Raises an error whose text holds an object address."""

    def __call__(self, **_: Any) -> tuple[str, dict[str, Any]]:
        from actors.errors import DasActorsError

        raise DasActorsError(f"broken by {object()!r} and {self.__call__!r}")
