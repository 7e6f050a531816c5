"""The documents a finished run and its log lines become in the journal.

Why a module: the local worker (`actors.worker`) and the Dask worker (`actors.daskworker`)
record runs the same way, field for field, whichever kind of process ran them; one builder
keeps the stored shape (docs/stored-documents.md) from drifting between the two.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from actors.jobs import Run, RunReport


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


def log_docs(records: Iterable[Any], runs: Mapping[str, Run]) -> list[dict[str, Any]]:
    """``reslog`` documents of log records ``(run_id, time, level, logger, message)``; a run no
    longer in *runs* (its result arrived first) gets its identity rebuilt from the run id."""
    docs = []
    for run_id, t, level, logger, msg in records:
        run = runs.get(run_id)
        if run is None:
            parts = str(run_id).rsplit(":", 2)
            if len(parts) != 3 or not (parts[1].isdigit() and parts[2].isdigit()):
                continue  # not a run id this server made: dropped
            job_id, index, attempt = parts
            docs.append({"type": "reslog", "time": t, "run_id": run_id, "job_id": job_id, "index": int(index),
                         "attempt": int(attempt), "level": level, "logger": logger, "msg": msg})
            continue
        docs.append({"type": "reslog", "time": t, "run_id": run_id, "job_id": run.job_id, "name": run.name,
                     "classname": run.classname, "index": run.index, "attempt": run.attempt,
                     "level": level, "logger": logger, "msg": msg})
    return docs
