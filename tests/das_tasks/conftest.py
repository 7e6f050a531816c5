"""Fixtures of the DAS task tests: the real das service (SQLite store, a real DemoUpstream on
loopback, a fake clock), as in tests/das, and a helper that builds a task as a worker does."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tasks.das.backends import SQLiteDasStore
from tasks.das.service import DasService
from tasks.das.upstream import Upstreams
from tests.das_support import T0 as T0  # noqa: PLC0414 - re-exported for the tests of this package
from tests.das_support import FakeClock


@pytest.fixture
def das(tmp_path, demo, clock) -> Iterator[DasService]:
    store = SQLiteDasStore(tmp_path / "das.db")
    service = DasService(store, Upstreams(demo.config(expire_s=60.0, retries=0, retry_delay_s=0.01)),
                         clock=clock, history_s=30 * 86400.0)
    yield service
    service.close()


@pytest.fixture
def make_task(das):
    """make(cls, interval=..., **options) -> the task as a worker builds it (services={"das": das})."""

    def make(cls: type, *, interval: float = 3600.0, services: dict[str, Any] | None = None, **options: Any) -> Any:
        return cls(interval=interval, services={"das": das} if services is None else services, **options)

    return make


def traffic(das: DasService, clock: FakeClock, calls: dict[str, int], *, spacing: float = 1.0,
            template: str = "dataset dataset.name={value}") -> None:
    """Outside traffic: *calls* value -> how many calls, one every *spacing* seconds of the clock."""
    for value, count in calls.items():
        for _ in range(count):
            result = das.call(template.format(value=value))
            assert result.ok, result.error
            clock.advance(spacing)
