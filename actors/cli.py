"""The ``das-actors`` command: ``start`` the server, ``run-task`` to try a task by hand,
``ctl`` to steer a running server (see `actors.ctl`), ``das-serve`` to serve the das data
service over HTTP and ``spam`` to load it (see `tasks.das`).

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
    parser.add_argument("config", nargs="*", help="Python config files declaring options and Task(...) jobs")
    add_option_arguments(parser)
    parser.set_defaults(func=_cmd_start)


def _cmd_start(args: argparse.Namespace) -> int:
    from actors import logs
    from actors.config import flags_from_namespace
    from actors.configfile import load_config
    from actors.errors import DasActorsError
    from actors.server import Server
    from tasks.registry import default_registry

    registry = default_registry()
    try:
        settings, jobs = load_config(args.config, flags_from_namespace(args), make_job=registry.validate_spec)
    except DasActorsError as exc:
        return _fail(str(exc))
    logs.configure_logging(level="DEBUG" if settings.verbose else "INFO", fmt=settings.log_format,
                           log_file=settings.log_file or None)
    log = logs.get_logger("das_actors.cli")
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
        system = Server(settings, jobs, registry=registry).start()
    except DasActorsError as exc:
        log.error("server.start_failed", error=str(exc))
        return _fail(str(exc))
    except Exception as exc:
        log.exception("server.start_failed", error=f"{type(exc).__name__}: {exc}")
        sys.stderr.write(f"das-actors: start failed: {type(exc).__name__}: {exc}\n")
        return EXIT_TASK_FAILED
    log.info("server.ready", config=list(args.config), jobs=len(jobs), pid=__import__("os").getpid())
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
    parser.add_argument("--minimum-interval", type=float, default=60.0,
                        help="minimum_interval used for the forecast (default 60)")
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
    import logging

    from actors import logs
    from actors.child import execute
    from actors.errors import DasActorsError
    from actors.jobs import JobSpec, Outcome, RunReport
    from actors.policy import RetryPolicy
    from actors.timetable import Limits, Timetable
    from tasks.registry import default_registry

    logs.configure_logging(level="DEBUG", fmt="console", stream=sys.stderr)
    registry = default_registry()
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
    payload = execute(wire, registry)
    sys.stdout.write(json.dumps({k: v for k, v in payload.items() if k != "exit_after"}, indent=2, default=str)
                     + "\n")
    timetable = Timetable(Limits(minimum_interval_s=args.minimum_interval, retry=RetryPolicy(max_retries=0),
                                 start_offset=False), rng=lambda: 0.0)
    job = timetable.add(spec, now)
    run = timetable.start(job.job_id, now)
    assert run is not None
    report = RunReport(outcome=Outcome(payload["outcome"]), started_at=payload["start"],
                       finished_at=payload["finish"], error=payload.get("error"), next_at=payload.get("next"),
                       resubmit=payload.get("resubmit", True), children=tuple(payload.get("children") or ()))
    decision = timetable.finish(job.job_id, report, payload["finish"])
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
    from actors.ctl import add_parser

    add_parser(sub)


# ---------------------------------------------------------------------------- das-serve, spam (issue 7)
def _das_serve_parser(sub: Any) -> None:
    parser = sub.add_parser("das-serve", help="serve the das data service over HTTP (GET /das/query?q=...)",
                            allow_abbrev=False,
                            description="Serve the cached das data service: GET /das/query?q=<DAS-QL> answers "
                                        "from the cache or the upstream APIs and records the call in the query "
                                        "log; GET /das/stats shows the counters. Stops on SIGINT/SIGTERM.")
    parser.add_argument("--db-uri", required=True,
                        help="store of the das service: sqlite:///path (a file of its own) or mongodb://...")
    parser.add_argument("--db-name", default="das", help="database name (MongoDB; default das)")
    parser.add_argument("--upstreams", required=True, metavar="FILE",
                        help="JSON file listing the upstream APIs (written by --demo-upstream)")
    parser.add_argument("--demo-upstream", action="store_true",
                        help="also start a local demo upstream and write its config to --upstreams FILE")
    parser.add_argument("--demo-port", type=int, default=0, help="port of the demo upstream (default: a free one)")
    parser.add_argument("--demo-ttl", type=float, default=60.0, help="max-age of the demo upstream's answers, s")
    parser.add_argument("--demo-latency", type=float, default=0.02, help="latency of the demo upstream, s")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8214, help="port to listen on (default 8214; 0 = a free one)")
    parser.set_defaults(func=_cmd_das_serve)


def _cmd_das_serve(args: argparse.Namespace) -> int:
    from tasks.das.backends import open_das_store
    from tasks.das.http import DasHttpServer
    from tasks.das.service import DasService
    from tasks.das.upstream import DemoUpstream, Upstreams

    for name, value in (("--port", args.port), ("--demo-port", args.demo_port)):
        if not 0 <= value <= 65535:
            return _fail(f"{name} must be between 0 and 65535, got {value}")
    if args.demo_ttl < 0 or args.demo_latency < 0:
        return _fail("--demo-ttl and --demo-latency must be >= 0")
    demo: DemoUpstream | None = None
    try:
        if args.demo_upstream:
            demo = DemoUpstream(port=args.demo_port, ttl_s=args.demo_ttl, latency_s=args.demo_latency).start()
            demo.write_config(args.upstreams)
        upstreams = Upstreams.from_file(args.upstreams)
        store = open_das_store(args.db_uri, args.db_name)
        store.open()
        server = DasHttpServer(DasService(store, upstreams), host=args.host, port=args.port)
    except (ValueError, OSError, RuntimeError) as exc:
        if demo is not None:
            demo.stop()
        return _fail(str(exc))
    stop = threading.Event()

    def on_signal(signum: int, _frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    server.start()
    sys.stdout.write(json.dumps({"event": "das.serving", "url": server.query_url, "stats": f"{server.url}/das/stats",
                                 "store": repr(store), "upstreams": [f"{a.system}/{a.api}" for a in upstreams.apis],
                                 "demo_upstream": demo.url if demo else None}) + "\n")
    sys.stdout.flush()
    while not stop.wait(0.5):
        pass
    server.stop()
    if demo is not None:
        demo.stop()
    store.close()
    sys.stdout.write(json.dumps({"event": "das.stopped", "stats": server.service.stats()}) + "\n")
    return EXIT_OK


def _spam_parser(sub: Any) -> None:
    parser = sub.add_parser("spam", help="load generator: send DAS queries to a das-serve endpoint",
                            allow_abbrev=False,
                            description="The successor of das_queryspammer: WORKERS threads send queries drawn "
                                        "from VALUES values (Zipf or uniform popularity) for DURATION seconds "
                                        "at RATE requests/s in total, then print a JSON summary (requests, "
                                        "errors, latency mean/p50/p99, cache hit ratio reported by the "
                                        "endpoint). Exit 1 if no request succeeded.")
    parser.add_argument("--url", required=True, help="the endpoint, http://host:port or http://host:port/das/query")
    parser.add_argument("-w", "--workers", type=int, default=4, help="concurrent clients (default 4)")
    parser.add_argument("-t", "--duration", type=float, default=60.0, help="seconds to run (default 60)")
    parser.add_argument("-c", "--max-calls", type=int, default=0, help="stop after N requests (default 0: no limit)")
    parser.add_argument("-r", "--rate", type=float, default=50.0,
                        help="requests per second over all workers (default 50; 0 = as fast as possible)")
    parser.add_argument("--popularity", choices=("zipf", "uniform"), default="zipf",
                        help="how values are drawn (default zipf)")
    parser.add_argument("--zipf-s", type=float, default=1.1, help="Zipf exponent s (default 1.1)")
    parser.add_argument("--values", type=int, default=1000, help="size of the value set (default 1000)")
    parser.add_argument("--value-template", default="/Primary{i}/Processed/RAW",
                        help="value i of the set (default /Primary{i}/Processed/RAW)")
    parser.add_argument("--query-template", default="dataset dataset.name={value}",
                        help="the DAS-QL query of a value (default 'dataset dataset.name={value}')")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument("--timeout", type=float, default=10.0, help="per-request timeout, s (default 10)")
    parser.set_defaults(func=_cmd_spam)


def _cmd_spam(args: argparse.Namespace) -> int:
    from tasks.das.spam import SpamConfig, run_spam

    config = SpamConfig(url=args.url, workers=args.workers, duration_s=args.duration, rate=args.rate,
                        popularity=args.popularity, zipf_s=args.zipf_s, values=args.values,
                        value_template=args.value_template, query_template=args.query_template, seed=args.seed,
                        max_calls=args.max_calls, timeout_s=args.timeout)
    try:
        config.check()
    except ValueError as exc:
        return _fail(str(exc))
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda _signum, _frame: stop.set())
    summary = run_spam(config, stop=stop)
    sys.stdout.write(json.dumps(summary, indent=2) + "\n")
    return EXIT_OK if summary["ok"] else EXIT_TASK_FAILED


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
    _das_serve_parser(sub)  # issue 7
    _spam_parser(sub)  # issue 7
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``das-actors`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
