"""The Schedule page: every job on one line, in tabs, with the actions its state allows.

Why a module of its own: the Schedule is the page an operator keeps open. Jobs that still run
by themselves (scheduled, waiting, running, paused) are the default tab; jobs that ended
(finished, abandoned, quarantined: kept to be looked at, rescheduled or removed) have their
own, so a few hundred finished children do not push the live ones off the page. A tab is a
group of states (`actors.jobs.STATE_GROUPS`) the scheduler filters by, so paging and totals
stay real; a ``state=`` filter narrows further. Outside the "ended" tab, children that ended
are folded under their parent (its row counts them and links to its Job page's children), so
a pipeline that spawns children at every run keeps one line per parent. Each row's actions come from
`web.job_menu`, drawn as a ``<details>`` menu of POST forms (no script needed).
"""

from __future__ import annotations

import bottle

from actors.jobs import STATE_GROUPS
from web import params
from web.render import PageContext, render
from web.requests import query_params, route
from web.state import WebState

#: The tabs: jobs still on the schedule, jobs that ended, every job.
SCHEDULE_TABS = ("active", "ended", "all")


def register_schedule(app: bottle.Bottle, state: WebState) -> None:
    """Add the Schedule page to the pages *app*."""
    facade = state.facade

    @route(app, "GET", "/schedule")
    def schedule() -> str:
        query = query_params()
        chosen = params.jobs_filter(query, default_limit=100)
        tab = params.choice(query, "tab", SCHEDULE_TABS, default="active")
        fold = chosen["state"] is None and tab != "ended"  # ended children under their parent's row
        if chosen["state"] is None and tab != "all":  # a tab is a group of states; a chosen state wins
            chosen["state"] = tab
        page = state.page("schedule")
        keep = {k: query[k] for k in ("due_within", "state", "tag", "tab") if query.get(k)}

        def draw(shell: PageContext) -> str:
            found = facade.jobs_page(**chosen, fold_children=fold)
            by_state = dict(facade.metrics().get("jobs_by_state") or {})
            tabs = [(name, sum(by_state.get(str(s), 0) for s in STATE_GROUPS[name]) if name in STATE_GROUPS
                     else sum(by_state.values())) for name in SCHEDULE_TABS]
            return render("schedule.mako", shell, jobs=found["jobs"], total=found["total"], more=found["more"],
                          limit=chosen["limit"], offset=chosen["offset"], due_within=chosen["due_within_s"],
                          state_filter=query.get("state") or "", states=params.STATES, keep=keep,
                          tag=chosen["tag"] or "", tab=tab, tabs=tabs)

        return state.cached_page("schedule", page, draw)  # shared for web_cache seconds (web.readcache)
