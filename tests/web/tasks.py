"""Task classes for the web tests; importable by spawned workers as ``tests.web.tasks:Name``."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from tests.taskbase import TaskBase

#: What the XSS probe puts everywhere it can: result fields, log lines, errors.
PAYLOAD = "<script>alert(1)</script>"
IMG = '<img src=x onerror="alert(2)">'



def write_marker(path: str, text: str) -> None:
    """Write *text* to *path* atomically (a temp file renamed), so a test that sees the file sees
    its content too (a plain write_text can be seen empty for a moment)."""
    temp = Path(f"{path}.{os.getpid()}.tmp")
    temp.write_text(text)
    os.replace(temp, path)


_Base = TaskBase


class Say(_Base):
    """Logs ``message`` and returns it (``lines`` extra numbered lines)."""

    task_options = [{"name": "message", "type": "str", "default": "hello", "help": "logged by every run"},
                    {"name": "lines", "type": "int", "default": 0, "help": "extra numbered lines"}]

    def __call__(self) -> dict[str, Any]:
        self.logger.info("%s", self.kw.get("message", "hello"))
        for i in range(int(self.kw.get("lines") or 0)):
            self.logger.info("line %d", i)
        return {"said": self.kw.get("message", "hello"), "index": self.index}


class FreeSay(Say):
    """`Say` that also takes arguments it does not declare (``task_free_options``)."""

    task_free_options = True


class Xss(_Base):
    """Returns and logs script payloads; raises one when ``fail`` is true."""

    def __call__(self) -> dict[str, Any]:
        self.logger.info("log line with %s and %s", PAYLOAD, IMG)
        self.logger.warning(PAYLOAD)
        if self.kw.get("fail"):
            raise ValueError(f"error with {PAYLOAD}")
        return {"html": PAYLOAD, "nested": {IMG: [PAYLOAD, {"deeper": IMG}]}, "quote": "\"'><svg onload=alert(3)>"}


class Block(_Base):
    """Writes its pid to ``marker`` then sleeps ``seconds`` (a long run to look at or cancel)."""

    def __call__(self) -> dict[str, Any]:
        write_marker(self.kw["marker"], str(os.getpid()))
        time.sleep(float(self.kw.get("seconds", 60)))
        return {"slept": self.kw.get("seconds", 60)}


class Typed(_Base):
    """Declares one option of every type (the Control page's generated form), and takes undeclared
    arguments too (``task_free_options``: the form's free ``kwargs`` field)."""

    task_free_options = True
    task_options = [
        {"name": "text", "type": "str", "help": "required text"},
        {"name": "count", "type": "int", "default": 2, "help": "an integer"},
        {"name": "ratio", "type": "float", "default": 0.5, "help": "a number"},
        {"name": "flag", "type": "bool", "default": False, "help": "a switch"},
        {"name": "items", "type": "list", "default": [], "help": "a list"},
        {"name": "extra", "type": "json", "default": None, "help": "anything"},
    ]

    def __call__(self) -> dict[str, Any]:
        return {k: self.kw.get(k) for k in ("text", "count", "ratio", "flag", "items", "extra")}
