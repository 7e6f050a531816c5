"""`actors.pipespace` on a real pipe: the kernel's count of unread bytes, the send buffer."""

from __future__ import annotations

import multiprocessing
import sys

import pytest

from actors.pipespace import send_buffer, unread_bytes


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="SIOCOUTQ is Linux's")
def test_unread_bytes_counts_what_the_reader_has_not_read() -> None:
    parent, child = multiprocessing.Pipe(duplex=True)
    try:
        assert unread_bytes(parent) == 0
        parent.send_bytes(b"x" * 10_000)
        unread = unread_bytes(parent)
        assert unread is not None and unread >= 10_000
        assert child.recv_bytes() == b"x" * 10_000
        assert unread_bytes(parent) == 0
        assert send_buffer(parent) >= 10_000
        assert parent.fileno() >= 0  # the Connection keeps its descriptor
    finally:
        parent.close()
        child.close()
    with pytest.raises(OSError):
        parent.fileno()
    assert unread_bytes(parent) is None
