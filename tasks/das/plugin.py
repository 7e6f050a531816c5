"""The das data service as a service plugin: its options, how to build it, its commands.

Why a module of its own: the runtime never names a service. This declaration is what the
``das_actors.services`` entry point publishes (see `actors.services`), so the das service's
options appear among the server's options, tasks receive it as ``services["das"]``, and
``das-actors das-serve`` / ``spam`` exist, without any of `actors` knowing it by name.
Cheap to import: the service itself is imported only when built.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from actors.params import Option
from actors.services import ServicePlugin
from actors.uri import same_sqlite_file

GROUP = "DAS service"


def _build(values: Mapping[str, Any]) -> Any:
    from tasks.das import make_service

    return make_service(values)


def _check(values: Mapping[str, Any]) -> tuple[str, str] | None:
    if same_sqlite_file(str(values.get("das_db_uri") or ""), str(values.get("db_uri") or "")):
        return "das_db_uri", "must not be the results store (db_uri): give the das service a file of its own"
    return None


def _add_commands(subparsers: Any) -> None:
    from tasks.das.commands import add_commands

    add_commands(subparsers)


PLUGIN = ServicePlugin(
    name="das",
    title="DAS data service",
    options=(
        Option("das_db_uri", str, "", "store of the das data service given to tasks as services['das'] "
               "(sqlite:///path, a file of its own, or mongodb://...; empty = the das service is off)", GROUP),
        Option("das_db_name", str, "das", "database name of the das service (MongoDB)", GROUP),
        Option("das_upstreams", str, "", "JSON file listing the upstream APIs of the das service (empty = none)",
               GROUP),
    ),
    build=_build,
    check=_check,
    add_commands=_add_commands,
)
