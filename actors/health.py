"""Whether the server does its job: the checks behind ``/healthz`` and ``GET api/v1/health``.

Why a module of its own: "the actors answer" is not health. A scheduler can answer every
question while nothing is dispatched (its waker died, a job's due time is garbage), an actor
can be left down after its restart budget, a worker slot can be degraded, the store file can
be gone. Each check here names what is wrong, so the 503 says why:

* the scheduler answers a status question within `ASK_S`;
* its heartbeat (stamped on every message it handles; its own timer ticks twice a second) is
  younger than ``health_stall_after``: read from its state without asking, so a stuck actor
  is seen even while its inbox is full;
* no due run has waited longer than ``health_stall_after`` while a worker slot was idle;
* no worker slot is degraded and no actor was left down by the Supervisor;
* the run ledger takes claims (else no run starts);
* the leadership answers (a follower is healthy: it serves reads and relays changes);
* the journal answers and the store is not in an outage; the store's own check passes (the
  SQLite file is still the one opened, `actors.store.sqlite.SQLiteStore.problem`).

Jobs set aside (``quarantined``) and stored records that could not be restored are reported in
the details but do not make the server unhealthy: the server goes on with the other jobs.
"""

from __future__ import annotations

import time
from typing import Any

from actors.errors import DasActorsError
from actors.messages import GetStatus
from actors.system import System

#: Seconds each actor gets to answer a health question.
ASK_S = 2.0


def check_health(system: System, started_at: float) -> tuple[bool, dict[str, Any]]:
    """``(healthy, details)``; ``details["problems"]`` says what is wrong, one line each."""
    problems: list[str] = []
    details: dict[str, Any] = {"uptime_s": round(time.time() - started_at, 3)}
    stall_s = float(system.settings.health_stall_after)
    _scheduler(system, stall_s, problems, details)
    _supervisor(system, problems, details)
    _journal(system, problems, details)
    _store(system, problems, details)
    _leadership(system, problems, details)
    details["problems"] = problems
    return not problems, details


def _scheduler(system: System, stall_s: float, problems: list[str], details: dict[str, Any]) -> None:
    heartbeat_age = time.monotonic() - system.state.heartbeat_at
    details["scheduler_heartbeat_age_s"] = round(heartbeat_age, 3)
    if heartbeat_age > stall_s:
        problems.append(f"scheduler: no progress for {heartbeat_age:.1f} s (health_stall_after = {stall_s:g} s)")
    try:
        status = system.ask(GetStatus(), timeout=ASK_S)
    except DasActorsError as exc:
        problems.append(f"scheduler: {exc}")
        return
    details["scheduler"] = status
    if status.get("ledger_down_since"):
        problems.append(f"run ledger: unavailable since {status['ledger_down_since']:.3f} "
                        "(no run starts until its slot can be claimed)")
    late_s, idle = float(status.get("late_s") or 0.0), list(status.get("idle") or [])
    if late_s > stall_s and idle and not status.get("draining"):
        problems.append(f"scheduler: due runs have waited {late_s:.1f} s while worker slot(s) "
                        f"{', '.join(map(str, idle))} are idle (health_stall_after = {stall_s:g} s)")
    for slot, why in sorted((status.get("down") or {}).items()):
        if str(why).startswith("degraded"):
            problems.append(f"worker {slot}: {why}")
    if status.get("unrestorable"):
        details["unrestorable_jobs"] = status["unrestorable"]


def _supervisor(system: System, problems: list[str], details: dict[str, Any]) -> None:
    try:
        status = system.supervisor_status(timeout=ASK_S)
    except DasActorsError as exc:
        problems.append(f"supervisor: {exc}")
        return
    details["supervisor"] = status
    for actor, why in sorted((status.get("down") or {}).items()):
        problems.append(f"{actor}: left down after too many restarts ({why})")


def _journal(system: System, problems: list[str], details: dict[str, Any]) -> None:
    try:
        journal = system.journal_stats(timeout=ASK_S)
    except DasActorsError as exc:
        problems.append(f"journal: {exc}")
        return
    except Exception as exc:  # noqa: BLE001 - pykka timeouts and dead actors alike mean unhealthy
        problems.append(f"journal: {type(exc).__name__}: {exc}")
        return
    details["journal"] = journal
    if journal.get("outage_since"):
        problems.append(f"store: unavailable since {journal['outage_since']:.3f} (journal buffering)")


def _store(system: System, problems: list[str], details: dict[str, Any]) -> None:
    try:
        details["store"] = system.store.stats()
    except Exception as exc:  # noqa: BLE001 - any store failure is reported, not raised
        problems.append(f"store: {type(exc).__name__}: {exc}")
    check = getattr(system.store, "problem", None)
    if check is not None:
        try:
            problem = check()
        except Exception as exc:  # noqa: BLE001 - a failing check is a problem in itself
            problem = f"{type(exc).__name__}: {exc}"
        if problem:
            problems.append(f"store: {problem}")


def _leadership(system: System, problems: list[str], details: dict[str, Any]) -> None:
    try:
        details["leadership"] = system.leadership()  # a follower is healthy: it serves reads and relays
    except DasActorsError as exc:
        problems.append(f"leadership: {exc}")


__all__ = ["ASK_S", "check_health"]
