"""The exception tree of das-actors: every error the project raises on purpose, in one place.

    DasActorsError                   root: catch this to catch everything we raise
    ├── ConfigError                  a bad option, config file or flag (CLI exit code 2)
    ├── InvalidValueError            a value that cannot be accepted (``field`` and ``value`` named)
    │   ├── InvalidJobError          a job definition that cannot be accepted
    │   │   └── UnknownTaskClassError    a classname no registry may resolve (or may not import)
    │   ├── ReportParamError         a report parameter that is malformed or refused
    │   └── BadRequestError          a request the web cannot parse (HTTP 400, 413, 415)
    ├── NotFoundError                no job, run, option or report of that id or name (HTTP 404)
    │   └── UnknownReportError       no report of that name
    ├── ConflictError                valid, but not now: a running job, an option that needs a restart (409)
    ├── RefusedError                 not authenticated, cross-site, bad CSRF token, read-only (401/403/429)
    ├── PluginError                  a task, report or service plugin is malformed or failed to load
    │   └── ReportError              a report class cannot be used
    ├── ServiceError                 a service tasks use (the das data service ...) failed
    │   └── ComputeError             the compute cluster (Dask) cannot be reached or used
    ├── StoreError                   the result/log/job store failed
    │   └── StoreUnavailableError    the store cannot be reached right now (retry later)
    ├── ActorUnavailableError        an actor did not answer within its timeout or is dead
    └── CtlError                     ``das-actors ctl``: the client side of the API
        ├── ServerRefusedError       the server answered with an error (exit 1)
        ├── ServerUnreachableError   no answer from the server (exit 3)
        └── CtlUsageError            a bad command line (exit 2)

Messages carry identity (job name and id, run index, option name, file and line) so
that a log line alone tells an operator what went wrong and where. Errors that map to an
HTTP status say so in ``status``; the web turns any `DasActorsError` into its answer by
that attribute alone (`http_status`).
"""

from __future__ import annotations

import re
from typing import Any


class DasActorsError(Exception):
    """Root of every exception das-actors raises on purpose."""

    #: The HTTP status the web answers with when this error escapes a handler.
    status = 500


class ConfigError(DasActorsError):
    """An option, config file or command-line flag is invalid."""

    status = 400


class InvalidValueError(DasActorsError):
    """A value cannot be accepted; ``field`` names where it was given, ``value`` what it was."""

    status = 400

    def __init__(self, message: str, *, field: str | None = None, value: Any = None,
                 status: int | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.value = value
        if status is not None:
            self.status = status


class InvalidJobError(InvalidValueError):
    """A job definition is invalid; the message names the field and the value."""


class UnknownTaskClassError(InvalidJobError):
    """No task class of that name, or a dotted path the operator did not make importable."""

    def __init__(self, message: str) -> None:
        super().__init__(message, field="classname")


class ReportParamError(InvalidValueError):
    """A report parameter is malformed or refused (the web answers 400 naming ``field``)."""

    def __init__(self, field: str, message: str, *, status: int | None = None) -> None:
        super().__init__(f"{field}: {message}", field=field, status=status)


class BadRequestError(InvalidValueError):
    """A request the web cannot take as it is: 400, or 413 (too large), 415 (wrong type)."""


class NotFoundError(DasActorsError):
    """No job, run, option or report of that id or name."""

    status = 404


class UnknownReportError(NotFoundError):
    """No report of that name (or a dotted path the operator did not make importable)."""


class ConflictError(DasActorsError):
    """The request is valid but not now (e.g. an option that needs a restart, a running job)."""

    status = 409


class RefusedError(DasActorsError):
    """Not allowed: not authenticated (401), cross-site or bad CSRF or read-only (403), too
    many attempts (429, with ``retry_after_s``)."""

    status = 403

    def __init__(self, message: str, *, status: int | None = None, retry_after_s: float | None = None,
                 field: str | None = None) -> None:
        super().__init__(message)
        if status is not None:
            self.status = status
        self.retry_after_s = retry_after_s
        self.field = field


class PluginError(DasActorsError):
    """A plugin (task class, report, service) is malformed or could not be loaded."""


class ReportError(PluginError):
    """A report class cannot be used (malformed declarations)."""


class ServiceError(DasActorsError):
    """A service that tasks use (a plugin's, e.g. the das data service) failed."""

    status = 503


class ComputeError(ServiceError):
    """The compute cluster named by the ``compute`` option cannot be reached or used."""


class StoreError(DasActorsError):
    """The store failed in a way that retrying will not fix."""


class StoreUnavailableError(StoreError):
    """The store cannot be reached now; the caller should buffer and retry."""

    status = 503


class ActorUnavailableError(DasActorsError):
    """An actor is dead or did not answer within its timeout."""

    status = 503


class CtlError(DasActorsError):
    """``das-actors ctl`` could not do what was asked."""


class ServerRefusedError(CtlError):
    """The server answered with an error status (``body``: its decoded JSON answer, if any)."""

    def __init__(self, status: int, message: str, body: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = body


class ServerUnreachableError(CtlError):
    """The server did not answer (not running, wrong URL, timeout)."""


class CtlUsageError(CtlError):
    """A bad ``ctl`` command line (the message says what to type)."""


#: An object address in a repr (``<object at 0x7f...>``): never shown to a client.
_ADDRESS = re.compile(r"\s+at\s+0x[0-9a-fA-F]+")


def public_message(text: str) -> str:
    """*text* without object addresses (``<function f at 0x7f...>`` becomes ``<function f>``)."""
    return _ADDRESS.sub("", text)


def http_status(exc: BaseException) -> tuple[int, str, str | None]:
    """``(status, message, field)`` for any exception a request handler lets out.

    Our own errors answer with their ``status`` (their message without object addresses);
    anything else is a 500 whose message names only the exception type (never its text: it
    may leak internals such as addresses).
    """
    if isinstance(exc, DasActorsError):
        status = int(exc.status)
        field = getattr(exc, "field", None)
        if status >= 500 and status != 503:
            return status, public_message(f"{type(exc).__name__}: {exc}"), field
        return status, public_message(str(exc)), field
    return 500, f"internal error ({type(exc).__name__}); see the server log", None
