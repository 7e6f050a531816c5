"""What a script showed, on the panel: images served so they cannot run script, tables built here.

Why a module of its own: Suricate inserted its notebooks' ``embed:`` output into the page as
raw HTML. Here outputs are data (`tasks.scripting.outputs`) and this module decides how each
reaches a browser:

* a figure is served by ``GET runs/<job_id>/<index>/outputs/<n>`` as ``image/svg+xml`` (or
  ``image/png``) with ``Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline';
  sandbox`` and ``nosniff``, and shown in an ``<img>``: a browser never runs script inside an
  ``<img>``, and the sandbox covers the image opened on its own;
* a table is rendered by the template from ``{columns, index, rows}``, every cell escaped;
* ``GET runs/<job_id>/<index>/output`` is the run's outcome and outputs as an HTML fragment,
  which the script page's live panel fetches when the run's result arrives.
"""

from __future__ import annotations

import base64
from typing import Any

import bottle

from actors.errors import BadRequestError, NotFoundError
from actors.store import Query
from web.render import render
from web.requests import route
from web.state import WebState

#: Headers of a served output image: no script, no plugin, nothing loaded, sandboxed if opened alone.
IMAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
MEDIA = {"svg": "image/svg+xml", "png": "image/png"}


def _index(raw: str) -> int:
    try:
        return int(raw, 10)
    except ValueError:
        raise BadRequestError(f"index: expected an integer, got {raw[:40]!r}", field="index") from None


def result_doc(state: WebState, job_id: str, index: int) -> dict[str, Any]:
    """The newest result document of run *index* of *job_id* (404 if none is stored)."""
    items = state.facade.runs(Query(type="result", job_id=job_id, index=index, limit=1)).items
    if not items:
        raise NotFoundError(f"no stored result of run {index} of job {job_id!r}")
    return dict(items[0])


def outputs_of(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The outputs a run's result holds (an empty list for a run that showed nothing)."""
    result = doc.get("result")
    items = result.get("outputs") if isinstance(result, dict) else None
    return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []


def register_outputs(app: bottle.Bottle, state: WebState) -> None:
    """Add the output routes to the pages *app*."""

    @route(app, "GET", "/runs/<job_id>/<index>/outputs/<number:int>")
    def output_image(job_id: str, index: str, number: int) -> bytes:
        items = outputs_of(result_doc(state, job_id, _index(index)))
        if not 0 <= number < len(items) or items[number].get("kind") != "image":
            raise NotFoundError(f"run {index} of job {job_id!r} has no image output {number}")
        item = items[number]
        kind = str(item.get("format"))
        if kind not in MEDIA:
            raise NotFoundError(f"output {number} has format {kind!r}, which is not served")
        data = str(item.get("data") or "")
        body = data.encode("utf-8") if kind == "svg" else base64.b64decode(data)
        response = bottle.response
        response.content_type = MEDIA[kind]
        response.set_header("Content-Security-Policy", IMAGE_CSP)
        response.set_header("X-Content-Type-Options", "nosniff")
        response.set_header("Content-Disposition", f'inline; filename="output-{number}.{kind}"')
        response.set_header("Cache-Control", "private, max-age=3600")
        return body

    @route(app, "GET", "/runs/<job_id>/<index>/output")
    def output_fragment(job_id: str, index: str) -> str:
        number = _index(index)
        doc = result_doc(state, job_id, number)
        page = state.page("results")
        return render("output_fragment.mako", page, run=doc, outputs=outputs_of(doc))
