"""The doors of scripts, triggers and actions, as the web uses them (protocols, like `web.backend`).

Why a module of its own: `web.backend.Backend` names what every page needs; scripts and the
trigger API (`InteractDoor`, served by `actors.interact.Interact`) and the Actions log with its
targets (`ActDoor`, served by `actors.actlog.ActLog`) are areas of their own that a backend may
not have (the in-memory test backend has neither): `interact_of` / `act_of` answer 404 then.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from actors.errors import NotFoundError
from actors.store.base import Page
from actors.store.outbox import ActionQuery


class InteractDoor(Protocol):
    """Scripts, one-off runs, schedules and triggers (see `actors.interact.Interact`)."""

    @property
    def enabled(self) -> bool:
        """Whether scripts are on."""

    def scripts(self, *, tag: str | None = None, limit: int = 100, offset: int = 0) -> Page: ...

    def script(self, name: str, version: int | None = None) -> dict[str, Any]: ...

    def versions(self, name: str, *, limit: int = 100, offset: int = 0) -> Page: ...

    def save_script(self, name: str, source: Any, *, base_version: int | None = None, note: str = "",
                    tags: Any = None, create: bool = False) -> dict[str, Any]: ...

    def tag_script(self, name: str, tags: Any) -> dict[str, Any]: ...

    def delete_script(self, name: str) -> dict[str, Any]: ...

    def diff(self, name: str, old: int, new: int) -> dict[str, Any]: ...

    def run_script(self, name: str, *, source: Any = None, version: int | None = None, args: Any = None,
                   params: Mapping[str, Any] | None = None) -> dict[str, Any]: ...

    def schedule_script(self, name: str, *, interval: Any, args: Any = None, when: Any = None) -> dict[str, Any]: ...

    def unschedule_script(self, name: str) -> dict[str, Any]: ...

    def trigger_job(self, ref: str, params: Any, key: str | None) -> tuple[bool, dict[str, Any]]: ...

    def trigger_script(self, name: str, params: Any, key: str | None) -> tuple[bool, dict[str, Any]]: ...

    def run_status(self, job_id: str, index: int) -> dict[str, Any]: ...


class ActDoor(Protocol):
    """The Actions log and the targets (see `actors.actlog.ActLog`)."""

    def actions(self, query: ActionQuery) -> Page: ...

    def action(self, action_id: str) -> dict[str, Any]: ...

    def retry(self, action_id: str) -> dict[str, Any]: ...

    def counts(self, since: float) -> dict[str, int]: ...

    def targets(self) -> list[dict[str, Any]]: ...

    def target(self, name: str) -> dict[str, Any]: ...

    def target_secret(self, name: str) -> str: ...

    def save_target(self, data: Mapping[str, Any], *, create: bool) -> dict[str, Any]: ...

    def rotate_secret(self, name: str) -> dict[str, Any]: ...

    def delete_target(self, name: str) -> dict[str, Any]: ...


def interact_of(facade: Any, *, scripts: bool = True) -> InteractDoor:
    """The facade's `InteractDoor`; 404 when it has none, or (*scripts*) when scripts are off."""
    door: InteractDoor | None = getattr(facade, "interact", None)
    if door is None:
        raise NotFoundError("scripts and triggers are not available on this server")
    if scripts and not door.enabled:
        raise NotFoundError("scripts are turned off on this server (option scripts; --no-scripts)")
    return door


def act_of(facade: Any) -> ActDoor:
    """The facade's `ActDoor`; 404 when it has none."""
    door: ActDoor | None = getattr(facade, "act", None)
    if door is None:
        raise NotFoundError("actions are not available on this server")
    return door
