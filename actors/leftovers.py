"""Processes a task left behind: find them in the worker's process group and kill them.

Why a module of its own: a worker subprocess leads its own process group, so a kill of the
group reaches everything a task started. But a *successful* run does not end the group: the
subprocess lives on for the next run, and a grandchild the task started (a daemon, a stuck
``subprocess.Popen`` that ignores SIGTERM) would live on with it, run after run. After each
run the subprocess therefore SIGKILLs every other live member of its own group (unless the
``keep_task_processes`` option says to keep them) and reports what it killed in the run's
notes.

Cheap when there is nothing to do (the common case): the worker process is a child
subreaper (`become_subreaper`), so every process a task started that is still around, even one
whose parent exited, is a child of the worker process; one ``waitid(WNOWAIT)`` says whether there
is any, and only then is ``/proc`` scanned.

Linux: members are found in ``/proc/<pid>/stat``; elsewhere nothing is found (and nothing is
killed). A process that left the group (``setsid``) is out of reach, as it is of a group kill.
"""

from __future__ import annotations

import os
import signal
import sys
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


def become_subreaper() -> None:
    """Linux: orphaned descendants of this process become its children (PR_SET_CHILD_SUBREAPER),
    so `has_children` sees every process a task left behind."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_child_subreaper = 36
        try:
            ctypes.CDLL(None, use_errno=True).prctl(pr_set_child_subreaper, 1)
        except (OSError, AttributeError):  # pragma: no cover - then has_children sees direct children only
            pass


def has_children() -> bool:
    """Whether this process has any child, running or exited (one system call; reaps nothing)."""
    try:
        os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return False
    return True


def kill_leftovers() -> list[int]:
    """SIGKILL every other live process of this process's group; reap those that are our
    children (and children that already exited). Returns the pids killed."""
    if not has_children():
        return []
    me = os.getpid()
    _reap_exited()
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


def _reap_exited() -> None:
    """Collect the exit status of children that already ended (orphans this subreaper adopted;
    the task that started them is done), so that they do not pile up as zombies."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


__all__ = ["become_subreaper", "group_members", "has_children", "kill_leftovers"]
