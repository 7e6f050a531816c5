"""The read pages of the panel: Overview, Running, Results, Run, Job, Logs (Schedule: `web.schedule_page`).

DAS's pages, with their bugs fixed: the Job page renders (DAS passed the template a
dict it did not expect) and lists children (DAS passed the dict instead of the id);
parent links point at each ancestor; totals are real totals, not the page length; the
``last`` filter works; log lines and task results are escaped. Forms for changes live in
`web.actions` and `web.control`; they are POST forms with a CSRF token.
"""

from __future__ import annotations

import time
from typing import Any

import bottle

from actors.jobs import JobState
from actors.store import Query
from web import params
from web.actions import register_actions
from web.actpages import register_act_pages
from web.control import register_control
from web.data_pages import register_data_pages
from web.errors import HtmlErrors
from web.outputs import register_outputs
from web.render import render
from web.requests import query_params, route
from web.schedule_page import register_schedule
from web.scripts import register_scripts
from web.security import Guard
from web.state import WebState
from web.timeline import timeline_svg

#: Outcomes counted as failures on the overview.
FAILURES = ("failed", "crashed", "timeout")


def _loggers(items: list[dict[str, Any]], prefix: str | None) -> list[str]:
    """Logger names one level below *prefix* seen on this page (links to narrow the view)."""
    depth = 0 if not prefix else prefix.count(".") + 1
    seen = {".".join(str(d.get("logger") or "").split(".")[: depth + 1]) for d in items if d.get("logger")}
    return sorted(name for name in seen if name and name != prefix)


def pages_app(state: WebState) -> bottle.Bottle:
    """The HTML pages as one Bottle app (merged into the root by `web.app.make_app`)."""
    app = bottle.Bottle()
    app.uninstall(True)
    app.install(HtmlErrors(state))
    app.install(Guard(state.security, api=False))
    facade = state.facade

    @route(app, "GET", "/")
    def overview() -> str:
        page = state.page("")
        counts = dict.fromkeys((str(s) for s in JobState), 0) | dict(facade.metrics().get("jobs_by_state") or {})
        hour_ago = time.time() - 3600
        runs_hour = (facade.runs(Query(type="result", since=hour_ago, limit=0)).total  # missed slots never ran
                     - facade.runs(Query(type="result", outcome="missed", since=hour_ago, limit=0)).total)
        failures_hour = sum(facade.runs(Query(type="result", outcome=o, since=hour_ago, limit=0)).total
                            for o in FAILURES)
        recent = [d for o in FAILURES for d in facade.runs(Query(type="result", outcome=o, limit=10)).items]
        recent.sort(key=lambda d: d.get("seq", 0), reverse=True)
        return render("overview.mako", page, counts=counts, workers=facade.workers(), runs_hour=runs_hour,
                      failures_hour=failures_hour, failures=recent[:10], running=len(facade.running()),
                      tiles=facade.tiles(hour_ago), timeline=timeline_svg(facade, page),
                      instances=facade.instances())

    @route(app, "GET", "/running")
    def running() -> str:
        page = state.page("running")
        return render("running.mako", page, runs=facade.running())

    @route(app, "GET", "/results")
    def results() -> str:
        query = query_params()
        q = params.runs_query(query, default_limit=50)
        page = state.page("results")
        found = facade.runs(q)
        filters = {k: query.get(k, "") for k in ("job_id", "name", "classname", "parent", "outcome", "last", "tag")}
        return render("results.mako", page, runs=found.items, total=found.total, more=found.more, limit=q.limit,
                      offset=q.offset, sel=filters, outcomes=params.OUTCOMES)

    @route(app, "GET", "/runs/<job_id>/<index>")
    def run(job_id: str, index: str) -> str:
        attempt = params.integer(query_params(), "attempt", minimum=0)
        number = params.run_index(index)
        doc = facade.run(job_id, number, attempt)
        attempts = sorted({d.get("attempt", 0) for d in facade.runs(
            Query(type="result", job_id=job_id, index=number, limit=100)).items})
        page = state.page("results")
        return render("run.mako", page, run=doc, attempts=attempts)

    @route(app, "GET", "/jobs/<job_id>")
    def job(job_id: str) -> str:
        found = facade.job(job_id)
        page = state.page("schedule")
        return render("job.mako", page, job=found, timeline=timeline_svg(facade, page, job_id=found["job_id"]))

    @route(app, "GET", "/logs")
    def logs() -> str:
        query = query_params()
        q = params.logs_query(query, default_limit=100)
        page = state.page("logs")
        found = facade.logs(q)
        filters = {k: query.get(k, "") for k in ("type", "logger", "level", "job_id", "last")}
        filters["type"] = q.type or "log"
        tail = page.url("api/v1/logs/tail", type=q.type, logger=q.logger_prefix, level=q.min_level,
                        job_id=q.job_id)
        return render("logs.mako", page, logs=found.items, total=found.total, more=found.more, limit=q.limit,
                      offset=q.offset, sel=filters, loggers=_loggers(found.items, q.logger_prefix),
                      tail_url=tail, levels=("", "debug", "info", "warning", "error", "critical"))

    for register in (register_schedule,  # tabs and action menus (issue 16)
                     register_actions, register_control,
                     register_data_pages,  # objects and streams (issue 13)
                     register_scripts, register_outputs, register_act_pages):  # scripts, actions (issue 14)
        register(app, state)
    return app
