"""`Script`: the task class of scripts written in the panel (its source is its argument).

A script becomes a task through this class: a job (or a one-off run) of ``Script`` with the
script's source, name, version and arguments as its keyword arguments. The source travels in
the run itself (capped at ``script_max_bytes`` by the server), so a worker needs nothing else
to run it, and a scheduled job keeps running the version it was scheduled with. The work is
`tasks.scripting.runner`'s, imported only when a script runs.
"""

from __future__ import annotations

from typing import Any

from tasks.base import TaskBase


class Script(TaskBase):
    """Runs a script written in the panel: a task class it defines, or its top-level code with ``args``."""

    task_title = "Script (written in the panel)"
    task_options = [
        {"name": "source", "type": "str", "help": "the script's Python source"},
        {"name": "script", "type": "str", "default": "", "help": "the script's name"},
        {"name": "version", "type": "int", "default": 0, "help": "the saved version run (0: not saved)"},
        {"name": "args", "type": "dict", "default": {}, "help": "arguments: the dict `args` in the script"},
        {"name": "max_output_bytes", "type": "int", "default": 2 * 1024 * 1024,
         "help": "largest plots and tables kept, bytes"},
    ]

    def __call__(self) -> dict[str, Any]:
        from tasks.scripting.runner import run_script

        return run_script(self)
