"""The store under faults (issue 11), proved through the run ledger (issue 12): a real server
subprocess is SIGKILLed at several moments of a burst of 2,000 ``only_once`` jobs and
restarted each time. Counted afterwards from the store, the ledger and the task's own tally
file: no job ran a second slot, no run stored as finished was resumed or recorded
interrupted, and every job finished. Runs that were in flight when the server died are
resumed as the next attempt of the same slot, and each such extra execution is accounted
for by an ``interrupted`` result.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from actors.store.sqlite_ledger import ledger_path
from tests.polling import eventually as poll

pytestmark = pytest.mark.system

ROOT = Path(__file__).resolve().parents[2]
JOBS = 2000
#: Kill when the tally file has this many executions (the burst runs on between polls).
KILL_AT = (1, 250, 700, 1300)
DEADLINE_S = 180.0


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def start(tmp_path: Path, config: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "actors.cli", "start", "--db-uri", f"sqlite:///{tmp_path}/s.db", "--no-start-offset",
         "--minimum-interval", "0", "--journal-flush-interval", "0.01", "--no-web", "--task-packages", "tests",
         "--workers", "2", str(config)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def finished_jobs(db: Path) -> int:
    if not db.exists():
        return 0
    conn = sqlite3.connect(db, timeout=10)
    try:
        (count,) = conn.execute("SELECT COUNT(DISTINCT job_id) FROM docs WHERE type = 'result' "
                                "AND outcome = 'success'").fetchone()
        return int(count)
    except sqlite3.OperationalError:  # tables not there yet
        return 0
    finally:
        conn.close()


def test_sigkill_during_a_burst_of_only_once_jobs_never_runs_a_job_twice(tmp_path):
    tally, db = tmp_path / "tally", tmp_path / "s.db"
    config = tmp_path / "c.py"
    config.write_text(f"for _n in range({JOBS}):\n"
                      f"    Task(f'once-{{_n}}', 'tests.fixtures:Tally', 3600, only_once=True, path={str(tally)!r})\n")
    kills = 0
    for threshold in KILL_AT:
        server = start(tmp_path, config)
        def enough(limit: int = threshold) -> bool:
            return len(lines(tally)) >= limit

        reached = poll(enough, DEADLINE_S)
        server.send_signal(signal.SIGKILL)
        server.wait(30)
        assert reached, f"the burst did not reach {threshold} executions"
        kills += 1
    server = start(tmp_path, config)
    try:
        assert poll(lambda: finished_jobs(db) == JOBS, DEADLINE_S, every=0.2), \
            f"only {finished_jobs(db)} of {JOBS} jobs finished"
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(60)
    assert server.returncode == 0

    conn = sqlite3.connect(db)
    docs = [json.loads(body) for (body,) in conn.execute("SELECT body FROM docs WHERE type = 'result'")]
    conn.close()
    conn = sqlite3.connect(ledger_path(str(db)))  # the run ledger's own file beside the store's
    ledger = conn.execute("SELECT job_id, state, outcome, idx, attempt FROM ledger").fetchall()
    conn.close()
    executions = [line.split() for line in lines(tally)]

    results: dict[str, list[dict]] = defaultdict(list)
    for doc in docs:
        results[doc["job_id"]].append(doc)
    done = {job_id: [d for d in found if d["outcome"] == "success"] for job_id, found in results.items()}
    doubles = 0
    for job_id, found in results.items():
        successes = done[job_id]
        interrupted = {d["attempt"] for d in found if d["outcome"] == "interrupted"}
        tallied = [(int(index), int(attempt)) for jid, index, attempt, _ in executions if jid == job_id]
        if len(successes) != 1 or any(d["index"] != 1 for d in found) or any(index != 1 for index, _ in tallied):
            doubles += 1
            continue
        final = successes[0]["attempt"]
        if final in interrupted or any(attempt > final for _, attempt in tallied):
            doubles += 1  # a run stored as finished was recorded interrupted, or run again
        elif any(attempt not in interrupted for _, attempt in tallied if attempt != final):
            doubles += 1  # an extra execution that no interrupted result accounts for
    slots_per_job = Counter(job_id for job_id, *_ in ledger)
    resumed = sum(1 for found in results.values() if any(d["outcome"] == "interrupted" for d in found))
    print(f"\nsigkill burst: jobs={JOBS} kills={kills} executions={len(executions)} results={len(docs)} "
          f"ledger_entries={len(ledger)} resumed_after_interruption={resumed} doubles={doubles}")
    assert len(results) == JOBS and all(len(done[job_id]) == 1 for job_id in results)
    assert doubles == 0
    assert set(slots_per_job.values()) == {1}, "an only_once job claimed more than one slot"
    assert all(state == "done" and outcome == "success" and index == 1 for _, state, outcome, index, _ in ledger)
    assert len(executions) == JOBS + sum(1 for d in docs if d["outcome"] == "interrupted"
                                         and any(int(a) == d["attempt"] and j == d["job_id"]
                                                 for j, _, a, _ in executions))
