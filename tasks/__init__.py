"""Task classes, and the registry that finds them.

Every public class defined in a module of this package is a task the scheduler can run,
under its class name (``Test``, ``Sleep``...). Tasks in other distributions register
through the ``das_actors.tasks`` entry-point group; any importable class can also be
named by its dotted path, ``package.module:Class``. See `tasks.base` for the contract.

This package knows nothing of actors: tasks run in worker subprocesses and in tests.
"""

from tasks.base import TaskBase
from tasks.registry import TaskInfo, TaskRegistry, default_registry

__all__ = ["TaskBase", "TaskInfo", "TaskRegistry", "default_registry"]
