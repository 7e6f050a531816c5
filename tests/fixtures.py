"""Task classes used by the system tests; importable by spawned worker processes.

Referenced as ``tests.fixtures:ClassName``. Cross-process coordination uses marker files
(paths passed as arguments), never sleeps in the test itself.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

from tests.taskbase import TaskBase


def write_marker(path: str, text: str) -> None:
    """Write *text* to *path* atomically (a temp file renamed), so a test that sees the file sees
    its content too (a plain write_text can be seen empty for a moment)."""
    temp = Path(f"{path}.{os.getpid()}.tmp")
    temp.write_text(text)
    os.replace(temp, path)


_Base = TaskBase


class Ok(_Base):
    """Returns its arguments; logs one line."""

    def __call__(self) -> dict[str, Any]:
        self.logger.info("ok run %s attempt %s", self.index, self.attempt)
        return {"value": self.kw.get("value"), "index": self.index}


class Fail(_Base):
    """Raises on every attempt (or returns success False when asked)."""

    def __call__(self) -> dict[str, Any]:
        if self.kw.get("soft"):
            return {"success": False, "error": "soft failure"}
        raise ValueError(f"failing on purpose, attempt {self.attempt}")


class FailThenOk(_Base):
    """Fails on attempt 0, succeeds afterwards."""

    def __call__(self) -> dict[str, Any]:
        if self.attempt == 0:
            raise RuntimeError("first attempt fails")
        return {"recovered": True}


class Next(_Base):
    """Asks to run again at due_at + delay."""

    def __call__(self) -> dict[str, Any]:
        return {"next": self.due_at + float(self.kw["delay"])}


class Stop(_Base):
    """Asks not to be resubmitted."""

    def __call__(self) -> dict[str, Any]:
        return {"resubmit": False}


class Spawn(_Base):
    """Returns the given new_tasks once (children of children get none)."""

    def __call__(self) -> dict[str, Any]:
        return {"new_tasks": self.kw.get("children", [])}


class Mark(_Base):
    """Writes its pid to ``marker`` and sleeps ``seconds`` on attempt 0; returns at once later."""

    def __call__(self) -> dict[str, Any]:
        if self.attempt == 0:
            write_marker(self.kw["marker"], str(os.getpid()))
            time.sleep(float(self.kw.get("seconds", 60)))
        return {"attempt": self.attempt}


class Hang(_Base):
    """Never returns; ignores SIGTERM when ``stubborn`` (so only SIGKILL ends it)."""

    def __call__(self) -> dict[str, Any]:
        if self.kw.get("stubborn"):
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        write_marker(self.kw["marker"], str(os.getpid()))
        while True:
            time.sleep(1)


class Hog(_Base):
    """Allocates ``mb`` MiB at once."""

    def __call__(self) -> dict[str, Any]:
        block = bytearray(int(self.kw.get("mb", 1024)) * 1024 * 1024)
        return {"allocated": len(block)}


class Unstorable(_Base):
    """Returns values that are not JSON and keys a document store refuses."""

    def __call__(self) -> dict[Any, Any]:
        return {"when": object(), "a.b": 1, "$x": 2, 3: "int key", "nan": float("nan"), "ok": [1, 2]}


class Chatty(_Base):
    """Logs ``lines`` lines and prints one."""

    def __call__(self) -> dict[str, Any]:
        for i in range(int(self.kw.get("lines", 10))):
            self.logger.info("line %d", i)
        print("printed to stdout")
        return {"lines": self.kw.get("lines", 10)}


class Tally(_Base):
    """Appends ``job_id index attempt slot`` to the file *path*, one atomic line per execution: a
    count of real executions that does not depend on the store (the crash tests count doubles).
    With *busy_s*, it then works that long (so a kill can meet it in flight)."""

    def __call__(self) -> dict[str, Any]:
        line = f"{self.kw['job_id']} {self.index} {self.attempt} {self.due_at!r}\n".encode()
        fd = os.open(self.kw["path"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)
        if self.kw.get("busy_s"):
            time.sleep(float(self.kw["busy_s"]))
        return {"tallied": True}
