"""A demo upstream API for the das service: a local threaded HTTP server to run against.

Why a module of its own: the das service (`tasks.das.service`) talks to real upstream APIs
through `tasks.das.upstream`; the demo (``das-actors das --demo``), the tests and the hit-ratio
benchmark need one that answers any ``/<system>/<api>?k=v`` with deterministic records, a
configurable TTL (``max-age``) and latency, failure injection and request counters, and
that never leaves loopback unless told. Stdlib only.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
import zlib
from collections import Counter
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


class DemoUpstream:
    """A local upstream: ``GET /<system>/<api>?key=value...`` -> JSON records.

    Each answer holds ``records_per_value`` records built deterministically from the
    parameters (a ``*`` in a value is expanded to ``x0``, ``x1``...), plus ``gen`` (this
    answer's serial number, the same in all its records, so a reader can tell two
    fetches apart) and ``api``. Responses carry ``Cache-Control: max-age=<ttl_s>``
    (``ttl_s=None``: no header) after sleeping ``latency_s``.

    Failure injection: ``fail_status`` (an HTTP status returned instead of data) for the
    next ``fail_count`` requests (None = all of them). ``requests`` counts every request,
    ``counts`` per ``(path, query string)``. Attributes may be changed while it runs.
    """

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, ttl_s: float | None = 60.0,
                 latency_s: float = 0.0, records_per_value: int = 3) -> None:
        self.ttl_s = ttl_s
        self.latency_s = latency_s
        self.records_per_value = records_per_value
        self.fail_status: int | None = None
        self.fail_count: int | None = None
        self.requests = 0
        self.counts: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()
        self._serial = 0
        self._server = _Server((host, port), _DemoHandler)
        self._server.demo = self
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """``http://host:port`` (no trailing slash)."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> DemoUpstream:
        """Serve in a daemon thread; returns self."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                            name="das-demo-upstream", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(5)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> DemoUpstream:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def fail(self, status: int | None = 500, count: int | None = None) -> None:
        """Answer the next *count* requests (None: all) with HTTP *status* (None: stop failing)."""
        with self._lock:
            self.fail_status, self.fail_count = status, count

    def config(self, *, expire_s: float = 60.0, timeout_s: float = 5.0, retries: int = 2,
               retry_delay_s: float = 0.05) -> list[dict[str, Any]]:
        """Upstream dicts for `Upstreams` pointing here: dbs/datasets (``dataset``,
        ``dataset.name``), dbs/files (``file``, ``dataset.name``), dbs/blocks (``block``,
        ``block.name``) and phedex/sites (``site``, ``site.name``)."""
        common = {"expire_s": expire_s, "timeout_s": timeout_s, "retries": retries, "retry_delay_s": retry_delay_s}
        return [
            {"system": "dbs", "api": "datasets", "keys": ["dataset", "dataset.name"],
             "url": f"{self.url}/dbs/datasets?dataset.name={{dataset.name}}", **common},
            {"system": "dbs", "api": "files", "keys": ["file", "dataset.name"],
             "url": f"{self.url}/dbs/files?dataset.name={{dataset.name}}", **common},
            {"system": "dbs", "api": "blocks", "keys": ["block", "block.name"],
             "url": f"{self.url}/dbs/blocks?block.name={{block.name}}", **common},
            {"system": "phedex", "api": "sites", "keys": ["site", "site.name"],
             "url": f"{self.url}/phedex/sites?site.name={{site.name}}", **common},
        ]

    def write_config(self, path: str | Path, **options: Any) -> Path:
        """Write `config` as a JSON file (the ``das_upstreams`` file); returns its path."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(self.config(**options), indent=2) + "\n", encoding="utf-8")
        return target

    def _next(self, path: str, query: str) -> tuple[int | None, int]:
        """Count a request; (status to fail with or None, serial number of the answer)."""
        with self._lock:
            self.requests += 1
            self.counts[(path, query)] += 1
            if self.fail_status is not None and (self.fail_count is None or self.fail_count > 0):
                if self.fail_count is not None:
                    self.fail_count -= 1
                return self.fail_status, 0
            self._serial += 1
            return None, self._serial

    def answer(self, path: str, params: Mapping[str, str], serial: int) -> list[dict[str, Any]]:
        """The records for one request (deterministic but for ``gen``)."""
        parts = [p for p in path.split("/") if p]
        api = "/".join(parts) or "root"
        records = []
        for position in range(self.records_per_value):
            record: dict[str, Any] = {"api": api, "gen": serial, "part": position}
            for key, value in sorted(params.items()):
                expanded = value
                for star in range(value.count("*")):
                    expanded = expanded.replace("*", f"x{position}{'abcdefgh'[star % 8]}", 1)
                head, _, tail = key.partition(".")
                entry = record.setdefault(head, {})
                if isinstance(entry, dict):
                    entry[tail or "value"] = expanded
                    entry["size"] = zlib.crc32(f"{expanded}#{position}".encode()) % 100000
            records.append(record)
        return records


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # never wait for keep-alive connections on close
    demo: DemoUpstream


class _DemoHandler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    timeout = 30
    wbufsize = 64 * 1024  # headers and body leave in one send (no Nagle/delayed-ACK stall); flushed per request
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        demo = self.server.demo
        parsed = urllib.parse.urlsplit(self.path)
        status, serial = demo._next(parsed.path, parsed.query)
        if demo.latency_s > 0:
            time.sleep(demo.latency_s)
        if status is not None:
            self._send(status, {"error": f"injected failure {status}"}, None)
            return
        params = dict(urllib.parse.parse_qsl(parsed.query, keep_blank_values=True))
        self._send(200, demo.answer(parsed.path, params, serial), demo.ttl_s)

    def _send(self, status: int, payload: Any, ttl_s: float | None) -> None:
        body = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            if ttl_s is not None:
                self.send_header("Cache-Control", f"max-age={max(0, int(ttl_s))}")
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # the client timed out and left
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        pass


__all__ = ["DemoUpstream"]
