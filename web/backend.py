"""`Backend`: the one door the web uses, written down as a protocol.

Why: the panel and the API only need a handful of verbs (list jobs, add one, read runs,
tail the store, check health ...). Naming them here, in the layer that uses them, lets
`web` depend on this protocol instead of on the runtime: the real `actors.facade.Facade`
satisfies it, and the web tests may drive the whole app with a small in-memory fake
(`tests/web/fake_backend.py`) in milliseconds. Every method answers JSON-safe data or
raises an `actors.errors.DasActorsError` whose ``status`` the web answers with.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Iterable, Iterator, Mapping
from typing import Any, Protocol

from actors.store.base import Page, Query
from reports.base import ReportContext
from reports.registry import ReportRegistry
from web.doors import ActDoor, InteractDoor


class Backend(Protocol):
    """What the web asks of the running server (see `actors.facade.Facade` for the semantics)."""

    @property
    def read_only(self) -> bool:
        """True when the web interface must refuse every change."""

    # -- jobs
    def jobs(self, *, due_within_s: float | None = None, limit: int = ..., offset: int = 0,
             state: str | None = None, tag: str | None = None) -> list[dict[str, Any]]: ...

    def jobs_page(self, *, due_within_s: float | None = None, limit: int = ..., offset: int = 0,
                  state: str | None = None, tag: str | None = None, fold_children: bool = False) -> dict[str, Any]: ...

    def job(self, job_id: str) -> dict[str, Any]: ...

    def add_job(self, data: Mapping[str, Any]) -> dict[str, Any]: ...

    def remove_job(self, job_id: str) -> dict[str, Any]: ...

    def pause_job(self, job_id: str) -> dict[str, Any]: ...

    def resume_job(self, job_id: str) -> dict[str, Any]: ...

    def run_now(self, job_id: str) -> dict[str, Any]: ...

    def reschedule(self, job_id: str, when: Any) -> dict[str, Any]: ...

    def backfill(self, job_id: str, start: Any, end: Any) -> dict[str, Any]: ...

    # -- runs and logs
    def runs(self, query: Query) -> Page: ...

    def run(self, job_id: str, index: int, attempt: int | None = None) -> dict[str, Any]: ...

    def running(self) -> list[dict[str, Any]]: ...

    def cancel(self, run_id: str) -> dict[str, Any]: ...

    def logs(self, query: Query) -> Page: ...

    def tail(self, after_seq: int, types: Collection[str] | None, stop: Any) -> Iterator[dict[str, Any]]: ...

    def last_seq(self) -> int: ...

    # -- the server
    def workers(self) -> list[dict[str, Any]]: ...

    def instances(self) -> list[dict[str, Any]]: ...

    def yield_to_runs(self, max_wait_s: float) -> float:
        """Wait, at most *max_wait_s*, while a backlog of due runs is being handed out (the web gives
        way to the scheduler, `actors.pressure`); the seconds waited."""

    def tasks(self) -> list[dict[str, Any]]: ...

    def options(self) -> list[dict[str, Any]]: ...

    def set_option(self, name: str, value: Any) -> dict[str, Any]: ...

    def health(self) -> tuple[bool, dict[str, Any]]: ...

    def metrics(self) -> dict[str, Any]: ...

    def report_context(self, now: float | None = None) -> ReportContext: ...

    def reports(self) -> ReportRegistry: ...

    # -- data objects (see `actors.datafacade.DataDoor`)
    @property
    def object_max_size(self) -> int:
        """The largest object accepted, bytes."""

    def objects(self, *, tag: str | None = None, prefix: str | None = None, limit: int = 100,
                offset: int = 0) -> dict[str, Any]: ...

    def object_info(self, name: str, version: int | None = None) -> dict[str, Any]: ...

    def object_versions(self, name: str) -> list[dict[str, Any]]: ...

    def put_object(self, name: str, chunks: Iterable[bytes], *, content_type: str = "", fmt: str | None = None,
                   tags: Any = None, expected_size: int | None = None) -> dict[str, Any]: ...

    def read_object(self, name: str, version: int | None = None) -> tuple[dict[str, Any], Iterator[bytes]]: ...

    def object_preview(self, name: str, version: int | None = None, *, offset: int = 0,
                       limit: int = 50) -> dict[str, Any]: ...

    def tag_object(self, name: str, *, add: Any = (), remove: Any = (),
                   version: int | None = None) -> dict[str, Any]: ...

    def delete_object(self, name: str, version: int | None = None) -> dict[str, Any]: ...

    # -- streams
    def streams(self, *, tag: str | None = None) -> list[dict[str, Any]]: ...

    def stream(self, name: str, *, last: int = 20) -> dict[str, Any]: ...

    def add_stream(self, data: Mapping[str, Any]) -> dict[str, Any]: ...

    def pause_stream(self, name: str) -> dict[str, Any]: ...

    def resume_stream(self, name: str) -> dict[str, Any]: ...

    def remove_stream(self, name: str) -> dict[str, Any]: ...

    def stream_messages(self, name: str, *, after: int | None = None, limit: int = 50) -> list[dict[str, Any]]: ...

    def stream_last_seq(self, name: str) -> int: ...

    def stream_tail(self, name: str, after_seq: int, stop: threading.Event) -> Iterator[dict[str, Any]]: ...

    def tiles(self, since: float) -> dict[str, Any]:
        """The Overview's areas: ``{"aggregate", "interact", "act"}`` (None for one not configured)."""

    # -- scripts, triggers and actions (`web.doors`; None when this backend has none)
    @property
    def interact(self) -> InteractDoor | None:
        """Scripts and triggers."""

    @property
    def act(self) -> ActDoor | None:
        """The Actions log and targets."""
