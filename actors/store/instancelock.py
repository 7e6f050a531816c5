"""One server per SQLite store: an exclusive lock on a file beside it.

Why: the embedded SQLite store has no lease and no fencing (`actors.lease` needs a store
server's clock and conditional updates across processes); two servers on one SQLite file
would both dispatch every job. SQLite's own locks only serialise writes, so a second
server must be refused before it starts anything. `InstanceLock` holds ``flock(LOCK_EX)``
on ``<store>.lock`` for the life of the server; the kernel drops it when the process dies
(SIGKILL included), so a crash never leaves a stale lock. The file keeps the holder's
identity for the refusal's message; it is never deleted (deleting it would let a third
process lock a new file while the second still holds the old one).
"""

from __future__ import annotations

import fcntl
import os

from actors.errors import ConfigError

#: Most bytes of the holder's identity read back for the message.
_IDENTITY_MAX = 512


class InstanceLock:
    """An exclusive lock on ``<path>.lock``; `acquire` raises `ConfigError` naming the holder."""

    def __init__(self, store_path: str) -> None:
        self.store_path = os.path.abspath(store_path)
        self.path = self.store_path + ".lock"
        self._fd: int | None = None

    def acquire(self, identity: str) -> InstanceLock:
        """Take the lock (without waiting) and write *identity* into the file. Returns self."""
        if self._fd is not None:
            return self
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.pread(fd, _IDENTITY_MAX, 0).decode("utf-8", "replace").strip() or "unknown"
            os.close(fd)
            raise ConfigError(
                f"db_uri: another das-actors server already uses the SQLite store {self.store_path} (it holds "
                f"{self.path}: {holder}). The embedded SQLite store serves one server at a time: stop that one, "
                "or run several servers on one MongoDB (--db-uri mongodb://...), where one leads and the others "
                "follow (docs/scaling-out.md)") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, identity.encode("utf-8"), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        """Drop the lock (idempotent)."""
        fd, self._fd = self._fd, None
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    @property
    def held(self) -> bool:
        """Whether this object holds the lock."""
        return self._fd is not None
