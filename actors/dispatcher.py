"""The delivery actor: takes due actions from the outbox and delivers them, with retries.

Why an actor of its own: deliveries wait on other people's servers (up to ``act_timeout`` per
attempt, retries over hours) and must never hold up scheduling, workers or the store. The
actor wakes every `POLL_S` (actions are written by worker processes, so there is nothing to
be told), claims what is due with a lease (`actors.store.outbox.Outbox.claim`), and hands each
action to a pool of ``act_concurrency`` delivery threads. Each attempt is recorded on its
action before the next is planned:

* 2xx (or a publish the broker confirmed)   -> ``delivered``
* 410 Gone, a refused address, a target removed since -> ``failed`` at once (retrying cannot help)
* anything else (5xx, 4xx, timeouts, refused connections, unroutable publishes) -> ``pending``
  again after a capped exponential backoff with jitter (`actors.policy.RetryPolicy`), or after
  the receiver's ``Retry-After`` when that is longer; ``failed`` after ``act_max_attempts``.

Every attempt of a webhook carries the same ``webhook-id`` with a fresh timestamp and
signature (`actors.webhooks`). A server that dies mid-attempt loses no action: the lease
expires and the action is claimed again after a restart (the receiver may see that attempt
twice, with the same id). Stopping waits for the deliveries in flight (each bounded by its
timeout); nothing is claimed after the stop begins.
"""

from __future__ import annotations

import base64
import random
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pykka
import structlog

from actors import __version__, webhooks
from actors.delivery import Attempt, post_webhook, publish_amqp
from actors.messages import GetStatus, Housekeep
from actors.policy import RetryPolicy
from actors.routing import TimerHandle, tell_later
from actors.store.outbox import DELIVERED, FAILED, PENDING, Outbox
from actors.store.records import Records

log = structlog.get_logger("das_actors.actions")

#: Seconds between two looks at the outbox.
POLL_S = 0.25
#: Longest ``Retry-After`` honoured, s (a receiver asking for more is retried after this).
MAX_RETRY_AFTER_S = 86_400.0
#: Records kind of named targets (the act service's and the targets page's).
TARGET = "target"


@dataclass(frozen=True, slots=True)
class DispatchConfig:
    """The ``act_*`` options the delivery actor runs with."""

    timeout_s: float = 15.0
    max_attempts: int = 12
    retry_delay_s: float = 5.0
    retry_max_delay_s: float = 3600.0
    concurrency: int = 4
    allow_private: bool = False
    poll_s: float = POLL_S

    @property
    def backoff(self) -> RetryPolicy:
        """The backoff between attempts (jitter 20%)."""
        return RetryPolicy(max_retries=max(self.max_attempts - 1, 0), base_delay_s=self.retry_delay_s,
                           max_delay_s=self.retry_max_delay_s, jitter=0.2)

    @property
    def lease_s(self) -> float:
        """How long a claimed action is this actor's before another claim may take it."""
        return self.timeout_s * 2 + 30.0


def next_state(attempt: Attempt, number: int, config: DispatchConfig, rng: Callable[[], float]) -> tuple[str, float]:
    """``(state, delay_s)`` after attempt *number* (1-based) came to *attempt*; see the module docstring."""
    if attempt.ok:
        return DELIVERED, 0.0
    if attempt.final or attempt.status == 410 or number >= config.max_attempts:
        return FAILED, 0.0
    delay = config.backoff.next_delay(number, rng)
    if attempt.retry_after_s is not None:
        delay = max(delay, min(attempt.retry_after_s, MAX_RETRY_AFTER_S))
    return PENDING, delay


def _body(action: Mapping[str, Any]) -> bytes:
    text = str(action.get("body") or "")
    if action.get("body_encoding") == "base64":
        return base64.b64decode(text)
    return text.encode("utf-8")


class ActionDispatcher(pykka.ThreadingActor):
    """Delivers the outbox; see the module docstring."""

    def __init__(self, outbox: Outbox, records: Records, config: DispatchConfig,
                 clock: Callable[[], float] = time.time, rng: Callable[[], float] = random.random) -> None:
        super().__init__()
        self.outbox, self.records, self.config = outbox, records, config
        self.clock, self.rng = clock, rng
        self._pool: ThreadPoolExecutor | None = None
        self._timer: TimerHandle | None = None
        self._lock = threading.Lock()
        self._in_flight: set[str] = set()
        self._stopping = False
        self.stats = {"attempts": 0, "delivered": 0, "failed": 0, "retries": 0, "store_errors": 0}

    def on_start(self) -> None:
        """Actor thread: start the delivery threads and the first look at the outbox."""
        self._pool = ThreadPoolExecutor(max_workers=self.config.concurrency, thread_name_prefix="act-deliver")
        self._arm(0.0)

    def on_stop(self) -> None:
        """Actor thread: claim nothing more, wait for the attempts in flight (each within its timeout)."""
        self._stopping = True
        if self._timer is not None:
            self._timer.cancel()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def on_receive(self, message: Any) -> Any:
        """Actor thread: `Housekeep` (the poll timer) and `GetStatus`."""
        if isinstance(message, Housekeep):
            self._timer = None
            try:
                self._claim()
            finally:
                self._arm(self.config.poll_s)
            return None
        if isinstance(message, GetStatus):
            with self._lock:
                return {"in_flight": len(self._in_flight), **self.stats}
        return None

    def _arm(self, delay_s: float) -> None:
        if not self._stopping:
            self._timer = tell_later(self.actor_ref, delay_s, Housekeep())

    def _claim(self) -> None:
        with self._lock:
            free = self.config.concurrency - len(self._in_flight)
        if free <= 0 or self._pool is None:
            return
        try:
            due = self.outbox.claim(self.clock(), free, self.config.lease_s)
        except Exception as exc:  # noqa: BLE001 - the store may be away; the next poll tries again
            self.stats["store_errors"] += 1
            log.warning("actions.claim_failed", error=f"{type(exc).__name__}: {exc}")
            return
        for action in due:
            with self._lock:
                self._in_flight.add(str(action["action_id"]))
            self._pool.submit(self._deliver, action)

    # ------------------------------------------------------------------ one attempt (a delivery thread)
    def _attempt(self, action: Mapping[str, Any]) -> Attempt:
        target: dict[str, Any] = {}
        if action.get("target"):
            found = self.records.get(TARGET, str(action["target"]))
            if found is None:
                return Attempt(ok=False, error=f"target {action['target']!r} no longer exists", final=True)
            target = found
        url = str(target.get("url") or action.get("url") or "")
        check = not target  # configured targets are the operator's; URLs given by tasks are checked
        body = _body(action)
        content_type = str(action.get("content_type") or "application/json")
        if action.get("kind") == "amqp":
            routing_key = str(action.get("routing_key") or target.get("routing_key") or "")
            return publish_amqp(url, exchange=str(target.get("exchange") or ""), routing_key=routing_key, body=body,
                                content_type=content_type, message_id=str(action["action_id"]),
                                timeout_s=self.config.timeout_s, check_address=check,
                                allow_private=self.config.allow_private)
        signed = webhooks.headers(str(target.get("secret") or ""), str(action["action_id"]), int(self.clock()), body)
        headers = {**dict(target.get("headers") or {}), **signed, "Content-Type": content_type,
                   "User-Agent": f"das-actors/{__version__}"}
        return post_webhook(url, body, headers, timeout_s=self.config.timeout_s, check_address=check,
                            allow_private=self.config.allow_private)

    def _deliver(self, action: Mapping[str, Any]) -> None:
        action_id = str(action["action_id"])
        number = int(action.get("attempt_count") or 0) + 1
        at = self.clock()
        try:
            try:
                attempt = self._attempt(action)
            except Exception as exc:  # noqa: BLE001 - one broken action must not stop the others
                attempt = Attempt(ok=False, error=f"{type(exc).__name__}: {exc}")
            state, delay = next_state(attempt, number, self.config, self.rng)
            record = {"n": number, "at": at, "status": attempt.status, "error": attempt.error,
                      "duration_s": round(attempt.duration_s, 6), "response": attempt.response}
            try:
                self.outbox.finish_attempt(action_id, record, state=state,
                                           next_at=at + delay if state == PENDING else None)
            except Exception as exc:  # noqa: BLE001 - the lease expires and the action is tried again
                with self._lock:
                    self.stats["store_errors"] += 1
                log.error("actions.record_failed", action=action_id, error=f"{type(exc).__name__}: {exc}")
                return
            with self._lock:
                self.stats["attempts"] += 1
                self.stats[{"delivered": "delivered", "failed": "failed"}.get(state, "retries")] += 1
            fields = {"action": action_id, "kind": action.get("kind"), "target": action.get("target") or None,
                      "run": action.get("run_id"), "attempt": number, "status": attempt.status}
            if state == DELIVERED:
                log.info("action.delivered", **fields)
            elif state == FAILED:
                log.error("action.failed", error=attempt.error, **fields)
            else:
                log.warning("action.retrying", error=attempt.error, retry_in_s=round(delay, 3), **fields)
        finally:
            with self._lock:
                self._in_flight.discard(action_id)


def dispatch_config(settings: Any) -> DispatchConfig:
    """The delivery actor's configuration from the ``act_*`` options."""
    return DispatchConfig(timeout_s=float(settings.act_timeout), max_attempts=int(settings.act_max_attempts),
                          retry_delay_s=float(settings.act_retry_delay),
                          retry_max_delay_s=float(settings.act_retry_max_delay),
                          concurrency=int(settings.act_concurrency), allow_private=bool(settings.act_allow_private))


def start_dispatcher(outbox: Outbox, records: Records, settings: Any) -> pykka.ActorRef[Any]:
    """Start the delivery actor for *settings*."""
    return ActionDispatcher.start(outbox, records, dispatch_config(settings))
