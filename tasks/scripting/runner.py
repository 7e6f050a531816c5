"""Execute a script's source in this worker process: a task class it defines, or its top-level code.

Only ever called by `tasks.script.Script.__call__`, i.e. inside a worker subprocess: the same
timeout, memory cap (``RLIMIT_AS``), process-group kill and crash handling as any task apply,
and nothing of the script reaches the server process but its result and log lines.

A script is run in a fresh module namespace holding:

``args``     the run's arguments (the script's declared ``task_options`` defaults filled in)
``logger``   the run's logger (lines reach the panel live, like ``print``)
``display``  show a DataFrame as a table, a figure as an image, anything else as text
``act``      the act service (``act.webhook(...)``, ``act.publish(...)``), when configured
``services`` every shared service; ``run``: this run's identity (job_id, index, ...)

If the script defines a task class (a class of its own with ``__call__``; a `TaskBase`
subclass wins when it defines several), that class is constructed with the arguments and
called, as any task. Otherwise its top-level code *is* the run, and a top-level ``result``
(a dict) is what it returns (``resubmit``, ``next_at`` ... work as for tasks). ``exit()`` ends
a script early without failing it. Figures are captured by `tasks.scripting.mplbackend`;
what the script showed is stored under the result's ``outputs``.
"""

from __future__ import annotations

import builtins
import linecache
import os
import sys
import traceback
from collections.abc import Mapping
from typing import Any

from actors.errors import InvalidValueError
from actors.params import check_all
from actors.scriptsource import declared_options
from tasks.base import TaskBase
from tasks.scripting import outputs

BACKEND = "module://tasks.scripting.mplbackend"


def _use_our_backend() -> None:
    os.environ["MPLBACKEND"] = BACKEND
    if "matplotlib" in sys.modules:
        import matplotlib

        matplotlib.use(BACKEND, force=True)
        if "matplotlib.pyplot" in sys.modules:
            import matplotlib.pyplot as plt

            plt.switch_backend(BACKEND)


def script_args(source: str, given: Mapping[str, Any]) -> dict[str, Any]:
    """*given* checked against the script's declared ``task_options`` (defaults filled; an unknown name is
    refused when the script declares any)."""
    params = declared_options(source)
    if not params:
        return dict(given)
    return check_all(params, given, allow_extra=False)


def _task_class(namespace: Mapping[str, Any], module: str) -> type | None:
    own = [v for v in namespace.values() if isinstance(v, type) and v.__module__ == module
           and any("__call__" in vars(k) for k in v.__mro__ if k is not object)]
    if not own:
        return None
    based = [cls for cls in own if issubclass(cls, TaskBase)]
    if len(based) == 1 or (not based and len(own) == 1):
        return (based or own)[0]
    names = ", ".join(cls.__name__ for cls in (based or own))
    raise InvalidValueError(f"the script defines several task classes ({names}); keep one, or make only one "
                            "a TaskBase subclass", field="source")


def _framework_kwargs(task: TaskBase) -> dict[str, Any]:
    return {"logger": task.logger, "name": task.name, "index": task.index, "interval": task.interval,
            "attempt": task.attempt, "job_id": task.job_id, "parent": task.parent, "due_at": task.due_at,
            "services": task.services}


def run_script(task: TaskBase) -> dict[str, Any]:
    """Run the script of *task* (a `tasks.script.Script`); the result dict, ``outputs`` included."""
    options = task.options
    source = str(options["source"])
    name = str(options.get("script") or task.name)
    version = int(options.get("version") or 0)
    args = script_args(source, options.get("args") or {})
    filename = f"<script {name} v{version}>" if version else f"<script {name}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)
    module = "das_script_" + "".join(ch if ch.isalnum() else "_" for ch in name)
    outputs.reset(int(options.get("max_output_bytes") or 2 * 1024 * 1024))
    _use_our_backend()
    run = {"job_id": task.job_id, "name": task.name, "index": task.index, "attempt": task.attempt,
           "script": name, "version": version}
    namespace: dict[str, Any] = {
        "__name__": module, "__builtins__": builtins, "args": args, "logger": task.logger,
        "display": outputs.display, "act": task.services.get("act"), "services": task.services, "run": run,
        "result": None,
    }
    value: Any = None
    try:
        code = compile(source, filename, "exec")
        try:
            exec(code, namespace)  # noqa: S102 - the script is the run; this is a worker subprocess, never the server
        except SystemExit as exc:
            if exc.code not in (None, 0):
                raise
        cls = _task_class(namespace, module)
        value = cls(**{**args, **_framework_kwargs(task)})() if cls is not None else namespace.get("result")
    except MemoryError:
        raise
    except BaseException as exc:  # noqa: BLE001 - a script's failure is its run's, shown with what it drew
        lines = traceback.format_exception(type(exc), exc, exc.__traceback__)
        shown = [line for line in lines if not line.lstrip().startswith(f'File "{__file__}"')]
        task.logger.error("%s", "".join(shown).rstrip())
        return {"success": False, "error": f"{type(exc).__name__}: {exc}", "outputs": outputs.take()}
    finally:
        linecache.cache.pop(filename, None)
    result: dict[str, Any]
    if value is None:
        result = {}
    elif isinstance(value, Mapping):
        result = dict(value)
    else:
        result = {"result": value}
    kept = outputs.take()
    if kept:
        result["outputs"] = kept
    return result
