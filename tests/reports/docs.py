"""Builders of stored documents with known figures (all times relative to a fixed NOW)."""

from __future__ import annotations

from typing import Any

#: The "now" of every report call in these tests.
NOW = 1_800_000_000.0
XSS = "<script>alert(1)</script>"


def result(age: float, *, job_id: str = "A", name: str | None = None, classname: str = "Echo",
           outcome: str = "success", duration: float = 1.0, lateness: float | None = 0.0, index: int = 1,
           attempt: int = 0, worker: int = 0, pid: int = 100, rss_kb: int | None = None,
           parent: list[str] | None = None, result_value: dict[str, Any] | None = None, error: str | None = None,
           trigger: str = "schedule") -> dict[str, Any]:
    """A result document of a run that finished *age* seconds before NOW."""
    finish = NOW - age
    start = finish - duration
    doc: dict[str, Any] = {
        "type": "result", "time": finish, "job_id": job_id, "name": name or f"job-{job_id}", "classname": classname,
        "index": index, "attempt": attempt, "trigger": trigger, "parent": parent or [],
        "due_at": None if lateness is None else start - lateness, "started_at": start, "finished_at": finish,
        "duration": duration, "outcome": outcome, "error": error, "traceback": None, "worker": worker, "pid": pid,
        "result": result_value or {}, "notes": [],
    }
    if rss_kb is not None:
        doc["rss_kb"] = rss_kb
    return doc


def event(age: float, msg: str, *, logger: str = "das_actors.worker", level: int = 40,
          **fields: Any) -> dict[str, Any]:
    """A system log document (an actor's event) written *age* seconds before NOW."""
    return {"type": "log", "time": NOW - age, "level": level, "levelname": "ERROR" if level >= 40 else "INFO",
            "logger": logger, "msg": msg, "fields": fields}
