"""The JSON API of scripts, triggers and actions (mounted with the rest under ``api/v1``).

* ``POST jobs/<id or name>/runs`` and ``POST scripts/<name>/runs`` with ``{"params": {...}}``
  start a run now (the schedule untouched) and answer **202** ``{run_id, status_url, ...}``;
  with an ``Idempotency-Key`` header a repeat answers **200** with the first run (header
  ``Idempotent-Replayed: true``), a repeat with other parameters 422, one racing the first 409;
* ``GET runs/<job_id>/<index>/status``: ``waiting``, ``running``, or the outcome and result;
* scripts: list, read (a version), save (``PUT``: a new version; ``base_version`` guards
  against overwriting a newer one: 409), delete, versions, diff, schedule;
* actions (``GET``, ``POST .../retry``) and targets (``GET``, ``POST``, ``PUT``, ``DELETE``).

Described in `web.openapi`; errors are the API's (``{"error": {status, message, field}}``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import bottle

from actors.errors import BadRequestError
from web import params
from web.actpages import action_query
from web.doors import act_of, interact_of
from web.requests import query_params, route
from web.state import WebState

#: Largest body of ``PUT scripts/<name>`` (a script of ``script_max_bytes``, JSON-escaped).
SCRIPT_BODY_BYTES = 4 * 1024 * 1024
#: Fields a trigger body may have.
TRIGGER_FIELDS = frozenset({"params"})


def _body(limit: int = params.MAX_BODY_BYTES, *, required: bool = True) -> dict[str, Any]:
    if bottle.request.content_length > limit:
        raise BadRequestError(f"body: larger than {limit} bytes", status=413, field="body")
    return params.json_object(bottle.request.body.read(limit + 1), required=required)


def _known(body: dict[str, Any], allowed: frozenset[str]) -> None:
    extra = sorted(set(body) - allowed)
    if extra:
        raise BadRequestError(f"unknown field {extra[0]!r} (known: {', '.join(sorted(allowed))})", field=extra[0])


def _index(raw: str) -> int:
    try:
        return int(raw, 10)
    except ValueError:
        raise BadRequestError(f"index: expected an integer, got {raw[:40]!r}", field="index") from None


def _started(created: bool, answer: dict[str, Any]) -> dict[str, Any]:
    """The answer of a trigger: 202 (a new run) or 200 (the first run of this key), with its URLs."""
    job_id, index, _attempt = str(answer["run_id"]).rsplit(":", 2)
    base = bottle.request.script_name
    status_url = f"{base}api/v1/runs/{quote(job_id, safe='')}/{index}/status"
    bottle.response.status = 202 if created else 200
    bottle.response.set_header("Location", status_url)
    if not created:
        bottle.response.set_header("Idempotent-Replayed", "true")
    return {**answer, "job_id": job_id, "index": int(index), "status_url": status_url,
            "run_url": f"{base}runs/{quote(job_id, safe='')}/{index}", "replayed": not created}


def register_interact_api(app: bottle.Bottle, state: WebState) -> None:
    """Add the routes of the module docstring to the API *app*."""
    _trigger_routes(app, state)
    _script_routes(app, state)
    _action_routes(app, state)


def _trigger_routes(app: bottle.Bottle, state: WebState) -> None:
    facade = state.facade

    def trigger_body() -> Any:
        body = _body(required=False)
        _known(body, TRIGGER_FIELDS)
        return body.get("params")

    def key() -> str | None:
        raw = bottle.request.get_header("Idempotency-Key")
        return None if raw is None else raw.strip()

    @route(app, "POST", "/jobs/<job_ref>/runs")
    def trigger_job(job_ref: str) -> dict[str, Any]:
        created, answer = interact_of(facade, scripts=False).trigger_job(job_ref, trigger_body(), key())
        return _started(created, answer)

    @route(app, "POST", "/scripts/<name>/runs")
    def trigger_script(name: str) -> dict[str, Any]:
        created, answer = interact_of(facade).trigger_script(name, trigger_body(), key())
        return _started(created, answer)

    @route(app, "GET", "/runs/<job_id>/<index>/status")
    def run_status(job_id: str, index: str) -> dict[str, Any]:
        status = interact_of(facade, scripts=False).run_status(job_id, _index(index))
        status["run_url"] = f"{bottle.request.script_name}runs/{quote(job_id, safe='')}/{status['index']}"
        return {"status": status}


def _script_routes(app: bottle.Bottle, state: WebState) -> None:
    facade = state.facade

    @route(app, "GET", "/scripts")
    def list_scripts() -> dict[str, Any]:
        query = query_params()
        limit, offset = params.page_bounds(query, default_limit=100)
        page = interact_of(facade).scripts(tag=params.text(query, "tag"), limit=limit, offset=offset)
        return {"scripts": page.items, "total": page.total, "more": page.more, "limit": limit, "offset": offset}

    @route(app, "GET", "/scripts/<name>")
    def get_script(name: str) -> dict[str, Any]:
        return interact_of(facade).script(name, params.integer(query_params(), "version", minimum=1))

    @route(app, "PUT", "/scripts/<name>")
    def put_script(name: str) -> dict[str, Any]:
        body = _body(SCRIPT_BODY_BYTES)
        _known(body, frozenset({"source", "base_version", "note", "tags"}))
        if "source" not in body:
            raise BadRequestError("source: required (the script's text)", field="source")
        base = body.get("base_version")
        if base is not None and (isinstance(base, bool) or not isinstance(base, int)):
            raise BadRequestError(f"base_version: an integer, got {base!r}", field="base_version")
        note = body.get("note", "")
        if not isinstance(note, str):
            raise BadRequestError("note: text", field="note")
        saved = interact_of(facade).save_script(name, body["source"], base_version=base, note=note,
                                                tags=body.get("tags"))
        bottle.response.status = 201 if saved["saved"] and saved["version"] == 1 else 200
        return {"script": saved}

    @route(app, "DELETE", "/scripts/<name>")
    def delete_script(name: str) -> dict[str, Any]:
        return {"deleted": interact_of(facade).delete_script(name)}

    @route(app, "GET", "/scripts/<name>/versions")
    def versions(name: str) -> dict[str, Any]:
        limit, offset = params.page_bounds(query_params(), default_limit=100)
        page = interact_of(facade).versions(name, limit=limit, offset=offset)
        return {"versions": page.items, "total": page.total, "more": page.more, "limit": limit, "offset": offset}

    @route(app, "GET", "/scripts/<name>/diff")
    def diff(name: str) -> dict[str, Any]:
        query = query_params()
        old, new = params.integer(query, "from", minimum=1), params.integer(query, "to", minimum=1)
        if old is None or new is None:
            raise BadRequestError("from and to: the two version numbers", field="from" if old is None else "to")
        found = interact_of(facade).diff(name, old, new)
        return {"diff": {**found, "lines": [{"kind": kind, "line": line} for kind, line in found["lines"]]}}

    @route(app, "POST", "/scripts/<name>/schedule")
    def schedule(name: str) -> dict[str, Any]:
        body = _body()
        _known(body, frozenset({"interval", "args", "when"}))
        if "interval" not in body:
            raise BadRequestError("interval: required (seconds between runs)", field="interval")
        job = interact_of(facade).schedule_script(name, interval=body["interval"], args=body.get("args"),
                                                  when=body.get("when"))
        bottle.response.status = 201
        return {"job": job}


def _action_routes(app: bottle.Bottle, state: WebState) -> None:
    facade = state.facade

    @route(app, "GET", "/actions")
    def list_actions() -> dict[str, Any]:
        chosen = action_query(query_params())
        page = act_of(facade).actions(chosen)
        return {"actions": page.items, "total": page.total, "more": page.more, "limit": chosen.limit,
                "offset": chosen.offset}

    @route(app, "GET", "/actions/<action_id>")
    def get_action(action_id: str) -> dict[str, Any]:
        return {"action": act_of(facade).action(action_id)}

    @route(app, "POST", "/actions/<action_id>/retry")
    def retry(action_id: str) -> dict[str, Any]:
        return {"action": act_of(facade).retry(action_id)}

    @route(app, "GET", "/targets")
    def list_targets() -> dict[str, Any]:
        return {"targets": act_of(facade).targets()}

    @route(app, "POST", "/targets")
    def add_target() -> dict[str, Any]:
        saved = act_of(facade).save_target(_body(), create=True)
        bottle.response.status = 201
        return {"target": saved}

    @route(app, "GET", "/targets/<name>")
    def get_target(name: str) -> dict[str, Any]:
        return {"target": act_of(facade).target(name)}

    @route(app, "PUT", "/targets/<name>")
    def put_target(name: str) -> dict[str, Any]:
        body = _body()
        if body.get("name", name) != name:
            raise BadRequestError(f"name: the body names {body.get('name')!r}, the URL {name!r}", field="name")
        return {"target": act_of(facade).save_target({**body, "name": name}, create=False)}

    @route(app, "DELETE", "/targets/<name>")
    def delete_target(name: str) -> dict[str, Any]:
        return {"target": act_of(facade).delete_target(name)}
