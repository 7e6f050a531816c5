"""Store URIs: the one place that reads a ``sqlite://`` path and hides a password.

Why a module: the results store, the option checks and service plugins (each of which may
keep a SQLite file of its own) all name stores by URI; parsing them in one place keeps
"is this the same file?" and "what does this URI name?" answered the same way everywhere.

``sqlite:///relative/file.db`` names a path relative to the working directory and
``sqlite:////absolute/file.db`` an absolute one (SQLAlchemy's convention).
"""

from __future__ import annotations

import os

from actors.errors import ConfigError

SQLITE_PREFIX = "sqlite://"
MONGO_PREFIXES = ("mongodb://", "mongodb+srv://")


def is_sqlite(uri: str) -> bool:
    """Whether *uri* names an embedded SQLite store."""
    return uri.startswith(SQLITE_PREFIX)


def is_mongo(uri: str) -> bool:
    """Whether *uri* names a MongoDB server."""
    return uri.startswith(MONGO_PREFIXES)


def sqlite_path(uri: str, *, field: str = "db_uri") -> str:
    """The file of a ``sqlite://`` URI; `ConfigError` naming *field* when it names none."""
    path = uri.removeprefix(SQLITE_PREFIX)
    path = path.removeprefix("/") if not path.startswith("//") else path[1:]
    if not path:
        raise ConfigError(f"{field} {uri!r} names no file (use sqlite:///path/to/file.db)")
    return path


def same_sqlite_file(one: str, two: str) -> bool:
    """Whether two URIs are ``sqlite://`` URIs naming the same file."""
    if not (is_sqlite(one) and is_sqlite(two)):
        return False
    try:
        return os.path.abspath(sqlite_path(one)) == os.path.abspath(sqlite_path(two))
    except ConfigError:
        return False


def redact(uri: str) -> str:
    """*uri* with its password hidden, for logs and pages."""
    if "@" in uri and "://" in uri:
        scheme, rest = uri.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}"
    return uri


#: The ``compute`` option's values: ``local`` (worker processes of this server) or a Dask scheduler.
COMPUTE_LOCAL = "local"
DASK_PREFIX = "dask://"


def dask_address(compute: str, *, field: str = "compute") -> str | None:
    """The ``tcp://host:port`` of a ``dask://host:port`` *compute* value, None for ``local``;
    `ConfigError` naming *field* for anything else."""
    if compute == COMPUTE_LOCAL:
        return None
    if compute.startswith(DASK_PREFIX):
        host, sep, port = compute[len(DASK_PREFIX):].rpartition(":")
        if sep and host and "/" not in host and port.isdigit() and 0 < int(port) <= 65535:
            return f"tcp://{host}:{port}"
    raise ConfigError(f"option {field!r} must be {COMPUTE_LOCAL!r} or dask://host:port (a Dask scheduler), "
                      f"got {compute!r}")
