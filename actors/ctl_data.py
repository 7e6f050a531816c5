"""``das-actors ctl objects ...`` and ``ctl streams ...``: data objects and streams from a shell.

Why a module of its own: uploads and downloads move files, not JSON (a ``put`` streams the file
as the request body, a ``get`` streams the answer to a file or stdout, never whole in memory),
and the two command groups have sub-commands of their own. `actors.ctl` registers them and
hands over its API client and table printer; exit codes are ``ctl``'s (0 done, 1 the server said
no, 2 usage, 3 unreachable).

    ctl objects list [--tag T] [--prefix P]      ctl streams list [--tag T]
    ctl objects put NAME [FILE|-] [--tag T]...   ctl streams add NAME URI QUEUE [--tag T]...
    ctl objects get NAME [-o FILE|-] [--version] ctl streams show NAME [--last N]
    ctl objects info NAME                         ctl streams pause|resume|rm NAME
    ctl objects tag|untag NAME TAG...
    ctl objects rm NAME [--version V]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import IO, Any
from urllib.parse import quote, urlencode

from actors.errors import CtlUsageError, ServerRefusedError, ServerUnreachableError

Table = Callable[[Sequence[Sequence[Any]], Sequence[str]], str]
Answer = tuple[Any, str]
#: Bytes per read while uploading from stdin or downloading.
CHUNK = 1024 * 1024


def _when(epoch: Any) -> str:
    if not isinstance(epoch, int | float) or isinstance(epoch, bool):
        return "-"
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _size(count: Any) -> str:
    value = float(count or 0)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"


def _name(text: str) -> str:
    return quote(text, safe="")


def _raw(client: Any, method: str, path: str, query: dict[str, Any] | None = None, *, body: IO[bytes] | None = None,
         length: int | None = None, content_type: str = "application/octet-stream") -> Any:
    """A request whose body (or answer) is bytes: the open response (the caller reads and closes it)."""
    params = {k: v for k, v in (query or {}).items() if v is not None}
    url = f"{client.base}/api/v1/{path}" + (f"?{urlencode(params)}" if params else "")
    headers = {"Accept": "*/*"}
    if body is not None:
        headers.update({"Content-Type": content_type, "Content-Length": str(length or 0)})
    if client.token:
        headers["Authorization"] = f"Bearer {client.token}"
    request = urllib.request.Request(url, data=body, method=method, headers=headers)  # noqa: S310 - http(s) URL
    try:
        return urllib.request.urlopen(request, timeout=max(client.timeout, 300.0))  # noqa: S310 - the operator's URL
    except urllib.error.HTTPError as exc:
        raw = exc.read().decode("utf-8", "replace")
        try:
            payload = json.loads(raw)
        except ValueError:
            payload = None
        error = payload.get("error") if isinstance(payload, dict) else None
        message = str(error.get("message")) if isinstance(error, dict) else raw.strip()[:500] or exc.reason
        raise ServerRefusedError(exc.code, f"{exc.code}: {message}", payload) from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise ServerUnreachableError(f"cannot reach {client.base}: {getattr(exc, 'reason', exc)}") from None


def _object_rows(objects: Sequence[dict[str, Any]]) -> list[list[Any]]:
    return [[o["name"], o["version"], _size(o["size"]), o["format"], ",".join(o.get("tags") or []),
             (o.get("producer") or {}).get("name") or "upload", _when(o.get("created"))] for o in objects]


_OBJECT_HEADER = ["name", "version", "size", "format", "tags", "produced by", "stored (utc)"]


# ----------------------------------------------------------------------------- objects
def _objects_list(args: argparse.Namespace, client: Any, table: Table) -> Answer:
    answer = client.call("GET", "objects", {"tag": args.tag, "prefix": args.prefix, "limit": args.limit,
                                            "offset": args.offset})
    shown = f"\n{len(answer['objects'])} of {answer['total']} object(s)" + (" (more: --offset)" if answer["more"]
                                                                            else "")
    return answer, table(_object_rows(answer["objects"]), _OBJECT_HEADER) + shown


def _objects_put(args: argparse.Namespace, client: Any, table: Table) -> Answer:
    query = {"tags": ",".join(args.tag) if args.tag is not None else None, "format": args.format}
    content_type = args.content_type or "application/octet-stream"
    if args.file in (None, "-"):
        with tempfile.TemporaryFile() as spool:  # stdin has no length: spooled to disk first, never to memory
            shutil.copyfileobj(sys.stdin.buffer, spool, CHUNK)
            length = spool.tell()
            spool.seek(0)
            with _raw(client, "PUT", f"objects/{_name(args.name)}", query, body=spool, length=length,
                      content_type=content_type) as response:
                answer = json.loads(response.read())
    else:
        try:
            handle = open(args.file, "rb")  # noqa: SIM115 - closed below, streamed as the body
        except OSError as exc:
            raise CtlUsageError(f"cannot read {args.file}: {exc.strerror}") from None
        with handle, _raw(client, "PUT", f"objects/{_name(args.name)}", query, body=handle,
                          length=os.fstat(handle.fileno()).st_size, content_type=content_type) as response:
            answer = json.loads(response.read())
    info = answer["object"]
    return answer, f"stored {info['name']!r} version {info['version']}: {_size(info['size'])}, {info['format']}, " \
                   f"sha256 {info['sha256']}"


def _objects_get(args: argparse.Namespace, client: Any, table: Table) -> Answer:
    with _raw(client, "GET", f"objects/{_name(args.name)}/content", {"version": args.version}) as response:
        if args.output in (None, "-"):
            shutil.copyfileobj(response, sys.stdout.buffer, CHUNK)
            sys.stdout.buffer.flush()
            return None, ""
        with open(args.output, "wb") as out:
            shutil.copyfileobj(response, out, CHUNK)
            size = out.tell()
    return {"name": args.name, "file": args.output, "size": size}, f"wrote {_size(size)} to {args.output}"


def _objects_info(args: argparse.Namespace, client: Any, table: Table) -> Answer:
    answer = client.call("GET", f"objects/{_name(args.name)}")
    info = answer["object"]
    lines = [f"{key:13} {info.get(key) if key != 'created' else _when(info.get(key))}"
             for key in ("name", "version", "size", "sha256", "content_type", "format", "tags", "producer", "created",
                         "facts")]
    return answer, "\n".join(lines) + "\n\nversions:\n" + table(_object_rows(answer["versions"]), _OBJECT_HEADER)


def _objects_tag(args: argparse.Namespace, client: Any, table: Table) -> Answer:
    key = "add" if args.data_command == "tag" else "remove"
    answer = client.call("POST", f"objects/{_name(args.name)}/tags", body={key: list(args.tags)})
    return answer, f"{args.name}: tags {', '.join(answer['object']['tags']) or 'none'}"


def _objects_rm(args: argparse.Namespace, client: Any, table: Table) -> Answer:
    answer = client.call("DELETE", f"objects/{_name(args.name)}", {"version": args.version})
    deleted = answer["deleted"]["deleted"]
    return answer, f"deleted {deleted} version(s) of {args.name!r}"


# ----------------------------------------------------------------------------- streams
def _stream_rows(streams: Sequence[dict[str, Any]]) -> list[list[Any]]:
    return [[s["name"], s["queue"], s["uri"], ",".join(s.get("tags") or []), s["status"].get("state"),
             f"{s['status'].get('rate') or 0:.1f}/s", s["status"].get("error")] for s in streams]


_STREAM_HEADER = ["name", "queue", "broker", "tags", "state", "rate", "last error"]


def _streams_list(args: argparse.Namespace, client: Any, table: Table) -> Answer:
    answer = client.call("GET", "streams", {"tag": args.tag})
    return answer, table(_stream_rows(answer["streams"]), _STREAM_HEADER)


def _streams_add(args: argparse.Namespace, client: Any, table: Table) -> Answer:
    answer = client.call("POST", "streams", body={"name": args.name, "uri": args.uri, "queue": args.queue,
                                                  "tags": list(args.tag or [])})
    return answer, f"added stream {args.name!r} ({answer['stream']['status'].get('state')})"


def _streams_show(args: argparse.Namespace, client: Any, table: Table) -> Answer:
    answer = client.call("GET", f"streams/{_name(args.name)}", {"last": args.last})
    stream, status = answer["stream"], answer["stream"]["status"]
    head = table(_stream_rows([stream]), _STREAM_HEADER)
    counts = ", ".join(f"{key} {status.get(key, 0)}" for key in ("received", "stored", "duplicates", "acked",
                                                                   "reconnects"))
    rows = [[_when(m.get("recv")), m.get("seq"), m.get("routing_key"), m.get("body_text")]
            for m in stream.get("messages", [])]
    return answer, f"{head}\nsince {_when(status.get('since'))}: {counts}; {stream.get('stored')} kept\n\n" + \
        table(rows, ["received (utc)", "seq", "routing key", "message"])


def _streams_verb(args: argparse.Namespace, client: Any, table: Table) -> Answer:
    if args.data_command == "rm":
        answer = client.call("DELETE", f"streams/{_name(args.name)}")
        return answer, f"removed stream {args.name!r}"
    answer = client.call("POST", f"streams/{_name(args.name)}/{args.data_command}")
    return answer, f"stream {args.name!r}: {'paused' if args.data_command == 'pause' else 'resumed'}"


HANDLERS: dict[tuple[str, str], Callable[[argparse.Namespace, Any, Table], Answer]] = {
    ("objects", "list"): _objects_list, ("objects", "put"): _objects_put, ("objects", "get"): _objects_get,
    ("objects", "info"): _objects_info, ("objects", "tag"): _objects_tag, ("objects", "untag"): _objects_tag,
    ("objects", "rm"): _objects_rm, ("streams", "list"): _streams_list, ("streams", "add"): _streams_add,
    ("streams", "show"): _streams_show, ("streams", "pause"): _streams_verb, ("streams", "resume"): _streams_verb,
    ("streams", "rm"): _streams_verb,
}


def run(args: argparse.Namespace, client: Any, table: Table) -> Answer:
    """Run ``ctl objects|streams <sub-command>``: ``(answer, text)``."""
    return HANDLERS[(args.ctl_command, args.data_command)](args, client, table)


# ----------------------------------------------------------------------------- parser
Arguments = list[tuple[tuple[str, ...], dict[str, Any]]]
_PAGE: Arguments = [(("--limit",), {"type": int, "default": 100}), (("--offset",), {"type": int, "default": 0})]
_TAGS: Arguments = [(("--tag",), {"action": "append", "metavar": "TAG", "help": "a tag (repeatable)"})]
_SUBCOMMANDS: dict[str, dict[str, tuple[str, Arguments]]] = {
    "objects": {
        "list": ("objects (their newest version) by name", [
            (("--tag",), {"help": "only objects with this tag"}), (("--prefix",), {"help": "names starting so"}),
            *_PAGE]),
        "put": ("store a file (or stdin) as a new version of NAME", [
            (("name",), {}), (("file",), {"nargs": "?", "help": "a file, or - / nothing for stdin"}), *_TAGS,
            (("--format",), {"choices": ("json", "csv", "bytes")}),
            (("--content-type",), {"help": "default application/octet-stream (the name's ending sets the format)"})]),
        "get": ("write an object's bytes to a file or stdout", [
            (("name",), {}), (("-o", "--output"), {"help": "a file (default: stdout)"}),
            (("--version",), {"type": int})]),
        "info": ("an object's metadata and its versions", [(("name",), {})]),
        "tag": ("add tags to an object", [(("name",), {}), (("tags",), {"nargs": "+", "metavar": "TAG"})]),
        "untag": ("remove tags from an object", [(("name",), {}), (("tags",), {"nargs": "+", "metavar": "TAG"})]),
        "rm": ("delete an object (every version, or --version)", [(("name",), {}), (("--version",), {"type": int})]),
    },
    "streams": {
        "list": ("streams with their live status", [(("--tag",), {"help": "only streams with this tag"})]),
        "add": ("register a stream and start consuming it", [
            (("name",), {}), (("uri",), {"help": "amqp://user:password@host:5672/vhost"}), (("queue",), {}), *_TAGS]),
        "show": ("a stream's status and newest messages", [(("name",), {}), (("--last",), {"type": int,
                                                                                           "default": 20})]),
        "pause": ("stop consuming (the broker keeps the messages)", [(("name",), {})]),
        "resume": ("consume a paused stream again", [(("name",), {})]),
        "rm": ("stop consuming and forget the stream and its messages", [(("name",), {})]),
    },
}


def add_data_commands(commands: Any, common: argparse.ArgumentParser) -> None:
    """Register ``objects`` and ``streams`` (with their sub-commands) on ``ctl``'s *commands*."""
    helps = {"objects": "data objects: list, put, get, info, tag, untag, rm",
             "streams": "AMQP streams: list, add, show, pause, resume, rm"}
    for group, subcommands in _SUBCOMMANDS.items():
        parser = commands.add_parser(group, help=helps[group], description=helps[group], parents=[common],
                                     allow_abbrev=False)
        sub = parser.add_subparsers(dest="data_command", required=True, metavar="COMMAND")
        for name, (help_text, arguments) in subcommands.items():
            command = sub.add_parser(name, help=help_text, description=help_text, parents=[common], allow_abbrev=False)
            for flags, options in arguments:
                command.add_argument(*flags, **options)
