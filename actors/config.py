"""Options of das-actors: one typed registry, Python config files, flags and precedence.

Why: DAS ``execfile``'d its configuration and silently ignored a misspelt name. Here each
option is declared once in `OPTIONS` (type, default, bounds, group, live or not), and that
declaration drives the command-line flags, config-file checks, `Settings` validation and
the web options panel. Precedence: defaults < config files in order (later wins) < flags.

Config files are Python, run with `exec` like DAS's ``execfile``: the file is the
operator's own, run with the operator's privileges, never input from the network. Each
file gets a fresh namespace with ``Task`` and ``__file__``; afterwards every module-level
name must be an option, except ``_private`` names (for helpers), modules, functions,
classes and jobs returned by ``Task(...)``. Values in files must already have the right
Python type; only command-line text is parsed.
"""

from __future__ import annotations

import argparse
import difflib
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

from actors.bounds import MAX_STAGE_AHEAD_S
from actors.errors import ConfigError, InvalidValueError
from actors.misfire import UNLIMITED, MisfirePolicy
from actors.params import Option
from actors.services import check_services, service_plugins
from actors.uri import dask_address, same_sqlite_file

_METAVAR: dict[type, str] = {int: "N", float: "NUM", str: "TEXT"}
#: The shortest lease a leader can renew on time (every third of it, a store round trip or four each).
MIN_LEASE_TTL_S = 0.3
_AT_LEAST = (("retry_max_delay", "retry_delay"), ("restart_max_backoff", "restart_min_backoff"),
             ("act_retry_max_delay", "act_retry_delay"))


#: Every option, by name, in registration order (which is also the --help order).
OPTIONS: dict[str, Option] = {}


def register(option: Option) -> Option:
    """Add *option* to `OPTIONS`; a second option of the same name is a `ValueError`."""
    if option.name in OPTIONS:
        raise ValueError(f"option {option.name!r} is already registered")
    OPTIONS[option.name] = option
    return option


def coerce(option: Option, value: Any, *, from_text: bool, where: str = "") -> Any:
    """*value* converted to *option*'s type and validated, else `ConfigError` (prefixed *where*).

    ``from_text``: parse command-line text. Otherwise *value* must already have the type
    (an int is accepted for a float; a bool is never an int). The rules are the option's
    `Param`'s (`actors.params`), so options, task arguments and report parameters agree.
    """
    prefix = f"{where}: " if where else ""
    try:
        if not from_text or option.type is str:
            return option.param.check(value)
        if not isinstance(value, str) or not value.strip():
            return option.param.check(value)  # the message says what was expected and what came
        return option.param.parse(value)
    except InvalidValueError as exc:
        raise ConfigError(f"{prefix}{exc}") from None


def _suggest(name: str) -> str:
    close = difflib.get_close_matches(name, OPTIONS, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def lookup(name: str, *, where: str = "") -> Option:
    """The registered option *name*, or `ConfigError` "unknown option ... (did you mean ...?)"."""
    option = OPTIONS.get(name)
    if option is None:
        prefix = f"{where}: " if where else ""
        raise ConfigError(f"{prefix}unknown option {name!r}{_suggest(name)}")
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


def misfire_default(settings: Settings) -> MisfirePolicy:
    """The server's default misfire policy (jobs that set none of their own follow it)."""
    grace_text = str(settings.get("misfire_grace") or "").strip()
    grace: Any = None
    if grace_text:
        try:
            grace = UNLIMITED if grace_text.lower() == UNLIMITED else float(grace_text)
        except ValueError:
            raise InvalidValueError(f"misfire_grace: expected seconds or {UNLIMITED!r}, got {grace_text!r}",
                                    field="misfire_grace", value=grace_text) from None
    return MisfirePolicy.from_fields({"misfire": settings.get("misfire"), "misfire_grace": grace,
                                      "max_catchup": settings.get("max_catchup")})


class Settings:
    """Immutable, validated values of every option (``settings.workers``) and their sources:
    ``"default"``, ``"file:<path>:<line>"``, ``"flag"`` or ``"runtime"`` (given directly or by `replace`)."""

    __slots__ = ("_sources", "_values")
    _values: Mapping[str, Any]
    _sources: Mapping[str, str]

    def __init__(
        self, values: Mapping[str, Any] | None = None, sources: Mapping[str, str] | None = None
    ) -> None:
        given, origin = dict(values or {}), dict(sources or {})
        for name in given:
            lookup(name)
        where = {name: origin.get(name, "runtime") if name in given else "default" for name in OPTIONS}
        final = {
            name: coerce(o, given[name], from_text=False, where=_place(name, where[name])) if name in given
            else o.default
            for name, o in OPTIONS.items()
        }
        object.__setattr__(self, "_values", MappingProxyType(final))
        object.__setattr__(self, "_sources", MappingProxyType(where))
        self._check()

    def _check(self) -> None:
        """Cross-field rules; messages name both options and where their values came from."""
        for big, small in _AT_LEAST:
            if self.get(big) < self.get(small):
                raise ConfigError(
                    f"option {big!r} ({self.get(big)!r}, from {self.source(big)}) must be >= "
                    f"option {small!r} ({self.get(small)!r}, from {self.source(small)})"
                )
        for name in ("retry_jitter", "restart_jitter"):
            if not 0.0 <= self.get(name) <= 1.0:
                raise self._error(name, "must be between 0 and 1")
        try:
            misfire_default(self)
        except InvalidValueError as exc:
            name = exc.field if exc.field in ("misfire_grace", "max_catchup") else "misfire_grace"
            raise self._error(name, f"is not valid ({exc})") from None
        if 0 < self.lease_ttl < MIN_LEASE_TTL_S:
            raise self._error("lease_ttl", f"must be 0 (no lease) or at least {MIN_LEASE_TTL_S:g} s")
        if not self.web_base.startswith("/"):
            raise self._error("web_base", "must start with '/'")
        if self.web_port > 65535:
            raise self._error("web_port", "must be <= 65535")
        if same_sqlite_file(self.data_uri, self.db_uri):
            raise self._error("data_uri", "must not be the results store (db_uri): give the data a file of its own")
        try:
            dask_address(self.compute)
        except ConfigError as exc:
            where = _place("compute", self.source("compute"))
            raise ConfigError(f"{where}: {exc}" if where else str(exc)) from None
        for name, rule in check_services(self._values):
            raise self._error(name, rule)

    def _error(self, name: str, rule: str) -> ConfigError:
        where = _place(name, self.source(name))
        prefix = f"{where}: " if where else ""
        return ConfigError(f"{prefix}option {name!r} {rule}, got {self.get(name)!r}")

    @classmethod
    def defaults(cls) -> Settings:
        """Every option at its default."""
        return cls()

    def get(self, name: str) -> Any:
        """The value of option *name* (`ConfigError` with a suggestion if unknown)."""
        lookup(name)
        return self._values[name]

    def source(self, name: str) -> str:
        """Where the value of *name* came from: default, file:<path>:<line>, flag or runtime."""
        lookup(name)
        return self._sources[name]

    def to_dict(self) -> dict[str, Any]:
        """A plain (JSON-safe) dict of every option value."""
        return dict(self._values)

    def replace(self, **changes: Any) -> Settings:
        """A new `Settings` with *changes* applied (source "runtime") and everything revalidated.

        Values must have the option's Python type; parse operator text with
        ``coerce(OPTIONS[name], text, from_text=True)`` first. Whether an option may be
        changed without a restart (`Option.live`) is the caller's decision.
        """
        for name in changes:
            lookup(name)
        sources = {**self._sources, **dict.fromkeys(changes, "runtime")}
        return Settings({**self._values, **changes}, sources)

    def __getattr__(self, name: str) -> Any:
        if not name.startswith("_") and name in OPTIONS:
            return self._values[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}{_suggest(name)}")

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"Settings are immutable; use replace({name}=...)")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Settings) and dict(self._values) == dict(other._values)

    def __hash__(self) -> int:
        return hash(tuple(self._values.items()))

    def __reduce__(self) -> tuple[Any, ...]:
        return (Settings, (dict(self._values), dict(self._sources)))

    def __repr__(self) -> str:
        changed = ", ".join(f"{k}={v!r}" for k, v in self._values.items() if self._sources[k] != "default")
        return f"Settings({changed})"


def _place(name: str, source: str) -> str:
    """The message prefix for a value from *source*: ``path:line``, ``--flag`` or nothing."""
    if source.startswith("file:"):
        return source[len("file:"):]
    if source == "flag":
        return OPTIONS[name].flag
    return ""


# ----------------------------------------------------------------------------- command line


class _BooleanAction(argparse.Action):
    """A pair of flags for one bool option: ``--x`` sets it, ``--no-x`` clears it. For an option
    whose name already says "no" (``no_start_offset``) the pair is ``--no-start-offset`` (set) and
    ``--start-offset`` (clear), never ``--no-no-start-offset``."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        long_flags = [s for s in option_strings if s.startswith("--")]
        self.negatives = {_opposite(s) for s in long_flags}
        super().__init__([*option_strings, *sorted(self.negatives)], dest, nargs=0, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        setattr(namespace, self.dest, option_string not in self.negatives)

    def format_usage(self) -> str:
        return " | ".join(self.option_strings)


def _opposite(flag: str) -> str:
    """``--x`` -> ``--no-x``; ``--no-x`` -> ``--x``."""
    return "--" + flag[len("--no-"):] if flag.startswith("--no-") else "--no-" + flag[2:]


def add_option_arguments(parser: argparse.ArgumentParser) -> None:
    """Add every option to *parser*, one group per `Option.group`, bools as ``--x/--no-x``.

    Defaults are ``argparse.SUPPRESS``: only flags actually given reach the namespace."""
    for group in dict.fromkeys(o.group for o in OPTIONS.values()):
        arguments = parser.add_argument_group(group)
        for option in OPTIONS.values():
            if option.group != group:
                continue
            names = ([f"-{option.short}"] if option.short else []) + [option.flag]
            default = "''" if option.default == "" else format(option.default, "g" * (option.type is float))
            live = "; live" if option.live else ""
            text = f"{option.help} (default: {default}{live})".replace("%", "%%")
            if option.type is bool:
                arguments.add_argument(*names, dest=option.name, action=_BooleanAction,
                                       default=argparse.SUPPRESS, help=text)
            else:
                metavar = option.metavar or (None if option.choices else _METAVAR[option.type])
                arguments.add_argument(*names, dest=option.name, default=argparse.SUPPRESS,
                                       choices=option.choices, metavar=metavar, help=text)


def flags_from_namespace(ns: argparse.Namespace) -> dict[str, Any]:
    """The option values given on the command line, coerced and validated."""
    given = vars(ns)
    return {
        name: coerce(option, given[name], from_text=isinstance(given[name], str), where=option.flag)
        for name, option in OPTIONS.items()
        if name in given
    }


def describe_options() -> list[dict[str, Any]]:
    """Every option as a JSON-safe dict (for the web options panel and documentation)."""
    fields = ("name", "default", "help", "group", "live", "minimum", "maximum", "flag", "pattern")
    return [
        {**{f: getattr(o, f) for f in fields}, "type": o.type.__name__,
         "choices": None if o.choices is None else list(o.choices)}
        for o in OPTIONS.values()
    ]


__all__ = ["OPTIONS", "Option", "Settings", "add_option_arguments", "coerce", "describe_options",
           "flags_from_namespace", "lookup", "register"]
