"""The OpenAPI description of the scripts, triggers and actions routes (`web.api_interact`).

Kept beside `web.openapi` (which merges it) so each document part stays next to a module's
routes; the helpers are `web.openapi`'s.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from actors.bounds import MAX_COUNT
from actors.targets import MAX_AMQP_NAME, MAX_URL
from actors.targets import NAME as TARGET_NAME
from web.openapi_schemas import PAGE, TEXT

Helper = Callable[..., dict[str, Any]]


def interact_paths(op: Helper, q: Helper, p: Helper, ref: Helper, wrapped: Helper) -> dict[str, Any]:
    """The paths, built with `web.openapi`'s ``_op``, ``_q``, ``_p``, ``_ref`` and ``_wrapped``."""
    key = {"name": "Idempotency-Key", "in": "header", "required": False, "schema": {"type": "string", "maxLength": 255},
           "description": "Retries with the same key return the first run (200, header Idempotent-Replayed); the "
                          "same key with other params is a 422. Keys are kept 24 hours."}
    trigger_body = {"type": "object", "additionalProperties": False, "properties": {
        "params": {"type": "object", "description": "Arguments of this run only, checked against the task's "
                                                    "declared options (a script's task_options); a 400 names "
                                                    "params.<name>"}}}
    name = p("name", "Script name")
    page = PAGE
    version = {"type": "integer", "minimum": 1, "maximum": MAX_COUNT}

    def trigger(summary: str, params: list[dict[str, Any]]) -> dict[str, Any]:
        operation = op(summary, "202", ref("Triggered"), params=[*params, key], body=trigger_body,
                       errors=("400", "403", "404", "409", "503"), tag="triggers")
        operation["responses"]["200"] = {"description": "A repeat of an Idempotency-Key: the first run",
                                         "content": {"application/json": {"schema": ref("Triggered")}}}
        operation["responses"]["422"] = {"description": "The Idempotency-Key was used with other params",
                                         "content": {"application/json": {"schema": ref("Error")}}}
        return operation

    return {
        "/jobs/{job_ref}/runs": {"post": trigger(
            "Start a run of a job now with parameters, without shifting its schedule",
            [p("job_ref", "Job id, or the name of exactly one job")])},
        "/scripts/{name}/runs": {"post": trigger("Run the newest version of a script once now, params as its args",
                                                 [name])},
        "/runs/{job_id}/{index}/status": {"get": op(
            "Where a run is: waiting, running, or its outcome and result", "200", wrapped("status", ref("RunStatus")),
            params=[p("job_id", "Job id (a one-off run's own id)"),
                    p("index", "Run number (1-based)", {"type": "integer", "minimum": 0, "maximum": MAX_COUNT})],
            errors=("400", "404", "503"), tag="triggers")},
        "/scripts": {"get": op("Scripts by name", "200", {"type": "object", "properties": {
            "scripts": {"type": "array", "items": ref("Script")}, "total": {"type": "integer"},
            "more": {"type": "boolean"}}}, params=[q("tag", TEXT, "Only scripts with this tag"), *page],
            errors=("400", "404"), tag="scripts")},
        "/scripts/{name}": {
            "get": op("A script: its metadata, one version's source, its declared options and job", "200",
                      {"type": "object"}, params=[name, q("version", version,
                                                          "Version (default: the newest)")],
                      errors=("400", "404"), tag="scripts"),
            "put": op("Save a new version (201 for the first); base_version guards against overwriting", "200",
                      wrapped("script", ref("Script")), params=[name], errors=("400", "403", "404", "409"),
                      tag="scripts", body={"type": "object", "required": ["source"], "additionalProperties": False,
                                           "properties": {"source": {"type": "string"},
                                                          "base_version": {"type": ["integer", "null"]},
                                                          "note": {"type": "string", "maxLength": 200},
                                                          "tags": {"oneOf": [{"type": "string"},
                                                                             {"type": "array",
                                                                              "items": {"type": "string"}}]}}}),
            "delete": op("Delete a script, its versions and its scheduled job", "200", {"type": "object"},
                         params=[name], errors=("403", "404"), tag="scripts"),
        },
        "/scripts/{name}/versions": {"get": op("Versions of a script, newest first (without source)", "200",
                                               {"type": "object"}, params=[name, *page], errors=("400", "404"),
                                               tag="scripts")},
        "/scripts/{name}/diff": {"get": op("Unified diff of two versions", "200", {"type": "object"},
                                           params=[name, q("from", version, "Old version") | {"required": True},
                                                   q("to", version, "New version") | {"required": True}],
                                           errors=("400", "404"), tag="scripts")},
        "/scripts/{name}/schedule": {"post": op(
            "Run the newest version every interval seconds (replaces an older schedule)", "201",
            wrapped("job", ref("Job")), params=[name], errors=("400", "403", "404", "503"), tag="scripts",
            body={"type": "object", "required": ["interval"], "additionalProperties": False,
                  "properties": {"interval": {"type": "number", "exclusiveMinimum": 0}, "args": {"type": "object"},
                                 "when": ref("FutureWhen")}})},
        "/actions": {"get": op("Actions newest first", "200", {"type": "object", "properties": {
            "actions": {"type": "array", "items": ref("Action")}, "total": {"type": "integer"},
            "more": {"type": "boolean"}}}, params=[
            q("state", {"type": "string", "enum": ["pending", "delivering", "delivered", "failed"]}, "Only this state"),
            q("run_id", TEXT, "Queued by this run"), q("job_id", TEXT, "Of this job"),
            q("target", TEXT, "To this target"),
            q("last", {"type": "number", "minimum": 0, "maximum": 1e12}, "Queued in the last N seconds"), *page],
            errors=("400", "404"), tag="actions")},
        "/actions/{action_id}": {"get": op("One action with its attempts", "200", wrapped("action", ref("Action")),
                                           params=[p("action_id", "msg_...")], errors=("404",), tag="actions")},
        "/actions/{action_id}/retry": {"post": op("Try a failed or waiting action again now", "200",
                                                  wrapped("action", ref("Action")),
                                                  params=[p("action_id", "msg_...")], errors=("403", "404", "409"),
                                                  tag="actions")},
        "/targets": {
            "get": op("Action targets (secrets masked)", "200",
                      wrapped("targets", {"type": "array", "items": ref("Target")}), errors=("404",), tag="actions"),
            "post": op("Add a target (secret 'generate' makes one, answered once)", "201",
                       wrapped("target", ref("Target")), body=ref("NewTarget"), errors=("400", "403", "404", "409"),
                       tag="actions"),
        },
        "/targets/{name}": {
            "get": op("One target", "200", wrapped("target", ref("Target")), params=[p("name", "Target name")],
                      errors=("404",), tag="actions"),
            "put": op("Change a target of the panel", "200", wrapped("target", ref("Target")),
                      params=[p("name", "Target name")], body=ref("TargetChange"), errors=("400", "403", "404", "409"),
                      tag="actions"),
            "delete": op("Remove a target of the panel", "200", wrapped("target", ref("Target")),
                         params=[p("name", "Target name")], errors=("403", "404", "409"), tag="actions"),
        },
    }


_TARGET_FIELDS: dict[str, Any] = {
    "url": {"type": "string", "maxLength": MAX_URL, "pattern": "^(https?|amqps?)://[^\\s]+$",
            "description": "http(s):// for a webhook, amqp(s):// for a publish"},
    "secret": {"type": "string", "description": "whsec_..., 'generate', or '' for unsigned (webhooks only)"},
    "headers": {"type": "object", "additionalProperties": {"type": "string"}, "description": "webhooks only"},
    "exchange": {"type": "string", "maxLength": MAX_AMQP_NAME, "description": "amqp only"},
    "routing_key": {"type": "string", "maxLength": MAX_AMQP_NAME, "description": "amqp only"}}

INTERACT_SCHEMAS: dict[str, Any] = {
    "Triggered": {"type": "object", "required": ["run_id", "status_url"], "properties": {
        "run_id": {"type": "string"}, "job_id": {"type": "string"}, "index": {"type": "integer"},
        "name": {"type": "string"}, "params": {"type": "object"}, "status_url": {"type": "string"},
        "run_url": {"type": "string"}, "replayed": {"type": "boolean"}}},
    "RunStatus": {"type": "object", "required": ["run_id", "state", "finished"], "properties": {
        "run_id": {"type": "string"}, "state": {"type": "string", "description": "waiting, running, or the outcome"},
        "finished": {"type": "boolean"}, "result": {"type": ["object", "null"]}, "error": {"type": ["string", "null"]},
        "started_at": {"type": ["number", "null"]}, "finished_at": {"type": ["number", "null"]}}},
    "Script": {"type": "object", "properties": {
        "name": {"type": "string"}, "latest": {"type": "integer"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "created_at": {"type": "number"}, "updated_at": {"type": "number"}, "schedule": {"type": ["object", "null"]}}},
    "Action": {"type": "object", "required": ["action_id", "kind", "state"], "properties": {
        "action_id": {"type": "string"}, "kind": {"type": "string", "enum": ["webhook", "amqp"]},
        "target": {"type": "string"}, "url": {"type": "string"}, "state": {"type": "string"},
        "run_id": {"type": ["string", "null"]}, "attempt_count": {"type": "integer"},
        "attempts": {"type": "array", "items": {"type": "object"}}, "last_status": {"type": ["integer", "null"]},
        "last_error": {"type": ["string", "null"]}, "next_at": {"type": ["number", "null"]},
        "created_at": {"type": "number"}, "body": {"type": "string"}}},
    "Target": {"type": "object", "required": ["name", "url", "kind"], "properties": {
        "name": {"type": "string"}, "url": {"type": "string"}, "kind": {"type": "string"},
        "signed": {"type": "boolean"}, "secret": {"type": "string", "description": "masked"},
        "headers": {"type": "object"}, "origin": {"type": "string", "enum": ["config", "api"]},
        "generated_secret": {"type": "string", "description": "only in the answer that made it"}}},
    "NewTarget": {"type": "object", "required": ["name", "url"], "additionalProperties": False, "properties": {
        "name": {"type": "string", "pattern": f"^{TARGET_NAME.pattern}$"}, **_TARGET_FIELDS}},
    "TargetChange": {"type": "object", "required": ["url"], "additionalProperties": False,
                     "description": "The target's fields (its name is the URL's; a body may repeat it)",
                     "properties": _TARGET_FIELDS},
}
