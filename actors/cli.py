"""The ``das-actors`` command: ``start`` the server, ``run-task`` to try a task by hand,
``ctl`` to steer a running server (see `actors.ctl`), plus the commands service plugins add
(see `actors.services`; the das service adds ``das-serve`` and ``spam``).

Exit codes: 0 success, 1 the task (run-task) failed, 2 a usage or configuration error
(the message names the option or file and line). Errors go to stderr as plain text;
everything the server itself says goes to stdout as JSON lines.
"""

from __future__ import annotations

import argparse
import ast
import json
import signal
import sys
import threading
import time
from collections.abc import Sequence
from typing import Any

from actors import __version__
from actors.services import service_plugins

EXIT_OK, EXIT_TASK_FAILED, EXIT_USAGE = 0, 1, 2


def _fail(message: str) -> int:
    sys.stderr.write(f"das-actors: error: {message}\n")
    return EXIT_USAGE


# ---------------------------------------------------------------------------- start
def _start_parser(sub: Any) -> None:
    from actors.config import add_option_arguments

    parser = sub.add_parser("start", help="run the server until SIGINT/SIGTERM", allow_abbrev=False,
                            description="Run the server: config files are Python, later files win, flags win "
                                        "over files. Stops cleanly on SIGINT/SIGTERM.")
    parser.add_argument("config", nargs="*", help="Python config files declaring options, Task(...) jobs and "
                                                  "Stream(...) streams")
    add_option_arguments(parser)
    parser.set_defaults(func=_cmd_start)


def _cmd_start(args: argparse.Namespace) -> int:
    from actors import logs
    from actors.config import flags_from_namespace
    from actors.configfile import load_config
    from actors.errors import DasActorsError
    from actors.gcpause import paused_gc
    from actors.plugins import packages_option
    from actors.server import Server
    from tasks.registry import TaskRegistry, default_registry
    from web.server import EXPOSED_NOTE

    chosen: list[TaskRegistry] = []

    def registry_for(settings: Any) -> Any:
        chosen.append(default_registry(packages_option(settings.task_packages)))
        return chosen[0].validate_spec

    # One pause of the cyclic collector over loading the config files and restoring the store: the
    # jobs are walked by one collection at the end, not once after each (`actors.gcpause`).
    with paused_gc(settle=True):
        streams: list[Any] = []
        targets: list[Any] = []
        warnings: list[str] = []
        try:
            settings, jobs = load_config(args.config, flags_from_namespace(args), make_job_for=registry_for,
                                         streams=streams, targets=targets, warnings=warnings)
        except DasActorsError as exc:
            return _fail(str(exc))
        registry = chosen[0]
        logs.configure_logging(level="DEBUG" if settings.verbose else "INFO", fmt=settings.log_format,
                               log_file=settings.log_file or None)
        log = logs.get_logger("das_actors.cli")
        for warning in warnings:
            log.warning("config.not_an_option", detail=warning)
        for module, error in sorted(registry.errors.items()):
            log.error("tasks.import_failed", module=module, error=error)
        stop = threading.Event()
        received: list[str] = []

        def on_signal(signum: int, _frame: Any) -> None:
            received.append(signal.Signals(signum).name)
            stop.set()

        signal.signal(signal.SIGINT, on_signal)
        signal.signal(signal.SIGTERM, on_signal)
        try:
            system = Server(settings, jobs, registry=registry, streams=streams, targets=targets,
                            token_if_missing=True).start()
        except DasActorsError as exc:
            log.error("server.start_failed", error=str(exc))
            return _fail(str(exc))
        except Exception as exc:
            log.exception("server.start_failed", error=f"{type(exc).__name__}: {exc}")
            sys.stderr.write(f"das-actors: start failed: {type(exc).__name__}: {exc}\n")
            return EXIT_TASK_FAILED
    log.info("server.ready", config=list(args.config), jobs=len(jobs), streams=len(streams),
             pid=__import__("os").getpid())
    if system.login_url:  # as JupyterLab does: a person reads this line, not the JSON log
        sys.stderr.write(f"das-actors: scripts are on and no web token was given; log in to the panel with\n"
                         f"    {system.login_url}\n")
    if system.web is not None and system.web.exposed_without_token:  # loud: beside the JSON warning
        sys.stderr.write(f"das-actors: WARNING: {system.web.url} is open to the network without a token: "
                         f"{EXPOSED_NOTE}\n")
    while not stop.wait(1.0):
        pass
    log.info("server.stopping", signal=received[0] if received else None, grace_s=settings.shutdown_grace)
    system.shutdown()
    return EXIT_OK


# ---------------------------------------------------------------------------- run-task
def _run_task_parser(sub: Any) -> None:
    parser = sub.add_parser("run-task", help="run one task in this process and show what the scheduler would do",
                            allow_abbrev=False,
                            description="The task test harness: runs a task once, in-process, prints its result "
                                        "as JSON, then the scheduler's decision (next due time, resubmit, "
                                        "children).")
    parser.add_argument("-c", "--class", dest="classname", required=True,
                        help="task class: a registered name or package.module:Class")
    parser.add_argument("-o", "--opts", default="{}",
                        help="task arguments: a JSON object, or a Python dict literal (never eval'd)")
    parser.add_argument("-n", "--name", help="job name (default CLI<class>)")
    parser.add_argument("-t", "--interval", type=float, default=3600.0, help="interval in seconds (default 3600)")
    parser.add_argument("--index", type=int, default=1, help="run number passed to the task (default 1)")
    parser.add_argument("--task-packages", default="",
                        help="comma-separated module prefixes whose classes -c may name (the module of a dotted "
                             "-c is always allowed)")
    parser.add_argument("--config", action="append", default=[], metavar="FILE",
                        help="a server config file (repeatable): its options are used as the server would use "
                             "them: task_packages, the services tasks get, minimum_interval and the retry "
                             "rules of the forecast (default: the server's defaults)")
    parser.add_argument("--minimum-interval", type=float, default=None,
                        help="minimum_interval for the forecast (default: the config file's, else the server's)")
    parser.set_defaults(func=_cmd_run_task)


def parse_opts(text: str) -> dict[str, Any]:
    """A JSON object, or a Python literal dict (``ast.literal_eval``: no code runs)."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError) as exc:
            raise ValueError(f"-o/--opts is neither JSON nor a Python literal: {text!r} ({exc})") from exc
    if not isinstance(value, dict):
        raise ValueError(f"-o/--opts must be an object/dict of task arguments, got {type(value).__name__}")
    return value


def _cmd_run_task(args: argparse.Namespace) -> int:
    import dataclasses
    import logging

    from actors import logs
    from actors.child import execute
    from actors.configfile import load_config
    from actors.errors import DasActorsError
    from actors.jobs import JobSpec, Outcome, RunReport
    from actors.plugins import packages_option, split_dotted
    from actors.runtimeconfig import limits_from, service_options
    from actors.services import build_services
    from actors.timetable import Timetable
    from tasks.registry import default_registry

    logs.configure_logging(level="DEBUG", fmt="console", stream=sys.stderr)
    try:
        settings, _jobs = load_config(args.config, {})  # the server's defaults, or the config files'
        if args.minimum_interval is not None:
            settings = settings.replace(minimum_interval=args.minimum_interval)
    except DasActorsError as exc:
        return _fail(str(exc))
    # The operator named the class on their own command line: its module is importable here.
    named = split_dotted(args.classname)
    registry = default_registry((*packages_option(settings.task_packages), *packages_option(args.task_packages),
                                 *([named[0]] if named else [])))
    def unavailable(name: str, exc: BaseException) -> None:
        sys.stderr.write(f"das-actors: the {name} service is not available here: {type(exc).__name__}: {exc}\n")

    services = build_services(service_options(settings), unavailable)
    try:
        opts = parse_opts(args.opts)
        spec = registry.validate_spec(JobSpec(name=args.name or f"CLI{args.classname}", classname=args.classname,
                                              interval_s=args.interval, kwargs=opts))
    except (ValueError, DasActorsError) as exc:
        return _fail(str(exc))
    now = time.time()
    wire = {"job_id": spec.job_id, "name": spec.name, "classname": spec.classname, "kwargs": dict(spec.kwargs),
            "index": args.index, "attempt": 0, "due_at": now, "interval": spec.interval_s, "parent": [],
            "timeout": None}
    logging.getLogger().setLevel(logging.DEBUG)
    payload = execute(wire, registry, services=services)
    sys.stdout.write(json.dumps({k: v for k, v in payload.items() if k != "exit_after"}, indent=2, default=str)
                     + "\n")
    # The forecast applies the server's rules (retries, backoff, minimum_interval), first run now.
    timetable = Timetable(dataclasses.replace(limits_from(settings), start_offset=False), rng=lambda: 0.0)
    job = timetable.add(spec, now)
    run = timetable.start(job.job_id, now)
    assert run is not None
    report = RunReport(outcome=Outcome(payload["outcome"]), started_at=payload["started_at"],
                       finished_at=payload["finished_at"], error=payload.get("error"), next_at=payload.get("next_at"),
                       resubmit=payload.get("resubmit", True), children=tuple(payload.get("children") or ()))
    decision = timetable.finish(job.job_id, report, payload["finished_at"])
    forecast = {
        "outcome": payload["outcome"],
        "next_due_at": decision.due_at,
        "next_due_in_s": None if decision.due_at is None else round(decision.due_at - time.time(), 3),
        "resubmit": report.resubmit,
        "decision": decision.note,
        "children": [c.to_dict() for c in decision.children],
        "child_errors": list(decision.child_errors) + list(payload.get("child_errors") or []),
    }
    sys.stdout.write(json.dumps({"scheduler": forecast}, indent=2) + "\n")
    return EXIT_OK if payload["outcome"] == "success" else EXIT_TASK_FAILED


# ---------------------------------------------------------------------------- ctl
def _ctl_parser(sub: Any) -> None:
    from actors.ctl_act import COMMANDS
    from actors.ctl_args import add_parser

    add_parser(sub, extra=COMMANDS)


# ---------------------------------------------------------------------------- main
def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every sub-command."""
    parser = argparse.ArgumentParser(prog="das-actors", description="Periodic analytics-task server.",
                                     allow_abbrev=False)
    parser.add_argument("--version", action="version", version=f"das-actors {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _start_parser(sub)
    _run_task_parser(sub)
    _ctl_parser(sub)
    for plugin in service_plugins():  # commands of the service plugins (das-serve, spam ...)
        if plugin.add_commands is not None:
            plugin.add_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``das-actors`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
