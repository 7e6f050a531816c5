"""The OpenAPI 3.1 description of ``api/v1`` (served at ``api/v1/openapi.json``).

Written by hand next to the routes (`web.api`), with the schemas drawn from the server's own
rules (`web.openapi_schemas`), and completed from what *this* server has (a `Catalog`): each
task class's arguments in ``POST /jobs``, each live option's value type and range in
``PUT /options/<name>``, each report's parameters in ``GET /reports/<name>``. The generic
``{name}`` routes stay described for names outside the catalog (a 404, or 409 for an option that
needs a restart). Links from ``POST /jobs`` to the operations on the new job make stateful
tests possible. ``tests/web`` checks that every route is described and every described route
exists, validates the document, and fuzzes the API from it (``make fuzz``).
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from actors import __version__
from actors.bounds import MAX_COUNT
from actors.jobs import STATE_GROUPS
from actors.tags import TAG
from web.openapi_data import DATA_SCHEMAS, data_paths
from web.openapi_interact import INTERACT_SCHEMAS, interact_paths
from web.openapi_schemas import (
    COMPONENTS,
    OUTCOMES,
    PAGE,
    STATES,
    TEXT,
    new_job_schemas,
    option_value_schema,
    ref,
    report_parameters,
    when_schema,
)


@dataclass(frozen=True)
class Catalog:
    """What this server accepts beyond the fixed routes: task classes (``GET /tasks``), reports
    (their ``describe()``) and options (``GET /options``)."""

    tasks: Sequence[Mapping[str, Any]] = ()
    reports: Sequence[Mapping[str, Any]] = ()
    options: Sequence[Mapping[str, Any]] = field(default_factory=tuple)


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _q(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


def _p(name: str, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": schema or {"type": "string"},
            "description": description}


_ERR = {
    "400": _json(ref("Error"), "Malformed parameter or body; `field` names it"),
    "401": _json(ref("Error"), "A token is configured and none (or a wrong one) was sent"),
    "403": _json(ref("Error"), "Cross-site request, or the interface is read-only"),
    "404": _json(ref("Error"), "No such job, run, option, report, object, stream, script, action or target "
                           "(or scripts are off)"),
    "409": _json(ref("Error"), "Valid, but not now (e.g. the job is running, the option needs a restart)"),
    "411": _json(ref("Error"), "An upload without Content-Length (and not chunked)"),
    "413": _json(ref("Error"), "The body is larger than 256 KiB (an object: than object_max_size)"),
    "415": _json(ref("Error"), "A write whose body is not Content-Type: application/json"),
    "421": _json(ref("Error"), "The Host header names a host this server does not answer to (web_allowed_hosts)"),
    "429": _json(ref("Error"), "Too many failed tokens from this address; see Retry-After"),
    "503": _json(ref("Error"), "An actor (scheduler, journal) does not answer, or a live tail slot is not free"),
}
#: Every operation may answer these (authentication and the Host allow-list come first).
_ALWAYS = ("401", "421", "429")
#: ... and every write these (same-origin, read-only, JSON bodies).
_WRITES = ("403", "413", "415")


def _errors(*codes: str, write: bool = False) -> dict[str, Any]:
    chosen = (*_ALWAYS, *(_WRITES if write else ()), *codes)
    return {code: _ERR[code] for code in sorted(set(chosen))}


_JOB_ID = _p("job_id", "Job id (16 hex digits)")
_TAG = _q("tag", {"type": "string", "pattern": f"^({TAG.pattern})?$"}, "Only those carrying this tag")
_LAST = _q("last", {"type": "number", "minimum": 0, "maximum": 1e12}, "Only documents of the last N seconds")
_LEVEL = _q("level", {"oneOf": [{"type": "integer", "minimum": 0, "maximum": 100},
                                {"type": "string", "enum": ["debug", "info", "warning", "error", "critical"]}]},
            "Minimum level, a number or a name")


def _op(op_id: str, summary: str, ok: str, schema: dict[str, Any], *, params: list[dict[str, Any]] | None = None,
        body: dict[str, Any] | None = None, errors: tuple[str, ...] = (), tag: str = "jobs",
        write: bool = False) -> dict[str, Any]:
    operation: dict[str, Any] = {"operationId": op_id, "summary": summary, "tags": [tag],
                                 "parameters": params or [],
                                 "responses": {ok: _json(schema, summary), **_errors(*errors, write=write)}}
    if body is not None:
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    return operation


def _wrapped(key: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": [key], "properties": {key: schema}}


def _paged(key: str, item: str) -> dict[str, Any]:
    return {"type": "object", "required": [key, "total", "more"],
            "properties": {key: {"type": "array", "items": ref(item)}, "total": {"type": "integer"},
                           "more": {"type": "boolean"}, "limit": {"type": "integer"},
                           "offset": {"type": "integer"}}}


def _job_action(op_id: str, summary: str) -> dict[str, Any]:
    return {"post": _op(op_id, summary, "200", _wrapped("job", ref("Job")), params=[_JOB_ID],
                        errors=("404", "409", "503"), write=True)}


#: From a new job (``POST /jobs``, 201) to what can be done with it.
_JOB_LINKS = {name: {"operationId": op_id, "parameters": {param: "$response.body#/job/job_id"}}
              for name, op_id, param in (
                  ("GetJob", "getJob", "job_id"), ("RemoveJob", "removeJob", "job_id"),
                  ("PauseJob", "pauseJob", "job_id"), ("ResumeJob", "resumeJob", "job_id"),
                  ("RunJobNow", "runJobNow", "job_id"), ("RescheduleJob", "rescheduleJob", "job_id"),
                  ("ListRunsOfJob", "listRuns", "job_id"), ("ListLogsOfJob", "listLogs", "job_id"))}


def _job_paths(now: float) -> dict[str, Any]:
    job = _wrapped("job", ref("Job"))
    add = _op("addJob", "Add a job", "201", job, body=ref("NewJob"), errors=("400", "503"), write=True)
    add["responses"]["201"]["links"] = _JOB_LINKS
    add["responses"]["201"]["headers"] = {"Location": {"description": "The new job's URL",
                                                       "schema": {"type": "string"}}}
    return {
        "/jobs": {
            "get": _op("listJobs", "List jobs, soonest due first", "200", _paged("jobs", "Job"),
                       params=[_q("due_within", {"type": "number", "minimum": 0, "maximum": 1e12},
                                  "Only jobs due within N seconds"),
                               _q("state", {"type": "string", "enum": [*STATES, *STATE_GROUPS]},
                                  "Only jobs in this state, or in a group of states: active (scheduled, waiting, "
                                  "running, paused) or ended (finished, abandoned, quarantined)"), _TAG,
                               PAGE[0] | {"schema": {"type": "integer", "minimum": 1, "maximum": 1000,
                                                     "default": 1000}}, PAGE[1]],
                       errors=("400", "503")),
            "post": add,
        },
        "/jobs/{job_id}": {
            "get": _op("getJob", "A job with its recent runs and children", "200", job, params=[_JOB_ID],
                       errors=("404", "503")),
            "delete": _op("removeJob", "Remove a job (a running run finishes, then it is gone)", "200", job,
                          params=[_JOB_ID], errors=("404", "409", "503"), write=True),
        },
        "/jobs/{job_id}/pause": _job_action("pauseJob", "Pause a job"),
        "/jobs/{job_id}/resume": _job_action("resumeJob", "Resume a paused job"),
        "/jobs/{job_id}/run-now": _job_action("runJobNow", "Run a job once now, without shifting its schedule"),
        "/jobs/{job_id}/backfill": {"post": _op(
            "backfillJob", "Run the past slots of [from, to] the run ledger shows neither run nor claimed, once "
            "each, oldest first (a date-time without an offset is read in the job's zone)", "202",
            {"type": "object", "required": ["backfill", "job"], "properties": {
                "backfill": {"type": "object", "properties": {"slots": {"type": "integer"},
                                                              "queued": {"type": "integer"},
                                                              "skipped": {"type": "integer"}}},
                "job": ref("Job")}},
            params=[_JOB_ID], errors=("400", "404", "409", "503"), write=True,
            body={"type": "object", "required": ["from", "to"], "additionalProperties": False,
                  "properties": {"from": ref("PastWhen"), "to": ref("PastWhen")}})},
        "/jobs/{job_id}/reschedule": {"post": _op(
            "rescheduleJob", "Move a job's next run", "200", job, params=[_JOB_ID], errors=("400", "404", "409", "503"),
            body={"type": "object", "required": ["when"], "additionalProperties": False,
                  "properties": {"when": {"oneOf": [s for s in when_schema(now, allow_past=False)["oneOf"]
                                                    if s.get("type") != "null"]}}}, write=True)},
    }


#: One Server-Sent Event of the live tail (the stream is a sequence of them).
_SSE_EVENT = {"type": "object", "required": ["data"], "description": "One event of the stream", "properties": {
    "id": {"type": "string", "pattern": "^[0-9]+$", "description": "The document's seq (send it back as "
                                                                 "Last-Event-ID to resume)"},
    "event": {"type": "string", "enum": ["message"]},
    "data": {"type": "string", "contentMediaType": "application/json",
             "description": "The stored document as JSON: a system log line (type log), a task log line (reslog) "
                            "or a run's result (result)"},
    "retry": {"type": "integer", "minimum": 0, "description": "Milliseconds to wait before reconnecting"}}}


def _run_paths() -> dict[str, Any]:
    runs_params = [_q("job_id", TEXT, "Runs of this job"), _q("name", TEXT, "Runs of jobs with this name"),
                   _q("classname", TEXT, "Runs of this task class"),
                   _q("parent", TEXT, "Runs of descendants of this job id"),
                   _q("outcome", {"type": "string", "enum": OUTCOMES}, "Only this outcome"),
                   _q("index", {"type": "integer", "minimum": 0, "maximum": MAX_COUNT}, "Only this run number"),
                   _TAG, _LAST, *PAGE]
    log_params = [_q("type", {"type": "string", "enum": ["log", "reslog"], "default": "log"},
                     "log: system log lines; reslog: task log lines"),
                  _q("logger", TEXT, "Logger name prefix (dot-separated)"), _LEVEL,
                  _q("job_id", TEXT, "Task log lines of this job"), _LAST, *PAGE]
    tail_params = [_q("type", {"type": "string", "pattern": "^(log|reslog|result)(,(log|reslog|result))*$",
                               "default": "log,reslog"}, "Comma-separated document types: log, reslog, result"),
                   _q("after", {"type": "integer", "minimum": 0, "maximum": 2**62},
                      "Start after this seq (default: now)"),
                   _q("logger", TEXT, "Logger name prefix"), _LEVEL, _q("job_id", TEXT, "Only this job's documents"),
                   _q("limit", {"type": "integer", "minimum": 1, "maximum": 100000},
                      "End the stream after N documents"),
                   _q("timeout", {"type": "number", "minimum": 0, "maximum": 86400}, "End the stream after N seconds")]
    sse = ("text/event-stream (Server-Sent Events): for each stored document an event `id: <seq>` and "
           "`data: <the document as JSON>`, then a blank line; `: keep-alive` comment lines between them. "
           "Reconnect with Last-Event-ID to resume after the last seq seen.")
    return {
        "/runs": {"get": _op("listRuns", "Run results, newest first, with the real total", "200",
                             _paged("runs", "Run"), params=runs_params, errors=("400", "503"), tag="runs")},
        "/runs/{job_id}/{index}": {"get": _op(
            "getRun", "One run (latest attempt unless given) with its log lines", "200", _wrapped("run", ref("Run")),
            params=[_JOB_ID, _p("index", "Run number (1-based)", {"type": "integer", "minimum": 0,
                                                                  "maximum": MAX_COUNT}),
                    _q("attempt", {"type": "integer", "minimum": 0, "maximum": MAX_COUNT}, "Attempt (0 = first try)")],
            errors=("400", "404", "503"), tag="runs")},
        "/running": {"get": _op("listRunning", "Runs in progress", "200",
                                _wrapped("running", {"type": "array", "items": ref("RunningRun")}),
                                errors=("503",), tag="runs")},
        "/running/{run_id}/cancel": {"post": _op(
            "cancelRun", "Cancel a run in progress (recorded cancelled)", "202",
            _wrapped("cancel", {"type": "object", "properties": {"run_id": {"type": "string"},
                                                                 "cancelling": {"type": "boolean"}}}),
            params=[_p("run_id", "job_id:index:attempt")], errors=("404", "503"), tag="runs", write=True)},
        "/logs": {"get": _op("listLogs", "System or task log lines, newest first", "200", _paged("logs", "LogLine"),
                             params=log_params, errors=("400", "503"), tag="logs")},
        "/logs/tail": {"get": {
            "operationId": "tailLogs", "summary": "Live tail as Server-Sent Events", "tags": ["logs"],
            "description": sse, "parameters": tail_params,
            "responses": {"200": {"description": sse, "content": {"text/event-stream": {"schema": _SSE_EVENT}}},
                **_errors("400", "503")}}},
    }


def _system_paths(catalog: Catalog) -> dict[str, Any]:
    live = [o for o in catalog.options if o.get("live")]
    current = {str(o["name"]): o.get("value") for o in catalog.options}
    known = sorted(str(o["name"]) for o in live)
    paths: dict[str, Any] = {
        "/workers": {"get": _op("listWorkers", "Worker slots", "200",
                                _wrapped("workers", {"type": "array", "items": ref("Worker")}), tag="system")},
        "/instances": {"get": _op(
            "listInstances",
            "Servers on this store: one leader, the others followers (id, host, role, term, lease end, heartbeat)",
            "200", _wrapped("instances", {"type": "array", "items": ref("Instance")}), errors=("503",),
            tag="system")},
        "/options": {"get": _op("listOptions", "Options with value, source and whether they apply live", "200",
                                _wrapped("options", {"type": "array", "items": ref("Option")}), tag="system")},
        "/options/{name}": {"put": _op(
            "setOption", "Change a live option now (the names below are described one by one)", "200",
            _wrapped("option", {"type": "object"}),
            params=[_p("name", "Option name", _none_of(known))],
            errors=("400", "404", "409", "503"), tag="system", write=True,
            body={"type": "object", "required": ["value"], "properties": {"value": {}}})},
        "/tasks": {"get": _op("listTasks", "Task classes and their options", "200",
                              _wrapped("tasks", {"type": "array", "items": ref("Task")}), tag="system")},
        "/health": {"get": _op("getHealth", "Scheduler, journal and store health (503 when unhealthy)", "200",
                               ref("Health"), errors=("503",), tag="system")},
        "/openapi.json": {"get": _op("getOpenapi", "This document", "200", {"type": "object"}, tag="system")},
    }
    for option in live:
        name = str(option["name"])
        paths[f"/options/{name}"] = {"put": _op(
            f"setOption_{name}", f"Change option {name} now", "200", _wrapped("option", {"type": "object"}),
            errors=("400", "503"), tag="system", write=True, body=option_value_schema(option, current))}
    return paths


def _none_of(names: Sequence[str]) -> dict[str, Any]:
    """A path segment that is none of *names* (they have paths of their own)."""
    if not names:
        return {"type": "string"}
    alternatives = "|".join(re.escape(name) for name in names)
    return {"type": "string", "pattern": f"^(?!(?:{alternatives})$)", "not": {"enum": list(names)}}


def _report_paths(catalog: Catalog) -> dict[str, Any]:
    known = sorted(str(r["name"]) for r in catalog.reports)
    answer = ref("ReportAnswer")
    paths: dict[str, Any] = {
        "/reports": {"get": _op("listReports", "Reports, grouped by report_group, with their parameters", "200",
                                {"type": "object", "required": ["reports"],
                                 "properties": {"reports": {"type": "array", "items": ref("ReportInfo")},
                                                "errors": {"type": "object",
                                                           "additionalProperties": {"type": "string"}}}},
                                errors=("503",), tag="reports")},
        "/reports/{name}": {"get": {**_op(
            "getReport", "A report by a name not listed below: a dotted path package.module:Class under the "
            "operator's report_packages, or a 404", "200", answer,
            params=[_p("name", "Report name or dotted path", _none_of(known))],
            errors=("400", "404", "503"), tag="reports"),
            "description": "Query parameters are the report's own (see its `params` in GET /reports); an unknown "
                           "or malformed one is a 400 naming it."}},
    }
    for report in catalog.reports:
        name = str(report["name"])
        paths[f"/reports/{name}"] = {"get": _op(
            f"getReport_{name}", f"Report {name}: {report.get('title', name)}", "200", answer,
            params=report_parameters(report.get("params") or []), errors=("400", "404", "503"), tag="reports")}
    return paths


def _unnamed(summary: str, ok: str, schema: dict[str, Any], **options: Any) -> dict[str, Any]:
    """`_op` for the parts of the document kept in other modules: named later by `_finish`."""
    return _op("", summary, ok, schema, **options)


def _finish(paths: dict[str, Any]) -> dict[str, Any]:
    """Every operation named (``<method><Path>`` where its module gave no name), answering the
    errors every operation may answer (and every write the write errors), each described."""
    for path, item in paths.items():
        for method, operation in item.items():
            if not operation.get("operationId"):
                words = re.findall(r"[A-Za-z0-9]+", path)
                operation["operationId"] = method + "".join(word[:1].upper() + word[1:] for word in words)
            responses = operation.setdefault("responses", {})
            for code in (*_ALWAYS, *(_WRITES if method != "get" else ())):
                responses.setdefault(code, _ERR[code])
            for code, answer in responses.items():
                if not answer and code in _ERR:
                    responses[code] = _ERR[code]
    return paths


def _all_paths(catalog: Catalog, now: float) -> dict[str, Any]:
    return _finish({**_job_paths(now), **_run_paths(), **_system_paths(catalog), **_report_paths(catalog),
                    **data_paths(op=_unnamed, q=_q, p=_p, ref=ref, wrapped=_wrapped, paged=_paged, page=PAGE, tag=_TAG),
                    **interact_paths(_unnamed, _q, _p, ref, _wrapped)})


def openapi_document(base: str = "/analytics/", catalog: Catalog | None = None,
                     now: float | None = None) -> dict[str, Any]:
    """The whole document; *base* is the web base (``servers[0].url`` = ``{base}api/v1``)."""
    catalog = catalog or Catalog()
    now = time.time() if now is None else now
    return {
        "openapi": "3.1.0",
        "info": {"title": "das-actors API", "version": __version__,
                 "description": "Read and steer a das-actors server. Errors are "
                                "{\"error\": {\"status\", \"message\", \"field\"}}. With --web-token, send "
                                "`Authorization: Bearer <token>`. Writes from browsers must be same-origin and "
                                "JSON writes must say Content-Type: application/json. The schemas say what is "
                                "always accepted; the server checks every value again."},
        "servers": [{"url": base.rstrip("/") + "/api/v1"}],
        "paths": _all_paths(catalog, now),
        "components": {"schemas": {**COMPONENTS, **DATA_SCHEMAS, **INTERACT_SCHEMAS,
                                   **new_job_schemas(catalog.tasks, now),
                                   "FutureWhen": when_schema(now, allow_past=False)},
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{}, {"bearer": []}],
    }


__all__ = ["Catalog", "openapi_document"]
