"""The command line of ``das-actors ctl``: its commands, their arguments, and how they register.

Why a module of its own: what each command does (`actors.ctl`) reads best apart from the long
table of flags every command takes; this table is also what ``--help`` shows.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from actors.ctl import ALIASES, DEFAULT_URL, main


def _common(*, defaults: bool) -> argparse.ArgumentParser:
    """--url/--token/--json, accepted before the command (with defaults) and after it."""
    parser = argparse.ArgumentParser(add_help=False)
    default = (lambda value: value) if defaults else (lambda _value: argparse.SUPPRESS)
    parser.add_argument("--url", default=default(os.environ.get("DAS_ACTORS_URL") or DEFAULT_URL),
                        help=f"base URL of the panel (env DAS_ACTORS_URL; default {DEFAULT_URL})")
    parser.add_argument("--token", default=default(os.environ.get("DAS_ACTORS_TOKEN", "")),
                        help="web token, sent as a Bearer token (env DAS_ACTORS_TOKEN)")
    parser.add_argument("--json", action="store_true", default=default(False), help="print the server's JSON")
    return parser


def _positive(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


_JOB_FILTERS: list[tuple[tuple[str, ...], dict[str, Any]]] = [
    (("--due-within",), {"type": float, "metavar": "S", "help": "only jobs due within S seconds"}),
    (("--state",), {"help": "only jobs in this state (scheduled, waiting, running, paused, abandoned, finished, "
                             "quarantined) or group of states (active, ended)"}),
    (("--tag",), {"help": "only jobs with this tag"}),
    (("--limit",), {"type": _positive, "default": 1000}), (("--offset",), {"type": _positive})]

#: command -> (help, [(flags, options)])
_COMMANDS: dict[str, tuple[str, list[tuple[tuple[str, ...], dict[str, Any]]]]] = {
    "schedule": ("jobs by due time", _JOB_FILTERS),
    "jobs": ("job definitions", _JOB_FILTERS),
    "job": ("one job with its recent runs and children", [(("id",), {"help": "job id"})]),
    "add": ("add a job", [
        (("name",), {}), (("classname",), {"metavar": "CLASS"}),
        (("interval",), {"nargs": "?", "help": "seconds (or give --cron)"}),
        (("--cron",), {"metavar": "EXPR", "help": "cron expression instead of an interval, e.g. '30 2 * * *'"}),
        (("--tz",), {"metavar": "ZONE", "help": "IANA time zone of --cron (default UTC)"}),
        (("--jitter",), {"type": float, "metavar": "S", "help": "move each due time by a fixed 0..S seconds"}),
        (("--misfire",), {"choices": ("coalesce", "all", "skip"), "help": "slots missed while the job could not "
                                                                            "run (default: the server's)"}),
        (("--misfire-grace",), {"metavar": "S", "help": "seconds, or 'unlimited'"}),
        (("--max-catchup",), {"type": _positive, "metavar": "N"}),
        (("--arg",), {"action": "append", "metavar": "K=V", "help": "task argument (value parsed as JSON if it "
                                                                     "parses, else a string); repeatable"}),
        (("--args",), {"metavar": "JSON", "help": "task arguments as one JSON object"}),
        (("--only-once",), {"action": "store_true"}), (("--max-runs",), {"type": _positive, "metavar": "N"}),
        (("--only-before",), {"metavar": "TIMEISH"}), (("--timeout",), {"type": float, "metavar": "S"}),
        (("--retries",), {"type": _positive, "metavar": "N"}),
        (("--when",), {"metavar": "TIMEISH", "help": "first run (default: now)"}),
        (("--tag",), {"action": "append", "metavar": "TAG", "help": "a tag of the job (repeatable)"}),
        (("--on-stream",), {"metavar": "STREAM", "help": "also run when new messages of this stream arrive"}),
        (("--stream-batch",), {"type": _positive, "metavar": "N", "help": "with --on-stream: after N new messages "
                                                                          "(default 1)"})]),
    "remove": ("remove a job (a running run finishes first)", [(("id",), {})]),
    "pause": ("pause a job", [(("id",), {})]),
    "resume": ("resume a paused job", [(("id",), {})]),
    "run-now": ("run a job once now, without shifting its schedule", [(("id",), {})]),
    "reschedule": ("move a job's next run", [(("id",), {}), (("when",), {"metavar": "TIMEISH",
                                                                         "help": "HH:MM[:SS][gmt], +N[smhd], "
                                                                                 "epoch or ISO-8601"})]),
    "backfill": ("run a job's past slots once each (those the run ledger shows not run)", [
        (("id",), {"help": "job id"}),
        (("--from",), {"dest": "start", "required": True, "metavar": "T1",
                       "help": "first slot time: ISO-8601 (no offset: the job's zone), epoch or TIMEISH"}),
        (("--to",), {"dest": "end", "required": True, "metavar": "T2", "help": "last slot time (inclusive)"})]),
    "runs": ("run results, newest first", [
        (("--job-id",), {}), (("--name",), {}), (("--class",), {"dest": "classname"}), (("--parent",), {}),
        (("--outcome",), {}), (("--index",), {"type": _positive}), (("--last",), {"type": float, "metavar": "S"}),
        (("--tag",), {"help": "only runs of jobs with this tag"}),
        (("--limit",), {"type": _positive, "default": 20}), (("--offset",), {"type": _positive})]),
    "run": ("one run with its result and log lines", [
        (("job_id",), {}), (("index",), {"type": _positive}), (("--attempt",), {"type": _positive})]),
    "cancel": ("cancel a run in progress", [(("run_id",), {"help": "job_id:index:attempt"})]),
    "logs": ("system or task log lines", [
        (("--type",), {"choices": ("log", "reslog")}), (("--logger",), {"metavar": "PREFIX"}),
        (("--level",), {"help": "minimum level: a number or debug/info/warning/error/critical"}),
        (("--job-id",), {}),
        (("--last", "--since"), {"type": float, "metavar": "S", "dest": "last",
                                 "help": "the lines of the last S seconds (with --follow: printed first)"}),
        (("--limit",), {"type": _positive, "default": 50}), (("--offset",), {"type": _positive}),
        (("--follow", "-f"), {"action": "store_true", "help": "print new lines as they arrive, from now on "
                                                               "(Ctrl-C ends); --since S shows history first"}),
        (("--count",), {"type": _positive, "metavar": "N", "help": "with --follow: stop after N new lines"}),
        (("--follow-timeout",), {"type": float, "metavar": "S", "help": "with --follow: stop after S seconds"})]),
    "running": ("runs in progress (run id, worker, pid, elapsed)", []),
    "workers": ("worker slots", []),
    "options": ("options with value, source and whether they apply live", []),
    "set-option": ("change a live option", [(("name",), {}), (("value",), {})]),
    "health": ("scheduler, journal and store health (exit 1 when unhealthy)", []),
}


#: A command of another module: (help, [(flags, options)], handler).
Extra = tuple[str, list[tuple[tuple[str, ...], dict[str, Any]]], Any]


def add_parser(sub: Any, extra: dict[str, Extra] | None = None) -> argparse.ArgumentParser:
    """Register ``ctl`` and its commands on the ``das-actors`` sub-parsers *sub*; *extra* adds the
    commands of other modules (`actors.ctl_act`: trigger, scripts, actions, targets)."""
    parser = sub.add_parser("ctl", help="steer a running server through its API", parents=[_common(defaults=True)],
                            allow_abbrev=False, description="Steer a running das-actors server through its JSON API.",
                            epilog="exit codes: 0 ok, 1 the server said no, 2 usage, 3 server unreachable")
    commands = parser.add_subparsers(dest="ctl_command", required=True, metavar="COMMAND")
    common = _common(defaults=False)
    aliases_of: dict[str, list[str]] = {}
    for alias, name in ALIASES.items():
        aliases_of.setdefault(name, []).append(alias)
    every = {**{name: (help_text, arguments, None) for name, (help_text, arguments) in _COMMANDS.items()},
             **(extra or {})}
    for name, (help_text, arguments, handler) in every.items():
        command = commands.add_parser(name, help=help_text, description=help_text, parents=[common],
                                      allow_abbrev=False, aliases=aliases_of.get(name, []))
        for flags, options in arguments:
            command.add_argument(*flags, **options)
        if handler is not None:
            command.set_defaults(ctl_handler=handler)
    from actors.ctl_data import add_data_commands

    add_data_commands(commands, common)  # ctl objects ..., ctl streams ... (issue 13)
    parser.set_defaults(func=main)
    return parser  # type: ignore[no-any-return]
