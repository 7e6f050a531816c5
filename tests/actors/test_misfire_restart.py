"""The misfire policies end to end (issue 12): a real server subprocess runs a 0.3 s job, is
stopped for at least 10 intervals, and is started again. What the restart did with the slots
that fell due meanwhile is read back from the store's results and the run ledger:

* ``coalesce``: the newest elapsed slot runs once (a catch-up run), every older one is ``missed``;
* ``all`` (with an unlimited grace): every elapsed slot runs, oldest first, none is missed;
* ``skip``: none runs, every one is ``missed``, and the schedule goes on at the next slot.

In every case each slot is accounted for exactly once: run or missed, never both, never twice.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from actors.store.sqlite_ledger import ledger_path
from tests.polling import eventually as poll

pytestmark = pytest.mark.system

ROOT = Path(__file__).resolve().parents[2]
INTERVAL_S = 0.3
DOWN_INTERVALS = 10
DEADLINE_S = 60.0


def results(db: Path) -> list[dict]:
    if not db.exists():
        return []
    conn = sqlite3.connect(db, timeout=10)
    try:
        return [json.loads(body) for (body,) in conn.execute("SELECT body FROM docs WHERE type = 'result'")]
    except sqlite3.OperationalError:
        return []
    finally:
        conn.close()


def key(slot: float) -> int:
    return round(slot * 1000)


def serve(tmp_path: Path, config: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "actors.cli", "start", "--db-uri", f"sqlite:///{tmp_path}/s.db", "--no-start-offset",
         "--minimum-interval", "0", "--journal-flush-interval", "0.01", "--no-web", "--task-packages", "tests",
         "--workers", "1", str(config)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop(server: subprocess.Popen[bytes]) -> None:
    server.send_signal(signal.SIGTERM)
    assert server.wait(60) == 0


def ran(docs: list[dict]) -> list[dict]:
    return [d for d in docs if d["outcome"] == "success"]


def missed_slots(docs: list[dict], anchor: float) -> list[int]:
    """Every missed slot (counted spans expanded on the job's grid), as ms keys."""
    out: list[int] = []
    for doc in docs:
        if doc["outcome"] != "missed":
            continue
        if doc.get("count", 1) == 1:
            out.append(key(doc["slot"]))
        else:
            first = round((doc["first"] - anchor) / INTERVAL_S)
            out += [key(anchor + k * INTERVAL_S) for k in range(first, first + doc["count"])]
    return out


@pytest.mark.parametrize("policy", ["coalesce", "all", "skip"])
def test_a_restart_after_ten_intervals_of_downtime_follows_the_misfire_policy(tmp_path, policy):
    db, tally = tmp_path / "s.db", tmp_path / "tally"
    grace = ", misfire_grace='unlimited'" if policy == "all" else ""
    config = tmp_path / "c.py"
    config.write_text(f"Task('tick', 'tests.fixtures:Tally', {INTERVAL_S}, misfire={policy!r}{grace}, "
                      f"path={str(tally)!r})\n")

    server = serve(tmp_path, config)
    try:
        assert poll(lambda: len(ran(results(db))) >= 3, DEADLINE_S)
    finally:
        stop(server)
    stopped_at = time.time()
    before = results(db)
    anchor = next(d["slot"] for d in before if d["index"] == 1)
    last = max(d["slot"] for d in ran(before))  # the newest slot run before the stop
    assert poll(lambda: time.time() >= stopped_at + DOWN_INTERVALS * INTERVAL_S, DOWN_INTERVALS * INTERVAL_S + 5)

    server = serve(tmp_path, config)
    try:  # back on the grid: two runs of the schedule after the restart
        assert poll(lambda: len([d for d in ran(results(db)) if d["slot"] > last and d["trigger"] == "schedule"
                                 and d["started_at"] > stopped_at]) >= 2, DEADLINE_S)
    finally:
        stop(server)

    docs = results(db)
    after = [d for d in docs if d.get("slot") is not None and d["slot"] > last]
    runs = {key(d["slot"]): d for d in ran(after)}
    # The slots that surely fell due while the server was down (the restart came after these).
    first_down = round((last - anchor) / INTERVAL_S) + 1
    down = [key(anchor + k * INTERVAL_S) for k in range(first_down, first_down + 10 * DOWN_INTERVALS)
            if anchor + k * INTERVAL_S <= stopped_at + DOWN_INTERVALS * INTERVAL_S]
    missed = missed_slots(after, anchor)
    down_missed = sorted(k for k in missed if k in down)
    down_ran = sorted(k for k in runs if k in down)

    assert len(down) >= DOWN_INTERVALS, down
    assert not set(missed) & set(runs), "a slot both ran and was recorded missed"
    assert len(missed) == len(set(missed)), "a slot recorded missed twice"
    assert len(ran(docs)) == len({key(d["slot"]) for d in ran(docs)}), "a slot ran twice"
    assert sorted(down_missed + down_ran) == down, "every slot of the downtime is run or missed exactly once"
    restart_runs = sorted((k, d["trigger"]) for k, d in runs.items() if d["started_at"] > stopped_at)
    if policy == "coalesce":  # one catch-up run: the newest slot elapsed at the restart (the last of these, or later)
        newest, trigger = restart_runs[0]
        assert trigger == "catchup" and newest >= down[-1]
        assert down_ran in ([], [newest]) and down_missed == [k for k in down if k != newest]
    elif policy == "all":  # every one ran, oldest first: the pending slot, then catch-up runs
        assert down_missed == [] and down_ran == down
        assert [t for k, t in restart_runs if k in down] == ["schedule"] + ["catchup"] * (len(down) - 1)
    else:
        assert down_ran == [] and down_missed == down
        assert all(t == "schedule" for _, t in restart_runs)

    conn = sqlite3.connect(ledger_path(str(db)))  # the run ledger's own file beside the store's
    ledger = dict(conn.execute("SELECT CAST(ROUND(slot * 1000) AS INTEGER), state FROM ledger"))
    conn.close()
    for k in down:
        assert ledger.get(k) == ("missed" if k in missed else "done"), (k, ledger.get(k))
    print(f"\n{policy}: down {len(down)} slots -> ran {len(down_ran)}, missed {len(down_missed)}; restart runs "
          f"{[t for _, t in restart_runs]}")
