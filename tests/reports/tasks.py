"""Task classes for the report tests; importable by spawned workers as ``tests.reports.tasks:Name``."""

from __future__ import annotations

import os
import signal
from typing import Any


class Die:
    """Kills its own worker process with SIGKILL (a crash the Workers report must show)."""

    def __init__(self, **kwargs: Any) -> None:
        self.kw = kwargs

    def __call__(self) -> dict[str, Any]:
        os.kill(os.getpid(), signal.SIGKILL)
        return {}  # pragma: no cover - never reached


class Figures:
    """Returns numbers (what an analytics task computes), for the Job report's value chart."""

    def __init__(self, **kwargs: Any) -> None:
        self.index = kwargs.get("index", 1)

    def __call__(self) -> dict[str, Any]:
        return {"keys": 10 * self.index, "hit_ratio": 0.5}
