"""Load generator of the panel benchmark: N concurrent clients on the schedule page and the JSON API.

``python -m benchmarks.panel_clients BASE_URL CLIENTS SECONDS THINK_S OUT_JSON`` (stdlib only, its own
process, so that the clients never share the server's interpreter). Each client is a thread with
one keep-alive connection that alternates ``GET {base}/schedule`` and ``GET {base}/api/v1/jobs?limit=50``
until SECONDS have passed, waiting THINK_S between two requests (0 = back to back). Every
response's latency (request sent to body read) is kept, by kind; a response that is not 200 or a
connection error is counted as an error. The result file holds the latencies in ms and the counts.
"""

from __future__ import annotations

import http.client
import json
import os
import sys
import threading
import time
import urllib.parse
from typing import Any

PATHS = (("page", "/schedule"), ("api", "/api/v1/jobs?limit=50"))


def client(host: str, port: int, base: str, deadline: float, think_s: float, offset: int,
           out: dict[str, list[float]], errors: list[str], lock: threading.Lock) -> None:
    """One client: a keep-alive connection, alternating the page and the API until *deadline*."""
    mine: dict[str, list[float]] = {kind: [] for kind, _ in PATHS}
    failures: list[str] = []
    conn = http.client.HTTPConnection(host, port, timeout=30)
    turn = offset
    while time.perf_counter() < deadline:
        kind, path = PATHS[turn % len(PATHS)]
        turn += 1
        t0 = time.perf_counter()
        try:
            conn.request("GET", base + path, headers={"Accept": "text/html" if kind == "page" else "application/json"})
            response = conn.getresponse()
            response.read()
            elapsed = (time.perf_counter() - t0) * 1000.0
            if response.status == 200:
                mine[kind].append(elapsed)
            else:
                failures.append(f"{kind}: HTTP {response.status}")
        except (OSError, http.client.HTTPException) as exc:
            failures.append(f"{kind}: {type(exc).__name__}: {exc}")
            conn.close()
            conn = http.client.HTTPConnection(host, port, timeout=30)
        if think_s > 0:
            time.sleep(think_s)
    conn.close()
    with lock:
        for kind, values in mine.items():
            out[kind].extend(values)
        errors.extend(failures)


def main(argv: list[str]) -> int:
    base_url, clients, seconds, think_s, out_path = argv
    parsed = urllib.parse.urlsplit(base_url)
    base = parsed.path.rstrip("/")
    out: dict[str, list[float]] = {kind: [] for kind, _ in PATHS}
    errors: list[str] = []
    lock = threading.Lock()
    started = time.perf_counter()
    deadline = started + float(seconds)
    threads = [threading.Thread(target=client, args=(parsed.hostname, parsed.port, base, deadline, float(think_s), i,
                                                     out, errors, lock), daemon=True) for i in range(int(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(float(seconds) + 60)
    wall = time.perf_counter() - started
    payload: dict[str, Any] = {"clients": int(clients), "seconds": float(seconds), "think_s": float(think_s),
                               "wall_s": round(wall, 3), "latency_ms": out, "errors": len(errors),
                               "error_samples": errors[:10]}
    tmp = f"{out_path}.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(payload, fh)
    os.replace(tmp, out_path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
