"""Every option of das-actors, declared once: name, type, default, bounds, group, help, live or not.

Why a module of its own: the declarations are the one list an operator reads to learn what can
be set (``--help``, the options table in docs/operations.md, the panel's Options page are all made
from it); `actors.config` reads values against it (config files, flags, `Settings`). Service
plugins add their own options here at import (`actors.services`).
"""

from __future__ import annotations

import difflib
from typing import Any

from actors.bounds import MAX_STAGE_AHEAD_S
from actors.errors import ConfigError
from actors.params import Option
from actors.services import service_plugins

#: Every option, by name, in registration order (which is also the --help order).
OPTIONS: dict[str, Option] = {}


def register(option: Option) -> Option:
    """Add *option* to `OPTIONS`; a second option of the same name is a `ValueError`."""
    if option.name in OPTIONS:
        raise ValueError(f"option {option.name!r} is already registered")
    OPTIONS[option.name] = option
    return option


def suggest(name: str) -> str:
    """`` (did you mean '...'?)`` naming the closest option to *name*, or "" when none is close."""
    close = difflib.get_close_matches(name, OPTIONS, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def lookup(name: str, *, where: str = "") -> Option:
    """The registered option *name*, or `ConfigError` "unknown option ... (did you mean ...?)"."""
    option = OPTIONS.get(name)
    if option is None:
        prefix = f"{where}: " if where else ""
        raise ConfigError(f"{prefix}unknown option {name!r}{suggest(name)}")
    return option


def _o(group: str, name: str, default: Any, help_: str, **extra: Any) -> None:
    register(Option(name=name, type=type(default), default=default, help=help_, group=group, **extra))


_o("Scheduling", "max_retries", 1, "retries of a failed run before it is given up", minimum=0, live=True)
_o("Scheduling", "retry_delay", 60.0, "base delay of the exponential retry backoff, s", minimum=0, live=True)
_o("Scheduling", "retry_max_delay", 3600.0, "longest retry delay, s", minimum=0, live=True)
_o("Scheduling", "retry_jitter", 0.2, "random fraction (0..1) applied to retry delays", minimum=0, maximum=1.0,
   live=True)
_o("Scheduling", "minimum_interval", 60.0, "smallest job interval, s (anti-DoS floor)", minimum=0, live=True)
_o("Scheduling", "stage_ahead", 0.2, "hand a run to a free worker up to this many seconds before it is due; "
   "the worker process starts it at its due time, so dispatch delays do not make it late (0 = hand it over "
   "when due; at most 1; local workers only)", minimum=0, maximum=MAX_STAGE_AHEAD_S, live=True)
_o("Scheduling", "no_start_offset", False, "start jobs at once, not at a random offset in their interval")
_o("Scheduling", "max_children_per_run", 100, "most child jobs one run may spawn", minimum=0, live=True)
_o("Scheduling", "misfire", "coalesce", "what happens to slots that fell due while a job could not run (down, "
   "stalled, paused): coalesce = the newest runs once, all = each runs (up to max_catchup), skip = none; the "
   "others are recorded missed (per job: misfire=)", choices=("coalesce", "all", "skip"), live=True)
_o("Scheduling", "misfire_grace", "", "seconds after its due time within which a missed slot still runs "
   "(empty = min(period, 1 h); 'unlimited'; per job: misfire_grace=)", live=True,
   pattern=r"^(|unlimited|[0-9]{1,9}(\.[0-9]{1,6})?)$")
_o("Scheduling", "max_catchup", 100, "most missed slots the 'all' misfire policy runs after one stop (per job: "
   "max_catchup=; at most 10000)", minimum=1, maximum=10000, live=True)
_o("Scheduling", "ledger_retention", 30 * 86400.0, "seconds the run ledger keeps a slot's entry (each job's "
   "newest are kept always); a backfill cannot reach further back", minimum=3600)
_o("Scheduling", "finished_retention", 86400.0, "seconds finished jobs are kept before being pruned",
   minimum=0, live=True)
_o("Workers", "workers", 4, "number of worker processes running tasks", minimum=1)
_o("Workers", "compute", "local", "where runs are computed: local (worker processes of this server) or "
   "dask://host:port (a Dask distributed scheduler; see docs/scaling-out.md)")
_o("Workers", "task_timeout", 3600.0, "default timeout of a run, s (0 = none)", minimum=0, live=True)
_o("Workers", "shutdown_grace", 10.0, "seconds running tasks get on shutdown", minimum=0, live=True)
_o("Workers", "worker_memory_mb", 0, "RLIMIT_AS of a worker process, MiB (0 = none)", minimum=0)
_o("Workers", "worker_max_runs", 0, "recycle a worker process after N runs (0 = never)", minimum=0)
_o("Workers", "restart_max", 5, "restart intensity: at most N restarts of an actor...", minimum=1)
_o("Workers", "restart_window", 60.0, "...within W seconds, else give up", minimum=0)
_o("Workers", "restart_min_backoff", 0.5, "first delay before restarting an actor, s", minimum=0)
_o("Workers", "restart_max_backoff", 30.0, "longest delay before restarting an actor, s", minimum=0)
_o("Workers", "restart_jitter", 0.2, "random fraction (0..1) applied to restart delays", minimum=0, maximum=1.0)
_o("Workers", "restart_reset_after", 30.0, "seconds up before the restart backoff resets", minimum=0)
_o("Store", "db_uri", "sqlite:///./das-actors.db", "store URI (sqlite:///path or mongodb://...)")
_o("Store", "db_name", "analytics_results", "database name")
_o("Store", "db_coll", "db", "collection (table) name")
_o("Store", "db_size", 67108864, "capped size in bytes (K/M/G/KiB/MiB/GiB suffixes)", minimum=4096,
   size=True, metavar="BYTES")
_o("Store", "db_max_docs", 0, "capped number of documents (0 = no limit)", minimum=0)
_o("Store", "db_convert", False, "convert an existing collection that is not capped (or capped at another size) "
   "instead of refusing to start (MongoDB)")
_o("Store", "db_timeout", 2.0, "MongoDB server selection and connect timeout, s (operations get 5x)", minimum=0.1)
_o("Store", "lease_ttl", 10.0, "several servers on one MongoDB store: seconds the leader's lease lasts (renewed every "
   "third of it; a follower takes over within about that long after the leader dies; 0 = no lease, this server "
   "assumes it is alone; see docs/scaling-out.md)", minimum=0)
_o("Store", "journal_buffer", 100000, "most documents (a task log line counts one) buffered while the store is down",
   minimum=1000)
_o("Store", "journal_flush_interval", 0.05, "seconds between journal flushes", minimum=0.001)
_o("Plugins", "task_packages", "", "comma-separated module prefixes whose task classes may be named by dotted "
   "path (package.module:Class), beyond the built-in tasks package; never settable through the web")
_o("Plugins", "report_packages", "", "comma-separated module prefixes whose report classes may be named by dotted "
   "path, beyond the built-in reports package; never settable through the web")
_o("Web", "web", True, "serve the panel and API")
_o("Web", "web_host", "127.0.0.1", "address the web interface listens on")
_o("Web", "web_port", 8213, "port of the web interface (0 = pick a free port)", minimum=0)
_o("Web", "web_base", "/analytics", "URL prefix of the web interface")
_o("Web", "web_token", "", "bearer token required by the web interface (empty = none)")
_o("Web", "web_read_only", False, "refuse every change through the web interface", live=True)
# -- issue 11: the web door ----------------------------------------------------------------
_o("Web", "web_allowed_hosts", "", "more Host names the web interface answers to, comma-separated, each "
   "name or name:port (a reverse proxy's or a wildcard bind's real names); localhost, 127.0.0.1, [::1] and "
   "the bound address always are, any other Host gets 421")
_o("Web", "web_token_file", "", "file holding the web token, read at start, trailing newline stripped "
   "(keeps it out of ps; used when web_token is empty, before env DAS_ACTORS_WEB_TOKEN)")
# -- issue 16: a read-only token beside the admin token, and the panel's live refresh -----------
_o("Web", "web_read_token", "", "a second, read-only token: it reads every page and GET route, every change it "
   "sends is refused (403); needs an admin token (empty = none)")
_o("Web", "web_read_token_file", "", "file holding the read-only token, read at start, trailing newline stripped "
   "(used when web_read_token is empty, before env DAS_ACTORS_WEB_READ_TOKEN)")
_o("Web", "web_refresh", 5.0, "seconds between the panel's live refreshes of a page's changing parts (0 = off: "
   "reload by hand)", minimum=0, maximum=3600.0)
_o("Web", "web_cache", 0.5, "seconds identical reads of the Schedule page and the jobs API share one answer (a page "
   "may be up to 3x this old while the next is drawn; any change through the web is seen at once; 0 = off)",
   minimum=0, maximum=10.0)
_o("Web", "web_yield", 0.5, "seconds a web request waits, at most, while a backlog of due runs is being handed to "
   "the workers or a herd is about to fall due (the panel gives way to the scheduler; /healthz never waits; "
   "0 = never)", minimum=0, maximum=10.0)
_o("Web", "web_threads", 16, "request threads of the web server (requests are read without one)", minimum=2)
_o("Web", "web_max_tails", 8, "live tails (SSE) served at once, below web_threads (each holds a thread)",
   minimum=1)
_o("Web", "web_connection_limit", 1000, "open connections the web server keeps at once", minimum=1)
_o("Web", "web_request_timeout", 15.0, "seconds a client has to send a whole request once begun", minimum=0.1)
# -- issue 13: data objects and streams (actors.store.data, actors.ingest, tasks.data) -----------
_o("Data", "data_uri", "", "store of data objects and stream messages (sqlite:///file or mongodb://...; empty = "
   "beside db_uri: <name>-data.db next to an embedded store, database data_db_name on the same MongoDB)")
_o("Data", "data_db_name", "das_data", "database of the data objects and stream messages (MongoDB)")
_o("Data", "object_max_size", 1073741824, "largest data object accepted, bytes (K/M/G/KiB/MiB/GiB suffixes); "
   "a bigger upload or write is refused (HTTP 413) and nothing of it is kept", minimum=1, size=True, metavar="BYTES")
_o("Data", "object_versions", 10, "versions kept per object name: writing a name again prunes the oldest beyond "
   "this many (0 = keep every version)", minimum=0)
_o("Data", "stream_max_messages", 100000, "messages kept per stream (the oldest go first)", minimum=1)
_o("Data", "stream_size", 67108864, "bytes kept per stream on MongoDB (its capped collection's size)", minimum=4096,
   size=True, metavar="BYTES")
_o("Data", "stream_prefetch", 100, "messages a stream consumer holds unacknowledged at once (AMQP prefetch)",
   minimum=1)
_o("Data", "stream_heartbeat", 30.0, "AMQP heartbeat of stream consumers, s (0 = the broker's)", minimum=0)
_o("Data", "stream_backoff_max", 30.0, "longest wait between two reconnects of a stream consumer, s", minimum=0.1)
# -- issue 14: scripts written in the browser, action hooks -----------------------------------
_o("Scripts", "scripts", True, "the Scripts area: Python written in the panel runs on the workers (with a web token: "
   "generated at start when none is given); --no-scripts turns it off")
_o("Scripts", "script_max_bytes", 262144, "largest script source, bytes", minimum=1024, size=True, metavar="BYTES")
_o("Scripts", "script_output_max_bytes", 2097152, "largest plots and tables one script run keeps, bytes",
   minimum=16384, size=True, metavar="BYTES")
_o("Actions", "act_allow_any_url", False, "let tasks send webhooks and publishes to any URL, not only configured "
   "targets (addresses are still checked, see act_allow_private)")
_o("Actions", "act_allow_private", False, "let any-URL actions reach loopback, private and link-local addresses "
   "(SSRF guard; configured targets may always)")
_o("Actions", "act_timeout", 15.0, "seconds one delivery attempt may take", minimum=0.1)
_o("Actions", "act_max_attempts", 12, "attempts of an action before it is failed", minimum=1)
_o("Actions", "act_retry_delay", 5.0, "base delay of the exponential retry backoff of actions, s", minimum=0)
_o("Actions", "act_retry_max_delay", 3600.0, "longest delay between two attempts of an action, s", minimum=0)
_o("Actions", "act_max_payload_bytes", 262144, "largest action body, bytes", minimum=1024, size=True,
   metavar="BYTES")
_o("Actions", "act_concurrency", 4, "actions delivered at once", minimum=1)
# -- issue 11: what a task may use up, and when the server calls itself unhealthy ----------
_o("Workers", "result_max_bytes", 1048576, "largest stored result of one run, bytes of JSON (0 = no cap); a bigger "
   "one is stored as a bounded preview and the run's notes say so", minimum=0, size=True, metavar="BYTES", live=True)
_o("Workers", "log_max_lines", 50000, "most log lines stored per run (0 = no cap); beyond it one line says how "
   "many were dropped", minimum=0, live=True)
_o("Workers", "log_max_bytes", 4194304, "most characters of log stored per run (0 = no cap)", minimum=0, size=True,
   metavar="BYTES", live=True)
_o("Workers", "keep_task_processes", False, "let processes a task started live on after its run (by default the "
   "worker kills what is left of its process group after every run)", live=True)
_o("Scheduling", "health_stall_after", 60.0, "seconds the scheduler may go without a heartbeat, or a due run may "
   "wait while a worker is idle, before /healthz answers 503", minimum=0.1, live=True)
_o("Logging", "verbose", False, "log debug messages", short="v", live=True)
_o("Logging", "log_format", "json", "format of log lines on stdout", choices=("json", "console"))
_o("Logging", "log_file", "", "also write JSON log lines to this file (empty = none)")
for _plugin in service_plugins():  # the options of the service plugins (actors.services)
    for _option in _plugin.options:
        register(_option)


__all__ = ["OPTIONS", "lookup", "register", "suggest"]
