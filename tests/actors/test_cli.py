"""`das-actors start` and `run-task` as an operator runs them: real processes, real signals."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from actors.store import Query
from actors.store.sqlite import SQLiteStore
from tests.polling import eventually as poll

pytestmark = pytest.mark.system

CLI = [sys.executable, "-m", "actors.cli"]
ROOT = Path(__file__).resolve().parents[2]


def run_cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT, check=False)


def stored(db: Path, **filters) -> list[dict]:
    if not db.exists():
        return []
    store = SQLiteStore(str(db), size_bytes=1 << 26)
    store.open()
    try:
        return store.find(Query(limit=1000, **filters)).items
    finally:
        store.close()


def write_config(path: Path, body: str) -> Path:
    path.write_text(body)
    return path


def start_server(tmp_path: Path, config: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*CLI, "start", "--db-uri", f"sqlite:///{tmp_path}/s.db", "--no-start-offset", "--minimum-interval", "0",
         "--retry-delay", "0.05", "--journal-flush-interval", "0.01", "--no-web", "--task-packages", "tests", *extra,
         str(config)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


# ------------------------------------------------------------------------------ start
def test_sigterm_drains_running_runs_and_exits_zero(tmp_path):
    marker = tmp_path / "m"
    config = write_config(tmp_path / "c.py", f'workers = 1\nTask("slow", "tests.fixtures:Mark", 3600, '
                                             f'marker={str(marker)!r}, seconds=0.8)\n')
    server = start_server(tmp_path, config, "--shutdown-grace", "5")
    assert poll(marker.exists, 30)
    server.send_signal(signal.SIGTERM)
    out, err = server.communicate(timeout=30)
    assert server.returncode == 0, err
    results = stored(tmp_path / "s.db", type="result")
    assert [r["outcome"] for r in results] == ["success"]  # it finished within the grace, not killed
    lines = [json.loads(line) for line in out.splitlines()]
    events = [line["event"] for line in lines]
    assert "server.draining" in events and events[-1] == "server.stopped"
    assert all({"timestamp", "level", "logger", "event", "pid"} <= set(line) for line in lines)
    assert all(line["timestamp"].endswith("Z") for line in lines)


def test_sigint_past_the_grace_records_interrupted(tmp_path):
    marker = tmp_path / "m"
    config = write_config(tmp_path / "c.py", f'Task("long", "tests.fixtures:Mark", 3600, marker={str(marker)!r}, '
                                             f'seconds=120)\n')
    server = start_server(tmp_path, config, "--shutdown-grace", "0.2")
    assert poll(marker.exists, 30)
    server.send_signal(signal.SIGINT)
    server.communicate(timeout=30)
    assert server.returncode == 0
    assert [r["outcome"] for r in stored(tmp_path / "s.db", type="result")] == ["interrupted"]


def test_sigkill_of_the_server_then_restart_resumes_and_loses_nothing(tmp_path):
    marker = tmp_path / "m"
    config = write_config(tmp_path / "c.py", (
        'workers = 2\n'
        'Task("quick", "tests.fixtures:Ok", 0.2, value=1)\n'
        f'Task("inflight", "tests.fixtures:Mark", 3600, marker={str(marker)!r}, seconds=120)\n'))
    db = tmp_path / "s.db"
    server = start_server(tmp_path, config)
    assert poll(lambda: marker.exists() and len(stored(db, type="result", name="quick")) >= 3, 30)
    pid = int(marker.read_text())
    server.kill()
    server.communicate(timeout=30)
    assert poll(lambda: not Path(f"/proc/{pid}").exists(), 10), "the in-flight task process must die with its worker"
    quick_before = len(stored(db, type="result", name="quick"))
    again = start_server(tmp_path, config)
    try:
        def resumed() -> bool:
            runs = stored(db, type="result", name="inflight")
            return sorted(r["outcome"] for r in runs) == ["interrupted", "success"]
        assert poll(resumed, 30)
        runs = {r["outcome"]: r for r in stored(db, type="result", name="inflight")}
        assert runs["success"]["attempt"] == 1 and runs["success"]["trigger"] == "resume"
        assert runs["success"]["index"] == runs["interrupted"]["index"] == 1
        assert len(stored(db, type="result", name="quick")) >= quick_before  # nothing journaled was lost
        assert poll(lambda: len(stored(db, type="result", name="quick")) > quick_before, 10)  # schedule resumed
    finally:
        again.send_signal(signal.SIGTERM)
        again.communicate(timeout=30)
    assert again.returncode == 0


#: `das-actors start` with every collection the server asks for counted (`actors.gcpause` is the only
#: caller of ``gc.collect``); the count is printed to stderr at exit.
COUNTING_START = """
import atexit, gc, sys
collect, calls = gc.collect, []
def counting(generation=2):
    calls.append(generation)
    return collect(generation)
gc.collect = counting
atexit.register(lambda: sys.stderr.write(f"collections={calls}\\n"))
from actors.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_start_walks_the_loaded_and_restored_jobs_in_one_collection(tmp_path):
    # load_config pauses the collector twice and the restore once: without one pause over all
    # three (actors/cli.py), each would collect what was built so far when it ends
    config = write_config(tmp_path / "c.py", 'for _i in range(50):\n    Task(f"j{_i}", "Echo", 3600, value=_i)\n')
    for _ in range(2):  # a start on an empty store, then a restart from it
        server = subprocess.Popen(
            [sys.executable, "-c", COUNTING_START, "start", "--db-uri", f"sqlite:///{tmp_path}/s.db", "--no-web",
             str(config)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        out = server.stdout
        assert out is not None
        assert poll(lambda: "server.ready" in out.readline(), 30)  # noqa: B023 - this start's stdout
        server.send_signal(signal.SIGTERM)
        _, err = server.communicate(timeout=30)
        assert server.returncode == 0, err
        assert "collections=[1]" in err, err[-2000:]


@pytest.mark.parametrize(("body", "flags", "expected"), [
    ('Task("x", "NoSuchTask", 60)\n', [], ["c.py:1", "NoSuchTask"]),
    ('Task("x", "Test", 60, when=object())\n', [], ["c.py:1", "when", "not JSON-safe"]),
    ('workers = "four"\n', [], ["c.py:1", "workers", "four"]),
    ('db_col = "x"\n', [], ["c.py:1", "unknown option 'db_col'", "db_coll"]),
    ('', ["--workers", "0"], ["--workers", "0"]),
])
def test_bad_input_is_a_clear_error_and_exit_2(tmp_path, body, flags, expected):
    config = write_config(tmp_path / "c.py", body)
    result = run_cli("start", "--db-uri", f"sqlite:///{tmp_path}/s.db", *flags, str(config))
    assert result.returncode == 2, result.stderr
    for fragment in expected:
        assert fragment in result.stderr
    assert not (tmp_path / "s.db").exists()  # nothing started


# ------------------------------------------------------------------------------ run-task
def test_run_task_prints_the_result_and_the_scheduler_forecast():
    result = run_cli("run-task", "-c", "Test", "-o", '{"message": "hi", "seed": 3, "raise_p": 0, "spawn_p": 0, '
                                                     '"stop_p": 0}', "-t", "120")
    assert result.returncode == 0, result.stderr
    decoder = json.JSONDecoder()
    payload, end = decoder.raw_decode(result.stdout)
    forecast, _ = decoder.raw_decode(result.stdout[end:].lstrip())
    assert payload["outcome"] == "success" and payload["result"]["message"] == "hi"
    assert forecast["scheduler"]["resubmit"] is True
    assert 110 < forecast["scheduler"]["next_due_in_s"] <= 120
    assert "hi from index=1" in result.stderr  # the task's log line


def test_run_task_accepts_a_python_literal_and_shows_children():
    opts = "{'message': 'x', 'seed': 1, 'stop_p': 0, 'spawn_p': 1, 'raise_p': 0}"
    result = run_cli("run-task", "-c", "Test", "-o", opts)
    assert result.returncode == 0, result.stderr
    assert '"spawn-of-1"' in result.stdout and '"children"' in result.stdout


def test_run_task_exits_1_when_the_task_fails_and_2_on_bad_opts():
    failed = run_cli("run-task", "-c", "tests.fixtures:Fail")
    assert failed.returncode == 1 and "failing on purpose" in failed.stdout
    bad = run_cli("run-task", "-c", "Test", "-o", "__import__('os').system('true')")
    assert bad.returncode == 2 and "neither JSON nor a Python literal" in bad.stderr


def test_run_task_forecasts_with_the_servers_rules_and_the_config_file(tmp_path):
    """issue 16: the forecast said "abandoned after 0 retries" while the server retries once."""
    failed = run_cli("run-task", "-c", "tests.fixtures:Fail")
    forecast = json.loads(failed.stdout[failed.stdout.index('{\n  "scheduler"'):])["scheduler"]
    assert forecast["decision"].startswith("failed; retry 1/1 in ")  # the server's max_retries = 1
    config = tmp_path / "c.py"
    config.write_text("max_retries = 0\nretry_delay = 5\n")
    strict = run_cli("run-task", "-c", "tests.fixtures:Fail", "--config", str(config))
    forecast = json.loads(strict.stdout[strict.stdout.index('{\n  "scheduler"'):])["scheduler"]
    assert forecast["decision"].startswith("abandoned after 0 retries")  # as that config file says


def test_run_task_of_an_unknown_class_is_exit_2():
    result = run_cli("run-task", "-c", "Tset")
    assert result.returncode == 2 and "Tset" in result.stderr and "Test" in result.stderr


def test_help_lists_every_option_group():
    result = run_cli("start", "--help")
    assert result.returncode == 0
    for flag in ("--workers", "--minimum-interval", "--db-uri", "--web-port", "--shutdown-grace",
                 "--worker-memory-mb", "--restart-max", "--no-start-offset"):
        assert flag in result.stdout
