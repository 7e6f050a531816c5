"""The HTTP endpoint through which clients query the das service (``das-actors das-serve``).

``GET /das/query?q=<DAS-QL>`` -> ``200 {"status": "ok"|"cached", "records": [...], "source":
"upstream"|"cache", "latency_ms": ..., "qhash": ..., "expire": ...}``; a query that is not
valid DAS-QL -> 400, an upstream or store failure -> 502, both with ``status: "failed"``
and ``error``. Every query answered here is outside traffic: it is recorded in the query
log, which is what the hotspot tasks learn from.

``GET /das/stats`` -> the service's counters (`DasService.stats`).

A threaded stdlib server (one thread per connection, HTTP/1.1 keep-alive), on loopback
unless told otherwise.
"""

from __future__ import annotations

import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tasks.das.service import DasService

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8214
#: Seconds an idle keep-alive connection is kept open.
IDLE_TIMEOUT_S = 30


class DasHttpServer:
    """Serve *service* at ``http://host:port/das/...`` (port 0 picks a free one)."""

    def __init__(self, service: DasService, *, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> None:
        self.service = service
        self._server = _Server((host, port), _Handler)
        self._server.service = service
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """``http://host:port`` (no trailing slash)."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def query_url(self) -> str:
        """The query endpoint, ``http://host:port/das/query``."""
        return f"{self.url}/das/query"

    def start(self) -> DasHttpServer:
        """Serve in a daemon thread; returns self."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                            name="das-http", daemon=True)
            self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until `stop` is called from another."""
        self._server.serve_forever(poll_interval=0.1)

    def stop(self) -> None:
        """Stop serving and close the listening socket (open keep-alive connections time out)."""
        self._server.shutdown()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> DasHttpServer:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    service: DasService


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    timeout = IDLE_TIMEOUT_S
    wbufsize = 64 * 1024  # headers and body leave in one send (no Nagle/delayed-ACK stall); flushed per request
    disable_nagle_algorithm = True
    server_version = "das-actors-das"

    def do_GET(self) -> None:
        parsed = urllib.parse.urlsplit(self.path)
        path = parsed.path.rstrip("/")
        if path == "/das/query":
            self._query(urllib.parse.parse_qs(parsed.query))
        elif path == "/das/stats":
            self._send(200, self.server.service.stats())
        else:
            self._send(404, {"status": "failed", "error": f"no such endpoint {parsed.path!r} "
                                                          f"(try /das/query?q=... or /das/stats)"})

    def _query(self, params: dict[str, list[str]]) -> None:
        texts = params.get("q") or []
        if len(texts) != 1 or not texts[0].strip():
            self._send(400, {"status": "failed", "error": "give exactly one query: /das/query?q=<DAS-QL>"})
            return
        try:
            result = self.server.service.call(texts[0])
        except ValueError as exc:
            self._send(400, {"status": "failed", "error": str(exc)})
            return
        body = {"status": result.status, "records": result.records, "source": result.source,
                "latency_ms": round(result.latency_s * 1000, 3), "qhash": result.qhash, "expire": result.expire}
        if result.error:
            body["error"] = result.error
        self._send(502 if result.status == "failed" else 200, body)

    def do_POST(self) -> None:
        self.close_connection = True  # the body is not read
        self._send(405, {"status": "failed", "error": "only GET is supported"}, allow="GET")

    do_PUT = do_DELETE = do_PATCH = do_POST

    def _send(self, status: int, payload: Any, *, allow: str | None = None) -> None:
        body = json.dumps(payload, separators=(",", ":"), default=str).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            if allow:
                self.send_header("Allow", allow)
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        pass
