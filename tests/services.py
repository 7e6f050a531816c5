"""A real MongoDB-compatible server for the store tests, found or started once per session.

In this order: ``MONGO_URI`` if set (someone else's server: never stopped); else ``mongod``
on PATH, started on a free loopback port with a temporary ``--dbpath``; else FerretDB 1.24
(SQLite backend) from ``${DAS_ACTORS_CACHE:-~/.cache/das-actors}/bin/ferretdb``, which
``scripts/provision-ferretdb.sh`` builds. Servers started here can be stopped and started
again on the same port and data directory (the outage test). With none available the
fixture fails when ``CI`` is set and skips otherwise.
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from pymongo import MongoClient
from pymongo.errors import PyMongoError

READY_DEADLINE_S = 60.0
STOP_DEADLINE_S = 15.0
PROVISION_HINT = "run scripts/provision-ferretdb.sh (needs Go), put mongod on PATH, or set MONGO_URI"


def cache_dir() -> Path:
    return Path(os.environ.get("DAS_ACTORS_CACHE") or Path.home() / ".cache" / "das-actors")


def ferretdb_binary() -> Path:
    return cache_dir() / "bin" / "ferretdb"


def _ferretdb_version(binary: Path) -> str | None:
    """``v1.24.x`` if *binary* runs and is a 1.24 release, else None."""
    try:
        out = subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    for line in out.stdout.splitlines():
        if line.startswith("version:"):
            version = line.split(":", 1)[1].strip()
            return version if version.startswith("v1.24") else None
    return None


def plan() -> tuple[str, str]:
    """(kind, what) of the server this session would use, without starting anything.

    kind is ``uri``, ``mongod``, ``ferretdb`` or ``none`` (then *what* is the reason).
    """
    if os.environ.get("MONGO_URI"):
        return "uri", "MONGO_URI"
    mongod = shutil.which("mongod")
    if mongod:
        return "mongod", mongod
    binary = ferretdb_binary()
    if binary.is_file():
        version = _ferretdb_version(binary)
        if version:
            return "ferretdb", f"FerretDB {version} (SQLite backend)"
        return "none", f"{binary} is not a working FerretDB v1.24 binary; {PROVISION_HINT}"
    return "none", f"no MONGO_URI, no mongod on PATH, no {binary}; {PROVISION_HINT}"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ping(uri: str, timeout_s: float = 0.5) -> dict[str, object] | None:
    """buildInfo of the server at *uri* if it answers ``ping`` now, else None."""
    client: MongoClient[dict[str, object]] = MongoClient(
        uri, serverSelectionTimeoutMS=int(timeout_s * 1000), connectTimeoutMS=int(timeout_s * 1000))
    try:
        client.admin.command("ping")
        return dict(client.admin.command("buildInfo"))
    except PyMongoError:
        return None
    finally:
        client.close()


@dataclass
class MongoService:
    """A server the tests may use; `stop`/`start` only for one this module started."""

    kind: str
    uri: str
    description: str = ""
    argv: list[str] = field(default_factory=list)
    workdir: Path | None = None
    process: subprocess.Popen[bytes] | None = None

    @property
    def restartable(self) -> bool:
        return bool(self.argv)

    def require_restartable(self, why: str) -> None:
        """A fault test stops and starts this server: one at MONGO_URI is not ours to stop. Fails
        when ``CI`` is set (a skip would hide the test there), skips otherwise; *why* names the test."""
        if self.restartable:
            return
        import pytest

        reason = f"the server at MONGO_URI is not ours to stop: {why} needs mongod or FerretDB (unset MONGO_URI)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)

    def start(self) -> None:
        """Start the server process (same port, same data) and wait until it answers."""
        assert self.restartable and self.workdir is not None, "not a server this session started"
        if self.process is not None and self.process.poll() is None:
            return
        log = (self.workdir / "server.log").open("ab")
        try:
            self.process = subprocess.Popen(self.argv, stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir)
        finally:
            log.close()
        deadline = time.monotonic() + READY_DEADLINE_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.argv[0]} exited with {self.process.returncode}: {self.log_tail()}")
            info = ping(self.uri)
            if info is not None:
                version = info.get("ferretdbVersion") or info.get("version")
                what = "FerretDB" if info.get("ferretdbVersion") else "MongoDB"
                backend = " (SQLite backend)" if self.kind == "ferretdb" else ""
                self.description = f"{what} {version}{backend} at {self.uri}"
                return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.argv[0]} did not answer ping within {READY_DEADLINE_S:g}s: {self.log_tail()}")

    def stop(self) -> None:
        """Terminate the server process and wait for it to exit."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(STOP_DEADLINE_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(STOP_DEADLINE_S)

    def log_tail(self, chars: int = 2000) -> str:
        path = self.workdir / "server.log" if self.workdir else None
        if path is None or not path.exists():
            return "(no log)"
        return path.read_text(errors="replace")[-chars:].strip() or "(empty log)"


def _ferretdb_argv(binary: Path, port: int, data: Path) -> list[str]:
    argv = [str(binary), "--handler=sqlite", f"--sqlite-url=file:{data}/", f"--listen-addr=127.0.0.1:{port}",
            "--telemetry=disable", "--log-level=error", "--debug-addr=-", f"--state-dir={data}"]
    help_text = subprocess.run([str(binary), "--help"], capture_output=True, text=True, timeout=20,
                               check=False).stdout  # fmt: skip
    # Trim capped collections every 250 ms (default 1 min), a fifth of the documents per pass.
    if "--test-capped-cleanup-interval" in help_text:
        argv.append("--test-capped-cleanup-interval=250ms")
    if "--test-capped-cleanup-percentage" in help_text:
        argv.append("--test-capped-cleanup-percentage=20")
    return argv


_current: MongoService | None = None


def describe() -> str:
    """Which server the store tests use (once started) or would use, e.g.
    ``FerretDB v1.24.2 (SQLite backend)``."""
    if _current is not None:
        return _current.description
    kind, what = plan()
    return {"uri": "the server at MONGO_URI", "mongod": f"mongod ({what})"}.get(kind, what)


def start_service(workdir: Path) -> MongoService:
    """Find or start the server (see the module docstring); raises `LookupError` if none."""
    global _current  # noqa: PLW0603 - one server per test session
    _current = _start(workdir)
    atexit.register(_current.stop)  # also when the session ends abnormally
    return _current


def _start(workdir: Path) -> MongoService:
    kind, what = plan()
    if kind == "uri":
        uri = os.environ["MONGO_URI"]
        info = ping(uri, timeout_s=10)
        if info is None:
            raise LookupError(f"MONGO_URI={uri!r} does not answer ping")
        version = info.get("ferretdbVersion") or info.get("version")
        return MongoService("uri", uri, f"MONGO_URI server, {'FerretDB' if info.get('ferretdbVersion') else 'MongoDB'} "
                                         f"{version}")  # fmt: skip
    if kind == "none":
        raise LookupError(what)
    data = workdir / "data"
    data.mkdir(parents=True, exist_ok=True)
    port = free_port()
    if kind == "mongod":
        argv = [what, "--port", str(port), "--bind_ip", "127.0.0.1", "--dbpath", str(data), "--quiet",
                "--setParameter", "diagnosticDataCollectionEnabled=false"]  # fmt: skip
    else:
        argv = _ferretdb_argv(ferretdb_binary(), port, data)
    service = MongoService(kind, f"mongodb://127.0.0.1:{port}/", argv=argv, workdir=workdir)
    print(f"services: starting {' '.join(argv)}", file=sys.stderr)
    service.start()
    return service
