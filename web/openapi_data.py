"""The OpenAPI description of the data routes: objects and streams (issue 13, `web.data_api`).

Kept beside `web.openapi` (which merges it) so each part of the document stays next to its
module's routes; the helpers are `web.openapi`'s, passed in (no import cycle). The name and
tag patterns are those `actors.tags` checks, so what the schema allows is accepted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from actors.streamspec import MAX_QUEUE
from actors.tags import MAX_TAGS, NAME, TAG

Helper = Callable[..., dict[str, Any]]

#: Object and stream names, as `actors.tags.check_name` takes them.
NAME_PATTERN = f"^{NAME.pattern}$"
TAG_LIST = f"^({TAG.pattern})?(,{TAG.pattern})*$"
_TAGS = {"type": "array", "maxItems": MAX_TAGS, "items": {"type": "string", "pattern": f"^{TAG.pattern}$"}}


def data_paths(*, op: Helper, q: Helper, p: Helper, ref: Helper, wrapped: Helper, paged: Helper,
               page: list[dict[str, Any]], tag: dict[str, Any]) -> dict[str, Any]:
    """The paths, built with `web.openapi`'s helpers (``op`` takes no operation id: the document
    names every operation from its method and path)."""
    name = p("name", "Object or stream name: a letter or digit, then letters, digits and ._- (at most 120)",
             {"type": "string", "pattern": NAME_PATTERN})
    raw_name = p("name", "Object name; one ending .json or .csv is parsed as such (the schema lists other names)",
                 {"type": "string", "pattern": NAME_PATTERN, "not": {"pattern": "[.]([Jj][Ss][Oo][Nn]|[Cc][Ss][Vv])$"}})
    version = q("version", {"type": "integer", "minimum": 1, "maximum": 2**31}, "A version (default: the newest)")
    obj = wrapped("object", ref("DataObject"))
    stream = wrapped("stream", ref("Stream"))
    events = {"description": "text/event-stream: `id: <seq>` and `data: <message JSON>`",
              "content": {"text/event-stream": {"schema": {"type": "string"}}}}
    return {
        "/objects": {"get": op("Data objects (their newest version) by name", "200", paged("objects", "DataObject"),
                               params=[tag, q("prefix", {"type": "string", "maxLength": 120}, "Names starting with "
                                                                                               "this"), *page],
                               errors=("400", "503"), tag="data")},
        "/objects/{name}": {
            "get": op("One object's metadata and its versions", "200",
                      {"type": "object", "required": ["object", "versions"], "properties": {
                          "object": ref("DataObject"), "versions": {"type": "array", "items": ref("DataObject")}}},
                      params=[name, version], errors=("400", "404", "503"), tag="data"),
            "put": {**op("Store a new version from the raw body (streamed; 413 past object_max_size)", "201", obj,
                         params=[raw_name, q("tags", {"type": "string", "pattern": TAG_LIST},
                                             "Comma-separated tags (default: the previous version's)"),
                                 q("format", {"enum": ["bytes"]},
                                   "Format: bytes, json or csv (default: from Content-Type, then the name's ending "
                                   "'.json' or '.csv'). A body that does not parse as the format chosen is a 400, "
                                   "so the schema lists only bytes")],
                         errors=("400", "411", "503"), tag="data"),
                    "requestBody": {"required": True, "content": {"application/octet-stream": {"schema": {
                        "type": "string", "format": "binary"}}}}},
            "delete": op("Delete every version (or one)", "200",
                         wrapped("deleted", {"type": "object", "properties": {"deleted": {"type": "integer"}}}),
                         params=[name, version], errors=("400", "404", "503"), tag="data"),
        },
        "/objects/{name}/content": {"get": {
            "summary": "An object's bytes, streamed as an attachment", "tags": ["data"],
            "parameters": [name, version],
            "responses": {"200": {"description": "The bytes", "content": {"application/octet-stream": {
                "schema": {"type": "string", "format": "binary"}}}}, "400": {}, "404": {}, "503": {}}}},
        "/objects/{name}/tags": {"post": op(
            "Add and remove tags of the newest version (or one)", "200", obj, params=[name],
            body={"type": "object", "additionalProperties": False, "properties": {
                "add": _TAGS, "remove": _TAGS, "version": {"type": "integer", "minimum": 1, "maximum": 2**31}},
                  "anyOf": [{"required": ["add"], "properties": {"add": {"minItems": 1}}},
                            {"required": ["remove"], "properties": {"remove": {"minItems": 1}}}]},
            errors=("400", "404", "503"), tag="data")},
        "/streams": {
            "get": op("Streams with their live status", "200",
                      wrapped("streams", {"type": "array", "items": ref("Stream")}), params=[tag],
                      errors=("400", "503"), tag="data"),
            "post": op("Register a stream and start consuming it", "201", stream, errors=("400", "409", "503"),
                       body={"type": "object", "required": ["name", "uri", "queue"], "additionalProperties": False,
                             "properties": {"name": {"type": "string", "pattern": NAME_PATTERN},
                                            "uri": {"type": "string", "pattern": "^amqps?://", "maxLength": 2000,
                                                    "description": "amqp://user:pass@host:port/vhost"},
                                            "queue": {"type": "string", "minLength": 1, "maxLength": MAX_QUEUE,
                                                      "pattern": "\\S"},
                                            "tags": _TAGS}}, tag="data"),
        },
        "/streams/{name}": {
            "get": op("One stream with its newest messages", "200", stream,
                      params=[name, q("last", {"type": "integer", "minimum": 0, "maximum": 1000},
                                      "Newest messages to include (default 20)")],
                      errors=("400", "404", "503"), tag="data"),
            "delete": op("Stop consuming and forget the stream and its messages", "200", stream, params=[name],
                         errors=("404", "503"), tag="data"),
        },
        "/streams/{name}/pause": {"post": op("Stop consuming (the broker keeps the messages)", "200", stream,
                                             params=[name], errors=("404", "503"), tag="data")},
        "/streams/{name}/resume": {"post": op("Consume again", "200", stream, params=[name],
                                              errors=("404", "503"), tag="data")},
        "/streams/{name}/messages": {"get": op(
            "Messages after a seq (oldest first), or the newest (newest first)", "200",
            wrapped("messages", {"type": "array", "items": ref("StreamMessage")}),
            params=[name, q("after", {"type": "integer", "minimum": 0, "maximum": 2**62}, "After this seq"),
                    q("limit", {"type": "integer", "minimum": 1, "maximum": 1000, "default": 50}, "At most")],
            errors=("400", "404", "503"), tag="data")},
        "/streams/{name}/tail": {"get": {
            "summary": "New messages as Server-Sent Events", "tags": ["data"],
            "parameters": [name, q("after", {"type": "integer", "minimum": 0, "maximum": 2**62},
                                   "Start after this seq (default: now)"),
                           q("limit", {"type": "integer", "minimum": 1, "maximum": 100000},
                             "End the stream after N messages"),
                           q("timeout", {"type": "number", "minimum": 0, "maximum": 86400},
                             "End the stream after N seconds")],
            "responses": {"200": events, "400": {}, "404": {}, "503": {}}}},
    }


DATA_SCHEMAS: dict[str, Any] = {
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
        "messages": {"type": "array", "items": {"$ref": "#/components/schemas/StreamMessage"}}}},
    "StreamMessage": {"type": "object", "properties": {
        "seq": {"type": "integer"}, "recv": {"type": "number"}, "message_id": {"type": "string"},
        "kind": {"type": "string", "enum": ["json", "bytes"]}, "body": {}, "body_text": {"type": ["string", "null"]},
        "headers": {"type": "object"}, "routing_key": {"type": "string"}}},
}

__all__ = ["DATA_SCHEMAS", "NAME_PATTERN", "data_paths"]
