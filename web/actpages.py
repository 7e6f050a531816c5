"""The Actions area of the panel: every action tasks queued, its attempts, and the targets.

Why a module of its own: what tasks *did* (webhooks sent, messages published) is its own
question beside what ran; an operator looks here when a receiver says it got nothing. The
list filters by state, run, job and target; an action's page shows every attempt (status,
error, the first bytes of the answer) and can retry a failed one. Targets of the panel are
added, rotated and removed here (those of the config file are shown, not changed); a secret
is shown once when generated, and on the target's own page to a logged-in user.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import bottle

from actors.errors import BadRequestError, DasActorsError, http_status
from actors.store.outbox import STATES, ActionQuery
from web import params
from web.doors import act_of
from web.render import render
from web.requests import form_params, query_params, route, see_other
from web.state import WebState


def action_query(query: Mapping[str, str], *, default_limit: int = 100) -> ActionQuery:
    """The Actions filter from a query string (400 naming a bad field)."""
    limit, offset = params.page_bounds(query, default_limit=default_limit)
    return ActionQuery(state=params.choice(query, "state", STATES), run_id=params.text(query, "run_id"),
                       job_id=params.text(query, "job_id"), target=params.text(query, "target"),
                       since=params.since(query), limit=limit, offset=offset)


def target_from_form(form: Mapping[str, str]) -> dict[str, Any]:
    """A target body (as for ``POST api/v1/targets``) from the add-target form."""
    data: dict[str, Any] = {"name": (form.get("name") or "").strip(), "url": (form.get("url") or "").strip()}
    secret = form.get("secret_mode") or "generate"
    data["secret"] = {"generate": "generate", "none": ""}.get(secret, (form.get("secret") or "").strip())
    raw = (form.get("headers") or "").strip()
    if raw:
        headers = params.json_text(raw, "headers")
        if not isinstance(headers, dict):
            raise BadRequestError("headers: a JSON object of header name to value", field="headers")
        data["headers"] = headers
    for name in ("exchange", "routing_key"):
        if (form.get(name) or "").strip():
            data[name] = form[name].strip()
    return data


def register_act_pages(app: bottle.Bottle, state: WebState) -> None:
    """Add the Actions pages and forms to the pages *app*."""
    facade = state.facade

    def actions_page(form: Mapping[str, str] | None = None, error: tuple[str, str | None] | None = None,
                     status: int = 200) -> str:
        query = query_params()
        chosen = action_query(query)
        door = act_of(facade)
        found = door.actions(chosen)
        page = state.page("actions")
        keep = {k: query[k] for k in ("state", "run_id", "job_id", "target", "last") if query.get(k)}
        bottle.response.status = status
        return render("actions.mako", page, found=found, chosen=chosen, keep=keep, states=STATES,
                      targets=door.targets(), form=dict(form or {}), error=error)

    @route(app, "GET", "/actions")
    def actions() -> str:
        return actions_page()

    @route(app, "GET", "/actions/<action_id>")
    def action(action_id: str) -> str:
        found = act_of(facade).action(action_id)
        return render("action.mako", state.page("actions"), action=found)

    @route(app, "POST", "/actions/<action_id>/retry")
    def retry(action_id: str) -> None:
        act_of(facade).retry(action_id)
        state.flash("ok", f"action {action_id} will be tried again now")
        see_other(bottle.request.script_name + "actions/" + quote(action_id, safe=""))

    @route(app, "POST", "/targets")
    def add_target() -> str:
        form = form_params()
        try:
            saved = act_of(facade).save_target(target_from_form(form), create=True)
        except DasActorsError as exc:
            status, message, field = http_status(exc)
            if status >= 500:
                raise
            return actions_page(form, (message, field), status)
        note = f"; its signing secret (give it to the receiver): {saved['generated_secret']}" \
            if saved.get("generated_secret") else ""
        state.flash("ok", f"target {saved['name']!r} added{note}")
        return see_other(bottle.request.script_name + "targets/" + quote(saved["name"], safe=""))

    @route(app, "GET", "/targets/<name>")
    def target(name: str) -> str:
        door = act_of(facade)
        found = door.target(name)
        recent = door.actions(ActionQuery(target=name, limit=20)).items
        return render("target.mako", state.page("actions"), target=found, secret=door.target_secret(name),
                      recent=recent)

    @route(app, "POST", "/targets/<name>/rotate")
    def rotate(name: str) -> None:
        saved = act_of(facade).rotate_secret(name)
        state.flash("ok", f"target {name!r} signs with a new secret from now on: {saved['generated_secret']}")
        see_other(bottle.request.script_name + "targets/" + quote(name, safe=""))

    @route(app, "POST", "/targets/<name>/delete")
    def delete_target(name: str) -> None:
        act_of(facade).delete_target(name)
        state.flash("ok", f"target {name!r} removed; actions naming it fail from now on")
        see_other(bottle.request.script_name + "actions")

