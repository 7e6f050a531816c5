"""Service plugins: the shared things tasks use, added to the server without touching it.

Why: a task may need more than its arguments: a cached data service (``services[<name>]``),
the object store, the streams, an outbox for actions. Each of those is a *service plugin*:
it declares its options and how to build the service, and the runtime hands every task an
opaque ``services`` mapping without ever naming one. A new capability is then a new room
(a plugin module), not new corridors through the scheduler, the workers and the CLI.

A plugin is a `ServicePlugin` object published under the ``das_actors.services`` entry-point
group (``<name> = <module>:PLUGIN`` in ``setup.py``; the built-in ones are listed there). Its
declaration module must be cheap to import (it is loaded with the option registry):
everything heavy belongs in ``build``, which imports lazily.

* ``options``: server options it adds (`actors.params.Option`; set in config files, on the
  command line and listed in the panel like any other).
* ``uses``: names of *other* server options whose values ``build`` also receives (the act
  service needs the results store's ``db_name`` and the ``act_*`` options of the runtime).
* ``check(values)``: cross-option rules: ``(option, rule)`` when one is broken (the start
  refuses, naming the option, its value and where it was set).
* ``build(values)``: the service for these option values, or None when it is off. Called once
  per worker process (tasks), and once in the server (reports). A failure is logged and the
  service is left out: a bad service configuration never kills a worker.
* ``add_commands(subparsers)``: extra ``das-actors`` commands (``das-serve`` ...).
* ``uses``: names of server options declared elsewhere (the server's own) whose values
  ``build`` and ``check`` also receive (the data services read ``data_uri`` ...).

A service may also offer ``for_run(run) -> service``: each run then receives the view it
returns, bound to that run (``run`` is ``{"job_id", "index", "attempt", "name", "run_id"}``), so
that what the task writes can say which run produced it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from actors.params import Option
from actors.plugins import entry_point_objects

log = logging.getLogger("das_actors.services")

#: Entry-point group of service plugins.
ENTRY_POINT_GROUP = "das_actors.services"


@dataclass(frozen=True)
class ServicePlugin:
    """One service tasks can use; see the module docstring."""

    name: str
    title: str
    options: tuple[Option, ...] = ()
    build: Callable[[Mapping[str, Any]], Any] | None = None
    check: Callable[[Mapping[str, Any]], tuple[str, str] | None] | None = None
    add_commands: Callable[[Any], None] | None = None
    uses: tuple[str, ...] = ()

    def option_values(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """The values of this plugin's options, of those it `uses`, and ``db_uri`` (which some must
        stay away from)."""
        names = {option.name for option in self.options} | set(self.uses) | {"db_uri"}
        return {name: values[name] for name in names if name in values}


_plugins: tuple[ServicePlugin, ...] | None = None
_lock = threading.Lock()


def service_plugins() -> tuple[ServicePlugin, ...]:
    """Every installed service plugin, by name (loaded once per process)."""
    global _plugins  # noqa: PLW0603 - loaded once per process, like the entry points themselves
    with _lock:
        if _plugins is None:
            found: dict[str, ServicePlugin] = {}
            for entry_name, plugin in entry_point_objects(ENTRY_POINT_GROUP):
                if not isinstance(plugin, ServicePlugin):
                    log.error("service plugin %s is %r, not a ServicePlugin; ignored", entry_name, plugin)
                elif plugin.name in found:
                    log.error("service plugin %s: a service named %r exists already; ignored", entry_name,
                              plugin.name)
                else:
                    found[plugin.name] = plugin
            _plugins = tuple(found[name] for name in sorted(found))
        return _plugins


def check_services(values: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The broken cross-option rules of every plugin: ``(option, rule)`` pairs."""
    problems = []
    for plugin in service_plugins():
        if plugin.check is not None:
            problem = plugin.check(plugin.option_values(values))
            if problem:
                problems.append(problem)
    return problems


def build_services(values: Mapping[str, Any], on_error: Callable[[str, BaseException], None]) -> dict[str, Any]:
    """``{name: service}`` of every plugin that is on for these option *values*.

    A plugin whose ``build`` raises is left out and reported through *on_error(name, exc)*.
    """
    services: dict[str, Any] = {}
    for plugin in service_plugins():
        if plugin.build is None:
            continue
        try:
            service = plugin.build(plugin.option_values(values))
        except Exception as exc:  # noqa: BLE001 - a bad service configuration must not stop a worker
            on_error(plugin.name, exc)
            continue
        if service is not None:
            services[plugin.name] = service
    return services


def service_option_names() -> frozenset[str]:
    """The names of every option a service plugin declares or uses (what worker processes need)."""
    return frozenset({option.name for plugin in service_plugins() for option in plugin.options}
                     | {name for plugin in service_plugins() for name in plugin.uses})
