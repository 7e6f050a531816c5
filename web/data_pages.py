"""The panel's Data pages: objects and streams, an object's view and versions, a stream's live messages.

Why a module of its own: the Data area (issue 13) has its own pages and forms (upload, tag,
delete, add/pause/resume/remove a stream); `web.pages` registers them with one call. Every
form is a POST with the CSRF token (the upload is multipart: `web.multipart` parses it without
bottle#1470, spooling the file to disk); a success redirects (303) with a one-shot message.
An object's content is shown escaped: JSON pretty-printed, CSV as a paged table with its
header, anything else as size, hash and a download link (the API streams it as an attachment).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import Any, BinaryIO
from urllib.parse import quote

import bottle

from actors.errors import BadRequestError, DasActorsError
from web import params
from web.render import render
from web.requests import form_params, query_params, route, safe_next, see_other
from web.state import WebState

#: Bytes read per chunk from an uploaded (spooled) file.
READ_CHUNK = 1024 * 1024
_NOT_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def name_from_filename(filename: str) -> str:
    """An object name from an uploaded file's name: its base name with other characters as ``_``."""
    base = os.path.basename(filename.replace("\\", "/"))
    return _NOT_NAME.sub("_", base).lstrip("._-")[:120]


def file_chunks(handle: BinaryIO) -> Iterator[bytes]:
    """The bytes of an uploaded file, from its start, chunk by chunk."""
    handle.seek(0)
    while True:
        chunk = handle.read(READ_CHUNK)
        if not chunk:
            return
        yield chunk


def _version(query: dict[str, str]) -> int | None:
    return params.integer(query, "version", minimum=1, maximum=2**31)


def object_url(name: str) -> str:
    """The page of object *name*."""
    return str(bottle.request.script_name) + "data/objects/" + quote(name, safe="")


def back(state: WebState, message: str, default: str = "data") -> None:
    """Flash *message* and go back (303) to the form's ``next`` page."""
    state.flash("ok", message)
    see_other(bottle.request.script_name + safe_next(form_params().get("next"), default))


def register_data_pages(app: bottle.Bottle, state: WebState) -> None:
    """Add the Data pages and their forms to the pages *app*."""
    facade = state.facade
    register_object_forms(app, state)
    register_stream_forms(app, state)

    @route(app, "GET", "/data")
    def data() -> str:
        query = query_params()
        limit, offset = params.page_bounds(query, default_limit=50)
        tag, prefix = params.tag(query), params.text(query, "prefix")
        objects = facade.objects(tag=tag, prefix=prefix, limit=limit, offset=offset)
        streams_error = None
        try:
            streams = facade.streams(tag=tag)
        except DasActorsError as exc:  # the hub restarting: the objects still show
            streams, streams_error = [], str(exc)
        keep = {k: query[k] for k in ("tag", "prefix") if query.get(k)}
        return render("data.mako", state.page("data"), objects=objects["objects"], total=objects["total"],
                      more=objects["more"], limit=limit, offset=offset, streams=streams, streams_error=streams_error,
                      tag=tag or "", prefix=prefix or "", keep=keep, max_size=facade.object_max_size)

    @route(app, "GET", "/data/objects/<name>")
    def object_page(name: str) -> str:
        query = query_params()
        version = _version(query)
        offset = params.integer(query, "offset", default=0, minimum=0, maximum=10**9) or 0
        limit = params.integer(query, "limit", default=50, minimum=1, maximum=params.MAX_LIMIT) or 50
        info = facade.object_info(name, version)
        preview = facade.object_preview(name, version, offset=offset, limit=limit)
        page = state.page("data")  # once: it takes the one-shot messages
        download = page.url(f"api/v1/objects/{quote(name, safe='')}/content",
                            version=info["version"] if version else None)
        return render("object.mako", page, obj=info, versions=facade.object_versions(name), preview=preview,
                      download=download, version=version)

    @route(app, "GET", "/data/streams/<name>")
    def stream_page(name: str) -> str:
        found = facade.stream(name, last=50)
        page = state.page("data")
        tail = page.url(f"api/v1/streams/{quote(name, safe='')}/tail", after=found["last_seq"])
        return render("stream.mako", page, stream=found, tail_url=tail)



def register_object_forms(app: bottle.Bottle, state: WebState) -> None:
    """Upload, tag, delete."""
    facade = state.facade

    @route(app, "POST", "/data/objects")
    def upload() -> None:
        form = form_params()
        upload_ = bottle.request.files.get("file")
        if upload_ is None or not getattr(upload_, "raw_filename", ""):
            raise BadRequestError("file: choose a file to upload", field="file")
        name = (form.get("name") or "").strip() or name_from_filename(upload_.raw_filename)
        tags = (form.get("tags") or "").strip()
        fmt = form.get("format") or None
        info = facade.put_object(name, file_chunks(upload_.file), content_type=upload_.content_type or "",
                                 fmt=params.choice({"format": fmt or ""}, "format", ("json", "csv", "bytes")),
                                 tags=tags if tags else None)
        state.flash("ok", f"object {info['name']!r} stored: version {info['version']}, {info['size']} bytes")
        see_other(object_url(info["name"]))

    @route(app, "POST", "/data/objects/<name>/tags")
    def tag(name: str) -> None:
        form = form_params()
        version = _version(form)
        info = facade.tag_object(name, add=form.get("add") or "", remove=form.get("remove") or "", version=version)
        back(state, f"object {name!r}: tags now {', '.join(info['tags']) or 'none'}",
             f"data/objects/{quote(name, safe='')}")

    @route(app, "POST", "/data/objects/<name>/delete")
    def delete(name: str) -> None:
        form = form_params()
        version = _version(form)
        facade.delete_object(name, version)
        state.flash("ok", f"object {name!r} deleted" if version is None else f"object {name!r}: version "
                    f"{version} deleted")
        target = "data" if version is None else f"data/objects/{quote(name, safe='')}"
        see_other(bottle.request.script_name + target)



def register_stream_forms(app: bottle.Bottle, state: WebState) -> None:
    """Add, pause, resume, remove."""
    facade = state.facade

    @route(app, "POST", "/data/streams")
    def add_stream() -> None:
        form = form_params()
        found = facade.add_stream({"name": (form.get("name") or "").strip(), "uri": (form.get("uri") or "").strip(),
                                   "queue": (form.get("queue") or "").strip(), "tags": form.get("tags") or ""})
        back(state, f"stream {found['name']!r} added")

    def _stream_action(verb: str) -> Any:
        def action(name: str) -> None:
            if verb == "pause":
                facade.pause_stream(name)
            elif verb == "resume":
                facade.resume_stream(name)
            else:
                facade.remove_stream(name)
                state.flash("ok", f"stream {name!r} removed")
                see_other(bottle.request.script_name + "data")
            back(state, f"stream {name!r} {verb}d")

        return action

    for verb in ("pause", "resume", "remove"):
        app.route(f"/data/streams/<name>/{verb}", "POST", _stream_action(verb))
