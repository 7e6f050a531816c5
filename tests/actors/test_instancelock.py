"""The embedded SQLite store serves one server (issue 15): a second server process on the same file
refuses to start with a message naming the file and the holder, and the lock goes with its holder
(even a SIGKILLed one)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from actors.errors import ConfigError
from actors.store.instancelock import InstanceLock

ROOT = Path(__file__).resolve().parents[2]


def serve(db: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "actors.cli", "start", "--db-uri", f"sqlite:///{db}", "--no-web", "--workers", "1",
             "--shutdown-grace", "1"], cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)


def wait_ready(log: Path, process: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if '"server.ready"' in log.read_text(errors="replace"):
            return
        assert process.poll() is None, f"the server exited with {process.returncode}: {log.read_text()[-2000:]}"
        time.sleep(0.05)
    raise AssertionError(f"the server was not ready within {timeout:g}s")


@pytest.mark.system
def test_a_second_server_on_the_same_sqlite_file_refuses_to_start(tmp_path):
    db = tmp_path / "one.db"
    first = serve(db, tmp_path / "first.log")
    try:
        wait_ready(tmp_path / "first.log", first)
        second = subprocess.run(
            [sys.executable, "-m", "actors.cli", "start", "--db-uri", f"sqlite:///{db}", "--no-web", "--workers", "1"],
            check=False, cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert second.returncode == 2, second.stderr
        assert "another das-actors server already uses the SQLite store" in second.stderr
        assert str(db) in second.stderr and f"pid {first.pid}" in second.stderr
        assert "MongoDB" in second.stderr  # says how to run several
        assert first.poll() is None  # the first one is untouched
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(30)
    third = serve(db, tmp_path / "third.log")  # the kernel dropped the dead holder's lock
    try:
        wait_ready(tmp_path / "third.log", third)
    finally:
        third.send_signal(signal.SIGTERM)
        assert third.wait(60) == 0


def test_the_lock_is_exclusive_between_two_holders_and_released(tmp_path):
    store = tmp_path / "s.db"
    one = InstanceLock(str(store)).acquire("the first")
    with pytest.raises(ConfigError, match="the first"):
        InstanceLock(str(store)).acquire("the second")
    one.release()
    two = InstanceLock(str(store)).acquire("the second")
    assert two.held and (tmp_path / "s.db.lock").read_text() == "the second"
    two.release()
