"""Slow clients cannot take the web server: reading a request holds no thread, tails have a cap.

The probe: 16 connections that send a partial request line, then a byte a second, held
all 16 cheroot threads, so the panel, the API and ``/healthz`` stopped answering before any
authentication. Here twice as many connections as there are request threads trickle
while a normal ``GET /healthz`` must *arrive* within one second (the client's socket
timeout is the deadline: a late answer raises). A request that trickles past
``web_request_timeout`` is cut off; live tails beyond ``web_max_tails`` get 503 with
Retry-After, and a tail whose client hangs up frees its slot at once (well before the
15-second heartbeat would have noticed).
"""

from __future__ import annotations

import http.client
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from tests.web.conftest import start_system, wait_for

pytestmark = pytest.mark.system

THREADS = 16
SLOW = 2 * THREADS
#: The deadline of a normal request while the slow ones trickle, seconds.
ANSWER_WITHIN_S = 1.0


class Trickler:
    """*count* connections that each send the start of a request, then one byte every *every_s*."""

    def __init__(self, port: int, count: int, every_s: float = 1.0) -> None:
        self.port, self.every_s = port, every_s
        self.socks: list[socket.socket] = []
        self.rounds = 0
        self.round_done = threading.Condition()
        self._stop = threading.Event()
        for _ in range(count):
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            sock.sendall(f"GET /analytics/healthz HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-Slow: ".encode())
            self.socks.append(sock)
        self._thread = threading.Thread(target=self._trickle, daemon=True)
        self._thread.start()

    def _trickle(self) -> None:
        while not self._stop.wait(self.every_s):
            for sock in self.socks:
                try:
                    sock.send(b"a")
                except OSError:
                    pass
            with self.round_done:
                self.rounds += 1
                self.round_done.notify_all()

    def wait_rounds(self, rounds: int, timeout: float = 30.0) -> None:
        with self.round_done:
            assert self.round_done.wait_for(lambda: self.rounds >= rounds, timeout), "the trickler stalled"

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        for sock in self.socks:
            sock.close()


def timed_get(port: int, path: str, timeout: float) -> tuple[int, float]:
    """``(status, seconds)`` of one GET whose whole answer must arrive within *timeout*."""
    started = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        resp.read()
        return resp.status, time.monotonic() - started
    finally:
        conn.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator:
    system = start_system(tmp_path_factory.mktemp("slow"), web=True, web_port=0, web_threads=THREADS,
                          web_max_tails=2)
    wait_for(lambda: all(w["status"] == "idle" for w in system.workers()), 30)
    yield system
    system.shutdown(grace_s=0.5)


def test_healthz_answers_within_a_second_while_more_slow_clients_than_threads_trickle(server):
    trickler = Trickler(server.web_port, SLOW)
    try:
        trickler.wait_rounds(2)  # every slow connection has been accepted and is mid-request
        took = []
        for _ in range(3):
            status, seconds = timed_get(server.web_port, "/analytics/healthz", ANSWER_WITHIN_S)
            assert status == 200
            took.append(seconds)
        for path in ("/analytics/api/v1/jobs", "/analytics/schedule"):
            assert timed_get(server.web_port, path, 5.0)[0] == 200
        alive = sum(1 for sock in trickler.socks if _still_open(sock))
        assert alive == SLOW  # the slow clients were all still held open while the others were served
        print(f"\n{SLOW} slow connections ({THREADS} threads): healthz answered in "
              + ", ".join(f"{s * 1000:.1f} ms" for s in took))
    finally:
        trickler.close()


def _still_open(sock: socket.socket) -> bool:
    sock.setblocking(False)
    try:
        return sock.recv(1, socket.MSG_PEEK) != b""
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        sock.setblocking(True)


def test_a_request_trickling_past_the_timeout_is_cut_off(tmp_path):
    system = start_system(tmp_path, web=True, web_port=0, web_request_timeout=1.0)
    trickler = None
    try:
        port = system.web_port
        assert port
        started = time.monotonic()
        silent = socket.create_connection(("127.0.0.1", port), timeout=10.0)  # connects, never says a word
        trickler = Trickler(port, 3, every_s=0.2)
        sock = trickler.socks[0]
        sock.settimeout(10.0)  # the deadline: closed by the server well before
        assert sock.recv(100) == b""  # EOF: the server closed it, though it never stopped sending
        assert trickler.rounds >= 3  # ... and it was still trickling when cut off
        assert silent.recv(100) == b""
        silent.close()
        assert timed_get(port, "/analytics/healthz", ANSWER_WITHIN_S)[0] == 200
        print(f"\ncut off after {time.monotonic() - started:.2f} s (web_request_timeout = 1.0 s)")
    finally:
        if trickler is not None:
            trickler.close()
        system.shutdown(grace_s=0.5)


def test_a_request_sent_in_pieces_within_the_timeout_is_served(tmp_path):
    system = start_system(tmp_path, web=True, web_port=0, web_request_timeout=5.0)
    try:
        with socket.create_connection(("127.0.0.1", system.web_port), timeout=10) as sock:
            sock.sendall(b"GET /analytics/healthz HTTP/1.1\r\nHost: localhost\r\n")
            pause = threading.Event()
            pause.wait(0.3)  # a slow but honest client, well within the 5 s
            sock.sendall(b"Connection: close\r\n\r\n")
            answer = b""
            while chunk := sock.recv(4096):
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 200")
    finally:
        system.shutdown(grace_s=0.5)


# ------------------------------------------------------------------------------------ live tails
def open_tail(port: int) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/analytics/api/v1/logs/tail?type=log")
    return conn, conn.getresponse()


def test_tails_beyond_the_cap_get_503_with_retry_after_and_pages_still_answer(server):
    tails = server.web.app.state.tails
    opened = [open_tail(server.web_port) for _ in range(2)]
    try:
        for _, resp in opened:
            assert resp.status == 200 and resp.readline().startswith(b": das-actors live tail")
        conn, refused = open_tail(server.web_port)
        assert refused.status == 503 and int(refused.getheader("Retry-After") or 0) >= 1
        assert b"too many live tails" in refused.read()
        conn.close()
        assert len(tails) == 2
        assert timed_get(server.web_port, "/analytics/healthz", ANSWER_WITHIN_S)[0] == 200
        assert timed_get(server.web_port, "/analytics/schedule", 5.0)[0] == 200
    finally:
        for conn, resp in opened:
            resp.close()  # the response holds the socket open too
            conn.close()
    wait_for(lambda: len(tails) == 0, timeout=5)


def test_a_tail_whose_client_hangs_up_frees_its_slot_at_once(server):
    tails = server.web.app.state.tails
    wait_for(lambda: len(tails) == 0, timeout=5)
    conn, resp = open_tail(server.web_port)
    assert resp.readline().startswith(b": das-actors live tail")
    assert len(tails) == 1
    hung_up = time.monotonic()
    resp.close()
    conn.close()
    wait_for(lambda: len(tails) == 0, timeout=3, every=0.02)  # the heartbeat (15 s) would be far too late
    freed_after = time.monotonic() - hung_up
    again, resp = open_tail(server.web_port)
    try:
        assert resp.status == 200
    finally:
        again.close()
    print(f"\ntail slot freed {freed_after * 1000:.0f} ms after the client hung up (heartbeat: 15 s)")


def test_the_connection_limit_leaves_descriptors_for_the_rest(monkeypatch):
    import resource

    from web import front

    monkeypatch.setattr(resource, "getrlimit", lambda _which: (1024, 4096))
    assert front.fitting_connection_limit(1000) == 1024 - front.RESERVED_FDS
    assert front.fitting_connection_limit(100) == 100
