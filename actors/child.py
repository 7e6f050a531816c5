"""What runs inside a worker subprocess: import the task, run it, stream logs and result.

The worker actor starts this module's `child_main` with the ``spawn`` start method (the
server is multi-threaded; forking it would be unsafe). The child:

* becomes the leader of its own process group, so a kill reaches anything the task starts;
* applies the memory cap (``RLIMIT_AS``) if one is set;
* ignores SIGINT (the server decides when runs end) and keeps SIGTERM's default;
* keeps the runs it is sent in a queue and starts each at its due time (`actors.childqueue`);
* sends everything over one private pipe as small tuples: ``("ready", pid)``,
  ``("logs", [(run_id, time, level, logger, message), ...])`` and
  ``("results", [(run_id, payload), ...])``. It never opens the store.

Everything the task logs (through its ``logger``, any stdlib logger, or ``print``) goes
over the pipe; the result is made JSON-safe here, so an unpicklable or unstorable return
value can never lose the run.
"""

from __future__ import annotations

import logging
import os
import resource
import signal
import sys
import time
import traceback
from collections.abc import Callable, Mapping
from multiprocessing.connection import Connection
from typing import Any

from actors.bounds import task_next_at
from actors.childpipe import PipeHandler, PipeLogger, PipeSender, StreamToLog, may_hold
from actors.childqueue import serve
from actors.jsonsafe import sanitize
from actors.leftovers import become_subreaper, kill_leftovers
from actors.logbudget import LogBudget
from actors.payload import bounded_result_sized

#: Exit code of a child that leaves on purpose after a MemoryError (a fresh process follows).
EXIT_AFTER_MEMORY_ERROR = 75
_SENDER: PipeSender | None = None  # set in a worker subprocess; None in run-task


def _die_with_parent() -> None:
    """Linux: ask the kernel to SIGKILL us when the worker thread that started us is gone,
    so a SIGKILLed server leaves no orphan runs behind."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        try:
            ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)
        except (OSError, AttributeError):  # pragma: no cover - not fatal, only tidier
            pass


def child_main(conn: Connection, config: Mapping[str, Any]) -> None:
    """Entry point of a worker subprocess (spawn target). Returns when told to stop or on EOF."""
    os.setpgrp()
    _die_with_parent()
    become_subreaper()  # what a task leaves running stays our child (actors.leftovers)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    memory_mb = int(config.get("memory_mb") or 0)
    if memory_mb > 0:
        cap = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    config = dict(config)  # a live option change updates it (("config", {...}) between batches)
    global _SENDER  # noqa: PLW0603 - one sender per worker subprocess
    sender = _SENDER = PipeSender(conn, LogBudget(int(config.get("log_max_lines") or 0),
                                                   int(config.get("log_max_bytes") or 0)))
    root = logging.getLogger()
    root.handlers[:] = [PipeHandler(sender)]
    root.setLevel(logging.DEBUG if config.get("verbose") else logging.INFO)
    sys.stdout = StreamToLog(sender, "stdout", logging.INFO)
    sys.stderr = StreamToLog(sender, "stderr", logging.WARNING)

    from tasks.registry import default_registry

    registry = default_registry(config.get("task_packages") or ())
    sender.send(("ready", os.getpid()))

    def take(message: tuple[Any, ...]) -> bool:
        if message[0] == "stop":
            sender.flush()
            return False
        if message[0] == "config":
            config.update(message[1])
            sender.budget.set_limits(int(config.get("log_max_lines") or 0), int(config.get("log_max_bytes") or 0))
        return True

    serve(conn, take, lambda wire, result_now: _run_one(wire, result_now, sender, registry, config))


def _bound_run(payload: dict[str, Any], sender: PipeSender, config: Mapping[str, Any]) -> int:
    """After a run: cap its result, count its dropped log lines, kill what it left running.
    Returns the size of the result kept (bytes of JSON; 0 without one)."""
    notes = payload.setdefault("notes", [])
    payload["logs_dropped"] = sender.budget.end_run(sender.run_id)
    size = 0
    if "result" in payload:
        payload["result"], size = bounded_result_sized(payload["result"], int(config.get("result_max_bytes") or 0),
                                                       notes)
    if not config.get("keep_task_processes"):
        killed = kill_leftovers()
        if killed:
            notes.append(f"processes: killed {len(killed)} process(es) the task left running (pids "
                         f"{', '.join(map(str, killed[:20]))}); set keep_task_processes to keep them")
    return size


# -- shared services (actors.services plugins), built once per worker process -------------
_SERVICES: dict[str, Any] | None = None


def worker_services(config: Mapping[str, Any]) -> dict[str, Any]:
    """The ``services`` tasks receive, built on first use, once per process by the service
    plugins from the option values in ``config["service_options"]``; a plugin that fails is
    logged through the pipe, once, and left out."""
    global _SERVICES  # noqa: PLW0603 - one set of services per worker subprocess
    if _SERVICES is None:
        from actors.services import build_services

        def failed(name: str, exc: BaseException) -> None:
            logger = PipeLogger(_SENDER, "das_actors.services", logging.INFO)
            logger.error("the %s service is not available in this worker: %s: %s", name, type(exc).__name__, exc)

        _SERVICES = build_services(config.get("service_options") or {}, failed)
    return _SERVICES


def _run_one(wire: dict[str, Any], result_now: Callable[[], bool], sender: PipeSender, registry: Any,
             config: Mapping[str, Any]) -> None:
    """Run one queued run (`actors.childqueue`); its result goes out at once or with the next ones."""
    sender.run_id = f"{wire['job_id']}:{wire['index']}:{wire['attempt']}"
    payload = execute(wire, registry, max_children=int(config.get("max_children", 100)),
                      services=worker_services(config))
    sys.stdout.flush()
    sys.stderr.flush()
    size = _bound_run(payload, sender, config)
    exit_after = bool(payload.get("exit_after"))
    sender.result(sender.run_id, payload, size, now=exit_after or not may_hold(wire) or result_now())
    if exit_after:
        sender.flush()
        os._exit(EXIT_AFTER_MEMORY_ERROR)


def execute(wire: Mapping[str, Any], registry: Any, *, max_children: int = 100,
            services: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Run one task in this process and return the JSON-safe payload (also used by run-task).

    *services* is passed to the task as ``services`` (a fresh dict)."""
    started = time.time()
    name = wire["name"]
    logger = PipeLogger(_SENDER, f"task.{name}", logging.getLogger().getEffectiveLevel())
    payload: dict[str, Any] = {"started_at": started}
    try:
        cls = registry.resolve(wire["classname"])
        kwargs = registry.prepare_kwargs(wire["classname"], wire.get("kwargs") or {})
        kwargs.update(
            logger=logger, name=name, index=wire["index"], interval=wire["interval"],
            attempt=wire.get("attempt", 0), job_id=wire["job_id"], parent=tuple(wire.get("parent") or ()),
            due_at=wire.get("due_at", started), services=for_run(services, wire),
        )
        value = cls(**kwargs)()
    except MemoryError:
        value = None
        payload.update(outcome="failed", error="MemoryError: the task ran out of memory (worker memory cap?)",
                       traceback=traceback.format_exc(), exit_after=True)
    except BaseException as exc:  # noqa: BLE001 - a task's SystemExit/KeyboardInterrupt is its failure too
        value = None
        payload.update(outcome="failed", error=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc())
    payload["finished_at"] = time.time()
    payload["rss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if "outcome" not in payload:
        try:
            payload.update(interpret(value, registry, max_children=max_children))
        except BaseException as exc:  # noqa: BLE001 - a value that breaks reading it fails the run, not the worker
            payload.update(outcome="failed", error=f"the task's return value could not be read: "
                           f"{type(exc).__name__}: {str(exc)[:300]}", traceback=traceback.format_exc(), result={},
                           notes=[])
    return payload


def for_run(services: Mapping[str, Any] | None, wire: Mapping[str, Any]) -> dict[str, Any]:
    """The services one run receives: each service's ``for_run(run)`` view when it has one (so what
    the task writes names the run that produced it), else the service itself (`actors.services`)."""
    run = {"job_id": wire["job_id"], "index": wire["index"], "attempt": wire.get("attempt", 0), "name": wire["name"],
           "run_id": f"{wire['job_id']}:{wire['index']}:{wire.get('attempt', 0)}"}
    bound: dict[str, Any] = {}
    for name, service in (services or {}).items():
        bind = getattr(service, "for_run", None)
        bound[name] = bind(run) if callable(bind) else service
    return bound


def interpret(value: Any, registry: Any, *, max_children: int) -> dict[str, Any]:
    """Read the scheduler's keys out of a task's return value; store the rest JSON-safe."""
    notes: list[str] = []
    out: dict[str, Any] = {"outcome": "success"}
    if not isinstance(value, Mapping):
        out["result"] = {} if value is None else {"result": sanitize(value, notes)}
        out["notes"] = notes
        return out
    if value.get("success", True) is False:
        out["outcome"] = "failed"
        out["error"] = str(value.get("error") or "the task returned success: False")
    if value.get("resubmit", True) is False:
        out["resubmit"] = False
    key = "next_at" if "next_at" in value else "next"  # next_at; next is DAS's name, kept as an alias
    next_at, refused = task_next_at(value.get(key), time.time(), key=key)
    if next_at is not None:
        out["next_at"] = next_at
    if refused:
        notes.append(refused)
    children, errors = validate_children(value.get("new_tasks"), registry, max_children=max_children)
    out["children"], out["child_errors"] = children, errors
    stored = sanitize(dict(value), notes)
    if errors:
        stored["new_tasks_rejected"] = errors
    out["result"], out["notes"] = stored, notes
    return out


def validate_children(entries: Any, registry: Any, *, max_children: int) -> tuple[list[dict[str, Any]], list[str]]:
    """Check ``new_tasks`` entries: shape, class, arguments; return (valid dicts, errors)."""
    from actors.errors import InvalidJobError
    from actors.jobs import JobSpec, Origin

    if entries is None:
        return [], []
    if not isinstance(entries, list | tuple):
        return [], [f"new_tasks must be a list of job dicts, got {type(entries).__name__}"]
    valid: list[dict[str, Any]] = []
    errors: list[str] = []
    for position, entry in enumerate(entries):
        if position >= max_children:
            errors.append(f"new_tasks[{position}:]: {len(entries) - max_children} child job(s) over the cap of "
                          f"{max_children} per run (max_children_per_run) were not created")
            break
        if not isinstance(entry, Mapping):
            errors.append(f"new_tasks[{position}]: expected a dict, got {type(entry).__name__}")
            continue
        try:
            spec = registry.validate_spec(JobSpec.from_dict({**entry, "origin": str(Origin.CHILD)}))
        except (InvalidJobError, TypeError, ValueError) as exc:
            errors.append(f"new_tasks[{position}]: {exc}")
            continue
        valid.append({k: v for k, v in spec.to_dict().items() if k not in ("job_id", "origin", "parent")})
    return valid, errors
