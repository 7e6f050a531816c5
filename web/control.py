"""Control, Help and the login form (the Reports section is `web.reports`).

Control shows every option (value, source, whether it applies live) with a form for the
live ones, and the add-job form: a class picker (a GET form, so it works without
JavaScript; the script only submits it on change) and an argument form generated from
the class's ``task_options``. The server parses each argument by its declared type and
the facade validates the whole job, so a bad value comes back as a 400 naming the field,
with the form still filled in.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import bottle

from actors.errors import BadRequestError, http_status
from actors.timeish import describe_formats
from web import params
from web.render import render
from web.requests import form_params, query_params, route, safe_next, see_other
from web.state import WebState

#: Limit fields of the add-job form and how each is parsed.
LIMIT_FIELDS = (("max_runs", "int"), ("retries", "int"), ("timeout", "float"), ("only_before", "text"),
                ("when", "text"))


def _typed(raw: str, kind: str, field: str) -> Any:
    """*raw* form text as an argument of declared type *kind* (400 naming *field*)."""
    try:
        if kind == "int":
            return int(raw.strip(), 10)
        if kind == "float":
            return float(params.loads(raw.strip(), field=field))
    except (ValueError, TypeError, BadRequestError):
        raise BadRequestError(f"{field}: expected {'an integer' if kind == 'int' else 'a number'}, got {raw[:40]!r}",
                         field=field, value=raw[:40]) from None
    if kind in ("json", "list", "dict"):
        return params.json_text(raw, field)
    return raw


def job_from_form(form: Mapping[str, str], task: Mapping[str, Any] | None) -> dict[str, Any]:
    """The job dict (as for ``POST api/v1/jobs``) from the add-job form fields."""
    job: dict[str, Any] = {"name": (form.get("name") or "").strip(), "classname": form.get("classname") or "",
                           "only_once": form.get("only_once") in ("on", "true", "1")}
    interval, cron = (form.get("interval") or "").strip(), (form.get("cron") or "").strip()
    if cron:  # a calendar schedule: the interval field (it has a default) is not used
        job["cron"] = cron
    elif interval:
        job["interval"] = _typed(interval, "float", "interval")
    else:
        raise BadRequestError("interval: required (seconds between runs), or give a cron expression", field="interval")
    for name in ("tz", "misfire"):
        if (form.get(name) or "").strip():
            job[name] = form[name].strip()
    jitter, grace = (form.get("jitter") or "").strip(), (form.get("misfire_grace") or "").strip()
    if jitter:
        job["jitter"] = _typed(jitter, "float", "jitter")
    if grace:
        job["misfire_grace"] = grace if grace == "unlimited" else _typed(grace, "float", "misfire_grace")
    for name, kind in LIMIT_FIELDS:
        raw = (form.get(name) or "").strip()
        if raw:
            job[name] = raw if kind == "text" else _typed(raw, kind, name)
    extra = (form.get("kwargs") or "").strip()
    kwargs = params.json_text(extra, "kwargs") if extra else {}
    if not isinstance(kwargs, dict):
        raise BadRequestError(f"kwargs: expected a JSON object of arguments, got {extra[:40]!r}", field="kwargs")
    for option in (task or {}).get("options", []):
        name, kind = option["name"], option.get("type", "json")
        value = form.get(f"arg_{name}")
        if kind == "bool":
            kwargs[name] = value in ("on", "true", "1")
        elif value is not None and value.strip() != "":
            kwargs[name] = _typed(value, kind, name)
    job["kwargs"] = kwargs
    return job


def register_control(app: bottle.Bottle, state: WebState) -> None:
    """Add Control, Help and login routes to the pages *app*."""
    facade, security = state.facade, state.security

    def control_page(form: Mapping[str, str], error: tuple[str, str | None] | None = None) -> str:
        page = state.page("control")
        tasks = facade.tasks()
        chosen = form.get("classname") or (tasks[0]["classname"] if tasks else "")
        task = next((t for t in tasks if t["classname"] == chosen), None)
        return render("control.mako", page, options=facade.options(), tasks=tasks, chosen=chosen, task=task,
                      form=dict(form), error=error)

    @route(app, "GET", "/control")
    def control() -> str:
        query = query_params()
        return control_page({"classname": params.text(query, "classname") or ""})

    @route(app, "POST", "/control/options")
    def set_option() -> None:
        form = form_params()
        name = (form.get("name") or "").strip()
        if not name:
            raise BadRequestError("name: which option?", field="name")
        result = facade.set_option(name, form.get("value", ""))
        state.flash("ok", f"option {name} = {result['value']!r} (applies now)")
        see_other(bottle.request.script_name + "control")

    @route(app, "POST", "/control/jobs")
    def add_job() -> str:
        form = form_params()
        task = next((t for t in facade.tasks() if t["classname"] == form.get("classname")), None)
        try:
            record = facade.add_job(params.job_body(job_from_form(form, task)))
        except Exception as exc:
            status, message, field = http_status(exc)
            if status >= 500:
                raise
            body = control_page(form, (message, field))
            bottle.response.status = status
            return body
        state.flash("ok", f"job {record['name']!r} added ({record['job_id']})")
        for warning in record.get("warnings") or ():
            state.flash("warning", warning)
        return see_other(bottle.request.script_name + "jobs/" + record["job_id"])

    @route(app, "GET", "/help")
    def help_page() -> str:
        page = state.page("help")
        return render("help.mako", page, timeish=describe_formats())

    @route(app, "GET", "/login", public=True, read_only_ok=True)
    def login_form() -> str:
        query = query_params()
        if query.get("token") and security.enabled:  # the login URL printed at start (as JupyterLab's)
            target = safe_next(query.get("next"))
            if security.log_in(bottle.request, bottle.response, query["token"]):
                see_other(bottle.request.script_name + target)  # the token leaves the address bar
            bottle.response.status = 401
            return render("login.mako", state.page(""), message="wrong token", next_url=target)
        page = state.page("")
        return render("login.mako", page, message="" if security.enabled else "no web token is configured: "
                      "nothing to log in to", next_url=safe_next(query.get("next")))

    @route(app, "POST", "/login", public=True, read_only_ok=True)
    def login() -> str:
        form = form_params()
        target = safe_next(form.get("next"))
        if security.log_in(bottle.request, bottle.response, form.get("token") or ""):
            see_other(bottle.request.script_name + target)
        page = state.page("")
        bottle.response.status = 401
        return render("login.mako", page, message="wrong token", next_url=target)

    @route(app, "POST", "/logout", read_only_ok=True)
    def logout() -> None:
        security.log_out(bottle.request, bottle.response)
        see_other(bottle.request.script_name + "login")
