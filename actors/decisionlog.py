"""What the log says about a run's outcome and the timetable's decision after it.

Why a module of its own: a busy server finishes thousands of runs a second, and most of them
(a success that changed nothing) are logged only at debug level; the ones an operator must
see (a failure, a job abandoned, slots coalesced) are warnings or errors with the same fields
(job, run, outcome, duration, next due time, the decision's note). The Scheduler calls
`log_decision` after applying each outcome; the rule for what is quiet lives here.
"""

from __future__ import annotations

import logging

import structlog

from actors.jobs import JobState, Outcome, Run, RunReport
from actors.timetable import Decision

log = structlog.get_logger("das_actors.scheduler")


def _debug_on() -> bool:
    return logging.getLogger("das_actors.scheduler").isEnabledFor(logging.DEBUG)


def log_decision(run: Run, report: RunReport, decision: Decision) -> None:
    """Log *run*'s outcome and the decision taken after it: debug when nothing needs a look."""
    quiet = (report.outcome is Outcome.SUCCESS and not decision.coalesced
             and decision.state is not JobState.ABANDONED)
    if quiet and not _debug_on():
        return
    fields = {"job": run.name, "job_id": run.job_id, "index": run.index, "attempt": run.attempt,
              "outcome": str(report.outcome), "duration_s": round(report.finished_at - report.started_at, 6),
              "state": str(decision.state), "next_due_at": decision.due_at, "note": decision.note}
    if decision.child_errors:
        fields["child_errors"] = list(decision.child_errors)
    if decision.state is JobState.ABANDONED:
        log.error("job.abandoned", error=report.error, **fields)
    elif report.outcome is Outcome.SUCCESS:
        if decision.coalesced:
            log.warning("job.coalesced", skipped_slots=decision.coalesced, **fields)
        else:
            log.debug("run.finished", **fields)
    else:
        log.warning("run.failed", error=report.error, **fields)


__all__ = ["log_decision"]
