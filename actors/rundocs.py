"""The documents a finished run and its log lines become in the journal.

Why a module: the local worker (`actors.worker`) and the Dask worker (`actors.daskworker`)
record runs the same way, field for field, whichever kind of process ran them; one builder
keeps the stored shape (docs/stored-documents.md) from drifting between the two. Task log
lines leave here as *line batches* (`line_batches`, shape in `actors.store.runlines`): one
document per stretch of consecutive lines of one run, not one per line, so the journal and the
store pay per batch what they used to pay per line.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from typing import Any

from actors.jobs import Run, RunReport
from actors.store.runlines import LINES


def result_doc(run: Run, report: RunReport, payload: Mapping[str, Any], *, worker: int,
               pid: int | None) -> dict[str, Any]:
    """The ``result`` document of *run*: identity, timing, outcome and what the task returned
    (*payload* is the child's, empty when the process died)."""
    doc: dict[str, Any] = {
        "type": "result", "time": report.finished_at, "run_id": run.run_id, "job_id": run.job_id, "name": run.name,
        "classname": run.classname, "index": run.index, "attempt": run.attempt, "trigger": str(run.trigger),
        "parent": list(run.parent), "due_at": run.due_at, "slot": run.slot, "started_at": report.started_at,
        "finished_at": report.finished_at, "duration": max(0.0, report.finished_at - report.started_at),
        "outcome": str(report.outcome), "error": report.error, "traceback": payload.get("traceback"),
        "worker": worker, "pid": pid, "result": payload.get("result") or {},
        "notes": list(payload.get("notes") or []), "rss_kb": payload.get("rss_kb"),
    }
    if payload.get("child_errors"):
        doc["child_errors"] = list(payload["child_errors"])
    if run.tags:
        doc["tags"] = list(run.tags)
    if run.params:
        doc["params"] = dict(run.params)
    if run.term:
        doc["term"] = run.term  # the leader's term (several instances, actors.lease)
    return doc


def _head(run_id: Any, runs: Mapping[str, Run]) -> dict[str, Any] | None:
    """The fields every log line of *run_id* carries; a run no longer in *runs* (its result
    arrived first) gets its identity rebuilt from the run id; None for a run id this server
    did not make."""
    run = runs.get(run_id)
    if run is not None:
        return {"type": "reslog", "run_id": run_id, "job_id": run.job_id, "name": run.name,
                "classname": run.classname, "index": run.index, "attempt": run.attempt}
    parts = str(run_id).rsplit(":", 2)
    if len(parts) != 3 or not (parts[1].isdigit() and parts[2].isdigit()):
        return None
    job_id, index, attempt = parts
    return {"type": "reslog", "run_id": run_id, "job_id": job_id, "index": int(index), "attempt": int(attempt)}


def line_batches(records: Iterable[Any], runs: Mapping[str, Run]) -> list[dict[str, Any]]:
    """Line batches of log records ``(run_id, time, level, logger, message)``: one ``reslog``
    document with a ``lines`` list per stretch of consecutive records of one run, in order (the
    lines are those records, in order; records of a run id this server did not make are dropped)."""
    docs: list[dict[str, Any]] = []
    current: Any = object()
    lines: list[list[Any]] | None = None
    for run_id, t, level, logger, msg in records:
        if run_id != current:
            current = run_id
            head = _head(run_id, runs)
            if head is None:
                lines = None
            else:
                lines = []
                head[LINES] = lines
                docs.append(head)
        if lines is not None:
            lines.append([t, level, logger, msg])
    return docs


def dropped_line(run: Run, note: str | None) -> list[dict[str, Any]]:
    """The one log line that says how many lines of *run* were dropped (none when none were)."""
    if not note:
        return []
    return [{"type": "reslog", "time": time.time(), "job_id": run.job_id, "name": run.name,
             "classname": run.classname, "index": run.index, "attempt": run.attempt, "level": logging.WARNING,
             "logger": "das_actors.worker", "msg": note}]
