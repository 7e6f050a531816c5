"""An optional base class for tasks, so that writing one takes a few lines, not a manual.

The task contract is duck-typed, as it was in DAS: any class whose constructor takes
keyword arguments and whose ``__call__()`` returns a dict is a task. `TaskBase` only
saves the boilerplate: it splits the framework's keyword arguments (``logger``, ``name``,
``index``...) from the user's, keeps the user's in ``self.options`` with the declared
defaults filled in, and documents the metadata the registry and the web panel read.

A complete example (a module in the ``tasks`` package, or any importable module named
by its dotted path ``mypkg.mytasks:Countdown``)::

    from typing import Any

    from tasks.base import TaskBase

    class Countdown(TaskBase):
        \"\"\"Count down from ``start`` once per run, then stop rescheduling.\"\"\"

        task_title = "Countdown"
        task_options = [
            {"name": "start", "type": "int", "default": 3, "help": "first value"},
            {"name": "label", "type": "str", "help": "what is counted (required)"},
        ]

        def __call__(self) -> dict[str, Any]:
            left = self.options["start"] - self.index + 1
            self.logger.info("%s: %d left (run %d)", self.options["label"], left, self.index)
            if left <= 1:
                return {"left": 0, "resubmit": False}  # the job finishes
            return {"left": left}  # stored; the job runs again after its interval

Keys of the returned dict that the scheduler understands: ``resubmit`` (False finishes
the job), ``next_at`` (absolute epoch of the next run; DAS's ``next`` is an alias),
``new_tasks`` (a list of child job dicts ``{name, classname, interval, kwargs?, only_once?,
max_runs?, only_before?, timeout?, retries?}``) and ``success`` (False marks the run failed). Everything else
is stored as the run's result. Raising marks the run failed (and retried if allowed).

Stdlib only apart from `actors.jobs`: this module is imported by the worker subprocess.
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Mapping
from typing import Any, ClassVar, Protocol

from actors.jobs import RESERVED_KWARGS

#: The option types `TaskRegistry.prepare_kwargs` knows how to check.
OPTION_TYPES = ("str", "int", "float", "bool", "json", "list", "dict")


class TaskLogger(Protocol):
    """What a task may rely on in ``self.logger``: a `logging.Logger` or anything alike."""

    def debug(self, msg: object, /, *args: Any, **kwargs: Any) -> Any: ...

    def info(self, msg: object, /, *args: Any, **kwargs: Any) -> Any: ...

    def warning(self, msg: object, /, *args: Any, **kwargs: Any) -> Any: ...

    def error(self, msg: object, /, *args: Any, **kwargs: Any) -> Any: ...

    def exception(self, msg: object, /, *args: Any, **kwargs: Any) -> Any: ...


class TaskBase:
    """Base class for tasks (optional: the registry accepts any callable class).

    Class attributes read by the registry and shown by the web panel:

    - ``task_title``: display name (default: the class name);
    - ``task_info``: long description (default: the class docstring);
    - ``task_options``: a list of ``{"name", "type", "default", "help"}`` dicts, where
      ``type`` is one of `OPTION_TYPES` and an absent ``default`` makes the option
      required. Unlike DAS, the defaults are applied by the framework;
    - ``task_free_options``: if true, arguments beyond ``task_options`` are accepted (by
      default a class that declares its options takes only those: a typo is refused when the
      job is added, naming it);
    - ``hide``: if true, this class (not its subclasses) is not indexed.

    Attributes set by the constructor: ``logger``, ``name``, ``index`` (1-based run
    number), ``interval`` (seconds), ``attempt`` (0 for the first try), ``job_id``,
    ``parent`` (ancestor job ids, oldest first), ``due_at`` (epoch), ``services`` (a
    dict of shared resources, possibly empty) and ``options`` (the user's arguments).
    Missing framework arguments get harmless defaults, so a task can be constructed by
    hand in a test or a notebook: ``Countdown(label="sheep")()``.
    """

    task_title: ClassVar[str | None] = None
    task_info: ClassVar[str | None] = None
    task_options: ClassVar[list[dict[str, Any]]] = []
    task_free_options: ClassVar[bool] = False
    hide: ClassVar[bool] = False

    logger: TaskLogger
    name: str
    index: int
    interval: float
    attempt: int
    job_id: str
    parent: tuple[str, ...]
    due_at: float
    services: dict[str, Any]
    options: dict[str, Any]

    def __init__(self, **kwargs: Any) -> None:
        cls = type(self)
        self.logger = kwargs.pop("logger", None) or logging.getLogger(f"das_actors.tasks.{cls.__name__}")
        self.name = kwargs.pop("name", cls.__name__)
        self.index = kwargs.pop("index", 1)
        self.interval = kwargs.pop("interval", 0.0)
        self.attempt = kwargs.pop("attempt", 0)
        self.job_id = kwargs.pop("job_id", "")
        self.parent = tuple(kwargs.pop("parent", ()))
        self.due_at = kwargs.pop("due_at", None) or time.time()
        self.services = dict(kwargs.pop("services", None) or {})
        for key in RESERVED_KWARGS & kwargs.keys():  # framework arguments added after this class
            setattr(self, key, kwargs.pop(key))
        self.options = _with_defaults(cls, kwargs)

    def __call__(self) -> Any:
        """Do one run and return a dict (see the module docstring for its special keys)."""
        raise NotImplementedError(f"{type(self).__name__} must implement __call__()")


def _with_defaults(cls: type, kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """Fill declared defaults; a missing required option is a `TypeError`, like a call."""
    options = dict(kwargs)
    for option in getattr(cls, "task_options", None) or ():
        name = option["name"]
        if name in options:
            continue
        if "default" not in option:
            raise TypeError(f"{cls.__name__}() missing required option {name!r}")
        options[name] = copy.deepcopy(option["default"])
    return options
