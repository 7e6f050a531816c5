"""The schemas of the OpenAPI document, drawn from the rules the server applies.

Why a module of its own: the document must say exactly what the server accepts (issue 11:
"what the schema allows is accepted, what the server refuses is outside the schema"), so the
schemas are built from the same sources as the checks: the ranges of `actors.bounds`, the
fields of `actors.jobs.JobSpec`, each task class's declared ``task_options``, each report's
parameters and each live option's `actors.params.Param`. Where the server accepts *more*
than a schema can say (an epoch given as text, a dotted task path the operator allowed, an
option value given as text), the schema keeps to the part that is always accepted and the
description says the rest.
"""

from __future__ import annotations

import math
import re
import zoneinfo
from collections.abc import Mapping, Sequence
from typing import Any

from actors.bounds import HORIZON_S, JSON_INT_MAX, JSON_INT_MIN, MAX_COUNT, MAX_EPOCH, MAX_SIZE, MIN_INTERVAL_S
from actors.jobs import RESERVED_KWARGS, JobState, Outcome
from actors.misfire import MAX_CATCHUP_LIMIT, UNLIMITED, Misfire
from actors.slots import MAX_JITTER_S
from actors.tags import MAX_TAGS, NAME, TAG
from web.params import MAX_LIMIT, MAX_TEXT

OUTCOMES = [str(o) for o in Outcome]
STATES = [str(s) for s in JobState]

#: TIMEISH text that is always a time within the horizon, never in the past: ``+N[smhd]`` (at most
#: 9999.999 days), a clock time (today, or tomorrow when already past), an ISO date 2030-2049.
WHEN_TEXT = (r"^(\+[0-9]{1,4}(\.[0-9]{1,3})?[smhd]?"
             r"|([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?(z|utc|gmt|Z|UTC|GMT)?"
             r"|20[34][0-9]-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]Z)$")
#: ISO text that is always in the past (1970-2019, UTC), for the ranges that must lie behind now.
PAST_TEXT = (r"^(19[7-9][0-9]|20[01][0-9])-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])"
             r"T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]Z$")
#: The largest magnitude of a number the schemas allow where the server sets no bound: a number
#: without a fraction is an integer to JSON, and the store keeps integers of 64 bits.
NUMBER_CAP = 2**63 - 1
#: Query text: at most `MAX_TEXT` characters, no NUL (empty means "not given").
TEXT = {"type": "string", "maxLength": MAX_TEXT, "pattern": "^[^\\u0000]*$"}
#: Any JSON the store keeps: scalars with 64-bit integers, and lists or objects of them (a task's
#: arguments may nest deeper; the schema keeps to two levels).
_SCALAR = {"anyOf": [{"type": "null"}, {"type": "boolean"}, {"type": "string"},
                     {"type": "number", "minimum": -NUMBER_CAP, "maximum": NUMBER_CAP}]}
JSON_VALUE = {"anyOf": [*_SCALAR["anyOf"], {"type": "array", "items": _SCALAR, "maxItems": 20},
                        {"type": "object", "additionalProperties": _SCALAR, "maxProperties": 20}]}


def _cron_field(value: str, extra: str = "") -> str:
    item = rf"(\*|{value}(-{value})?)(/[1-9][0-9]{{0,3}})?{extra}"
    return rf"{item}(,{item})*"


_MONTHS = "JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC"
_DAYS = "SUN|MON|TUE|WED|THU|FRI|SAT"
#: The syntax of a cron expression: five fields (minute hour day-of-month month day-of-week) or
#: a macro, upper case (the server also takes lower case). Its values are checked further by the
#: server (``format: cron``): a range must go up, a step must fit its field, and an expression
#: that can never fire (``0 0 30 2 *``) is refused.
CRON_PATTERN = (r"^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|"
                + r" +".join([_cron_field("[1-5]?[0-9]"), _cron_field("(1?[0-9]|2[0-3])"),
                              "(" + _cron_field("([1-9]|[12][0-9]|3[01])") + "|L|LW)",
                              _cron_field(f"([1-9]|1[0-2]|{_MONTHS})"),
                              _cron_field(f"([0-7]|{_DAYS})", "(#[1-5]|L)?")]) + r")$")
#: Every IANA zone this machine knows (the server's list: `zoneinfo.available_timezones`).
ZONES = sorted(zoneinfo.available_timezones())


def ref(name: str) -> dict[str, Any]:
    """``{"$ref": "#/components/schemas/<name>"}``."""
    return {"$ref": f"#/components/schemas/{name}"}


def component_name(text: str) -> str:
    """*text* as an OpenAPI component name (letters, digits, ``.``, ``-``, ``_``)."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", text)


def when_schema(now: float, *, allow_past: bool) -> dict[str, Any]:
    """A "when": TIMEISH text (`WHEN_TEXT`) or epoch seconds within the horizon from *now*."""
    low = 0.0 if allow_past else math.ceil(now) + 3600.0  # an hour of slack: the document is read once
    high = MAX_EPOCH if allow_past else math.floor(now) + HORIZON_S - 3600.0
    return {"description": "TIMEISH text (HH:MM[:SS][Z|UTC|GMT], +N[s|m|h|d], an ISO-8601 datetime; the schema "
                           "lists the forms that are always within the horizon) or epoch seconds",
            "oneOf": [{"type": "string", "pattern": WHEN_TEXT}, {"type": "number", "minimum": low, "maximum": high},
                      {"type": "null"}]}


def value_schema(declared: Mapping[str, Any], *, as_text: bool = False) -> dict[str, Any]:
    """The schema of one declared parameter (`actors.params.Param.describe`): a task argument in a
    JSON body, a live option's value, or (*as_text*) a report's query parameter."""
    kind = declared.get("type", "json")
    low, high = declared.get("minimum"), declared.get("maximum")
    schema: dict[str, Any]
    if declared.get("choices"):
        schema = {"enum": list(declared["choices"])}
    elif kind == "str":
        schema = dict(TEXT) if as_text else {"type": "string"}
        if as_text and declared.get("required"):
            schema["minLength"] = 1  # an empty query value means "not given"
    elif kind == "bool":
        schema = {"type": "boolean"}
    elif kind in ("int", "size"):
        cap = MAX_SIZE if kind == "size" else JSON_INT_MAX
        schema = {"type": "integer", "minimum": JSON_INT_MIN if low is None else math.ceil(low),
                  "maximum": cap if high is None else math.floor(high)}
    elif kind in ("float", "duration"):
        schema = {"type": "number", "minimum": -NUMBER_CAP if low is None else low,
                  "maximum": NUMBER_CAP if high is None else high}
    elif kind == "list":
        schema = {"type": "array", "items": _SCALAR, "maxItems": 20}
    elif kind == "dict":
        schema = {"type": "object", "additionalProperties": _SCALAR, "maxProperties": 20}
    else:
        schema = dict(JSON_VALUE)
    if declared.get("default") is None and not declared.get("required") and kind not in ("json",):
        schema = {"oneOf": [schema, {"type": "null"}]} if "enum" not in schema else \
            {"enum": [*schema["enum"], None]}
    if declared.get("help"):
        schema["description"] = str(declared["help"])
    return schema


def job_fields(now: float) -> dict[str, Any]:
    """The fields every new job has, whatever its class (`actors.jobs.JobSpec`)."""
    return {
        "name": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "\\S",
                 "description": "Any text with a non-blank character"},
        "interval": {"type": "number", "minimum": MIN_INTERVAL_S, "maximum": HORIZON_S,
                     "description": "Seconds between runs (give interval or cron; floored by minimum_interval when "
                                    "rescheduling)"},
        "cron": {"type": "string", "maxLength": 200, "pattern": CRON_PATTERN, "format": "cron",
                 "description": "Cron expression, five fields or a macro such as @daily (give interval or cron). "
                                "Beyond its syntax: a range must go up, a step must fit its field, and an "
                                "expression that can never fire (0 0 30 2 *) is refused"},
        "tz": {"enum": [*ZONES, None], "description": "IANA time zone of a cron expression (default UTC)"},
        "jitter": {"type": ["number", "null"], "minimum": 0, "maximum": MAX_JITTER_S,
                   "description": "Each due time is moved by a fixed pseudo-random 0..jitter seconds (an interval "
                                  "job's jitter may not exceed its interval)"},
        "misfire": {"enum": [*(str(m) for m in Misfire), None],
                    "description": "Slots that fell due while the job could not run: coalesce (the newest runs), "
                                   "all (each runs, up to max_catchup), skip (none); the rest are recorded missed. "
                                   "Default: the server's misfire option"},
        "misfire_grace": {"oneOf": [{"type": "number", "minimum": 0, "maximum": NUMBER_CAP},
                                    {"const": UNLIMITED}, {"type": "null"}],
                          "description": "Seconds after its due time within which a missed slot still runs"},
        "max_catchup": {"type": ["integer", "null"], "minimum": 1, "maximum": MAX_CATCHUP_LIMIT},
        "resources": {"type": "object", "maxProperties": 20,
                      "propertyNames": {"minLength": 1, "maxLength": 64, "pattern": "\\S"},
                      "additionalProperties": {"type": "number", "exclusiveMinimum": 0, "maximum": NUMBER_CAP},
                      "description": "Placement on a Dask cluster, e.g. {\"GPU\": 1}"},
        "tags": {"type": "array", "maxItems": MAX_TAGS, "items": {"type": "string", "pattern": f"^{TAG.pattern}$"}},
        "on_stream": {"type": ["string", "null"], "pattern": f"^{NAME.pattern}$",
                      "description": "Also run when new messages arrive on this stream"},
        "stream_batch": {"type": ["integer", "null"], "minimum": 1, "maximum": MAX_COUNT,
                         "description": "How many new messages of on_stream start a run (default 1; needs "
                                        "on_stream)"},
        "only_once": {"type": "boolean"},
        "max_runs": {"type": ["integer", "null"], "minimum": 1, "maximum": MAX_COUNT},
        "only_before": when_schema(now, allow_past=True),
        "timeout": {"type": ["number", "null"], "exclusiveMinimum": 0, "maximum": HORIZON_S},
        "retries": {"type": ["integer", "null"], "minimum": 0, "maximum": MAX_COUNT},
        "when": {**when_schema(now, allow_past=False), "description": "First run (default: now)"},
    }


#: Interval jobs may have jitter up to their interval: steps the schema can say (jitter <= step <= interval).
_JITTER_STEPS = (1.0, 60.0, 3600.0, MAX_JITTER_S)
#: Exactly one of interval and cron; a zone belongs to a cron expression; stream_batch needs on_stream.
SCHEDULE_RULES: dict[str, Any] = {
    "oneOf": [{"required": ["interval"], "not": {"required": ["cron"]}, "properties": {"tz": {"const": None}},
               "anyOf": [{"properties": {"jitter": {"enum": [None, 0]}}},
                         *({"properties": {"jitter": {"maximum": step}, "interval": {"minimum": step}}}
                           for step in _JITTER_STEPS)]},
              {"required": ["cron"], "not": {"required": ["interval"]}}],
    "if": {"required": ["stream_batch"], "properties": {"stream_batch": {"type": "integer"}}},
    "then": {"required": ["on_stream"], "properties": {"on_stream": {"type": "string"}}},
}


def new_job_schemas(tasks: Sequence[Mapping[str, Any]], now: float) -> dict[str, Any]:
    """``NewJob`` (one of the task classes) and one ``NewJob.<class>`` per class, whose ``kwargs``
    are the class's declared options (required ones required; others pass through as DAS allowed)."""
    schemas: dict[str, Any] = {}
    variants = []
    reserved = sorted(RESERVED_KWARGS)
    for task in tasks:
        options = {o["name"]: value_schema(o) for o in task.get("options") or []}
        required = [o["name"] for o in task.get("options") or [] if o.get("required")]
        kwargs: dict[str, Any] = {"type": "object", "properties": options, "maxProperties": 30,
                                  "propertyNames": {"not": {"enum": reserved}}}
        kwargs["additionalProperties"] = _SCALAR if task.get("free_options", True) else False
        if required:
            kwargs["required"] = required
        name = component_name(f"NewJob.{task['classname']}")
        schemas[name] = {"type": "object", "required": ["name", "classname", *(["kwargs"] if required else [])],
                         "additionalProperties": False, **SCHEDULE_RULES,
                         "properties": {**job_fields(now), "classname": {"const": task["classname"]},
                                        "kwargs": kwargs}}
        variants.append(ref(name))
    schemas["NewJob"] = {
        "description": "A job of one of the task classes this server lists (GET /tasks). A dotted path "
                       "package.module:Class under the operator's task_packages is accepted too.",
        "oneOf": variants} if variants else {
        "type": "object", "required": ["name", "classname"], "additionalProperties": False, **SCHEDULE_RULES,
        "description": "Exactly one of interval and cron. An interval job's jitter may not exceed its interval; a "
                       "cron expression that never fires is refused",
        "properties": {**job_fields(now), "classname": {"type": "string", "minLength": 1},
                       "kwargs": {"type": "object", "description": "Task arguments"}}}
    return schemas


def option_value_schema(option: Mapping[str, Any], current: Mapping[str, Any]) -> dict[str, Any]:
    """The body of ``PUT /options/<name>`` for one live option: ``{"value": ...}`` of its type and
    range (and the cross-field rules, from the *current* values: retry_delay <= retry_max_delay)."""
    declared = {"type": {"int": "int", "float": "float", "bool": "bool", "str": "str"}[option["type"]],
                "minimum": option.get("minimum"), "maximum": option.get("maximum"),
                "choices": option.get("choices"), "required": True}
    value = value_schema(declared)
    if option.get("pattern") and value.get("type") == "string":
        value["pattern"] = option["pattern"]
    if option["name"] == "retry_delay" and "retry_max_delay" in current:
        value["maximum"] = float(current["retry_max_delay"])
    if option["name"] == "retry_max_delay" and "retry_delay" in current:
        value["minimum"] = float(current["retry_delay"])
    value["description"] = f"{option.get('help', '')} (text is also accepted, parsed as on the command line)"
    return {"type": "object", "required": ["value"], "additionalProperties": False, "properties": {"value": value}}


def report_parameters(params: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The query parameters of one report (its declared parameters: any other is a 400)."""
    return [{"name": p["name"], "in": "query", "required": bool(p.get("required")),
             "schema": {k: v for k, v in value_schema(p, as_text=True).items() if k != "description"},
             "description": str(p.get("help") or p["name"])} for p in params]


ERROR = {"type": "object", "required": ["error"], "properties": {"error": {
    "type": "object", "required": ["status", "message"],
    "properties": {"status": {"type": "integer"}, "message": {"type": "string"}, "field": {"type": "string"}}}}}

COMPONENTS: dict[str, Any] = {
    "Error": ERROR,
    "PastWhen": {"description": "A time in the past: an ISO-8601 datetime (UTC, 1970-2019; the server also takes "
                                "an offset, or none to mean the job's zone) or epoch seconds",
                 "oneOf": [{"type": "string", "pattern": PAST_TEXT}, {"type": "number", "minimum": 0,
                                                                        "maximum": 1_577_836_800}]},
    "Job": {"type": "object", "required": ["job_id", "name", "classname", "interval", "state"], "properties": {
        "job_id": {"type": "string"}, "name": {"type": "string"}, "classname": {"type": "string"},
        "interval": {"type": ["number", "null"]}, "cron": {"type": ["string", "null"]},
        "tz": {"type": ["string", "null"]}, "jitter": {"type": "number"},
        "misfire": {"type": ["string", "null"]}, "misfire_grace": {"type": ["number", "string", "null"]},
        "max_catchup": {"type": ["integer", "null"]},
        "slot": {"type": ["number", "null"], "description": "The slot of the current or next scheduled run"},
        "schedule": {"type": "object", "description": "Only on GET /jobs/{job_id}: description, tz, jitter, "
                                                      "misfire policy in effect, next fire times (epoch and local)"},
        "kwargs": {"type": "object"}, "state": {"type": "string", "enum": STATES},
        "due_at": {"type": ["number", "null"]}, "run_count": {"type": "integer"},
        "retries_used": {"type": "integer"}, "last_outcome": {"type": ["string", "null"]},
        "last_error": {"type": ["string", "null"]}, "parent": {"type": "array", "items": {"type": "string"}},
        "origin": {"type": "string"}, "run_id": {"type": ["string", "null"]},
        "tags": {"type": "array", "items": {"type": "string"}}}},
    "Run": {"type": "object", "required": ["job_id", "index", "outcome"], "properties": {
        "job_id": {"type": "string"}, "name": {"type": "string"}, "classname": {"type": "string"},
        "index": {"type": ["integer", "null"], "description": "Run number; null for a missed slot"},
        "attempt": {"type": "integer"}, "outcome": {"type": "string", "enum": OUTCOMES},
        "trigger": {"type": "string"}, "slot": {"type": ["number", "null"]},
        "count": {"type": "integer", "description": "missed: how many slots this document stands for"},
        "first": {"type": "number"}, "last": {"type": "number"},
        "due_at": {"type": ["number", "null"]}, "started_at": {"type": ["number", "null"]},
        "finished_at": {"type": ["number", "null"]}, "duration": {"type": ["number", "null"]},
        "error": {"type": ["string", "null"]}, "traceback": {"type": ["string", "null"]},
        "result": {"type": "object"}, "notes": {"type": "array", "items": {"type": "string"}},
        "logs": {"type": "array", "items": ref("LogLine")}}},
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
        "group": {"type": "string"}, "minimum": {"type": ["number", "null"]}, "maximum": {"type": ["number", "null"]}}},
    "Task": {"type": "object", "properties": {
        "classname": {"type": "string"}, "title": {"type": "string"}, "info": {"type": "string"},
        "options": {"type": "array", "items": {"type": "object"}}}},
    "ReportInfo": {"type": "object", "required": ["name", "title", "group"], "properties": {
        "name": {"type": "string"}, "title": {"type": "string"}, "group": {"type": "string"},
        "info": {"type": "string"}, "description": {"type": "string"},
        "params": {"type": "array", "items": {"type": "object", "properties": {
            "name": {"type": "string"},
            "type": {"type": "string", "enum": ["str", "int", "float", "bool", "duration", "size", "json", "list",
                                                "dict"]},
            "default": {}, "help": {"type": "string"}, "choices": {"type": ["array", "null"]},
            "required": {"type": "boolean"}, "minimum": {"type": ["number", "null"]},
            "maximum": {"type": ["number", "null"]}}}}}},
    "ReportAnswer": {"type": "object", "required": ["report", "params", "data"], "properties": {
        "report": ref("ReportInfo"), "params": {"type": "object", "description": "The parameters used"},
        "template": {"type": "string"},
        "data": {"type": "object", "description": "The report's figures; charts are specs {kind: line | bars | "
                                                  "histogram | pie | baobab | timeline, title, series, xaxis, "
                                                  "yaxis...}"}}},
    "Health": {"type": "object", "required": ["status"], "properties": {
        "status": {"type": "string", "enum": ["ok", "unhealthy"]},
        "problems": {"type": "array", "items": {"type": "string"}}}},
}

#: Query parameters shared by the list routes.
PAGE = [{"name": "limit", "in": "query", "required": False, "description": "Page size",
         "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 100}},
        {"name": "offset", "in": "query", "required": False, "description": "Documents to skip (newest first)",
         "schema": {"type": "integer", "minimum": 0, "maximum": 10**9, "default": 0}}]

__all__ = [
    "COMPONENTS",
    "JSON_VALUE",
    "OUTCOMES",
    "PAGE",
    "PAST_TEXT",
    "STATES",
    "TEXT",
    "WHEN_TEXT",
    "component_name",
    "job_fields",
    "new_job_schemas",
    "option_value_schema",
    "ref",
    "report_parameters",
    "value_schema",
    "when_schema",
]
