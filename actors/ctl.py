"""``das-actors ctl``: steer a running server from a shell, through its JSON API.

Stdlib only (``urllib``), so it works from any Python with the package installed. Human
tables by default, ``--json`` prints the server's JSON for scripts. Exit codes: 0 done,
1 the server said no (its message is printed), 2 usage error, 3 the server cannot be
reached. DAS's CLI exited 0 on every error and could not fetch a run (it never sent the
index); both are fixed.

The URL (``--url``, env ``DAS_ACTORS_URL``) is the panel's base, e.g.
``http://127.0.0.1:8213/analytics``; the token (``--token``, env ``DAS_ACTORS_TOKEN``) is
sent as ``Authorization: Bearer``. Common options may come before or after the command.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

from actors.errors import CtlUsageError, ServerRefusedError, ServerUnreachableError

EXIT_OK, EXIT_REFUSED, EXIT_USAGE, EXIT_UNREACHABLE = 0, 1, 2, 3
DEFAULT_URL = "http://127.0.0.1:8213/analytics"
TIMEOUT_S = 30.0


class Client:
    """The API at ``{url}/api/v1``."""

    def __init__(self, url: str, token: str = "", timeout: float = TIMEOUT_S) -> None:
        self.base = url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def _request(self, method: str, path: str, query: dict[str, Any] | None = None, body: Any = None,
                 accept: str = "application/json", *, extra_headers: dict[str, str] | None = None) -> Any:
        params = {k: v for k, v in (query or {}).items() if v is not None}
        url = f"{self.base}/api/v1/{path}" + (f"?{urlencode(params)}" if params else "")
        headers = {"Accept": accept, "Content-Type": "application/json", **(extra_headers or {})}
        data = None if body is None else json.dumps(body).encode("utf-8")
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310 - http(s) URL
        try:
            return urllib.request.urlopen(request, timeout=self.timeout)  # noqa: S310 - the operator's URL
        except urllib.error.HTTPError as exc:
            raw = exc.read().decode("utf-8", "replace")
            payload = _json_or_none(raw)
            error = payload.get("error") if isinstance(payload, dict) else None
            message = str(error.get("message")) if isinstance(error, dict) else raw.strip()[:500] or exc.reason
            raise ServerRefusedError(exc.code, f"{exc.code}: {message}", payload) from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ServerUnreachableError(f"cannot reach {self.base}: {reason}") from None

    def call(self, method: str, path: str, query: dict[str, Any] | None = None, body: Any = None,
             headers: dict[str, str] | None = None) -> Any:
        """One JSON request (with *headers* added); the decoded answer."""
        with self._request(method, path, query, body, extra_headers=headers) as response:
            raw = response.read()
        return json.loads(raw) if raw else None

    def events(self, path: str, query: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """The documents of a Server-Sent Events stream, as they arrive."""
        self.timeout = max(self.timeout, 120.0)  # heartbeats come every 15 s
        with self._request("GET", path, query, accept="text/event-stream") as response:
            data: list[str] = []
            for raw in response:
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                if line.startswith("data:"):
                    data.append(line[5:].lstrip(" "))
                elif not line and data:
                    yield json.loads("\n".join(data))
                    data = []


# ----------------------------------------------------------------------------- output
def _json_or_none(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def _when(epoch: Any) -> str:
    if not isinstance(epoch, int | float) or isinstance(epoch, bool):
        return "-"
    try:
        return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S")
    except (OverflowError, OSError, ValueError):
        return str(epoch)


def _in(epoch: Any) -> str:
    if not isinstance(epoch, int | float) or isinstance(epoch, bool):
        return "-"
    delta = epoch - time.time()
    return f"in {delta:.0f}s" if delta >= 0 else f"{-delta:.0f}s ago"


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    text = "-" if value is None else value if isinstance(value, str) else json.dumps(value, default=str)
    text = text.replace("\n", " ")
    return text if len(text) <= 60 else text[:59] + "\u2026"


def table(rows: Sequence[Sequence[Any]], header: Sequence[str]) -> str:
    """Left-aligned columns."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(header)]
    lines = ["  ".join(h.upper().ljust(w) for h, w in zip(header, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells]
    return "\n".join(lines)


def _job_line(job: dict[str, Any]) -> str:
    return f"job {job.get('name')!r} ({job.get('job_id')}): {job.get('state')}, due {_when(job.get('due_at'))}"


def _log_line(doc: dict[str, Any]) -> str:
    where = f" [{doc.get('name')} #{doc.get('index')}]" if doc.get("type") == "reslog" else ""
    extra = doc.get("fields") or {}
    fields = " " + json.dumps(extra, default=str, sort_keys=True) if extra else ""
    level = doc.get("levelname") or (logging.getLevelName(doc["level"]) if isinstance(doc.get("level"), int) else "")
    return f"{_when(doc.get('time'))} {level:8} {doc.get('logger', '')}{where}: " \
           f"{doc.get('msg', '')}{fields}"


# ----------------------------------------------------------------------------- commands
def json_and_pairs(text: str | None, pairs: list[str] | None, *, json_flag: str, pair_flag: str) -> dict[str, Any]:
    """A JSON object given as *text* (``--args``, ``--params``) updated with ``key=value`` *pairs*
    (``--arg``, ``--param``), each value read as JSON when it parses, else as text."""
    values: dict[str, Any] = {}
    if text:
        try:
            loaded = json.loads(text)
        except ValueError as exc:
            raise CtlUsageError(f"{json_flag} is not valid JSON: {exc}") from None
        if not isinstance(loaded, dict):
            raise CtlUsageError(f"{json_flag} must be a JSON object")
        values.update(loaded)
    for item in pairs or []:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise CtlUsageError(f"{pair_flag} expects key=value, got {item!r}")
        try:
            values[key] = json.loads(raw)
        except ValueError:
            values[key] = raw
    return values


def _parse_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    return json_and_pairs(args.args, args.arg, json_flag="--args", pair_flag="--arg")


def _number(text: str) -> float | str:
    try:
        return float(text)
    except ValueError:
        return text


Answer = tuple[Any, str]


def _jobs(args: argparse.Namespace, client: Client) -> Answer:
    answer = client.call("GET", "jobs", {"due_within": args.due_within, "state": args.state, "tag": args.tag,
                                         "limit": args.limit, "offset": args.offset})
    jobs = answer["jobs"]
    shown = f"\n{len(jobs)} of {answer.get('total', len(jobs))} job(s)" + (" (more: --offset)" if answer.get("more")
                                                                           else "")
    if args.ctl_command == "schedule":
        rows = [[_when(j.get("due_at")), _in(j.get("due_at")), j["name"], j["job_id"], j["classname"],
                 j["state"], j.get("last_outcome"), j.get("run_count"), j.get("retries_used")] for j in jobs]
        return answer, table(rows, ["due (utc)", "", "name", "id", "class", "state", "last", "runs",
                                    "retries"]) + shown
    rows = [[j["job_id"], j["name"], j["classname"], j.get("interval"), j["state"], j.get("run_count"),
             j.get("origin"), j.get("kwargs")] for j in jobs]
    return answer, table(rows, ["id", "name", "class", "interval", "state", "runs", "origin", "arguments"]) + shown


def _job(args: argparse.Namespace, client: Client) -> Answer:
    answer = client.call("GET", f"jobs/{quote(args.id, safe='')}")
    job = answer["job"]
    keys = ("job_id", "name", "classname", "interval", "cron", "tz", "jitter", "misfire", "kwargs", "state", "due_at",
            "run_count", "retries_used",
            "last_outcome", "last_error", "note", "only_once", "max_runs", "only_before", "timeout", "retries",
            "parent", "origin")
    lines = [f"{k:13} {_when(job.get(k)) if k in ('due_at', 'only_before') else _cell(job.get(k))}" for k in keys]
    if job.get("ancestors"):
        lines.append(f"{'ancestry':13} " + " > ".join(f"{a.get('name') or '(gone)'} ({a['job_id']})"
                                                     for a in job["ancestors"]))
    schedule = job.get("schedule") or {}
    if schedule:
        lines.append(f"{'schedule':13} {schedule.get('description')}")
        lines += [f"{'next' if n == 0 else '':13} {fire['local']}" for n, fire in enumerate(schedule.get("next", []))]
    runs = [[r.get("index"), r.get("attempt"), r.get("outcome"), _when(r.get("started_at")), r.get("duration"),
             r.get("error")] for r in job.get("recent_runs", [])]
    kids = [[c["job_id"], c["name"], c["state"]] for c in job.get("children", [])]
    text = "\n".join(lines) + "\n\nrecent runs:\n" + table(runs, ["index", "attempt", "outcome", "started",
                                                                     "seconds", "error"])
    if kids:
        text += "\n\nchildren:\n" + table(kids, ["id", "name", "state"])
    return answer, text


def _add(args: argparse.Namespace, client: Client) -> Answer:
    body: dict[str, Any] = {"name": args.name, "classname": args.classname, "kwargs": _parse_kwargs(args),
                            "only_once": args.only_once}
    if args.interval is not None:
        body["interval"] = _number(args.interval)
    if args.misfire_grace is not None:
        body["misfire_grace"] = _number(args.misfire_grace)
    for key in ("max_runs", "only_before", "timeout", "retries", "when", "cron", "tz", "jitter", "misfire",
                "max_catchup", "on_stream", "stream_batch"):
        value = getattr(args, key)
        if value is not None:
            body[key] = value
    if args.tag:
        body["tags"] = list(args.tag)
    answer = client.call("POST", "jobs", body=body)
    return answer, "added " + _job_line(answer["job"])


def _job_verb(args: argparse.Namespace, client: Client) -> Answer:
    cmd, path = args.ctl_command, f"jobs/{quote(args.id, safe='')}"
    if cmd == "remove":
        answer = client.call("DELETE", path)
    elif cmd == "reschedule":
        answer = client.call("POST", f"{path}/reschedule", body={"when": args.when})
    else:
        answer = client.call("POST", f"{path}/{cmd}")
    verb = {"remove": "removed", "pause": "paused", "resume": "resumed", "run-now": "run now:",
            "reschedule": "rescheduled"}[cmd]
    return answer, f"{verb} {_job_line(answer['job'])}"


def _backfill(args: argparse.Namespace, client: Client) -> Answer:
    answer = client.call("POST", f"jobs/{quote(args.id, safe='')}/backfill",
                         body={"from": _number(args.start), "to": _number(args.end)})
    done = answer["backfill"]
    return answer, (f"backfill of {_job_line(answer['job'])}: {done['queued']} slot(s) queued, {done['skipped']} of "
                    f"{done['slots']} already run or claimed (the run ledger)")


def _runs(args: argparse.Namespace, client: Client) -> Answer:
    query = {"job_id": args.job_id, "name": args.name, "classname": args.classname, "parent": args.parent,
             "outcome": args.outcome, "last": args.last, "index": args.index, "tag": args.tag, "limit": args.limit,
             "offset": args.offset}
    answer = client.call("GET", "runs", query)
    rows = [[_when(r.get("finished_at")), r.get("name"), r.get("job_id"), r.get("index"), r.get("attempt"),
             r.get("outcome"), r.get("duration"), r.get("error")] for r in answer["runs"]]
    shown = f"\n{len(rows)} of {answer['total']} run(s)" + (" (more: --offset)" if answer["more"] else "")
    return answer, table(rows, ["finished (utc)", "name", "job id", "index", "attempt", "outcome", "seconds",
                                "error"]) + shown


def _run(args: argparse.Namespace, client: Client) -> Answer:
    answer = client.call("GET", f"runs/{quote(args.job_id, safe='')}/{args.index}", {"attempt": args.attempt})
    run = answer["run"]
    head = [f"{k:9} {_when(run.get(k)) if k in ('due_at', 'started_at', 'finished_at') else _cell(run.get(k))}"
            for k in ("job_id", "name", "classname", "index", "attempt", "trigger", "outcome", "due_at",
                      "started_at", "finished_at", "duration", "error")]
    text = "\n".join(head) + "\n\nresult:\n" + json.dumps(run.get("result"), indent=2, default=str)
    if run.get("traceback"):
        text += "\n\n" + str(run["traceback"]).rstrip()
    if run.get("logs"):
        text += "\n\nlog lines:\n" + "\n".join(_log_line(d) for d in run["logs"])
    return answer, text


def _cancel(args: argparse.Namespace, client: Client) -> Answer:
    answer = client.call("POST", f"running/{quote(args.run_id, safe='')}/cancel")
    return answer, f"cancelling run {args.run_id}"


def _logs(args: argparse.Namespace, client: Client) -> Answer:
    answer = client.call("GET", "logs", {"type": args.type, "logger": args.logger, "level": args.level,
                                         "job_id": args.job_id, "last": args.last, "limit": args.limit,
                                         "offset": args.offset})
    text = "\n".join(_log_line(d) for d in reversed(answer["logs"]))
    return answer, text + f"\n{len(answer['logs'])} of {answer['total']} line(s)"


def _workers(args: argparse.Namespace, client: Client) -> Answer:
    answer = client.call("GET", "workers")
    rows = [[w.get("slot"), w.get("status"), w.get("pid"), (w.get("run") or {}).get("run_id"),
             w.get("recent_restarts")] for w in answer["workers"]]
    return answer, table(rows, ["slot", "status", "pid", "running", "restarts"])


def _options(args: argparse.Namespace, client: Client) -> Answer:
    answer = client.call("GET", "options")
    rows = [[o["name"], o.get("value"), o.get("source"), "live" if o.get("live") else "restart", o.get("help")]
            for o in answer["options"]]
    return answer, table(rows, ["option", "value", "source", "applies", "help"])


def _set_option(args: argparse.Namespace, client: Client) -> Answer:
    answer = client.call("PUT", f"options/{quote(args.name, safe='')}", body={"value": args.value})
    return answer, f"{answer['option']['name']} = {answer['option']['value']!r} (applies now)"


def _health(args: argparse.Namespace, client: Client) -> Answer:
    try:
        answer = client.call("GET", "health")
    except ServerRefusedError as exc:
        if exc.status == 503 and isinstance(exc.body, dict) and "problems" in exc.body:
            raise ServerRefusedError(503, "unhealthy: " + "; ".join(exc.body["problems"]), exc.body) from None
        raise
    return answer, f"{answer['status']} (up {answer.get('uptime_s', 0):.0f}s)"


def _running(args: argparse.Namespace, client: Client) -> Answer:
    answer = client.call("GET", "running")
    rows = [[r.get("run_id"), r.get("name"), r.get("slot"), r.get("pid"), _when(r.get("started_at")),
             r.get("elapsed_s")] for r in answer["running"]]
    return answer, table(rows, ["run id", "name", "worker", "pid", "started (utc)", "elapsed s"])


HANDLERS = {"schedule": _jobs, "jobs": _jobs, "job": _job, "add": _add, "remove": _job_verb, "pause": _job_verb,
            "resume": _job_verb, "run-now": _job_verb, "reschedule": _job_verb, "backfill": _backfill, "runs": _runs,
            "run": _run, "running": _running,
            "cancel": _cancel, "logs": _logs, "workers": _workers, "options": _options, "set-option": _set_option,
            "health": _health}
#: DAS's command names (its ``--results``, ``--result``, ``--task``), kept as aliases.
ALIASES = {"results": "runs", "result": "run", "task": "job"}


def _follow(args: argparse.Namespace, client: Client) -> int:
    """Print new lines as they arrive, from now on (``tail -f``); with ``--last S`` (or ``--since
    S``) first the lines of the last S seconds."""
    query = {"type": args.type or "log", "logger": args.logger, "level": args.level, "job_id": args.job_id,
             "limit": args.limit if args.last is not None else 1, "last": args.last}
    answer = client.call("GET", "logs", query)
    docs = list(reversed(answer["logs"]))
    if args.last is not None:
        for doc in docs:
            _emit(args, doc)
    after = max((d.get("seq", 0) for d in docs), default=None)  # None: the tail starts at the newest document
    tail = {"type": query["type"], "logger": args.logger, "level": args.level, "job_id": args.job_id,
            "after": after, "limit": args.count, "timeout": args.follow_timeout}
    try:
        for doc in client.events("logs/tail", tail):
            _emit(args, doc)
    except KeyboardInterrupt:
        pass
    return EXIT_OK


def _emit(args: argparse.Namespace, doc: dict[str, Any]) -> None:
    sys.stdout.write((json.dumps(doc, default=str) if args.json else _log_line(doc)) + "\n")
    sys.stdout.flush()


def main(args: argparse.Namespace) -> int:
    """Run one ``ctl`` command; the exit code."""
    client = Client(args.url, args.token or "")
    args.ctl_command = ALIASES.get(args.ctl_command, args.ctl_command)
    try:
        if args.ctl_command == "logs" and args.follow:
            return _follow(args, client)
        if args.ctl_command in ("objects", "streams"):  # data objects and streams: actors.ctl_data
            from actors.ctl_data import run

            answer, text = run(args, client, table)
            if answer is None:  # the bytes went to stdout
                return EXIT_OK
        else:
            answer, text = HANDLERS.get(args.ctl_command, getattr(args, "ctl_handler", None))(  # type: ignore[misc]
                args, client)
    except CtlUsageError as exc:
        sys.stderr.write(f"das-actors ctl: error: {exc}\n")
        return EXIT_USAGE
    except ServerRefusedError as exc:
        if args.json and exc.body is not None:
            sys.stdout.write(json.dumps(exc.body, indent=2) + "\n")
        sys.stderr.write(f"das-actors ctl: {exc}\n")
        return EXIT_REFUSED
    except ServerUnreachableError as exc:
        sys.stderr.write(f"das-actors ctl: {exc}\n")
        return EXIT_UNREACHABLE
    sys.stdout.write((json.dumps(answer, indent=2, default=str) if args.json else text) + "\n")
    return EXIT_OK


# ----------------------------------------------------------------------------- parser
