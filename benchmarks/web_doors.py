"""The web door under attack: slow clients, token guessing, plain throughput (issue 11).

    python -m benchmarks.web_doors [--slow 32] [--seconds 3]

Starts a real `Server` serving the panel on a free port (whatever server the checkout
has: run it in an older checkout to compare) and prints, as JSON:

- ``slow``: *N* connections each send a partial request, then one byte a second; with them
  trickling, the time a normal ``GET /healthz`` takes to answer (``null`` when it did not
  answer within the 5 s client timeout), three tries;
- ``login``: one keep-alive client sends wrong Bearer tokens for *seconds*: how many were
  checked (401) and how many refused unchecked (429) per second;
- ``throughput``: sequential ``GET /healthz`` on one keep-alive connection, requests per
  second, and 8 such clients at once.

Only public interfaces (``Server``, HTTP) are used, so the same file runs against the old
cheroot server and the waitress front.
"""

from __future__ import annotations

import argparse
import http.client
import json
import socket
import tempfile
import threading
import time
from collections import Counter
from typing import Any

from actors.config import Settings
from actors.server import Server

TOKEN = "bench-token-0123456789"


def start(tmp: str, **extra: Any) -> tuple[Server, int]:
    values = {"db_uri": f"sqlite:///{tmp}/store.db", "workers": 1, "minimum_interval": 0.0, "web": True,
              "web_port": 0, "shutdown_grace": 0.5, **extra}
    system = Server(Settings(values)).start()
    assert system.web_port is not None
    return system, system.web_port


def timed_healthz(port: int, timeout: float = 5.0) -> float | None:
    started = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", "/analytics/healthz")
        conn.getresponse().read()
        return round((time.monotonic() - started) * 1000, 2)
    except (TimeoutError, OSError):
        return None
    finally:
        conn.close()


def slow_clients(port: int, count: int) -> dict[str, Any]:
    socks = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        sock.sendall(f"GET /analytics/healthz HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-Slow: ".encode())
        socks.append(sock)
    stop = threading.Event()

    def trickle() -> None:
        while not stop.wait(1.0):
            for sock in socks:
                try:
                    sock.send(b"a")
                except OSError:
                    pass

    thread = threading.Thread(target=trickle, daemon=True)
    thread.start()
    stop.wait(2.5)  # two trickles: every connection is mid-request
    try:
        return {"connections": count, "healthz_ms": [timed_healthz(port) for _ in range(3)]}
    finally:
        stop.set()
        thread.join()
        for sock in socks:
            sock.close()


def login_rate(port: int, seconds: float) -> dict[str, Any]:
    statuses: Counter[int] = Counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    deadline = time.monotonic() + seconds
    n = 0
    while time.monotonic() < deadline:
        n += 1
        conn.request("GET", "/analytics/api/v1/jobs", headers={"Authorization": f"Bearer wrong-{n}"})
        resp = conn.getresponse()
        resp.read()
        statuses[resp.status] += 1
    conn.close()
    return {"seconds": seconds, "checked_per_s": round(statuses[401] / seconds, 1),
            "refused_unchecked_per_s": round(statuses[429] / seconds, 1), "statuses": dict(statuses)}


def throughput(port: int, seconds: float, clients: int) -> float:
    counts = [0] * clients

    def run(i: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            conn.request("GET", "/analytics/healthz")
            conn.getresponse().read()
            counts[i] += 1
        conn.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return round(sum(counts) / seconds, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--slow", type=int, default=32, help="slow connections (default 32: twice 16 threads)")
    parser.add_argument("--seconds", type=float, default=3.0, help="duration of the rate measurements")
    args = parser.parse_args()
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        system, port = start(tmp)
        try:
            out["throughput_req_per_s"] = {"1 client": throughput(port, args.seconds, 1),
                                           "8 clients": throughput(port, args.seconds, 8)}
            out["slow"] = slow_clients(port, args.slow)
        finally:
            system.shutdown(grace_s=0.5)
    with tempfile.TemporaryDirectory() as tmp:
        system, port = start(tmp, web_token=TOKEN)
        try:
            out["login"] = login_rate(port, args.seconds)
        finally:
            system.shutdown(grace_s=0.5)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
