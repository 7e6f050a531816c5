"""The JSON API, ``{web_base}/api/v1/...``: jobs, runs, logs, workers, options, tasks, health
(objects and streams: `web.data_api`).

Every route answers JSON with a real status: 200/201/202 on success, and
``{"error": {"status", "message", "field"?}}`` with 400 (the field and value named),
401/403 (see `web.security`), 404, 405, 409 or 503 otherwise. `web.openapi` describes
each route; a test keeps the two in step.
"""

from __future__ import annotations

from typing import Any

import bottle

from actors.errors import BadRequestError
from web import params
from web.api_interact import register_interact_api
from web.data_api import register_data_api
from web.errors import JSON_TYPE, JsonErrors, json_response
from web.openapi import Catalog, openapi_document
from web.requests import query_params as _query
from web.requests import route
from web.security import Guard
from web.sse import tail_response
from web.state import WebState


def _body(*, required: bool = True) -> dict[str, Any]:
    length = bottle.request.content_length
    if length > params.MAX_BODY_BYTES:
        raise BadRequestError(f"body: larger than {params.MAX_BODY_BYTES} bytes", status=413, field="body")
    raw = bottle.request.body.read(params.MAX_BODY_BYTES + 1)
    return params.json_object(raw, required=required)


def _index(raw: str) -> int:
    try:
        return int(raw, 10)
    except ValueError:
        raise BadRequestError(f"index: expected an integer, got {raw[:40]!r}", field="index", value=raw[:40]) from None


def _backfill_route(app: bottle.Bottle, facade: Any) -> None:
    """``POST jobs/<id>/backfill {"from", "to"}``: 202 with what was queued (`Backend.backfill`)."""

    @route(app, "POST", "/jobs/<job_id>/backfill")
    def backfill(job_id: str) -> dict[str, Any]:
        body = _body()
        for name in ("from", "to"):
            if name not in body:
                raise BadRequestError(f"{name}: required (TIMEISH text, ISO date-time or epoch seconds)", field=name)
        extra = sorted(set(body) - {"from", "to"})
        if extra:
            raise BadRequestError(f"unknown field {extra[0]!r} (known: from, to)", field=extra[0])
        answer = facade.backfill(job_id, body["from"], body["to"])
        bottle.response.status = 202
        return {"backfill": {k: v for k, v in answer.items() if k != "job"}, "job": answer["job"]}


def api_app(state: WebState) -> bottle.Bottle:
    """The API as its own Bottle app (mounted at ``api/v1/`` by `web.app.make_app`)."""
    app = bottle.Bottle()
    app.uninstall(True)
    app.install(JsonErrors())
    app.install(Guard(state.security, api=True))
    _job_routes(app, state)
    _run_routes(app, state)
    _server_routes(app, state.facade)
    _backfill_route(app, state.facade)
    register_data_api(app, state)  # objects and streams (issue 13)
    register_interact_api(app, state)  # scripts, triggers, actions (issue 14)
    return app


def _job_routes(app: bottle.Bottle, state: WebState) -> None:
    facade = state.facade

    @route(app, "GET", "/jobs")
    def list_jobs() -> str:
        chosen = params.jobs_filter(_query())

        def draw() -> dict[str, Any]:
            page = facade.jobs_page(**chosen)
            return {"jobs": page["jobs"], "total": page["total"], "more": page["more"], "limit": chosen["limit"],
                    "offset": chosen["offset"]}

        # Shared for web_cache seconds (web.readcache): the same answer for every role.
        text: str = state.reads.get(("api", "jobs", tuple(sorted(chosen.items()))), lambda: json_response(draw()))
        bottle.response.content_type = JSON_TYPE
        return text

    @route(app, "POST", "/jobs")
    def add_job() -> dict[str, Any]:
        record = facade.add_job(params.job_body(_body()))
        bottle.response.status = 201
        bottle.response.set_header("Location", f"{bottle.request.script_name}api/v1/jobs/{record['job_id']}")
        return {"job": record}

    @route(app, "GET", "/jobs/<job_id>")
    def get_job(job_id: str) -> dict[str, Any]:
        return {"job": facade.job(job_id)}

    @route(app, "DELETE", "/jobs/<job_id>")
    def remove_job(job_id: str) -> dict[str, Any]:
        return {"job": facade.remove_job(job_id)}

    @route(app, "POST", "/jobs/<job_id>/pause")
    def pause_job(job_id: str) -> dict[str, Any]:
        return {"job": facade.pause_job(job_id)}

    @route(app, "POST", "/jobs/<job_id>/resume")
    def resume_job(job_id: str) -> dict[str, Any]:
        return {"job": facade.resume_job(job_id)}

    @route(app, "POST", "/jobs/<job_id>/run-now")
    def run_now(job_id: str) -> dict[str, Any]:
        body = _body(required=False)
        if body:  # issue 16: a body (kwargs ...) used to be ignored with a 200
            field = sorted(body)[0]
            raise BadRequestError(f"run-now takes no body, got field {field!r}: it runs the job as defined (to run "
                                  "with other parameters, POST them to jobs/<id>/runs)", field=field)
        return {"job": facade.run_now(job_id)}

    @route(app, "POST", "/jobs/<job_id>/reschedule")
    def reschedule(job_id: str) -> dict[str, Any]:
        body = _body()
        if "when" not in body:
            raise BadRequestError("when: required (TIMEISH text or epoch seconds)", field="when")
        extra = sorted(set(body) - {"when"})
        if extra:
            raise BadRequestError(f"unknown field {extra[0]!r} (known: when)", field=extra[0])
        return {"job": facade.reschedule(job_id, body["when"])}


def _run_routes(app: bottle.Bottle, state: WebState) -> None:
    facade = state.facade

    @route(app, "GET", "/runs")
    def list_runs() -> dict[str, Any]:
        query = params.runs_query(_query())
        page = facade.runs(query)
        return {"runs": page.items, "total": page.total, "more": page.more, "limit": query.limit,
                "offset": query.offset}

    @route(app, "GET", "/runs/<job_id>/<index>")
    def get_run(job_id: str, index: str) -> dict[str, Any]:
        attempt = params.integer(_query(), "attempt", minimum=0)
        return {"run": facade.run(job_id, params.run_index(index), attempt)}

    @route(app, "GET", "/running")
    def running() -> dict[str, Any]:
        return {"running": facade.running()}

    @route(app, "POST", "/running/<run_id>/cancel")
    def cancel(run_id: str) -> dict[str, Any]:
        result = facade.cancel(run_id)
        bottle.response.status = 202
        return {"cancel": result}

    # ------------------------------------------------------------------ logs
    @route(app, "GET", "/logs")
    def list_logs() -> dict[str, Any]:
        query = params.logs_query(_query())
        page = facade.logs(query)
        return {"logs": page.items, "total": page.total, "more": page.more, "limit": query.limit,
                "offset": query.offset}

    @route(app, "GET", "/logs/tail")
    def tail() -> Any:
        return tail_response(state, _query(), bottle.request.get_header("Last-Event-ID"))


def _server_routes(app: bottle.Bottle, facade: Any) -> None:
    @route(app, "GET", "/workers")
    def workers() -> dict[str, Any]:
        return {"workers": facade.workers()}

    @route(app, "GET", "/instances")
    def instances() -> dict[str, Any]:
        return {"instances": facade.instances()}

    @route(app, "GET", "/options")
    def options() -> dict[str, Any]:
        return {"options": facade.options()}

    @route(app, "PUT", "/options/<name>")
    def set_option(name: str) -> dict[str, Any]:
        body = _body()
        if "value" not in body:
            raise BadRequestError("value: required", field="value")
        return {"option": facade.set_option(name, body["value"])}

    @route(app, "GET", "/tasks")
    def tasks() -> dict[str, Any]:
        return {"tasks": facade.tasks()}

    @route(app, "GET", "/health")
    def health() -> dict[str, Any]:
        ok, details = facade.health()
        bottle.response.status = 200 if ok else 503
        return {"status": "ok" if ok else "unhealthy", **details}

    @route(app, "GET", "/openapi.json")
    def openapi() -> dict[str, Any]:
        catalog = Catalog(tasks=facade.tasks(), reports=[info.describe() for info in facade.reports().infos()],
                          options=facade.options())
        return openapi_document(bottle.request.script_name, catalog)
