"""Processes a task left behind: find them in the worker's process group and kill them.

Why a module of its own: a worker subprocess leads its own process group, so a kill of the
group reaches everything a task started. But a *successful* run does not end the group: the
subprocess lives on for the next run, and a grandchild the task started (a daemon, a stuck
``subprocess.Popen`` that ignores SIGTERM) would live on with it, run after run. After each
run the subprocess therefore SIGKILLs every other live member of its own group (unless the
``keep_task_processes`` option says to keep them) and reports what it killed in the run's
notes.

Linux: members are found in ``/proc/<pid>/stat``; elsewhere nothing is found (and nothing is
killed). A process that left the group (``setsid``) is out of reach, as it is of a group kill.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

PROC = Path("/proc")


def _stat(pid_dir: Path) -> tuple[str, int, int] | None:
    """``(state, ppid, pgrp)`` of one /proc entry, None when it is gone or unreadable."""
    try:
        text = (pid_dir / "stat").read_text()
    except OSError:
        return None
    fields = text[text.rfind(")") + 2:].split()  # after "pid (comm) ": state ppid pgrp ...
    if len(fields) < 3:
        return None
    try:
        return fields[0], int(fields[1]), int(fields[2])
    except ValueError:
        return None


def group_members(pgid: int, *, exclude: int) -> list[tuple[int, int]]:
    """``(pid, ppid)`` of every live (not zombie) process of group *pgid* other than *exclude*."""
    if not PROC.is_dir():
        return []
    found: list[tuple[int, int]] = []
    for entry in PROC.iterdir():
        if not entry.name.isdigit() or int(entry.name) == exclude:
            continue
        stat = _stat(entry)
        if stat is not None and stat[2] == pgid and stat[0] not in ("Z", "X"):
            found.append((int(entry.name), stat[1]))
    return found


def kill_leftovers() -> list[int]:
    """SIGKILL every other live process of this process's group; reap those that are our
    children. Returns the pids killed."""
    me = os.getpid()
    members = group_members(os.getpgrp(), exclude=me)
    killed: list[int] = []
    for pid, _ in members:
        try:
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
        except (ProcessLookupError, PermissionError):
            pass
    for pid, ppid in members:
        if ppid == me and pid in killed:
            try:
                os.waitpid(pid, 0)  # SIGKILL cannot be caught: this returns at once
            except ChildProcessError:
                pass  # reaped elsewhere (a Popen the task kept)
    return killed


__all__ = ["group_members", "kill_leftovers"]
