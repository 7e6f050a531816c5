"""What the das service tests and the DAS task tests share: an injected clock, a demo upstream."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tasks.das.demo_upstream import DemoUpstream

T0 = 1_700_000_000.0


class FakeClock:
    """An injected clock: ``clock()`` is ``now``; tests move it with ``advance``."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> float:
        self.now += seconds
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def demo() -> Iterator[DemoUpstream]:
    with DemoUpstream(ttl_s=None) as upstream:  # no max-age: expire_s of the config decides
        yield upstream
