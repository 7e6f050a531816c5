"""Stream hub actor: the registered streams, one supervised consumer each, their live status.

Why an actor of its own: streams come and go at run time (the API, the CLI, the panel, config
files), each with its own consumer actor (`actors.ingest`); something must keep the list,
start and stop consumers, restart a crashed one, and answer "how is each stream doing?" without
waiting on a consumer that is busy reconnecting. The hub is a child of the `Supervisor` (role
``streams``); it supervises its consumers itself, one for one, with the server's
`RestartPolicy` (backoff, at most R restarts in W seconds, then the stream shows ``failed``).

State lives in the stream store (`actors.store.streams`): definitions and the paused flag, so
a restart of the hub or of the server consumes the same streams. Config streams
(``Stream(...)`` in a config file) are saved at start, the file winning over what was stored
(except the paused flag); one no longer in the files is kept, with a warning, until an operator
removes it (its messages are data). A broker that is down is a stream status, never a failure here.

Several instances on one store (`actors.lease`): only the leader consumes (each message is
stored by one writer, and the leader's scheduler runs the jobs waiting for it); a follower's
hub reads the definitions from the store when asked and shows them ``standby``; `RoleChanged`
starts or stops the consumers when the role changes.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from typing import Any

import pykka
import structlog

from actors.errors import ConflictError, NotFoundError
from actors.ingest import IngestConfig, StreamConsumer, idle_status
from actors.leadermessages import RoleChanged
from actors.messages import ChildFailed, GetStatus, Housekeep
from actors.policy import RestartPolicy, RestartTracker
from actors.routing import Directory, TimerHandle, tell_later
from actors.store.streams import StreamStore
from actors.streammessages import (
    AddStream,
    ConsumerFailed,
    ConsumerStatus,
    GetStream,
    ListStreams,
    PauseStream,
    RemoveStream,
    RestartConsumer,
    ResumeStream,
)
from actors.streamspec import StreamOrigin, StreamSpec

log = structlog.get_logger("das_actors.streams")

#: Seconds between liveness checks of the consumers.
LIVENESS_TICK_S = 1.0
#: Seconds a consumer gets to stop.
STOP_TIMEOUT_S = 5.0


class StreamHub(pykka.ThreadingActor):
    """Owns the stream consumers; see the module docstring."""

    def __init__(self, store: StreamStore, config: IngestConfig, directory: Directory, policy: RestartPolicy, *,
                 config_streams: Sequence[StreamSpec] = (),
                 make_consumer: Callable[..., pykka.ActorRef[Any]] | None = None) -> None:
        super().__init__()
        self._store = store
        self._config = config
        self._dir = directory
        self._policy = policy
        self._config_streams = tuple(config_streams)
        self._make = make_consumer or StreamConsumer.start
        self._specs: dict[str, StreamSpec] = {}
        self._records: dict[str, dict[str, Any]] = {}
        self._consumers: dict[str, tuple[pykka.ActorRef[Any], int]] = {}
        self._status: dict[str, dict[str, Any]] = {}
        self._trackers: dict[str, RestartTracker] = {}
        self._generation = 0
        self._timer: TimerHandle | None = None
        self._stopping = False

    # ------------------------------------------------------------------ lifecycle
    def on_start(self) -> None:
        """Actor thread: load the stored streams, save the config streams, start consumers."""
        self._load()
        for spec in self._config_streams:
            paused = bool(self._records.get(spec.name, {}).get("paused", False))
            self._save(spec, paused=paused)
        declared = {spec.name for spec in self._config_streams}
        gone = sorted(name for name, spec in self._specs.items()
                      if spec.origin is StreamOrigin.CONFIG and name not in declared)
        if gone:  # kept (with their messages) until an operator removes them: no data goes silently
            log.warning("streams.not_in_config", streams=gone,
                        note="config streams no longer in the config files are still consumed; remove them with "
                             "'das-actors ctl streams rm NAME' or pause them")
        self._start_all()
        self._arm()

    def _load(self) -> None:
        """The stream definitions as stored (a follower re-reads them when asked: the leader changes them)."""
        self._specs, self._records = {}, {}
        for record in self._store.load_streams():
            try:
                spec = StreamSpec.from_record({k: v for k, v in record.items() if k in ("name", "uri", "queue",
                                                                                         "tags", "origin")})
            except Exception as exc:  # noqa: BLE001 - one bad stored record must not stop the others
                log.error("stream.unreadable", record=str(record.get("name")), error=str(exc))
                continue
            self._specs[spec.name] = spec
            self._records[spec.name] = dict(record)

    def _start_all(self) -> None:
        for name, record in sorted(self._records.items()):
            if record.get("paused"):
                self._status[name] = self._idle("paused")
            elif name not in self._consumers:
                self._start_consumer(name)

    def _on_role(self, message: RoleChanged) -> None:
        """The leader consumes every stream not paused (as stored now); a follower consumes none."""
        if message.leading:
            self._load()
            self._start_all()
            return
        for name in list(self._consumers):
            self._stop_consumer(name)
        self._status = {name: self._idle("standby") for name in self._specs}

    def on_stop(self) -> None:
        """Actor thread: stop every consumer (their unacked messages go back to the broker)."""
        self._stopping = True
        if self._timer is not None:
            self._timer.cancel()
        for name in list(self._consumers):
            self._stop_consumer(name)

    def on_failure(self, exception_type: Any, exception_value: Any, traceback: Any) -> None:
        """Actor thread: stop the consumers, tell the supervisor (which restarts the hub)."""
        for ref, _ in self._consumers.values():
            if ref.is_alive():
                ref.stop(block=False)
        self._dir.tell_supervisor(ChildFailed("streams", 0, f"{exception_type.__name__}: {exception_value}"))

    def on_receive(self, message: Any) -> Any:
        """Actor thread: commands from the facade, events from consumers and timers."""
        handler = _HANDLERS.get(type(message))
        if handler is None:
            log.error("streams.unknown_message", message=repr(message)[:200])
            return None
        return handler(self, message)

    # ------------------------------------------------------------------ commands
    def _list(self, message: ListStreams) -> list[dict[str, Any]]:
        if not self._dir.leading:
            self._load()
        return [self._view(name) for name in sorted(self._specs)
                if message.tag is None or message.tag in self._specs[name].tags]

    def _get(self, message: GetStream) -> dict[str, Any]:
        if not self._dir.leading:
            self._load()
        self._require(message.name)
        return self._view(message.name)

    def _add(self, message: AddStream) -> dict[str, Any]:
        spec = message.spec
        if spec.name in self._specs and not message.replace and self._specs[spec.name] != spec:
            raise ConflictError(f"a stream named {spec.name!r} exists already (remove it first, or pause it)")
        paused = bool(self._records.get(spec.name, {}).get("paused", False))
        self._save(spec, paused=paused)
        if not paused:
            self._stop_consumer(spec.name)
            self._start_consumer(spec.name)
        log.info("stream.added", stream=spec.name, queue=spec.queue, origin=str(spec.origin))
        return self._view(spec.name)

    def _pause(self, message: PauseStream) -> dict[str, Any]:
        spec = self._require(message.name)
        self._stop_consumer(spec.name)
        self._save(spec, paused=True)
        self._status[spec.name] = self._idle("paused")
        log.info("stream.paused", stream=spec.name)
        return self._view(spec.name)

    def _resume(self, message: ResumeStream) -> dict[str, Any]:
        spec = self._require(message.name)
        self._save(spec, paused=False)
        self._trackers.pop(spec.name, None)
        if spec.name not in self._consumers:
            self._start_consumer(spec.name)
        log.info("stream.resumed", stream=spec.name)
        return self._view(spec.name)

    def _remove(self, message: RemoveStream) -> dict[str, Any]:
        spec = self._require(message.name)
        view = self._view(spec.name)
        self._stop_consumer(spec.name)
        self._store.remove_stream(spec.name)
        self._specs.pop(spec.name, None)
        self._records.pop(spec.name, None)
        self._status.pop(spec.name, None)
        self._trackers.pop(spec.name, None)
        log.info("stream.removed", stream=spec.name)
        return view

    def _status_of_all(self, _message: GetStatus) -> dict[str, Any]:
        return {"streams": len(self._specs), "consuming": sum(1 for s in self._status.values()
                                                               if s.get("state") == "consuming"),
                "down": sorted(n for n, s in self._status.items() if s.get("state") in ("down", "store down",
                                                                                      "failed"))}

    # ------------------------------------------------------------------ events
    def _on_status(self, message: ConsumerStatus) -> None:
        current = self._consumers.get(message.name)
        if current is not None and current[1] == message.generation:
            self._status[message.name] = dict(message.status)

    def _on_failed(self, message: ConsumerFailed) -> None:
        current = self._consumers.get(message.name)
        if current is None or current[1] != message.generation:
            return
        self._consumers.pop(message.name, None)
        log.error("stream.consumer_failed", stream=message.name, error=message.error)
        if self._stopping or message.name not in self._specs:
            return
        tracker = self._trackers.setdefault(message.name, RestartTracker(self._policy))
        delay = tracker.exited(time.monotonic(), random.random)
        if delay is None:
            self._status[message.name] = {**self._idle("failed"), "error": f"{message.error} (more than "
                                          f"{self._policy.max_restarts} restarts in {self._policy.window_s:g}s: "
                                          "resume the stream to try again)"}
            log.error("stream.degraded", stream=message.name, error=message.error)
            return
        self._status[message.name] = {**self._idle("restarting"), "error": message.error}
        tell_later(self.actor_ref, delay, RestartConsumer(message.name, message.generation))

    def _on_restart(self, message: RestartConsumer) -> None:
        if self._stopping or message.name not in self._specs or message.name in self._consumers:
            return
        if self._records.get(message.name, {}).get("paused"):
            return
        self._start_consumer(message.name)
        log.warning("stream.consumer_restarted", stream=message.name)

    def _on_housekeep(self, _message: Housekeep) -> None:
        self._timer = None
        for name, (ref, generation) in list(self._consumers.items()):
            if not ref.is_alive():
                self._on_failed(ConsumerFailed(name, generation, "consumer found dead by the liveness check"))
        self._arm()

    # ------------------------------------------------------------------ internals
    def _require(self, name: str) -> StreamSpec:
        spec = self._specs.get(name)
        if spec is None:
            raise NotFoundError(f"no stream named {name!r}")
        return spec

    def _save(self, spec: StreamSpec, *, paused: bool) -> None:
        now = time.time()
        record = {**spec.to_record(), "paused": paused,
                  "created_at": self._records.get(spec.name, {}).get("created_at", now), "updated_at": now}
        self._store.save_stream(record)
        self._specs[spec.name], self._records[spec.name] = spec, record

    def _start_consumer(self, name: str) -> None:
        if not self._dir.leading:  # several instances: the leader consumes
            self._status[name] = self._idle("standby")
            return
        self._generation += 1
        spec = self._specs[name]
        tracker = self._trackers.setdefault(name, RestartTracker(self._policy))
        tracker.started(time.monotonic())
        ref = self._make(spec, self._store, self._config, hub=self.actor_ref, directory=self._dir,
                         generation=self._generation)
        self._consumers[name] = (ref, self._generation)
        self._status[name] = self._idle("connecting")

    def _stop_consumer(self, name: str) -> None:
        found = self._consumers.pop(name, None)
        if found is not None:
            try:
                found[0].stop(block=True, timeout=STOP_TIMEOUT_S)
            except pykka.Timeout:
                log.warning("stream.stop_timeout", stream=name, timeout_s=STOP_TIMEOUT_S)

    @staticmethod
    def _idle(state: str) -> dict[str, Any]:
        return idle_status(state)

    def _view(self, name: str) -> dict[str, Any]:
        record = self._records.get(name, {})
        return {**self._specs[name].view(), "paused": bool(record.get("paused")),
                "created_at": record.get("created_at"), "status": dict(self._status.get(name) or self._idle("-"))}

    def _arm(self) -> None:
        if not self._stopping:
            self._timer = tell_later(self.actor_ref, LIVENESS_TICK_S, Housekeep())


_HANDLERS: dict[type, Callable[[StreamHub, Any], Any]] = {
    ListStreams: StreamHub._list, GetStream: StreamHub._get, AddStream: StreamHub._add,
    PauseStream: StreamHub._pause, ResumeStream: StreamHub._resume, RemoveStream: StreamHub._remove,
    GetStatus: StreamHub._status_of_all, ConsumerStatus: StreamHub._on_status, ConsumerFailed: StreamHub._on_failed,
    RestartConsumer: StreamHub._on_restart, Housekeep: StreamHub._on_housekeep, RoleChanged: StreamHub._on_role,
}

__all__ = ["IngestConfig", "StreamHub", "StreamOrigin"]
