"""The Scripts area of the panel: list, edit (CodeMirror over a plain textarea), run, schedule.

Why a module of its own: the script page is the panel's one editor, and its rules differ from
the other forms'. Every form posts the editor's text, so nothing typed is lost:

* **Save** adds a version; a save based on an older version than the newest is refused (409)
  and the page comes back with the posted text, the error and a link to compare;
* **Run now** runs the text as it is in the editor (saved or not) once, before the waiting
  line, on a worker. With JavaScript the page stays, and ``static/scripts.js`` follows the run
  live (the SSE tail of its log lines and result), then fetches its output; without it, the
  page comes back with the text and a link to the run;
* **Run in background** does the same without following it (the run is in Results);
* **Schedule** saves the text if it changed, then makes the newest version a job.

The editor's form is ``multipart/form-data``, which `web.multipart` parses without Bottle's
100 KiB memory cap (bottle#1470), so a script of ``script_max_bytes`` posts whole. Forms carry
the CSRF token; under ``--web-read-only`` every POST is refused by the guard and
the page shows the source without the buttons. The server never runs a script: it only reads
its text (`actors.scriptsource`).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import bottle

from actors.errors import BadRequestError, DasActorsError, NotFoundError, http_status
from actors.params import parse_duration
from actors.scriptsource import check_script_name
from web import params
from web.doors import InteractDoor, interact_of
from web.errors import json_response
from web.render import render
from web.requests import form_params, query_params, route, see_other
from web.state import WebState

#: The script page's policy: the panel's, plus the editor's own <style> elements by nonce (CodeMirror
#: injects its styles; no inline style of anyone else, no inline script at all).
EDITOR_CSP = ("default-src 'self'; style-src 'self' 'nonce-{nonce}'; base-uri 'none'; form-action 'self'; "
              "frame-ancestors 'none'; object-src 'none'")
NEW_SCRIPT = '''"""A new script: its top-level code is the run; `args` holds its arguments."""
import matplotlib.pyplot as plt

n = args.get("n", 10)
logger.info("squares up to %d", n)
plt.plot(range(n), [i * i for i in range(n)])
plt.title("squares")
result = {"total": sum(i * i for i in range(n))}
'''


def _int_or_none(form: Mapping[str, str], name: str) -> int | None:
    raw = (form.get(name) or "").strip()
    if not raw:
        return None
    try:
        return int(raw, 10)
    except ValueError:
        raise BadRequestError(f"{name}: expected an integer, got {raw[:40]!r}", field=name, value=raw[:40]) from None


def _args(form: Mapping[str, str]) -> dict[str, Any]:
    raw = (form.get("args") or "").strip()
    if not raw:
        return {}
    value = params.json_text(raw, "args")
    if not isinstance(value, dict):
        raise BadRequestError(f"args: a JSON object such as {{\"n\": 3}}, got {raw[:40]!r}", field="args")
    return value


def _interval(form: Mapping[str, str]) -> float:
    raw = (form.get("interval") or "").strip()
    if not raw:
        raise BadRequestError("interval: how often it runs (seconds, or 30s, 10m, 2h, 1d)", field="interval")
    return parse_duration(raw, "interval")


#: Largest text field of the editor's form read back from disk (a script is capped well below).
FIELD_BYTES = 8 * 1024 * 1024


def script_form() -> dict[str, str]:
    """The editor's form fields as text. A field over 100 KiB (the script) is kept on disk by the
    multipart parser and handed over as an upload without a file name: it is read back here."""
    form = form_params()
    for name, item in bottle.request.POST.allitems():
        if isinstance(item, bottle.FileUpload) and not item.raw_filename and name not in form:
            raw = item.file.read(FIELD_BYTES + 1)
            if len(raw) > FIELD_BYTES:
                raise BadRequestError(f"{name}: larger than {FIELD_BYTES} bytes", status=413, field=name)
            try:
                form[name] = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise BadRequestError(f"{name}: not valid UTF-8", field=name) from None
    return form


def _wants_json() -> bool:
    return "application/json" in (bottle.request.get_header("Accept") or "")


class _Views:
    """What the routes share: the door, the page of a script, the answer of a refused form."""

    def __init__(self, state: WebState) -> None:
        self.state = state
        self.facade = state.facade

    def door(self) -> InteractDoor:
        return interact_of(self.facade)

    def live_run(self, answer: Mapping[str, Any], after: int) -> dict[str, Any]:
        page = self.state.page("scripts")
        job_id, index = str(answer["job_id"]), int(answer["index"])
        return {**answer,
                "tail_url": page.url("api/v1/logs/tail", type="reslog,result", job_id=job_id, after=after),
                "output_url": page.url(f"runs/{quote(job_id, safe='')}/{index}/output"),
                "run_url": page.run_url(job_id, index),
                "status_url": page.url(f"api/v1/runs/{quote(job_id, safe='')}/{index}/status")}

    def script_page(self, name: str, *, version: int | None = None, text: str | None = None,
                    form: Mapping[str, str] | None = None, run: Mapping[str, Any] | None = None,
                    error: tuple[str, str | None] | None = None, status: int = 200) -> str:
        page = self.state.page("scripts")
        info: dict[str, Any] | None = None
        versions: list[dict[str, Any]] = []
        check_script_name(name)
        door = self.door()
        try:
            info = door.script(name, version)
        except NotFoundError:
            if version is not None:
                raise
        else:
            versions = door.versions(name, limit=50).items
        shown = text if text is not None else (info["version"]["source"] if info else NEW_SCRIPT)
        bottle.response.status = status
        nonce = secrets.token_urlsafe(16)
        bottle.response.set_header("Content-Security-Policy", EDITOR_CSP.format(nonce=nonce))
        return render("script.mako", page, name=name, info=info, versions=versions, source=shown,
                      form=dict(form or {}), run=run, error=error, viewing=version, nonce=nonce)

    def refused(self, name: str, form: Mapping[str, str], exc: Exception) -> str:
        status, message, field = http_status(exc)
        if status >= 500:
            raise exc
        return self.script_page(name, text=form.get("source", ""), form=form, error=(message, field), status=status)

    def back(self, name: str, kind: str, message: str) -> None:
        self.state.flash(kind, message)
        see_other(bottle.request.script_name + "scripts/" + quote(name, safe=""))


def register_scripts(app: bottle.Bottle, state: WebState) -> None:
    """Add the Scripts pages and forms to the pages *app*."""
    views = _Views(state)
    _pages(app, views)
    _forms(app, views)
    _runs(app, views)


def _pages(app: bottle.Bottle, views: _Views) -> None:
    state, facade = views.state, views.facade

    @route(app, "GET", "/scripts")
    def scripts() -> str:
        query = query_params()
        tag = params.text(query, "tag")
        limit, offset = params.page_bounds(query, default_limit=100)
        page = state.page("scripts")
        ia = getattr(facade, "interact", None)
        enabled = ia is not None and ia.enabled
        found = ia.scripts(tag=tag, limit=limit, offset=offset) if enabled and ia is not None else None
        return render("scripts.mako", page, enabled=enabled, found=found, tag=tag or "", limit=limit,
                      offset=offset)

    @route(app, "GET", "/scripts/new")
    def new_script() -> None:
        views.door()
        name = (params.text(query_params(), "name") or "").strip()
        check_script_name(name)
        see_other(bottle.request.script_name + "scripts/" + quote(name, safe=""))

    @route(app, "GET", "/scripts/<name>")
    def script(name: str) -> str:
        version = params.integer(query_params(), "version", minimum=1)
        return views.script_page(name, version=version)

    @route(app, "GET", "/scripts/<name>/diff")
    def script_diff(name: str) -> str:
        query = query_params()
        newest = int(views.door().script(name)["script"]["latest"])
        new = params.integer(query, "to", minimum=1) or newest
        old = params.integer(query, "from", minimum=1) or max(new - 1, 1)
        found = views.door().diff(name, old, new)
        page = state.page("scripts")
        return render("script_diff.mako", page, name=name, diff=found, latest=newest)


def _forms(app: bottle.Bottle, views: _Views) -> None:
    @route(app, "POST", "/scripts/<name>/save")
    def save(name: str) -> str:
        form = script_form()
        try:
            saved = views.door().save_script(name, form.get("source", ""),
                                             base_version=_int_or_none(form, "base_version"),
                                             note=form.get("note", ""), tags=form.get("tags"))
        except DasActorsError as exc:
            return views.refused(name, form, exc)
        message = (f"saved as version {saved['version']}" if saved["saved"]
                   else f"no change since version {saved['version']}: nothing saved")
        if saved.get("syntax_error"):
            message += f" (it does not parse: {saved['syntax_error']})"
        views.back(name, "error" if saved.get("syntax_error") else "ok", f"script {name!r} {message}")
        return ""

    @route(app, "POST", "/scripts/<name>/schedule")
    def schedule(name: str) -> str:
        form = script_form()
        door = views.door()
        try:
            interval = _interval(form)
            if "source" in form:
                door.save_script(name, form["source"], base_version=_int_or_none(form, "base_version"),
                                 note=form.get("note") or "scheduled", tags=form.get("tags"))
            job = door.schedule_script(name, interval=interval, args=_args(form), when=form.get("when") or None)
        except DasActorsError as exc:
            return views.refused(name, form, exc)
        views.back(name, "ok", f"script {name!r} runs every {job['interval']:g}s as job {job['job_id']}")
        return ""

    @route(app, "POST", "/scripts/<name>/unschedule")
    def unschedule(name: str) -> None:
        views.door().unschedule_script(name)
        views.back(name, "ok", f"script {name!r} is no longer scheduled")

    @route(app, "POST", "/scripts/<name>/tags")
    def tags(name: str) -> None:
        views.door().tag_script(name, form_params().get("tags") or "")
        views.back(name, "ok", f"tags of script {name!r} saved")

    @route(app, "POST", "/scripts/<name>/delete")
    def delete(name: str) -> None:
        gone = views.door().delete_script(name)
        views.state.flash("ok", f"script {name!r} deleted ({gone['versions_deleted']} version(s)); its runs stay "
                                "in Results")
        see_other(bottle.request.script_name + "scripts")


def _runs(app: bottle.Bottle, views: _Views) -> None:
    @route(app, "POST", "/scripts/<name>/run")
    def run_now(name: str) -> str:
        form = script_form()
        after = views.facade.last_seq()
        try:
            answer = views.door().run_script(name, source=form.get("source", ""), args=_args(form))
        except DasActorsError as exc:
            if _wants_json():
                status, message, field = http_status(exc)
                bottle.response.status = status
                return json_response(params.error_body(status, message, field))
            return views.refused(name, form, exc)
        run = views.live_run(answer, after)
        if _wants_json():
            return json_response(run)
        return views.script_page(name, text=form.get("source", ""), form=form, run=run)

    @route(app, "POST", "/scripts/<name>/background")
    def background(name: str) -> str:
        form = script_form()
        try:
            answer = views.door().run_script(name, source=form.get("source", ""), args=_args(form))
        except DasActorsError as exc:
            return views.refused(name, form, exc)
        views.state.flash("ok", f"script {name!r} runs in the background as run {answer['run_id']}: see Results")
        return see_other(bottle.request.script_name + "results?" + bottle.urlencode({"name": name}))


__all__ = ["NEW_SCRIPT", "register_scripts"]
