"""The OpenAPI 3.1 description of ``api/v1`` (served at ``api/v1/openapi.json``).

Written by hand next to the routes (`web.api`); ``tests/web`` checks that every route
is described and every described route exists, validates the document, and fuzzes the
API from its parameters.
"""

from __future__ import annotations

from typing import Any

from actors import __version__
from actors.jobs import JobState, Outcome

_OUTCOMES = [str(o) for o in Outcome]
_STATES = [str(s) for s in JobState]


def _cron_field(value: str, extra: str = "") -> str:
    item = rf"(\*|{value}(-{value})?)(/[1-9][0-9]{{0,3}})?{extra}"
    return rf"{item}(,{item})*"


_MONTHS = "JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC"
_DAYS = "SUN|MON|TUE|WED|THU|FRI|SAT"
#: Five cron fields (minute hour day-of-month month day-of-week) or a macro, upper case (the server
#: also takes lower case). An expression that can never fire (``0 0 30 2 *``) is refused all the same.
CRON_PATTERN = (r"^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|"
                + r" +".join([_cron_field("[1-5]?[0-9]"), _cron_field("(1?[0-9]|2[0-3])"),
                              "(" + _cron_field("([1-9]|[12][0-9]|3[01])") + "|L|LW)",
                              _cron_field(f"([1-9]|1[0-2]|{_MONTHS})"),
                              _cron_field(f"([0-7]|{_DAYS})", "(#[1-5]|L)?")]) + r")$")
_SCHEDULE_FIELDS: dict[str, Any] = {
    "interval": {"type": "number", "minimum": 0.001, "maximum": 1e9,
                 "description": "Seconds between runs (give interval or cron)"},
    "cron": {"type": "string", "maxLength": 200, "pattern": CRON_PATTERN,
             "description": "Cron expression, five fields or a macro such as @daily (give interval or cron)"},
    "tz": {"type": ["string", "null"], "maxLength": 64, "pattern": r"^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$",
           "description": "IANA time zone of a cron expression (default UTC)"},
    "jitter": {"type": ["number", "null"], "minimum": 0, "maximum": 86400,
               "description": "Each due time is moved by a fixed pseudo-random 0..jitter seconds (at most the "
                              "interval)"},
    "misfire": {"type": ["string", "null"], "enum": ["coalesce", "all", "skip", None],
                "description": "Slots that fell due while the job could not run: coalesce (the newest runs), all "
                               "(each runs, up to max_catchup), skip (none); the rest are recorded missed. Default: "
                               "the server's misfire option"},
    "misfire_grace": {"oneOf": [{"type": "number", "minimum": 0}, {"type": "string", "enum": ["unlimited"]},
                                {"type": "null"}],
                      "description": "Seconds after its due time within which a missed slot still runs"},
    "max_catchup": {"type": ["integer", "null"], "minimum": 1, "maximum": 10000},
}


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _q(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


def _p(name: str, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": schema or {"type": "string"},
            "description": description}


_ERR = {
    "400": _json(_ref("Error"), "Malformed parameter or body; `field` names it"),
    "401": _json(_ref("Error"), "A token is configured and none (or a wrong one) was sent"),
    "403": _json(_ref("Error"), "Cross-site request, or the interface is read-only"),
    "404": _json(_ref("Error"), "No such job, run or option"),
    "409": _json(_ref("Error"), "Valid, but not now (e.g. the job is running, the option needs a restart)"),
    "503": _json(_ref("Error"), "An actor (scheduler, journal) does not answer"),
}


def _errors(*codes: str) -> dict[str, Any]:
    return {code: _ERR[code] for code in ("401", *codes)}


_JOB_ID = _p("job_id", "Job id (16 hex digits)")
_PAGE = [_q("limit", {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}, "Page size"),
         _q("offset", {"type": "integer", "minimum": 0, "default": 0}, "Documents to skip (newest first)")]
_LAST = _q("last", {"type": "number", "minimum": 0}, "Only documents of the last N seconds")
_REPORT_PARAMS = [
    _q("window", {"type": "string", "enum": ["10m", "1h", "6h", "24h"]}, "scheduler: window of the charts"),
    _q("job_id", {"type": "string"}, "job: the job's id (required by that report)"),
    _q("period", {"type": "string"}, "job, test, workers: how far back, seconds or 30m, 6h, 2d"),
]
_LEVEL = _q("level", {"oneOf": [{"type": "integer", "minimum": 0, "maximum": 100},
                                {"type": "string", "enum": ["debug", "info", "warning", "error", "critical"]}]},
            "Minimum level, a number or a name")


def _op(summary: str, ok: str, schema: dict[str, Any], *, params: list[dict[str, Any]] | None = None,
        body: dict[str, Any] | None = None, errors: tuple[str, ...] = (), tag: str = "jobs") -> dict[str, Any]:
    operation: dict[str, Any] = {"summary": summary, "tags": [tag], "parameters": params or [],
                                 "responses": {ok: _json(schema, summary), **_errors(*errors)}}
    if body is not None:
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    return operation


def _wrapped(key: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": [key], "properties": {key: schema}}


def _paged(key: str, item: str) -> dict[str, Any]:
    return {"type": "object", "required": [key, "total", "more"],
            "properties": {key: {"type": "array", "items": _ref(item)}, "total": {"type": "integer"},
                           "more": {"type": "boolean"}, "limit": {"type": "integer"},
                           "offset": {"type": "integer"}}}


def _job_action(summary: str) -> dict[str, Any]:
    return {"post": _op(summary, "200", _wrapped("job", _ref("Job")), params=[_JOB_ID],
                        errors=("403", "404", "409", "503"))}


_TAG = _q("tag", {"type": "string"}, "Only those carrying this tag")
_NAME = _p("name", "Object or stream name: a letter or digit, then letters, digits and ._- (at most 120)")
_VERSION = _q("version", {"type": "integer", "minimum": 1}, "A version (default: the newest)")


def _data_paths() -> dict[str, Any]:
    """Objects and streams (issue 13, `web.data_api`)."""
    obj = _wrapped("object", _ref("DataObject"))
    stream = _wrapped("stream", _ref("Stream"))
    return {
        "/objects": {"get": _op("Data objects (their newest version) by name", "200", _paged("objects", "DataObject"),
                                params=[_TAG, _q("prefix", {"type": "string"}, "Names starting with this"), *_PAGE],
                                errors=("400", "503"), tag="data")},
        "/objects/{name}": {
            "get": _op("One object's metadata and its versions", "200",
                       {"type": "object", "required": ["object", "versions"], "properties": {
                           "object": _ref("DataObject"), "versions": {"type": "array", "items": _ref("DataObject")}}},
                       params=[_NAME, _VERSION], errors=("400", "404", "503"), tag="data"),
            "put": {**_op("Store a new version from the raw body (streamed; 413 past object_max_size)", "201", obj,
                          params=[_NAME, _q("tags", {"type": "string"}, "Comma-separated tags (default: the "
                                                                           "previous version's)"),
                                  _q("format", {"type": "string", "enum": ["json", "csv", "bytes"]},
                                     "Format (default: from Content-Type, then the name's ending)")],
                          errors=("400", "403", "503"), tag="data"),
                    "requestBody": {"required": True, "content": {"*/*": {"schema": {
                        "type": "string", "format": "binary"}}}}},
            "delete": _op("Delete every version (or one)", "200",
                          _wrapped("deleted", {"type": "object", "properties": {"deleted": {"type": "integer"}}}),
                          params=[_NAME, _VERSION], errors=("400", "403", "404", "503"), tag="data"),
        },
        "/objects/{name}/content": {"get": {
            "summary": "An object's bytes, streamed as an attachment", "tags": ["data"],
            "parameters": [_NAME, _VERSION],
            "responses": {"200": {"description": "The bytes", "content": {"application/octet-stream": {
                "schema": {"type": "string", "format": "binary"}}}}, **_errors("400", "404", "503")}}},
        "/objects/{name}/tags": {"post": _op(
            "Add and remove tags of the newest version (or one)", "200", obj, params=[_NAME],
            body={"type": "object", "additionalProperties": False, "properties": {
                "add": {"type": "array", "items": {"type": "string"}},
                "remove": {"type": "array", "items": {"type": "string"}}, "version": {"type": "integer"}}},
            errors=("400", "403", "404", "503"), tag="data")},
        "/streams": {
            "get": _op("Streams with their live status", "200",
                       _wrapped("streams", {"type": "array", "items": _ref("Stream")}), params=[_TAG],
                       errors=("400", "503"), tag="data"),
            "post": _op("Register a stream and start consuming it", "201", stream, errors=("400", "403", "409", "503"),
                        body={"type": "object", "required": ["name", "uri", "queue"], "additionalProperties": False,
                              "properties": {"name": {"type": "string"}, "uri": {"type": "string"},
                                             "queue": {"type": "string"},
                                             "tags": {"type": "array", "items": {"type": "string"}}}}, tag="data"),
        },
        "/streams/{name}": {
            "get": _op("One stream with its newest messages", "200", stream,
                       params=[_NAME, _q("last", {"type": "integer", "minimum": 0, "maximum": 1000},
                                         "Newest messages to include (default 20)")],
                       errors=("400", "404", "503"), tag="data"),
            "delete": _op("Stop consuming and forget the stream and its messages", "200", stream, params=[_NAME],
                          errors=("403", "404", "503"), tag="data"),
        },
        "/streams/{name}/pause": {"post": _op("Stop consuming (the broker keeps the messages)", "200", stream,
                                              params=[_NAME], errors=("403", "404", "503"), tag="data")},
        "/streams/{name}/resume": {"post": _op("Consume again", "200", stream, params=[_NAME],
                                               errors=("403", "404", "503"), tag="data")},
        "/streams/{name}/messages": {"get": _op(
            "Messages after a seq (oldest first), or the newest (newest first)", "200",
            _wrapped("messages", {"type": "array", "items": _ref("StreamMessage")}),
            params=[_NAME, _q("after", {"type": "integer", "minimum": 0}, "After this seq"),
                    _q("limit", {"type": "integer", "minimum": 1, "maximum": 1000, "default": 50}, "At most")],
            errors=("400", "404", "503"), tag="data")},
        "/streams/{name}/tail": {"get": {
            "summary": "New messages as Server-Sent Events", "tags": ["data"],
            "parameters": [_NAME, _q("after", {"type": "integer", "minimum": 0}, "Start after this seq (default: "
                                                                                 "now)"),
                           _q("limit", {"type": "integer", "minimum": 1}, "End the stream after N messages"),
                           _q("timeout", {"type": "number", "minimum": 0, "maximum": 86400},
                              "End the stream after N seconds")],
            "responses": {"200": {"description": "text/event-stream: `id: <seq>` and `data: <message JSON>`",
                                  "content": {"text/event-stream": {"schema": {"type": "string"}}}},
                          **_errors("400", "404", "503")}}},
    }


def _paths() -> dict[str, Any]:
    job = _wrapped("job", _ref("Job"))
    runs_params = [_q("job_id", {"type": "string"}, "Runs of this job"),
                   _q("name", {"type": "string"}, "Runs of jobs with this name"),
                   _q("classname", {"type": "string"}, "Runs of this task class"),
                   _q("parent", {"type": "string"}, "Runs of descendants of this job id"),
                   _q("outcome", {"type": "string", "enum": _OUTCOMES}, "Only this outcome"),
                   _q("index", {"type": "integer", "minimum": 0}, "Only this run number"), _TAG, _LAST, *_PAGE]
    log_params = [_q("type", {"type": "string", "enum": ["log", "reslog"], "default": "log"},
                     "log: system log lines; reslog: task log lines"),
                  _q("logger", {"type": "string"}, "Logger name prefix (dot-separated)"), _LEVEL,
                  _q("job_id", {"type": "string"}, "Task log lines of this job"), _LAST, *_PAGE]
    tail_params = [_q("type", {"type": "string", "default": "log,reslog"},
                      "Comma-separated document types: log, reslog, result"),
                   _q("after", {"type": "integer", "minimum": 0}, "Start after this seq (default: now)"),
                   _q("logger", {"type": "string"}, "Logger name prefix"), _LEVEL,
                   _q("job_id", {"type": "string"}, "Only this job's documents"),
                   _q("limit", {"type": "integer", "minimum": 1}, "End the stream after N documents"),
                   _q("timeout", {"type": "number", "minimum": 0, "maximum": 86400},
                      "End the stream after N seconds")]
    return {
        "/jobs": {
            "get": _op("List jobs, soonest due first", "200", _paged("jobs", "Job"),
                       params=[_q("due_within", {"type": "number", "minimum": 0}, "Only jobs due within N seconds"),
                               _q("state", {"type": "string", "enum": _STATES}, "Only jobs in this state"), _TAG,
                               _PAGE[0] | {"schema": {"type": "integer", "minimum": 1, "maximum": 1000,
                                                      "default": 1000}}, _PAGE[1]],
                       errors=("400", "503")),
            "post": _op("Add a job", "201", job, body=_ref("NewJob"), errors=("400", "403", "503")),
        },
        "/jobs/{job_id}": {
            "get": _op("A job with its recent runs and children", "200", job, params=[_JOB_ID],
                       errors=("404", "503")),
            "delete": _op("Remove a job (a running run finishes, then it is gone)", "200", job, params=[_JOB_ID],
                          errors=("403", "404", "409", "503")),
        },
        "/jobs/{job_id}/pause": _job_action("Pause a job"),
        "/jobs/{job_id}/resume": _job_action("Resume a paused job"),
        "/jobs/{job_id}/run-now": _job_action("Run a job once now, without shifting its schedule"),
        "/jobs/{job_id}/backfill": {"post": _op(
            "Run the past slots of [from, to] the run ledger shows neither run nor claimed, once each, oldest "
            "first (a date-time without an offset is read in the job's zone)", "202",
            {"type": "object", "required": ["backfill", "job"], "properties": {
                "backfill": {"type": "object", "properties": {"slots": {"type": "integer"},
                                                              "queued": {"type": "integer"},
                                                              "skipped": {"type": "integer"}}},
                "job": _ref("Job")}},
            params=[_JOB_ID], errors=("400", "403", "404", "409", "503"),
            body={"type": "object", "required": ["from", "to"], "additionalProperties": False,
                  "properties": {"from": _ref("When"), "to": _ref("When")}})},
        "/jobs/{job_id}/reschedule": {"post": _op(
            "Move a job's next run", "200", job, params=[_JOB_ID], errors=("400", "403", "404", "409", "503"),
            body={"type": "object", "required": ["when"], "additionalProperties": False,
                  "properties": {"when": _ref("When")}})},
        "/runs": {"get": _op("Run results, newest first, with the real total", "200", _paged("runs", "Run"),
                             params=runs_params, errors=("400", "503"), tag="runs")},
        "/runs/{job_id}/{index}": {"get": _op(
            "One run (latest attempt unless given) with its log lines", "200", _wrapped("run", _ref("Run")),
            params=[_JOB_ID, _p("index", "Run number (1-based)", {"type": "integer"}),
                    _q("attempt", {"type": "integer", "minimum": 0}, "Attempt (0 = first try)")],
            errors=("400", "404", "503"), tag="runs")},
        "/running": {"get": _op("Runs in progress", "200",
                                _wrapped("running", {"type": "array", "items": _ref("RunningRun")}),
                                errors=("503",), tag="runs")},
        "/running/{run_id}/cancel": {"post": _op(
            "Cancel a run in progress (recorded cancelled)", "202",
            _wrapped("cancel", {"type": "object", "properties": {"run_id": {"type": "string"},
                                                                 "cancelling": {"type": "boolean"}}}),
            params=[_p("run_id", "job_id:index:attempt")], errors=("403", "404", "503"), tag="runs")},
        "/logs": {"get": _op("System or task log lines, newest first", "200", _paged("logs", "LogLine"),
                             params=log_params, errors=("400", "503"), tag="logs")},
        "/logs/tail": {"get": {
            "summary": "Live tail as Server-Sent Events", "tags": ["logs"], "parameters": tail_params,
            "responses": {"200": {"description": "text/event-stream: `id: <seq>` and `data: <document JSON>` "
                                                 "per document; comment heartbeats",
                                  "content": {"text/event-stream": {"schema": {"type": "string"}}}},
                          **_errors("400", "503")}}},
        "/workers": {"get": _op("Worker slots", "200", _wrapped("workers", {"type": "array", "items": _ref("Worker")}),
                                tag="system")},
        "/instances": {"get": _op(
            "Servers on this store: one leader, the others followers (id, host, role, term, lease end, heartbeat)",
            "200", _wrapped("instances", {"type": "array", "items": _ref("Instance")}), errors=("503",),
            tag="system")},
        "/options": {"get": _op("Options with value, source and whether they apply live", "200",
                                _wrapped("options", {"type": "array", "items": _ref("Option")}), tag="system")},
        "/options/{name}": {"put": _op(
            "Change a live option now", "200", _wrapped("option", {"type": "object"}),
            params=[_p("name", "Option name")], errors=("400", "403", "404", "409", "503"), tag="system",
            body={"type": "object", "required": ["value"], "properties": {"value": {}}})},
        "/tasks": {"get": _op("Task classes and their options", "200",
                              _wrapped("tasks", {"type": "array", "items": _ref("Task")}), tag="system")},
        "/health": {"get": _op("Scheduler, journal and store health (503 when unhealthy)", "200", _ref("Health"),
                               errors=("503",), tag="system")},
        "/openapi.json": {"get": _op("This document", "200", {"type": "object"}, tag="system")},
        "/reports": {"get": _op("Reports, grouped by report_group, with their parameters", "200",
                                {"type": "object", "required": ["reports"],
                                 "properties": {"reports": {"type": "array", "items": _ref("ReportInfo")},
                                                "errors": {"type": "object",
                                                           "additionalProperties": {"type": "string"}}}},
                                errors=("503",), tag="reports")},
        "/reports/{name}": {"get": {**_op(
            "One report's figures and chart specs", "200", _ref("ReportAnswer"),
            params=[_p("name", "Report name (see GET /reports) or a dotted path package.module:Class"),
                    *_REPORT_PARAMS],
            errors=("400", "404", "503"), tag="reports"),
            "description": "Query parameters are the report's own (see its `params` in GET /reports); an unknown "
                           "or malformed one is a 400 naming it. The parameters listed here are those of the "
                           "built-in reports."}},
        **_data_paths(),
    }


_SCHEMAS: dict[str, Any] = {
    "Error": {"type": "object", "required": ["error"], "properties": {"error": {
        "type": "object", "required": ["status", "message"],
        "properties": {"status": {"type": "integer"}, "message": {"type": "string"}, "field": {"type": "string"}}}}},
    "When": {"description": "TIMEISH text (HH:MM[:SS][gmt], +N[smhd], epoch, ISO-8601) or epoch seconds",
             "oneOf": [{"type": "string"}, {"type": "number"}]},
    "NewJob": {"type": "object", "required": ["name", "classname"], "additionalProperties": False,
               "oneOf": [{"required": ["interval"], "not": {"required": ["cron"]},
                          "properties": {"tz": {"enum": [None, ""]}}},  # a zone belongs to a cron expression
                         {"required": ["cron"], "not": {"required": ["interval"]}}],
               "description": "Exactly one of interval and cron. jitter may not exceed the interval (not expressible "
                              "here); a cron expression that never fires and an unknown zone are refused too",
               "properties": {
                   "name": {"type": "string", "minLength": 1}, "classname": {"type": "string", "minLength": 1},
                   **_SCHEDULE_FIELDS,
                   "kwargs": {"type": "object", "description": "Task arguments"},
                   "only_once": {"type": "boolean"}, "max_runs": {"type": ["integer", "null"], "minimum": 1},
                   "only_before": {"oneOf": [_ref("When"), {"type": "null"}]},
                   "timeout": {"type": ["number", "null"], "exclusiveMinimum": 0},
                   "retries": {"type": ["integer", "null"], "minimum": 0},
                   "resources": {"type": "object", "additionalProperties": {"type": "number", "exclusiveMinimum": 0},
                                 "description": "Placement on a Dask cluster, e.g. {\"GPU\": 1}"},
                   "when": {"oneOf": [_ref("When"), {"type": "null"}], "description": "First run (default: now "
                                                                                      "or per the start offset)"},
                   "tags": {"type": "array", "items": {"type": "string"}},
                   "on_stream": {"type": ["string", "null"], "description": "Also run when new messages arrive"},
                   "stream_batch": {"type": ["integer", "null"], "minimum": 1,
                                    "description": "How many new messages of on_stream start a run (default 1)"}}},
    "Job": {"type": "object", "required": ["job_id", "name", "classname", "interval", "state"], "properties": {
        "job_id": {"type": "string"}, "name": {"type": "string"}, "classname": {"type": "string"},
        "interval": {"type": ["number", "null"]}, "cron": {"type": ["string", "null"]},
        "tz": {"type": ["string", "null"]}, "jitter": {"type": "number"},
        "misfire": {"type": ["string", "null"]}, "misfire_grace": {"type": ["number", "string", "null"]},
        "max_catchup": {"type": ["integer", "null"]},
        "slot": {"type": ["number", "null"], "description": "The slot of the current or next scheduled run"},
        "schedule": {"type": "object", "description": "Only on GET /jobs/{job_id}: description, tz, jitter, "
                                                      "misfire policy in effect, next fire times (epoch and local)"},
        "kwargs": {"type": "object"}, "state": {"type": "string", "enum": _STATES},
        "due_at": {"type": ["number", "null"]}, "run_count": {"type": "integer"},
        "retries_used": {"type": "integer"}, "last_outcome": {"type": ["string", "null"]},
        "last_error": {"type": ["string", "null"]}, "parent": {"type": "array", "items": {"type": "string"}},
        "origin": {"type": "string"}, "run_id": {"type": ["string", "null"]},
        "tags": {"type": "array", "items": {"type": "string"}}}},
    "Run": {"type": "object", "required": ["job_id", "index", "outcome"], "properties": {
        "job_id": {"type": "string"}, "name": {"type": "string"}, "classname": {"type": "string"},
        "index": {"type": ["integer", "null"], "description": "Run number; null for a missed slot"},
        "attempt": {"type": "integer"}, "outcome": {"type": "string", "enum": _OUTCOMES},
        "trigger": {"type": "string"}, "slot": {"type": ["number", "null"]},
        "count": {"type": "integer", "description": "missed: how many slots this document stands for"},
        "first": {"type": "number"}, "last": {"type": "number"},
        "due_at": {"type": ["number", "null"]}, "started_at": {"type": ["number", "null"]},
        "finished_at": {"type": ["number", "null"]}, "duration": {"type": ["number", "null"]},
        "error": {"type": ["string", "null"]}, "traceback": {"type": ["string", "null"]},
        "result": {"type": "object"}, "logs": {"type": "array", "items": _ref("LogLine")}}},
    "RunningRun": {"type": "object", "properties": {
        "run_id": {"type": "string"}, "job_id": {"type": "string"}, "name": {"type": "string"},
        "index": {"type": "integer"}, "attempt": {"type": "integer"},
        "slot": {"type": "integer", "description": "The worker slot running it"},
        "due_slot": {"type": ["number", "null"], "description": "The schedule slot it runs (null: a manual run)"},
        "pid": {"type": ["integer", "null"]}, "started_at": {"type": ["number", "null"]},
        "elapsed_s": {"type": ["number", "null"]}}},
    "LogLine": {"type": "object", "properties": {
        "type": {"type": "string"}, "seq": {"type": "integer"}, "time": {"type": "number"},
        "level": {"type": "integer"}, "levelname": {"type": "string"}, "logger": {"type": "string"},
        "msg": {"type": "string"}, "fields": {"type": "object"}, "job_id": {"type": "string"}}},
    "Worker": {"type": "object", "properties": {
        "slot": {"type": "integer"}, "status": {"type": "string"}, "pid": {"type": ["integer", "null"]},
        "run": {"type": ["object", "null"]}}},
    "Instance": {"type": "object", "required": ["id", "role"], "properties": {
        "id": {"type": "string"}, "host": {"type": "string"}, "pid": {"type": "integer"},
        "role": {"type": "string", "enum": ["leader", "follower", "lost"]}, "term": {"type": ["integer", "null"]},
        "lease_until": {"type": ["number", "null"]}, "heartbeat": {"type": ["number", "null"]},
        "heartbeat_age_s": {"type": ["number", "null"]}, "alive": {"type": "boolean"},
        "started_at": {"type": ["number", "null"]}, "web_url": {"type": ["string", "null"]},
        "self": {"type": "boolean"}}},
    "Option": {"type": "object", "properties": {
        "name": {"type": "string"}, "value": {}, "default": {}, "source": {"type": "string"},
        "live": {"type": "boolean"}, "type": {"type": "string"}, "help": {"type": "string"},
        "group": {"type": "string"}}},
    "Task": {"type": "object", "properties": {
        "classname": {"type": "string"}, "title": {"type": "string"}, "info": {"type": "string"},
        "options": {"type": "array", "items": {"type": "object"}}}},
    "ReportInfo": {"type": "object", "required": ["name", "title", "group"], "properties": {
        "name": {"type": "string"}, "title": {"type": "string"}, "group": {"type": "string"},
        "info": {"type": "string"}, "description": {"type": "string"},
        "params": {"type": "array", "items": {"type": "object", "properties": {
            "name": {"type": "string"}, "type": {"type": "string", "enum": ["str", "int", "float", "bool", "duration"]},
            "default": {}, "help": {"type": "string"}, "choices": {"type": ["array", "null"]},
            "required": {"type": "boolean"}, "minimum": {"type": ["number", "null"]},
            "maximum": {"type": ["number", "null"]}}}}}},
    "ReportAnswer": {"type": "object", "required": ["report", "params", "data"], "properties": {
        "report": _ref("ReportInfo"), "params": {"type": "object", "description": "The parameters used"},
        "template": {"type": "string"},
        "data": {"type": "object", "description": "The report's figures; charts are specs {kind: line | bars | "
                                                  "histogram | pie | baobab | timeline, title, series, xaxis, "
                                                  "yaxis...}"}}},
    "DataObject": {"type": "object", "required": ["name", "version", "size", "sha256"], "properties": {
        "name": {"type": "string"}, "version": {"type": "integer"}, "size": {"type": "integer"},
        "sha256": {"type": "string"}, "content_type": {"type": "string"},
        "format": {"type": "string", "enum": ["json", "csv", "bytes"]},
        "tags": {"type": "array", "items": {"type": "string"}}, "created": {"type": "number"},
        "producer": {"type": ["object", "null"], "description": "The run that wrote it: job_id, index, name"},
        "facts": {"type": "object", "description": "CSV: columns, rows; JSON: its top-level type"}}},
    "Stream": {"type": "object", "required": ["name", "uri", "queue"], "properties": {
        "name": {"type": "string"}, "uri": {"type": "string", "description": "password hidden"},
        "queue": {"type": "string"}, "tags": {"type": "array", "items": {"type": "string"}},
        "paused": {"type": "boolean"},
        "status": {"type": "object", "description": "state (connecting, consuming, down, store down, paused, "
                                                      "restarting, failed), error, since, rate, counters"},
        "messages": {"type": "array", "items": _ref("StreamMessage")}}},
    "StreamMessage": {"type": "object", "properties": {
        "seq": {"type": "integer"}, "recv": {"type": "number"}, "message_id": {"type": "string"},
        "kind": {"type": "string", "enum": ["json", "bytes"]}, "body": {}, "body_text": {"type": ["string", "null"]},
        "headers": {"type": "object"}, "routing_key": {"type": "string"}}},
    "Health": {"type": "object", "required": ["status"], "properties": {
        "status": {"type": "string", "enum": ["ok", "unhealthy"]},
        "problems": {"type": "array", "items": {"type": "string"}}}},
}


def openapi_document(base: str = "/analytics/") -> dict[str, Any]:
    """The whole document; *base* is the web base (``servers[0].url`` = ``{base}api/v1``)."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "das-actors API", "version": __version__,
                 "description": "Read and steer a das-actors server. Errors are "
                                "{\"error\": {\"status\", \"message\", \"field\"}}. With --web-token, send "
                                "`Authorization: Bearer <token>`. Writes from browsers must be same-origin."},
        "servers": [{"url": base.rstrip("/") + "/api/v1"}],
        "paths": _paths(),
        "components": {"schemas": _SCHEMAS, "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{}, {"bearer": []}],
    }
