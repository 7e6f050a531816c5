"""Actions and their targets as the web and the CLI see them: the Actions log, targets, counts.

Why a module of its own (beside `actors.facade`): the outbox (`actors.store.outbox`) and the
named targets (`actors.targets`, kept in `Records`) have their own rules: what a page may show
(a target's secret is masked, a URL's password hidden, a body cut), which targets the panel
may change (those of the config file are the file's), and how config targets follow the file
across restarts (added, updated, and removed when the file no longer declares them).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import structlog

from actors.errors import ConflictError, NotFoundError
from actors.store.base import Page
from actors.store.outbox import ActionQuery, Outbox
from actors.store.records import Records
from actors.targets import TargetSpec, check_target_name
from actors.uri import redact
from actors.webhooks import new_secret

log = structlog.get_logger("das_actors.actions")

#: Records kind of targets (the act service and the delivery actor read the same).
TARGET = "target"
MAX_TARGETS = 1000
#: Characters of an action's body shown in lists, and on its own page.
BODY_IN_LIST, BODY_SHOWN = 200, 65_536


def public_action(action: Mapping[str, Any], *, body_chars: int = BODY_IN_LIST) -> dict[str, Any]:
    """An action as pages and the API show it (the URL's password hidden, the body cut to *body_chars*)."""
    shown = dict(action)
    if shown.get("url"):
        shown["url"] = redact(str(shown["url"]))
    body = str(shown.get("body") or "")
    shown["body_size"] = len(body)
    if len(body) > body_chars:
        shown["body"] = body[:body_chars]
        shown["body_truncated"] = True
    return shown


class ActLog:
    """The Actions log and the targets of one server; see the module docstring."""

    def __init__(self, outbox: Outbox, records: Records, clock: Callable[[], float] = time.time) -> None:
        self.outbox = outbox
        self.records = records
        self.clock = clock

    # ------------------------------------------------------------------ actions
    def actions(self, query: ActionQuery) -> Page:
        """Actions newest first (bodies cut)."""
        page = self.outbox.find(query)
        return Page(items=[public_action(a) for a in page.items], total=page.total, more=page.more)

    def action(self, action_id: str) -> dict[str, Any]:
        """One action with every attempt kept."""
        found = self.outbox.get(action_id)
        if found is None:
            raise NotFoundError(f"no action {action_id!r}")
        return public_action(found, body_chars=BODY_SHOWN)

    def retry(self, action_id: str) -> dict[str, Any]:
        """Make a failed (or waiting) action due now; a delivered one is refused (409)."""
        found = self.outbox.get(action_id)
        if found is None:
            raise NotFoundError(f"no action {action_id!r}")
        if found.get("state") not in ("pending", "failed"):
            raise ConflictError(f"action {action_id} is {found.get('state')}; only a failed or waiting action is "
                                "retried")
        updated = self.outbox.retry(action_id, self.clock()) or found
        log.info("action.retry_requested", action=action_id, was=found.get("state"))
        return public_action(updated)

    def counts(self, since: float) -> dict[str, int]:
        """Pending now, delivered and failed since *since*."""
        return self.outbox.counts(since)

    # ------------------------------------------------------------------ targets
    def _spec(self, name: str) -> TargetSpec:
        record = self.records.get(TARGET, check_target_name(name))
        if record is None:
            raise NotFoundError(f"no target named {name!r}")
        return TargetSpec.from_record(record)

    def targets(self) -> list[dict[str, Any]]:
        """Every target (secrets masked), by name."""
        return [TargetSpec.from_record(r).public() for r in self.records.find(TARGET, limit=MAX_TARGETS).items]

    def target(self, name: str) -> dict[str, Any]:
        """One target (secret masked)."""
        return self._spec(name).public()

    def target_secret(self, name: str) -> str:
        """A target's secret, for the receiver's configuration (authenticated users only)."""
        return self._spec(name).secret

    def save_target(self, data: Mapping[str, Any], *, create: bool) -> dict[str, Any]:
        """Add (*create*) or change a target from the panel or the API; a config target cannot be changed.

        ``secret``: ``"generate"`` makes a new one; absent (or empty on a change) keeps the old one; an
        explicit ``""`` on creation leaves the target unsigned. The answer holds the secret itself
        when one was generated (shown once).
        """
        fields = dict(data)
        name = check_target_name(fields.get("name"))
        existing = self.records.get(TARGET, name)
        if create and existing is not None:
            raise ConflictError(f"a target named {name!r} exists already")
        if not create and existing is None:
            raise NotFoundError(f"no target named {name!r}")
        if existing is not None and existing.get("origin") == "config":
            raise ConflictError(f"target {name!r} is defined in the config file; change it there and restart")
        generated = ""
        secret = fields.get("secret")
        if secret == "generate":  # noqa: S105 - the word the forms send, not a secret
            generated = secret = new_secret()
        elif secret is None or (secret == "" and existing is not None):
            secret = (existing or {}).get("secret") or ""
        fields.update(secret=secret, origin="api")
        fields.pop("kind", None)
        spec = TargetSpec.from_record(fields)
        self.records.put(TARGET, name, spec.to_record())
        log.info("target.saved", target=name, kind=spec.kind, url=redact(spec.url), created=create,
                 signed=bool(spec.secret))
        answer = spec.public()
        if generated:
            answer["generated_secret"] = generated
        return answer

    def rotate_secret(self, name: str) -> dict[str, Any]:
        """Give a webhook target of the panel a new secret; the answer holds it (shown once)."""
        spec = self._spec(name)
        if spec.origin == "config":
            raise ConflictError(f"target {name!r} is defined in the config file; change its secret there")
        if spec.kind != "webhook":
            raise ConflictError(f"target {name!r} is an amqp target; only webhooks are signed")
        secret = new_secret()
        updated = TargetSpec.from_record({**spec.to_record(), "secret": secret})
        self.records.put(TARGET, name, updated.to_record())
        log.info("target.secret_rotated", target=name)
        return {**updated.public(), "generated_secret": secret}

    def delete_target(self, name: str) -> dict[str, Any]:
        """Remove a target of the panel (a config target is the file's: 409)."""
        spec = self._spec(name)
        if spec.origin == "config":
            raise ConflictError(f"target {name!r} is defined in the config file; remove it there and restart")
        self.records.delete(TARGET, name)
        log.info("target.deleted", target=name)
        return spec.public()

    def sync_config_targets(self, specs: Sequence[TargetSpec]) -> None:
        """Make the stored config targets those of the config files (at start)."""
        wanted = {spec.name: spec for spec in specs}
        for record in self.records.find(TARGET, limit=MAX_TARGETS).items:
            if record.get("origin") == "config" and record.get("name") not in wanted:
                self.records.delete(TARGET, str(record["name"]))
                log.info("target.retired", target=record.get("name"), note="no longer in the config files")
        for spec in wanted.values():
            existing = self.records.get(TARGET, spec.name)
            if existing is not None and existing.get("origin") != "config":
                log.warning("target.replaced_by_config", target=spec.name,
                            note="a target of the panel had this name; the config file's wins")
            self.records.put(TARGET, spec.name, {**spec.to_record(), "origin": "config"})

