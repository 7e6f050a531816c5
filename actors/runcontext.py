"""Which run is executing in this worker process right now (a context variable).

Why a module of its own: shared services (the act service first) are built once per worker
process and handed to every task, yet what they record belongs to a run: the action a task
queues names the run that queued it. The worker subprocess sets the identity around each
task call (`actors.child.execute`); a service reads it with `current`. Outside a run (a
task constructed by hand, ``run-task``) it is None. Pure: stdlib only.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar, Token
from typing import Any

_CURRENT: ContextVar[Mapping[str, Any] | None] = ContextVar("das_actors_current_run", default=None)


def identity(wire: Mapping[str, Any]) -> dict[str, Any]:
    """The identity of a run from its wire dict: run_id, job_id, name, classname, index, attempt."""
    run_id = f"{wire.get('job_id')}:{wire.get('index')}:{wire.get('attempt', 0)}"
    return {"run_id": run_id, "job_id": wire.get("job_id"), "name": wire.get("name"),
            "classname": wire.get("classname"), "index": wire.get("index"), "attempt": wire.get("attempt", 0)}


def enter(wire: Mapping[str, Any]) -> Token[Mapping[str, Any] | None]:
    """Make the run of *wire* the current one; give the token back to `leave`."""
    return _CURRENT.set(identity(wire))


def leave(token: Token[Mapping[str, Any] | None]) -> None:
    """Restore what was current before `enter`."""
    _CURRENT.reset(token)


def current() -> Mapping[str, Any] | None:
    """The identity of the run executing now, or None outside a run."""
    return _CURRENT.get()
