"""The SQLite file under faults: is the file at the path still the one we opened, and if it
was deleted, how to put it back without losing anything.

Why a module of its own: SQLite keeps writing into an open file after it was unlinked.
Deleted while the server runs (``rm das-actors.db``, a clean-up job, a full disk rotated
away), writes "succeed" into an inode nobody will ever read again, and after a restart every
job and result added since is gone. So the journal asks, every second, whether the path
still names the file it opened (``st_dev``/``st_ino`` of the path against those recorded at
open); if it is gone, the open connection still reads the old inode, so its whole content,
job records and documents, is copied into a new file by SQLite's online backup, which then
replaces the path. A path that names *another* file (replaced, not deleted) is left alone
and reported: somebody put it there on purpose.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3

from actors.errors import StoreError

Identity = tuple[int, int]


def file_identity(path: str) -> Identity | None:
    """``(st_dev, st_ino)`` of *path*, None when there is no such file."""
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return None
    return stat.st_dev, stat.st_ino


def file_problem(path: str, opened: Identity | None) -> str | None:
    """What is wrong with the file at *path* given the identity recorded at open, else None."""
    if opened is None:
        return None
    now = file_identity(path)
    if now is None:
        return f"the database file {path} was deleted while open (writes would be lost; the journal recreates it)"
    if now != opened:
        return (f"the database file {path} was replaced by another file while open (writes go to the old one; "
                "restart the server to use the new file)")
    return None


def backup_to_temp(path: str, source: sqlite3.Connection) -> str:
    """Copy everything *source* (a connection to the deleted file) sees into a new file beside
    *path*; returns the new file's path (`StoreError` when that fails)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)) or ".", exist_ok=True)
    temp = f"{path}.recover-{os.getpid()}"
    for leftover in (temp, f"{temp}-wal", f"{temp}-shm", f"{temp}-journal"):
        with contextlib.suppress(FileNotFoundError):
            os.remove(leftover)
    try:
        target = sqlite3.connect(temp)
        try:
            source.backup(target)
        finally:
            target.close()
    except (sqlite3.Error, OSError) as exc:
        raise StoreError(f"sqlite store {path}: copying the deleted file failed: {exc}") from exc
    return temp


def install(temp: str, path: str) -> None:
    """Put the recovered file *temp* at *path*, after removing the old file's leftover WAL and
    shared-memory files (they belong to the deleted inode; a new file must not read them)."""
    for sidecar in (f"{path}-wal", f"{path}-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.remove(sidecar)
    try:
        os.replace(temp, path)
    except OSError as exc:
        raise StoreError(f"sqlite store {path}: putting the recovered file in place failed: {exc}") from exc


__all__ = ["Identity", "backup_to_temp", "file_identity", "file_problem", "install"]
