"""The exception tree of das-actors, in one place to avoid import loops.

    DasActorsError                  root: catch this to catch everything we raise
    ├── ConfigError                 a bad option, config file or flag (CLI exit code 2)
    ├── InvalidJobError             a job definition that cannot be accepted (field + value named)
    │   └── UnknownTaskClassError   a classname the task registry cannot resolve
    ├── StoreError                  the result/log/job store failed
    │   └── StoreUnavailableError   the store cannot be reached right now (retry later)
    └── ActorUnavailableError       an actor did not answer within its timeout or is dead

Messages carry identity (job name and id, run index, option name, file and line) so
that a log line alone tells an operator what went wrong and where.
"""

from __future__ import annotations


class DasActorsError(Exception):
    """Root of every exception das-actors raises on purpose."""


class ConfigError(DasActorsError):
    """An option, config file or command-line flag is invalid."""


class InvalidJobError(DasActorsError):
    """A job definition is invalid; the message names the field and the value."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class UnknownTaskClassError(InvalidJobError):
    """The task registry has no class of that name and it is not an importable dotted path."""

    def __init__(self, message: str) -> None:
        super().__init__(message, field="classname")


class StoreError(DasActorsError):
    """The store failed in a way that retrying will not fix."""


class StoreUnavailableError(StoreError):
    """The store cannot be reached now; the caller should buffer and retry."""


class ActorUnavailableError(DasActorsError):
    """An actor is dead or did not answer within its timeout."""
