"""`Act`: ``act.webhook(target, payload)`` and ``act.publish(target, body)`` write the outbox.

Why: a task that found something should say so and get on with its run; the receiver's
uptime is not its business. A call checks what it can at once (the target is configured, or
any URL is allowed; the body is JSON-safe and not too big), writes one action to the outbox,
and returns its id (``msg_...``: the ``webhook-id`` the receiver sees, the same on every
retry). The delivery actor does the rest (signing, retries, backoff); the Actions page and
``GET api/v1/actions`` show every attempt. The action names the run that queued it.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Mapping
from typing import Any

import orjson

from actors.errors import InvalidValueError, ServiceError
from actors.jsonsafe import find_unsafe
from actors.store.outbox import Outbox
from actors.store.records import Records
from actors.targets import NAME, check_target_name, url_kind
from actors.webhooks import new_message_id

#: The records kind of named targets (shared with the server's targets page and the delivery actor).
TARGET = "target"
MAX_ROUTING_KEY = 255


class Act:
    """The act service of one worker process (or the server); see the module docstring."""

    def __init__(self, outbox: Outbox, records: Records, *, allow_any_url: bool = False,
                 max_payload_bytes: int = 256 * 1024, clock: Callable[[], float] = time.time,
                 run: Mapping[str, Any] | None = None) -> None:
        self.outbox = outbox
        self.records = records
        self.allow_any_url = allow_any_url
        self.max_payload_bytes = max_payload_bytes
        self.clock = clock
        #: The run this view acts for (``{"run_id", "job_id", "name", ...}``), None outside a run.
        self.run = dict(run) if run is not None else None

    def for_run(self, run: Mapping[str, Any]) -> Act:
        """This service as the run *run* uses it: its actions name that run."""
        return Act(self.outbox, self.records, allow_any_url=self.allow_any_url,
                   max_payload_bytes=self.max_payload_bytes, clock=self.clock, run=run)

    def __repr__(self) -> str:
        return f"Act(outbox={self.outbox!r})"

    # ------------------------------------------------------------------ the SDK
    def webhook(self, target: str, payload: Any, *, content_type: str | None = None) -> str:
        """Queue an HTTP POST of *payload* to *target* (a configured target's name, or a URL when the
        server allows any); the action id. A dict or list is sent as JSON, text and bytes as they are."""
        name, url = self._resolve(target, "webhook")
        body, encoding, kind_of_body = self._body(payload)
        return self._add("webhook", name, url, body, encoding, content_type=content_type or kind_of_body, extra={})

    def publish(self, target: str, body: Any, *, routing_key: str | None = None,
                content_type: str | None = None) -> str:
        """Queue an AMQP publish of *body* to *target* (a configured amqp target's name, or an
        ``amqp://`` URL when the server allows any, then with *routing_key*); the action id. Sent
        persistent, with publisher confirms; a dict or list is sent as JSON."""
        name, url = self._resolve(target, "amqp")
        if routing_key is not None and (not isinstance(routing_key, str) or len(routing_key) > MAX_ROUTING_KEY):
            raise InvalidValueError(f"routing_key: text of at most {MAX_ROUTING_KEY} characters", field="routing_key")
        if not name and routing_key is None:
            raise InvalidValueError("routing_key: required when publishing to a URL", field="routing_key")
        data, encoding, kind_of_body = self._body(body)
        extra = {} if routing_key is None else {"routing_key": routing_key}
        return self._add("amqp", name, url, data, encoding, content_type=content_type or kind_of_body, extra=extra)

    # ------------------------------------------------------------------ helpers
    def _resolve(self, target: Any, kind: str) -> tuple[str, str]:
        """``(target name, "")`` for a configured target, ``("", url)`` for an allowed URL."""
        if not isinstance(target, str) or not target:
            raise InvalidValueError(f"target: a target name or a URL, got {target!r}", field="target")
        if "://" in target:
            found_kind = url_kind(target, field="target")
            if found_kind != kind:
                raise InvalidValueError(f"target: a {kind} action needs a "
                                        f"{'http(s)' if kind == 'webhook' else 'amqp(s)'} URL", field="target")
            if not self.allow_any_url:
                raise ServiceError("act: only configured targets may be used (Target(...) in the config file, or the "
                                   "Actions page); the operator may allow any URL with act_allow_any_url")
            return "", target
        if not NAME.fullmatch(target):
            check_target_name(target, field="target")
        record = self.records.get(TARGET, target)
        if record is None:
            known = [t["name"] for t in self.records.find(TARGET, limit=20).items]
            raise ServiceError(f"act: no target named {target!r} (configured: {', '.join(known) or 'none'})")
        if record.get("kind") != kind:
            raise ServiceError(f"act: target {target!r} is a {record.get('kind')} target; use "
                               f"{'act.publish' if record.get('kind') == 'amqp' else 'act.webhook'}")
        return target, ""

    def _body(self, payload: Any) -> tuple[str, str, str]:
        """``(text, encoding, content type)`` of a payload, within the size cap."""
        if isinstance(payload, bytes | bytearray):
            raw = bytes(payload)
            try:
                text, encoding = raw.decode("utf-8"), "utf-8"
            except UnicodeDecodeError:
                text, encoding = base64.b64encode(raw).decode("ascii"), "base64"
            kind = "application/octet-stream"
        elif isinstance(payload, str):
            raw, text, encoding = payload.encode("utf-8", "replace"), payload, "utf-8"
            kind = "text/plain; charset=utf-8"
        else:
            bad = find_unsafe(payload)
            if bad is not None:
                raise InvalidValueError(f"payload: {bad} is not JSON-safe (str, int, float, bool, None, lists, dicts)",
                                        field="payload")
            raw = orjson.dumps(payload)
            text, encoding, kind = raw.decode("utf-8"), "utf-8", "application/json"
        if len(raw) > self.max_payload_bytes:
            raise InvalidValueError(f"payload: {len(raw)} bytes, more than act_max_payload_bytes "
                                    f"({self.max_payload_bytes})", field="payload", value=len(raw))
        return text, encoding, kind

    def _add(self, kind: str, target: str, url: str, body: str, encoding: str, *, content_type: str,
             extra: Mapping[str, Any]) -> str:
        run = self.run or {}
        now = self.clock()
        action_id = new_message_id()
        self.outbox.add({
            "action_id": action_id, "kind": kind, "target": target, "url": url, "body": body,
            "body_encoding": encoding, "content_type": content_type, "run_id": run.get("run_id"),
            "job_id": run.get("job_id"), "name": run.get("name"), "created_at": now, "next_at": now,
            "lease_until": None, "attempt_count": 0, "attempts": [], "last_status": None, "last_error": None,
            "finished_at": None, **extra})
        return action_id
