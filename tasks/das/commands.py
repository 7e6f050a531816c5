"""``das-actors das-serve`` and ``das-actors spam``: the das service's own commands.

Registered by the das service plugin (`tasks.das.plugin`), so the CLI never names them.
``das-serve`` serves the cached das data service over HTTP; ``spam`` is the load generator
(the successor of DAS's ``das_queryspammer``). Exit codes as elsewhere: 0 done, 1 the work
failed, 2 a usage error (the message names the flag).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from typing import Any

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _fail(message: str) -> int:
    sys.stderr.write(f"das-actors: error: {message}\n")
    return EXIT_USAGE


def add_commands(sub: Any) -> None:
    """Add ``das-serve`` and ``spam`` to the ``das-actors`` sub-command parsers."""
    _das_serve_parser(sub)
    _spam_parser(sub)


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
    from tasks.das.demo_upstream import DemoUpstream
    from tasks.das.http import DasHttpServer
    from tasks.das.service import DasService
    from tasks.das.upstream import Upstreams

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
    return EXIT_OK if summary["ok"] else EXIT_FAILED
