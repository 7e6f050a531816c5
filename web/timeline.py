"""The timeline of the Overview and the Job page: the last hour's runs as bars per job.

Why a module of its own: both pages (and their live refresh) draw the same chart from the
same reads. The runs are read through the backend's report context with only the fields a
bar needs (`reports.base.ReportContext.stream`: no result bodies, no tracebacks), at most
`READ_LIMIT` of the newest in the window; the runs in progress come from ``running()``.
`reports.timeline.runs_timeline` turns them into a bounded Gantt spec; `reports.charts`
draws it as one ``<svg>``, whose bars link to the run pages.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from markupsafe import Markup

from actors.store import Query
from reports import charts
from reports.timeline import runs_timeline
from web.backend import Backend
from web.render import PageContext

#: Seconds of history the timeline shows.
WINDOW_S = 3600.0
#: Most stored runs read for one timeline (the newest of the window); the rest are counted.
READ_LIMIT = 3000
#: The fields of a result document a bar needs.
FIELDS = ("job_id", "name", "index", "attempt", "outcome", "started_at", "finished_at", "duration", "trigger")


def _read_runs(facade: Backend, since: float, now: float, job_id: str | None) -> tuple[list[dict[str, Any]], int]:
    """The newest (at most about `READ_LIMIT`) result documents that ended since *since*, and how many
    more the window holds."""
    context = facade.report_context(now)
    window = Query(type="result", since=since, job_id=job_id, limit=0)
    total = context.find(window).total
    start = since
    if total > READ_LIMIT:  # start reading at the READ_LIMIT-th newest: the older ones are only counted
        edge = context.find(Query(type="result", since=since, job_id=job_id, limit=1, offset=READ_LIMIT - 1)).items
        if edge and isinstance(edge[0].get("time"), int | float):
            start = float(edge[0]["time"])
    docs = [doc for doc in context.stream(Query(type="result", since=start, job_id=job_id), FIELDS)
            if doc.get("index") is not None]  # a missed slot (index null) never ran
    return docs, max(0, total - len(docs)) if total > READ_LIMIT else 0


def timeline_spec(facade: Backend, page: PageContext, *, job_id: str | None = None,
                  now: float | None = None) -> dict[str, Any]:
    """The Gantt spec of the last `WINDOW_S` seconds' runs (of *job_id* only, when given)."""
    now = time.time() if now is None else now
    docs, unread = _read_runs(facade, now - WINDOW_S, now, job_id)
    running = [run for run in facade.running() if job_id is None or run.get("job_id") == job_id]

    def run_href(doc: Mapping[str, Any]) -> str:
        return page.run_url(doc.get("job_id", ""), doc.get("index", ""), doc.get("attempt"))

    def job_href(doc: Mapping[str, Any]) -> str:
        if doc.get("trigger") == "one-off":  # a script's run without a job
            return page.url("scripts/" + str(doc.get("name") or ""))
        return page.job_url(str(doc.get("job_id") or ""))

    def running_href(run: Mapping[str, Any]) -> str:
        return page.url("running")

    return runs_timeline(docs, running, now=now, window_s=WINDOW_S, unread=unread, run_href=run_href,
                         job_href=job_href, running_href=running_href,
                         title="Runs in the last hour" + ("" if job_id is None else " of this job"))


def timeline_svg(facade: Backend, page: PageContext, *, job_id: str | None = None) -> Markup:
    """The timeline as one ``<svg id="timeline-chart">``."""
    return charts.render(timeline_spec(facade, page, job_id=job_id, now=page.now), "timeline-chart")
