"""What a flooding task costs the server: its RSS before and after (issue 11).

    python -m benchmarks.task_floods [--gb 1.0] [--result-mb 50]

Starts a real `Server` (one worker, a temporary SQLite store, the default options: the log and
result budgets of `actors.logbudget` and `actors.payload`) and runs, one after the other:

- ``print``: a task that prints *gb* GiB (100-character lines) to stdout;
- ``log``: a task that logs the same through its logger;
- ``result``: a task that returns a *result-mb* MiB result;

and prints, as JSON, per flood: the server's RSS (this process: the actors, the journal, the
store) before and after, its peak (``VmHWM``, since start), the seconds the run took, and what
was stored (log lines kept, the note that says what was dropped, the stored result's size).
Only public interfaces are used, so the same file runs in an older checkout to compare.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from actors.config import Settings
from actors.server import Server
from actors.store import Query

LINE_CHARS = 100


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _run(server: Server, name: str, classname: str, kwargs: dict[str, Any], timeout_s: float) -> dict[str, Any]:
    before = _status_kb("VmRSS")
    started = time.monotonic()
    job = server.facade.add_job({"name": name, "classname": classname, "interval": 1e6, "kwargs": kwargs})
    deadline = time.monotonic() + timeout_s
    docs: list[dict[str, Any]] = []
    while time.monotonic() < deadline and not docs:
        server.flush()
        docs = server.store.find(Query(type="result", job_id=job["job_id"], limit=1)).items
        if not docs:
            time.sleep(0.2)
    elapsed = time.monotonic() - started
    server.flush()
    lines = server.store.find(Query(type="reslog", job_id=job["job_id"], limit=0)).total
    doc = docs[0] if docs else {}
    return {"rss_before_mb": round(before / 1024, 1), "rss_after_mb": round(_status_kb("VmRSS") / 1024, 1),
            "rss_peak_mb": round(_status_kb("VmHWM") / 1024, 1), "seconds": round(elapsed, 1),
            "outcome": doc.get("outcome"), "log_lines_stored": lines,
            "result_bytes_stored": len(json.dumps(doc.get("result") or {})),
            "notes": [n[:160] for n in doc.get("notes") or []]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--gb", type=float, default=1.0, help="GiB each flood writes (default 1)")
    parser.add_argument("--result-mb", type=float, default=50.0, help="MiB of the big result (default 50)")
    args = parser.parse_args()
    lines = int(args.gb * 1024**3 / (LINE_CHARS + 10))
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings({"db_uri": f"sqlite:///{tmp}/store.db", "workers": 1, "minimum_interval": 0.0,
                             "web": False, "shutdown_grace": 0.5, "task_timeout": 3600.0,
                             "task_packages": "tests"})
        server = Server(settings).start()
        try:
            out = {
                "print": _run(server, "print", "tests.attack_tasks:Flood", {"printed": lines, "chars": LINE_CHARS},
                              3600),
                "log": _run(server, "log", "tests.attack_tasks:Flood", {"lines": lines, "chars": LINE_CHARS}, 3600),
                "result": _run(server, "result", "tests.attack_tasks:BigResult", {"mb": args.result_mb}, 600),
            }
        finally:
            server.shutdown(grace_s=0.5)
    print(json.dumps({"gb": args.gb, "result_mb": args.result_mb, "floods": out}, indent=2))


if __name__ == "__main__":
    main()
