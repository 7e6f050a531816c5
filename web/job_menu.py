"""Which operator actions a job's state allows: what the panel's action menus offer.

Why a module of its own: the Schedule table offered every action on every row ("pause" on a
finished job, "run now" and "reschedule" on a running one), and the server then refused or
quietly ignored the click. The rules below follow the scheduler's (`actors.timetable`):

    run now      any job but one whose run is in a worker now (it cannot run twice at once)
    pause        a job still on the schedule (scheduled, waiting, running) and not paused yet
    resume       a paused job (or one whose pause waits for its running run to end)
    reschedule   any job but a running one (finished, abandoned and quarantined ones come back)
    remove       any job

Pure: a job view (``state``, ``paused``, ``run_id``) in, action names out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

RUN_NOW, PAUSE, RESUME, RESCHEDULE, REMOVE = "run-now", "pause", "resume", "reschedule", "remove"
#: Every action, in menu order.
ACTIONS = (RUN_NOW, PAUSE, RESUME, RESCHEDULE, REMOVE)
#: States whose jobs are still on the schedule (may be paused).
_ON_SCHEDULE = frozenset({"scheduled", "waiting", "running"})


def allowed_actions(job: Mapping[str, Any]) -> tuple[str, ...]:
    """The actions the state of *job* (a job view) allows, in `ACTIONS` order."""
    state = str(job.get("state") or "")
    running = state == "running" or bool(job.get("run_id"))
    paused = bool(job.get("paused")) or state == "paused"
    allowed = {REMOVE}
    if not running:
        allowed |= {RUN_NOW, RESCHEDULE}
    if paused:
        allowed.add(RESUME)
    elif state in _ON_SCHEDULE:
        allowed.add(PAUSE)
    return tuple(action for action in ACTIONS if action in allowed)
