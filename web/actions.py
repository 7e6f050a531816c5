"""The panel's POST forms on jobs and runs: run now, pause, resume, remove, reschedule, cancel.

Each form carries the CSRF token (checked by `web.security.Guard`) and a ``next`` field
(the page it came from). Success redirects there (303, so a reload does not post again)
with a one-shot message; a refusal renders the error page with its real status (400
naming the field, 404, 409, 503).
"""

from __future__ import annotations

from typing import NoReturn

import bottle

from actors.errors import BadRequestError
from web.requests import form_params, route, safe_next, see_other
from web.state import WebState


def back(state: WebState, message: str, default: str = "schedule") -> NoReturn:
    """Flash *message* and redirect (303) to the form's ``next`` page."""
    form = form_params()
    state.flash("ok", message)
    target = safe_next(form.get("next"), default)
    see_other(bottle.request.script_name + target)


def register_actions(app: bottle.Bottle, state: WebState) -> None:
    """Add the job and run action routes to the pages *app*."""
    facade = state.facade

    @route(app, "POST", "/jobs/<job_id>/run-now")
    def run_now(job_id: str) -> None:
        job = facade.run_now(job_id)
        back(state, f"job {job['name']!r} will run as soon as a worker is free")

    @route(app, "POST", "/jobs/<job_id>/pause")
    def pause(job_id: str) -> None:
        job = facade.pause_job(job_id)
        back(state, f"job {job['name']!r} paused")

    @route(app, "POST", "/jobs/<job_id>/resume")
    def resume(job_id: str) -> None:
        job = facade.resume_job(job_id)
        back(state, f"job {job['name']!r} resumed")

    @route(app, "POST", "/jobs/<job_id>/remove")
    def remove(job_id: str) -> None:
        job = facade.remove_job(job_id)
        next_page = safe_next(form_params().get("next"), "schedule")
        if next_page.startswith("jobs/"):
            next_page = "schedule"  # its own page is gone
        state.flash("ok", f"job {job['name']!r} removed")
        see_other(bottle.request.script_name + next_page)

    @route(app, "POST", "/jobs/<job_id>/reschedule")
    def reschedule(job_id: str) -> None:
        when = (form_params().get("when") or "").strip()
        if not when:
            raise BadRequestError("when: enter a time (HH:MM, +10m, an epoch or an ISO date)", field="when")
        job = facade.reschedule(job_id, when)
        back(state, f"job {job['name']!r} rescheduled")

    @route(app, "POST", "/running/<run_id>/cancel")
    def cancel(run_id: str) -> None:
        facade.cancel(run_id)
        back(state, f"run {run_id} is being cancelled", "running")
