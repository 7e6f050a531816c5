"""The JSON API of data objects and streams, ``{web_base}/api/v1/objects`` and ``.../streams``.

Why a module of its own: uploads and downloads move bytes, not JSON, and streams have their
own live tail; keeping them here leaves `web.api` the jobs, runs and system routes.

* ``PUT objects/<name>`` takes the raw body (any Content-Type: it says the format unless
  ``?format=`` does) and streams it from ``wsgi.input`` into the store in 1 MiB chunks, never
  whole in memory; past ``object_max_size`` it answers 413 naming the option (at once when
  Content-Length says so), an interrupted body 400, and neither leaves anything behind.
  ``?tags=a,b`` sets the tags (without it the previous version's are kept).
* ``GET objects/<name>/content`` streams the bytes back as an attachment (``?version=``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import bottle

from actors.errors import BadRequestError
from web import params
from web.requests import query_params as _query
from web.requests import route
from web.sse import stream_tail_response
from web.state import WebState

#: Bytes read from the request per chunk while uploading.
UPLOAD_CHUNK = 1024 * 1024
#: Content types served as they are on download; anything else is application/octet-stream.
SAFE_TYPES = ("application/json", "text/csv", "text/plain")


def _version() -> int | None:
    return params.integer(_query(), "version", minimum=1, maximum=2**31)


def _body(required: bool = True) -> dict[str, Any]:
    length = bottle.request.content_length
    if length > params.MAX_BODY_BYTES:
        raise BadRequestError(f"body: larger than {params.MAX_BODY_BYTES} bytes", status=413, field="body")
    return params.json_object(bottle.request.body.read(params.MAX_BODY_BYTES + 1), required=required)


def request_chunks(environ: dict[str, Any], length: int | None) -> Iterator[bytes]:
    """The request body from ``wsgi.input``, chunk by chunk (up to *length*, or to its end when the
    server marks the input terminated); a short body simply ends early (the store then says so)."""
    stream = environ["wsgi.input"]
    left = length
    while left is None or left > 0:
        chunk = stream.read(UPLOAD_CHUNK if left is None else min(UPLOAD_CHUNK, left))
        if not chunk:
            return
        if left is not None:
            left -= len(chunk)
        yield chunk


def download(facade: Any, name: str, version: int | None) -> Iterator[bytes]:
    """Answer with an object's bytes as an attachment (streamed, never rendered inline)."""
    info, chunks = facade.read_object(name, version)
    response = bottle.response
    media = str(info.get("content_type") or "").split(";", 1)[0].strip().lower()
    response.content_type = info["content_type"] if media in SAFE_TYPES else "application/octet-stream"
    response.set_header("Content-Length", str(info["size"]))
    response.set_header("Content-Disposition", f"attachment; filename*=UTF-8''{quote(info['name'], safe='')}")
    response.set_header("ETag", f'"{info["sha256"]}"')
    response.set_header("Content-Security-Policy", "sandbox; default-src 'none'")
    streamed: Iterator[bytes] = chunks
    return streamed


def register_data_api(app: bottle.Bottle, state: WebState) -> None:
    """Add the object and stream routes to the API *app*."""
    facade = state.facade

    # ------------------------------------------------------------------ objects
    @route(app, "GET", "/objects")
    def list_objects() -> dict[str, Any]:
        query = _query()
        limit, offset = params.page_bounds(query)
        page = facade.objects(tag=params.tag(query), prefix=params.text(query, "prefix"), limit=limit, offset=offset)
        return {**page, "limit": limit, "offset": offset}

    @route(app, "GET", "/objects/<name>")
    def get_object(name: str) -> dict[str, Any]:
        return {"object": facade.object_info(name, _version()), "versions": facade.object_versions(name)}

    @route(app, "GET", "/objects/<name>/content")
    def object_content(name: str) -> Any:
        return download(facade, name, _version())

    @route(app, "PUT", "/objects/<name>", raw_body=True)
    def put_object(name: str) -> dict[str, Any]:
        query, environ = _query(), bottle.request.environ
        limit = facade.object_max_size
        raw_length = str(environ.get("CONTENT_LENGTH") or "").strip()
        length = int(raw_length) if raw_length.isdigit() else None
        if length is None and not environ.get("wsgi.input_terminated"):
            raise BadRequestError("Content-Length: required for an upload (or a chunked body)", status=411,
                                  field="Content-Length")
        if length is not None and length > limit:
            raise BadRequestError(f"object {name!r} is larger than object_max_size ({limit} bytes): the upload was "
                                  "refused and nothing was stored", status=413, field="object_max_size", value=limit)
        tags = params.text(query, "tags")
        info = facade.put_object(name, request_chunks(environ, length), content_type=str(environ.get("CONTENT_TYPE")
                                 or ""), fmt=params.choice(query, "format", ("json", "csv", "bytes")),
                                 tags=tags if "tags" in query else None, expected_size=length)
        bottle.response.status = 201
        bottle.response.set_header("Location", f"{bottle.request.script_name}api/v1/objects/{quote(name, safe='')}")
        return {"object": info}

    @route(app, "POST", "/objects/<name>/tags")
    def tag_object(name: str) -> dict[str, Any]:
        body = _body()
        extra = sorted(set(body) - {"add", "remove", "version"})
        if extra:
            raise BadRequestError(f"unknown field {extra[0]!r} (known: add, remove, version)", field=extra[0])
        version = body.get("version")
        if version is not None and (isinstance(version, bool) or not isinstance(version, int)):
            raise BadRequestError(f"version: an integer, got {version!r}", field="version")
        return {"object": facade.tag_object(name, add=body.get("add") or (), remove=body.get("remove") or (),
                                            version=version)}

    @route(app, "DELETE", "/objects/<name>")
    def delete_object(name: str) -> dict[str, Any]:
        return {"deleted": facade.delete_object(name, _version())}

    # ------------------------------------------------------------------ streams
    @route(app, "GET", "/streams")
    def list_streams() -> dict[str, Any]:
        return {"streams": facade.streams(tag=params.tag(_query()))}

    @route(app, "POST", "/streams")
    def add_stream() -> dict[str, Any]:
        body = _body()
        extra = sorted(set(body) - {"name", "uri", "queue", "tags"})
        if extra:
            raise BadRequestError(f"unknown stream field {extra[0]!r} (known: name, uri, queue, tags)",
                                  field=extra[0])
        found = facade.add_stream(body)
        bottle.response.status = 201
        return {"stream": found}

    @route(app, "GET", "/streams/<name>")
    def get_stream(name: str) -> dict[str, Any]:
        last = params.integer(_query(), "last", default=20, minimum=0, maximum=params.MAX_LIMIT)
        return {"stream": facade.stream(name, last=last or 0)}

    @route(app, "DELETE", "/streams/<name>")
    def remove_stream(name: str) -> dict[str, Any]:
        return {"stream": facade.remove_stream(name)}

    @route(app, "POST", "/streams/<name>/pause")
    def pause_stream(name: str) -> dict[str, Any]:
        return {"stream": facade.pause_stream(name)}

    @route(app, "POST", "/streams/<name>/resume")
    def resume_stream(name: str) -> dict[str, Any]:
        return {"stream": facade.resume_stream(name)}

    @route(app, "GET", "/streams/<name>/messages")
    def stream_messages(name: str) -> dict[str, Any]:
        query = _query()
        after = params.integer(query, "after", minimum=0, maximum=2**62)
        limit = params.integer(query, "limit", default=50, minimum=1, maximum=params.MAX_LIMIT) or 50
        return {"messages": facade.stream_messages(name, after=after, limit=limit)}

    @route(app, "GET", "/streams/<name>/tail")
    def stream_tail(name: str) -> Any:
        return stream_tail_response(state, name, _query(), bottle.request.get_header("Last-Event-ID"))
