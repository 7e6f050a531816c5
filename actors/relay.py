"""Job changes made on a follower, carried to the leader through the store.

Why a module of its own: only the leader's scheduler may change the schedule (it alone
dispatches and saves job records), yet a follower serves the same panel and API. Two ways
were possible: forward the HTTP request to the leader, or store the command for the leader
to pick up. This is the second, for three reasons: the instances need no network path to
each other (only to the store, which they already need), no credentials of the web
interface travel between them, and a command is never lost in a failover: it waits in the
store and the next leader takes it. The follower waits for the answer, so to a client a
write on a follower looks like a write on the leader (a little slower: the leader looks for
commands every `POLL_S`).

A command document: ``{_id, op, args, state, by, at}``; ``state`` goes
``pending -> taken -> done`` (the leader, with ``answer`` or ``error``) or
``pending -> withdrawn`` (the follower gave up waiting: the leader never applies it). A
command taken by a leader that dies before answering may or may not have been applied: the
follower then answers 503 saying so. `encode`/`decode` are pure; `RelayClient` waits.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any, Protocol, runtime_checkable

from actors import errors
from actors.errors import ActorUnavailableError, DasActorsError, InvalidValueError
from actors.jobs import JobSpec
from actors.messages import (
    AddJob,
    BackfillJob,
    CancelRun,
    PauseJob,
    RemoveJob,
    RescheduleJob,
    ResumeJob,
    RunJobNow,
)
from actors.streammessages import AddStream, PauseStream, RemoveStream, ResumeStream, StreamArrived
from actors.streamspec import StreamSpec

#: How often the leader looks for commands, and a waiting follower for its answer.
POLL_S = 0.1
#: Commands answered or withdrawn are deleted after this long.
KEEP_S = 3600.0

#: Stream commands a follower hands to the leader (its stream hub consumes).
STREAM_COMMANDS: tuple[type, ...] = (AddStream, PauseStream, ResumeStream, RemoveStream)
#: Commands a follower hands to the leader (everything else it answers itself, from the store).
RELAYED: tuple[type, ...] = (AddJob, RemoveJob, PauseJob, ResumeJob, RescheduleJob, RunJobNow, BackfillJob,
                             CancelRun, StreamArrived, *STREAM_COMMANDS)
_BY_JOB_ID: dict[str, type] = {"remove": RemoveJob, "pause": PauseJob, "resume": ResumeJob, "run_now": RunJobNow}
_BY_STREAM: dict[str, type] = {"stream_pause": PauseStream, "stream_resume": ResumeStream,
                               "stream_remove": RemoveStream}


@runtime_checkable
class RelayStore(Protocol):
    """Where commands wait for the leader (MongoDB: `actors.store.mongo_relay`)."""

    def put_command(self, doc: Mapping[str, Any]) -> None:
        """Store a new pending command."""

    def take_command(self, taker: str) -> dict[str, Any] | None:
        """The oldest pending command, marked taken by *taker* in the same write; None if none."""

    def finish_command(self, command_id: str, *, answer: Any = None, error: Mapping[str, Any] | None = None) -> None:
        """Store the answer (or the error) of a taken command."""

    def read_command(self, command_id: str) -> dict[str, Any] | None:
        """The command as stored now."""

    def withdraw_command(self, command_id: str) -> bool:
        """Mark a still pending command withdrawn (never to be applied); False if already taken."""

    def prune_commands(self, before: float) -> int:
        """Delete commands finished or withdrawn before *before* (epoch seconds)."""


def encode(command: Any) -> dict[str, Any]:
    """``{"op", "args"}`` of a relayed command (`RELAYED`); `InvalidValueError` for any other."""
    match command:
        case AddJob(spec=spec, first_due_at=first):
            return {"op": "add", "args": {"spec": spec.to_dict(), "first_due_at": first}}
        case RescheduleJob(job_id=job_id, due_at=due_at):
            return {"op": "reschedule", "args": {"job_id": job_id, "due_at": due_at}}
        case BackfillJob(job_id=job_id, start=start, end=end):
            return {"op": "backfill", "args": {"job_id": job_id, "start": start, "end": end}}
        case CancelRun(run_id=run_id):
            return {"op": "cancel", "args": {"run_id": run_id}}
        case StreamArrived(stream=stream, count=count):
            return {"op": "stream_arrived", "args": {"stream": stream, "count": count}}
        case AddStream(spec=spec, replace=replace):
            return {"op": "stream_add", "args": {"spec": spec.to_record(), "replace": replace}}
    for op, kind in _BY_STREAM.items():
        if type(command) is kind:
            return {"op": op, "args": {"name": str(getattr(command, "name", ""))}}
    for op, kind in _BY_JOB_ID.items():
        if type(command) is kind:
            return {"op": op, "args": {"job_id": str(getattr(command, "job_id", ""))}}
    raise InvalidValueError(f"{type(command).__name__} is not a command a follower hands to the leader",
                            field="command", value=type(command).__name__)


def decode(doc: Mapping[str, Any]) -> Any:
    """The command of a stored document (the inverse of `encode`)."""
    op, args = str(doc.get("op")), dict(doc.get("args") or {})
    if op in _BY_JOB_ID:
        return _BY_JOB_ID[op](str(args["job_id"]))
    if op in _BY_STREAM:
        return _BY_STREAM[op](str(args["name"]))
    if op == "stream_add":
        return AddStream(StreamSpec.from_record(args["spec"]), bool(args.get("replace")))
    if op == "add":
        return AddJob(JobSpec.from_dict(args["spec"]), args.get("first_due_at"))
    if op == "reschedule":
        return RescheduleJob(str(args["job_id"]), float(args["due_at"]))
    if op == "backfill":
        return BackfillJob(str(args["job_id"]), float(args["start"]), float(args["end"]))
    if op == "cancel":
        return CancelRun(str(args["run_id"]))
    if op == "stream_arrived":
        return StreamArrived(str(args["stream"]), int(args["count"]))
    raise InvalidValueError(f"unknown relayed command {op!r}", field="op", value=op)


def error_fields(exc: BaseException) -> dict[str, Any]:
    """What a follower needs to raise the leader's error again: class name, message, status, field."""
    return {"type": type(exc).__name__, "message": str(exc), "status": int(getattr(exc, "status", 500)),
            "field": getattr(exc, "field", None)}


def rebuild_error(fields: Mapping[str, Any]) -> DasActorsError:
    """The leader's error as an exception of the same class of `actors.errors` (same HTTP status)."""
    message = str(fields.get("message") or "the leader refused the command")
    kind = getattr(errors, str(fields.get("type")), None)
    status = int(fields.get("status") or 500)
    if isinstance(kind, type) and issubclass(kind, InvalidValueError):
        return InvalidValueError(message, field=fields.get("field"), status=status)
    if isinstance(kind, type) and issubclass(kind, DasActorsError):
        try:
            found = kind(message)
        except TypeError:  # a constructor with other arguments
            found = DasActorsError(message)
        found.status = status
        return found
    found = DasActorsError(message)
    found.status = status
    return found


class RelayClient:
    """A follower's side: store a command, wait for the leader's answer (see the module docstring)."""

    def __init__(self, store: RelayStore, instance_id: str, *, clock: Callable[[], float] = time.time,
                 poll_s: float = POLL_S) -> None:
        self._store = store
        self._me = instance_id
        self._clock = clock
        self._poll_s = poll_s

    def send(self, command: Any) -> str:
        """Store *command* for the leader without waiting (events such as `StreamArrived`); its id."""
        command_id = uuid.uuid4().hex
        self._store.put_command({"_id": command_id, **encode(command), "state": "pending", "by": self._me,
                                 "at": self._clock()})
        return command_id

    def submit(self, command: Any, timeout_s: float) -> Any:
        """Store *command*, wait up to *timeout_s* for the leader to take it and as long again for its
        answer; return the answer or raise the leader's error. `ActorUnavailableError` (503) when no
        leader took it (it is withdrawn: never applied) or the one that took it did not answer."""
        command_id = self.send(command)
        name = type(command).__name__
        deadline = time.monotonic() + timeout_s
        taken_deadline: float | None = None
        while True:
            doc = self._store.read_command(command_id) or {}
            state = doc.get("state")
            if state == "done":
                if doc.get("error"):
                    raise rebuild_error(doc["error"])
                return doc.get("answer")
            now = time.monotonic()
            if state == "taken" and taken_deadline is None:
                taken_deadline = now + timeout_s
            if state != "taken" and now >= deadline and self._store.withdraw_command(command_id):
                raise ActorUnavailableError(f"no leader took {name} within {timeout_s:g}s (this instance is a "
                                            "follower; a failover may be under way): it was not applied")
            if taken_deadline is not None and now >= taken_deadline:
                raise ActorUnavailableError(f"the leader took {name} but did not answer within {timeout_s:g}s: it "
                                            "may or may not have been applied")
            time.sleep(self._poll_s)
