"""Python config files: ``Task(...)`` jobs, ``Stream(...)`` streams and option assignments, read in order.

Why a module of its own: executing an operator's file (as DAS's ``execfile`` did) and
mapping what it defines back to a file and line is a concept apart from the option
registry in `actors.config`. A config file is the operator's own code, so it is run with
``exec``; values are then checked like flags, and every problem is a `ConfigError` that
names the file, the line, the option or job, and the value. A file is plain Python: loops,
imports, helper functions and names are fine; a name that looks like a typo of an option is
an error with a did-you-mean, any other lowercase name a warning (see `load_config`).
"""

from __future__ import annotations

import ast
import builtins
import difflib
import inspect
import logging
import os
import sys
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from actors.config import OPTIONS, Settings, coerce, lookup
from actors.errors import ConfigError, InvalidValueError
from actors.gcpause import paused_gc
from actors.jobfields import NO_RESOURCES
from actors.jobs import JobSpec, Origin
from actors.streamspec import StreamOrigin, StreamSpec
from actors.targets import TargetSpec
from actors.timeish import parse_when

log = logging.getLogger("das_actors.config")

#: How alike a name must be to an option to be taken for its typo (difflib ratio).
TYPO_CUTOFF = 0.8


def _at(path: str, line: int | None) -> str:
    return path if line is None else f"{path}:{line}"


def _caller_line(path: str) -> int | None:
    """The line of the innermost frame on the stack that runs the config file *path* (from the
    caller of this function's caller: neither is the config file)."""
    frame: FrameType | None = sys._getframe(2)  # inspect.currentframe(), two frames up
    while frame is not None and frame.f_code.co_filename != path:
        frame = frame.f_back
    return None if frame is None else frame.f_lineno


def _make_task(
    path: str, jobs: list[JobSpec], lines: list[int | None], make_job: Callable[..., JobSpec] | None,
    now: float | None
) -> Callable[..., JobSpec]:
    """``Task``: each job it defines goes to *jobs*, the line of its call to *lines* (same position)."""
    def Task(  # the name config files use; a bad call raises TypeError at the call's line
        name: Any, classname: Any, interval: Any = None, *, cron: Any = None, tz: Any = None, jitter: Any = None,
        misfire: Any = None, misfire_grace: Any = None, max_catchup: Any = None, only_once: Any = False,
        max_runs: Any = None, only_before: Any = None, timeout: Any = None, retries: Any = None, tags: Any = None,
        on_stream: Any = None, stream_batch: Any = None, resources: Any = None, **kwargs: Any,
    ) -> JobSpec:
        """Define a job: run *classname* every *interval* seconds, or at the times of the *cron*
        expression in zone *tz*, with **kwargs (and when *stream_batch* new messages of *on_stream*
        arrived)."""
        try:
            only_before_text = None
            if isinstance(only_before, str):
                only_before_text = only_before.strip()  # the job's identity: the same text, the same job
                only_before = parse_when(only_before, now=time.time() if now is None else now, field="only_before",
                                         allow_past=True)
            spec = JobSpec(
                name=name, classname=classname, interval_s=interval, kwargs=kwargs, only_once=only_once,
                max_runs=max_runs, only_before=only_before, timeout_s=timeout, max_retries=retries,
                origin=Origin.CONFIG, cron=cron, tz=tz, jitter_s=0.0 if jitter is None else jitter, misfire=misfire,
                misfire_grace=misfire_grace, max_catchup=max_catchup, tags=() if tags is None else tags,
                on_stream=on_stream, stream_batch=stream_batch,
                resources=NO_RESOURCES if resources is None else resources,
                only_before_text=only_before_text,
            )
            if make_job is not None:
                spec = make_job(spec)
        except InvalidValueError as exc:
            raise ConfigError(f"{_at(path, _caller_line(path))}: Task {name!r}: {exc}") from exc
        jobs.append(spec)  # with its line apart ("path:line" made only for an error): 1M jobs, no 1M tuples
        lines.append(_caller_line(path))
        return spec

    Task.__qualname__ = "Task"  # so that a bad call says "Task() missing ..."
    return Task


def _make_stream(path: str, streams: list[tuple[StreamSpec, str]]) -> Callable[..., StreamSpec]:
    def Stream(name: Any, uri: Any, queue: Any, *, tags: Any = None) -> StreamSpec:  # the name config files use
        """Declare a stream: consume AMQP *queue* of the broker at *uri* into stream *name*."""
        try:
            spec = StreamSpec(name=name, uri=uri, queue=queue, tags=() if tags is None else tags,
                              origin=StreamOrigin.CONFIG)
        except InvalidValueError as exc:
            raise ConfigError(f"{_at(path, _caller_line(path))}: Stream {name!r}: {exc}") from exc
        streams.append((spec, _at(path, _caller_line(path))))
        return spec

    Stream.__qualname__ = "Stream"
    return Stream


def _make_target(path: str, targets: list[tuple[TargetSpec, str]]) -> Callable[..., TargetSpec]:
    def Target(name: Any, url: Any, *, secret: Any = "", headers: Any = None, exchange: Any = "",
               routing_key: Any = "") -> TargetSpec:
        """Declare an action target: a webhook receiver (http/https) or an AMQP broker (amqp/amqps)."""
        try:
            spec = TargetSpec(name=name, url=url, secret=secret, headers=headers or {}, exchange=exchange,
                              routing_key=routing_key, origin="config")
        except InvalidValueError as exc:
            raise ConfigError(f"{_at(path, _caller_line(path))}: Target {name!r}: {exc}") from exc
        targets.append((spec, _at(path, _caller_line(path))))
        return spec

    Target.__qualname__ = "Target"
    return Target


def _assignment_lines(tree: ast.Module) -> dict[str, int]:
    """The line of the last module-level assignment to each name (not inside defs/lambdas)."""
    lines: dict[str, int] = {}
    scopes = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda,
              ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
    stack: list[ast.AST] = [node for node in tree.body if not isinstance(node, ast.Expr)]  # Task(...) calls
    while stack:
        node = stack.pop()
        if isinstance(node, scopes):
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            lines[node.id] = max(lines.get(node.id, 0), node.lineno)
        stack.extend(ast.iter_child_nodes(node))
    return lines


def _loop_names(tree: ast.Module) -> set[str]:
    """Module-level names bound only as loop, ``with ... as`` or ``except ... as`` targets (never
    by an assignment): plain Python idioms such as ``for i in range(3): Task(...)``."""
    scopes = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)
    loops: set[str] = set()
    assigned: set[str] = set()

    def names(target: ast.AST) -> list[str]:
        return [n.id for n in ast.walk(target) if isinstance(n, ast.Name)]

    stack: list[ast.AST] = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, scopes):
            continue
        if isinstance(node, ast.For | ast.AsyncFor):
            loops.update(names(node.target))
        elif isinstance(node, ast.withitem) and node.optional_vars is not None:
            loops.update(names(node.optional_vars))
        elif isinstance(node, ast.ExceptHandler) and node.name:
            loops.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign | ast.NamedExpr):
            for target in (node.targets if isinstance(node, ast.Assign) else [node.target]):
                assigned.update(names(target))
        stack.extend(ast.iter_child_nodes(node))
    return loops - assigned


def _not_an_option(name: str, at: str, warnings: list[str] | None) -> None:
    """A module-level name that is no option: an error when it looks like a typo of one, else
    a warning (lowercase names only: ``CONSTANTS`` are plainly not options)."""
    close = difflib.get_close_matches(name, OPTIONS, n=1, cutoff=TYPO_CUTOFF)
    if close:
        raise ConfigError(f"{at}: unknown option {name!r} (did you mean {close[0]!r}?)")
    if name != name.lower():
        return
    message = (f"{at}: {name!r} is not an option and is ignored (name helper variables with a leading _, "
               "e.g. _items, to silence this)")
    if warnings is None:
        log.warning("%s", message)
    else:
        warnings.append(message)


def _ignored(name: str, value: Any) -> bool:
    """Names in a config file that are not options: private, Task, Stream, Target, modules, code, jobs, streams,
    targets."""
    if name.startswith("_") or name in ("Task", "Stream", "Target"):
        return True
    if isinstance(value, JobSpec | StreamSpec | TargetSpec):
        return True
    if inspect.ismodule(value) or inspect.isroutine(value) or isinstance(value, type):
        return True
    return isinstance(value, list | tuple) and bool(value) and all(isinstance(v, JobSpec | StreamSpec | TargetSpec)
                                                                   for v in value)


def _run_file(
    path: str, make_job: Callable[..., JobSpec] | None, now: float | None,
    streams: list[tuple[StreamSpec, str]] | None = None, warnings: list[str] | None = None,
    *, targets: list[tuple[TargetSpec, str]] | None = None,
) -> tuple[dict[str, tuple[Any, str]], list[JobSpec], list[int | None]]:
    """Execute one config file; return its option values, each with its ``path:line``, its jobs and
    the line of each (its streams are appended to *streams*)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc}") from exc
    try:
        tree = ast.parse(text, filename=path)
        code = compile(tree, path, "exec")
    except SyntaxError as exc:
        raise ConfigError(f"{_at(path, exc.lineno)}: syntax error: {exc.msg}") from None
    except ValueError as exc:  # e.g. NUL bytes in the source
        raise ConfigError(f"{path}: cannot compile config file: {exc}") from None
    jobs: list[JobSpec] = []
    lines: list[int | None] = []
    namespace: dict[str, Any] = {
        "__builtins__": builtins, "__file__": path, "__name__": "__das_actors_config__",
        "Task": _make_task(path, jobs, lines, make_job, now),
        "Stream": _make_stream(path, streams if streams is not None else []),
        "Target": _make_target(path, [] if targets is None else targets),
    }
    try:
        exec(code, namespace)  # noqa: S102 - the operator's own config file, as DAS's execfile
    except ConfigError:
        raise
    except (Exception, SystemExit) as exc:
        hits = [f.lineno for f in traceback.extract_tb(exc.__traceback__) if f.filename == path]
        raise ConfigError(f"{_at(path, hits[-1] if hits else None)}: {type(exc).__name__}: {exc}") from exc
    assigned = _assignment_lines(tree)
    loop_names = _loop_names(tree)
    values: dict[str, tuple[Any, str]] = {}
    for name, value in namespace.items():
        if _ignored(name, value) or name in loop_names:
            continue
        at = _at(path, assigned.get(name))
        if name not in OPTIONS:
            _not_an_option(name, at, warnings)
            continue
        values[name] = (coerce(lookup(name, where=at), value, from_text=False, where=at), at)
    return values, jobs, lines


def load_config(
    paths: Sequence[str | os.PathLike[str]],
    flags: Mapping[str, Any],
    *,
    make_job: Callable[..., JobSpec] | None = None,
    make_job_for: Callable[[Settings], Callable[[JobSpec], JobSpec]] | None = None,
    now: float | None = None,
    streams: list[StreamSpec] | None = None,
    warnings: list[str] | None = None,
    targets: list[TargetSpec] | None = None,
) -> tuple[Settings, list[JobSpec]]:
    """The `Settings` and config jobs from *paths* (later wins) and *flags* (win over files).

    ``Task(...)`` builds a `JobSpec` (origin config), passed through *make_job* if given;
    *make_job_for(settings)*, if given, builds a second such check once every option is
    known (the task registry depends on ``task_packages``, which the same file may set) and
    is applied to each job afterwards. Jobs with the same id are kept once. *now* anchors a
    textual ``only_before`` (default: the clock). Every problem is a `ConfigError` naming
    the file and line. ``Stream(...)`` declarations are appended to *streams* when given (a
    name declared twice is a `ConfigError`; a later file may not redefine it either), and
    ``Target(...)`` declarations to *targets* (the same rule).

    Names a file defines that are not options: a name that looks like a typo of one (did you
    mean) is a `ConfigError`; loop and ``with`` targets, ``_private`` names, imports, functions,
    classes and ``CONSTANTS`` are ignored; any other lowercase name is a warning (appended to
    *warnings* when given, else logged) that says how to silence it.
    """
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    declared: list[tuple[str, list[JobSpec], list[int | None]]] = []  # per file: its jobs, the line of each
    declared_streams: list[tuple[StreamSpec, str]] = []
    declared_targets: list[tuple[TargetSpec, str]] = []
    with paused_gc():  # a file may define a million jobs: no full collection per quarter more (`actors.gcpause`)
        for entry in paths:
            path = os.fspath(entry)
            file_values, file_jobs, file_lines = _run_file(path, make_job, now, declared_streams, warnings,
                                                           targets=declared_targets)
            for name, (value, at) in file_values.items():
                values[name], sources[name] = value, f"file:{at}"
            declared.append((path, file_jobs, file_lines))
    for name, value in flags.items():
        option = lookup(name, where="command line")
        values[name] = coerce(option, value, from_text=isinstance(value, str), where=option.flag)
        sources[name] = "flag"
    settings = Settings(values, sources)
    check = make_job_for(settings) if make_job_for is not None else None
    jobs: dict[str, JobSpec] = {}
    with paused_gc():
        for path, file_jobs, file_lines in declared:
            if check is None:
                for spec in file_jobs:
                    jobs.setdefault(spec.job_id, spec)
                continue
            for spec, line in zip(file_jobs, file_lines, strict=True):
                try:
                    checked = check(spec)
                except InvalidValueError as exc:
                    raise ConfigError(f"{_at(path, line)}: Task {spec.name!r}: {exc}") from exc
                jobs.setdefault(checked.job_id, checked)
    seen: dict[str, str] = {}
    for stream, at in declared_streams:
        if stream.name in seen:
            raise ConfigError(f"{at}: Stream {stream.name!r} is declared twice (first at {seen[stream.name]})")
        seen[stream.name] = at
    if streams is not None:
        streams.extend(stream for stream, _ in declared_streams)
    seen_targets: dict[str, str] = {}
    for target, at in declared_targets:
        if target.name in seen_targets:
            raise ConfigError(f"{at}: Target {target.name!r} is declared twice (first at {seen_targets[target.name]})")
        seen_targets[target.name] = at
        if targets is not None:
            targets.append(target)
    return settings, list(jobs.values())
