"""The worker actor's end of its process's pipe: the reader thread, and how much is unread.

Why a module of its own: what arrives is read by a thread (`read_pipe`) that turns it into
messages for the actor, so the actor's inbox is never blocked on the pipe. And the worker
actor appends runs to a busy process's queue (`actors.workerload`), while a process that runs
a long task reads nothing meanwhile. If the appended runs filled the socket's send buffer,
``send`` would block the worker actor, and with it the timeout that should end that task. So
before an append the actor asks the kernel how many bytes are still unread (``SIOCOUTQ``:
exact, about a microsecond) and refuses the append when they would pass a share of the send
buffer. Where the kernel cannot say (not Linux), nothing is appended: runs wait for an idle
worker, as without staging.
"""

from __future__ import annotations

import fcntl
import socket
import struct
import sys
from multiprocessing.connection import Connection
from typing import Any

import pykka

from actors.messages import ChildExited, ChildLogs, ChildReady, ChildResults

#: ``SIOCOUTQ`` (Linux ``TIOCOUTQ``): bytes a unix socket holds that its reader has not read.
_SIOCOUTQ = 0x5411
#: Send buffer assumed when the socket does not say.
_DEFAULT_SNDBUF = 64 * 1024


def unread_bytes(conn: Connection) -> int | None:
    """Bytes sent on *conn* that the other end has not read yet; None when unknown."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        answer = fcntl.ioctl(conn.fileno(), _SIOCOUTQ, b"\0\0\0\0")
    except (OSError, ValueError):
        return None
    return int(struct.unpack("i", answer)[0])


def send_buffer(conn: Connection) -> int:
    """The size of *conn*'s send buffer, bytes (the kernel's figure)."""
    try:
        sock = socket.socket(fileno=conn.fileno())
    except OSError:
        return _DEFAULT_SNDBUF
    try:
        return int(sock.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF))
    except OSError:
        return _DEFAULT_SNDBUF
    finally:
        sock.detach()  # the descriptor stays the Connection's


def read_pipe(ref: pykka.ActorRef[Any], gen: int, conn: Connection, process: Any) -> None:
    """Reader thread: turn pipe traffic into messages to the worker actor until EOF."""
    try:
        while True:
            message = conn.recv()
            kind = message[0]
            if kind == "logs":
                ref.tell(ChildLogs(gen, message[1]))
            elif kind == "results":
                ref.tell(ChildResults(gen, message[1]))
            elif kind == "ready":
                ref.tell(ChildReady(gen, message[1]))
    except (EOFError, OSError):
        pass
    except pykka.ActorDeadError:
        return
    finally:
        conn.close()
    process.join()
    try:
        ref.tell(ChildExited(gen, process.exitcode))
    except pykka.ActorDeadError:
        pass
