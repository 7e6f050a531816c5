"""Multipart forms (file uploads) parsed without bottle#1470, and bounded.

Why: bottle 0.13's multipart parser counts a part that is still in memory against a total
memory cap equal to the size at which a part moves to disk (both ``MEMFILE_MAX``, 100 KiB).
A browser sends the small form fields (the CSRF token, the name) before the file, so any
file over about 100 KiB fails with "Memory limit reached" (bottlepy/bottle#1470, fix still
open in PR #1536). Here the same parser runs with a memory cap a few times the in-memory
part size, so a big part moves to a temporary file (the body is never held in memory) and
small fields still fit; the total on disk is capped (`FormTooLargeError`, 413, naming the
option). The parsed form is left where bottle looks for it (``environ["bottle.request.post"]``),
so ``request.forms`` and ``request.files`` work as usual afterwards.
"""

from __future__ import annotations

from typing import Any

import bottle

from actors.errors import BadRequestError

#: Size at which a part moves from memory to a temporary file (bottle's own).
MEMFILE_BYTES = bottle.BaseRequest.MEMFILE_MAX
#: Memory all in-memory parts of one form may use together: room for the small fields.
FORM_MEMORY_BYTES = 8 * MEMFILE_BYTES
#: What a form may carry beyond the largest object: its other fields and the part headers.
FORM_OVERHEAD_BYTES = 1024 * 1024
_CACHE_KEY = "bottle.request.post"


class FormTooLargeError(BadRequestError):
    """A form bigger than the largest object accepted (HTTP 413)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"form: larger than object_max_size ({limit} bytes) allows; nothing was stored", status=413,
                         field="object_max_size", value=limit)


def parse(request: bottle.BaseRequest, max_bytes: int) -> None:
    """Parse a ``multipart/form-data`` body of *request* (at most *max_bytes* of files) once, for bottle.

    Other bodies are left to bottle. Raises `FormTooLargeError` (413) past the bound and
    `BadRequestError` (400) for a malformed body.
    """
    environ: dict[str, Any] = request.environ
    if _CACHE_KEY in environ:
        return
    declared = str(environ.get("CONTENT_TYPE") or "")
    media, options = bottle._parse_http_header(declared)[0] if declared else ("", {})  # bottle's own header parser
    if not media.lower().startswith("multipart/"):
        return
    limit = max_bytes + FORM_OVERHEAD_BYTES
    if request.content_length > limit:
        raise FormTooLargeError(max_bytes)
    boundary = options.get("boundary")
    if not boundary:
        raise BadRequestError("form: multipart body without a boundary", field="Content-Type")
    # bottle's own parser (private, pinned by bottle<0.14), with the limits of the module docstring
    parser = bottle._MultipartParser(request.body, boundary, request.content_length,
                                     disk_limit=limit, mem_limit=FORM_MEMORY_BYTES, memfile_limit=MEMFILE_BYTES,
                                     charset=options.get("charset", "utf8"))
    post = bottle.FormsDict()
    post.recode_unicode = False
    try:
        for part in parser.parse():
            if not part.filename and part.is_buffered():
                post[part.name] = bottle.tonat(part.value, "utf8")
            else:
                post[part.name] = bottle.FileUpload(part.file, part.name, part.filename, part.headerlist)
    except bottle.MultipartError as exc:
        if "Disk limit" in str(exc.body or exc):
            raise FormTooLargeError(max_bytes) from None
        raise BadRequestError(f"form: not a valid multipart body: {exc.body or exc}", field="form") from None
    environ[_CACHE_KEY] = post
